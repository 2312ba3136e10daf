"""Data (admin): import rosters, surveys and caseload logs with a preview first;
map form-tool exports; load official instrument wording; clear the demo;
complete deletion requests."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from burnout import auth, ingest, release_store, seed, selfservice
from burnout.checkin import escape_md
from burnout.errors import InputError
from burnout.instruments import NO_WORDING_NOTE, load, load_wording_file
from burnout.store import frames, writes
from burnout.ui import common, import_problems

user = common.require_role("admin")
engine = common.engine()
actor = user["username"]

st.title("Data")
if seed.is_demo(engine):
    st.warning("This database holds the **demo organisation**: every person and number is synthetic. "
               "Clear it before importing your own data (section *Demo data* below).", icon=":material/science:")

if flash := st.session_state.pop("data_flash", None):
    st.success(escape_md(flash))

FILE_TYPES = ["csv", "xlsx", "txt"]


TEMPLATES = Path(ingest.__file__).resolve().parents[1] / "templates"
NOT_STORED = ("The files could not be stored just now: the database did not answer. Nothing was stored; "
              "try again in a minute, and tell your admin if it keeps happening.")
GUIDE = Path(ingest.__file__).resolve().parents[2] / "docs" / "IMPORT.md"
show_error = import_problems.show_error


# An upload is parsed once per content: Streamlit reruns this page on every click,
# and re-reading a large workbook each time would hold a core for seconds.  The key
# is the bytes' hash (the bytes themselves are not hashed again), the cache small.
@st.cache_data(max_entries=8, show_spinner=False)
def _read_table(digest: str, name: str, sheet, expect, _raw: bytes):
    return ingest.read_table(_raw, name, sheet=sheet, expect=expect)


@st.cache_data(max_entries=8, show_spinner=False)
def _sheet_names(digest: str, name: str, _raw: bytes):
    return ingest.sheet_names(_raw, name)


def read_upload(raw: bytes, name: str, sheet=None, expect=None):
    """``ingest.read_table`` for an upload, parsed once per content (see above)."""
    return _read_table(hashlib.sha256(raw).hexdigest(), name, sheet, expect, raw)


def pick_sheet(raw: bytes, upload_name: str, key: str) -> str | None:
    """A sheet picker for workbooks with more than one sheet (never silently the first)."""
    try:
        names = _sheet_names(hashlib.sha256(raw).hexdigest(), upload_name, raw)
    except InputError:
        return None          # read_table reports why the workbook cannot be read
    if len(names) <= 1:
        return None
    return st.selectbox(f"Sheet of {upload_name}", names, key=f"sheet_{key}",
                        help="This workbook has several sheets: choose the one to import.")


def preview(upload, label: str, sheet: str | None = None, expect=None) -> bytes | None:
    """Show the first rows of an uploaded table; return its bytes (None when unreadable)."""
    raw = upload.getvalue()
    try:
        df = read_upload(raw, upload.name, sheet=sheet, expect=expect)
    except InputError as exc:
        show_error(exc, f"{label}: the file cannot be read.")
        return None
    st.markdown(f"**{label}** · {escape_md(upload.name)} · {len(df):,} rows · {len(df.columns):,} columns")
    # Empty cells are shown blank (not "None"); every value as text, exactly as in the file.
    st.dataframe(df.head(8).astype(object).where(df.head(8).notna(), ""), hide_index=True, width="stretch")
    return raw


def run_import(kwargs: dict, names: dict, check_only: bool, sheets: dict | None = None) -> None:
    if check_only:
        try:
            prepared = ingest.prepare(**kwargs, names=names, known_helpers=frames.helper_ids(engine),
                                      sheets=sheets, limits=ingest.ImportLimits.from_settings(common.settings()))
        except InputError as exc:
            show_error(exc, "Nothing was stored.")
            return
        lines = []
        if "roster" in prepared:
            lines.append(f"{prepared['roster'][0]}: {len(prepared['roster'][1]):,} helpers")
            if prepared["roster"][2]["ignored"]:
                lines.append(f"{prepared['roster'][0]}: these columns are not used and will be left out: "
                             f"{', '.join(prepared['roster'][2]['ignored'])}")
        if "surveys" in prepared:
            lines.append(f"{prepared['surveys'][0]}: {len(prepared['surveys'][1]):,} submissions with "
                         f"{len(prepared['surveys'][2]):,} answers")
        if "caseload" in prepared:
            lines.append(f"{prepared['caseload'][0]}: {len(prepared['caseload'][1]):,} helper-weeks")
        st.success("Every row is valid. Nothing has been stored yet.\n\n"
                   + "\n".join(f"- {escape_md(x)}" for x in lines))
        return
    bar = st.progress(0.0, text="Starting…")
    summary = None
    try:
        with common.db_errors(NOT_STORED):
            summary = ingest.import_files(engine, **kwargs, names=names, actor=actor, sheets=sheets,
                                          progress=lambda f, m: bar.progress(min(1.0, max(0.0, f)), text=m))
    except InputError as exc:
        bar.empty()
        show_error(exc)
        return
    if summary is None:         # the database failed: db_errors said so in one sentence
        bar.empty()
        return
    release_store.prepare(engine, progress=lambda m: bar.progress(1.0, text=m[:1].upper() + m[1:] + "…"))
    bar.progress(1.0, text="Done")
    st.success("Stored.\n\n" + "\n".join(f"- {escape_md(line)}" for line in summary.lines))


tab_import, tab_map, tab_wording, tab_demo, tab_delete = st.tabs(
    ["Import files", "Form-tool export", "Instrument wording", "Demo data", "Deletion requests"])

# ------------------------------------------------------------------ import
with tab_import:
    st.write("Upload a roster, survey and/or caseload file (CSV or XLSX, formats as in the guide, "
             "docs/IMPORT.md). You see the first rows before anything is stored. Every file is checked "
             "whole: if any row has a problem, nothing of it is stored, and every problem is listed.")
    with st.expander("Format guide and templates"):
        st.markdown("The guide [docs/IMPORT.md](docs/IMPORT.md) lists every column, the dates and "
                    "form-tool exports that are read, the limits, and what is refused and why. "
                    "Each template has the header and one example row.")
        cols = st.columns(3)
        if GUIDE.exists():
            cols[0].download_button("Guide (docs/IMPORT.md)", GUIDE.read_bytes(), file_name="IMPORT.md",
                                    mime="text/markdown", key="dl_guide", on_click="ignore")
        for i, path in enumerate(sorted(TEMPLATES.glob("*.*"))):
            mime = "text/csv" if path.suffix == ".csv" else "application/x-yaml"
            cols[(i + 1) % 3].download_button(f"Template: {path.name}", path.read_bytes(), file_name=path.name,
                                              mime=mime, key=f"dl_template_{path.stem}", on_click="ignore")
    c1, c2, c3 = st.columns(3)
    up_roster = c1.file_uploader("Roster", type=FILE_TYPES, key="up_roster")
    up_surveys = c2.file_uploader("Surveys", type=FILE_TYPES, key="up_surveys")
    up_caseload = c3.file_uploader("Caseload", type=FILE_TYPES, key="up_caseload")
    up_roster_map = c1.file_uploader("Roster mapping (optional: for an HR export with its own headers)",
                                     type=["yaml", "yml", "csv"], key="up_roster_mapping")
    files, names, sheets = {}, {}, {}
    expects = {"roster": ingest.ROSTER_REQUIRED, "surveys": ingest.SURVEY_KEYS,
               "caseload": [ingest.CASELOAD_REQUIRED, ingest.EVENT_REQUIRED]}
    if up_roster_map is not None:
        try:
            roster_spec = ingest.load_mapping(up_roster_map.getvalue(), up_roster_map.name)
        except InputError as exc:
            show_error(exc, "The roster mapping cannot be used.")
        else:
            # the export's own headers pick its sheet
            expects["roster"] = list(roster_spec["columns"]) or ingest.ROSTER_REQUIRED
            files["roster_mapping"], names["roster_mapping"] = up_roster_map.getvalue(), up_roster_map.name
    for key, up, label in (("roster", up_roster, "Roster"), ("surveys", up_surveys, "Surveys"),
                           ("caseload", up_caseload, "Caseload")):
        if up is not None:
            sheet = pick_sheet(up.getvalue(), up.name, key)
            raw = preview(up, label, sheet=sheet, expect=expects[key])
            if raw is not None:
                files[key], names[key] = raw, up.name
                if sheet is not None:
                    sheets[key] = sheet
    if files and "roster" not in files and "roster_mapping" in files:
        st.caption("The roster mapping is used with a roster file: upload the roster too.")
        files.pop("roster_mapping")
    if files:
        b1, b2 = st.columns(2)
        if b1.button("Check only", key="import_check", width="stretch"):
            run_import(files, names, check_only=True, sheets=sheets)
        demo = seed.is_demo(engine)
        if b2.button("Store these files", key="import_store", type="primary", width="stretch", disabled=demo):
            run_import(files, names, check_only=False, sheets=sheets)
        if demo:
            st.warning("Your files can be checked, but not stored while the demo organisation is here: real and "
                       "synthetic people must never mix, and the demo logins use a public password. Clear the "
                       "demo first (tab *Demo data*).", icon=":material/block:")
    else:
        st.caption("Import order does not matter within one upload: a roster uploaded with surveys "
                   "or caseload is checked first.")

# ------------------------------------------------------------------ form-tool mapping
with tab_map:
    st.write("Exports from form tools (Microsoft Forms, Google Forms, Qualtrics…) have question texts as "
             "headers and answer labels as values. Tell the importer which column is which, or upload a "
             "mapping file you saved before.")
    up_export = st.file_uploader("Form-tool export", type=FILE_TYPES, key="up_export")
    instrument = st.selectbox("Instrument in this export", ["proqol5", "cbi", "sib", "pulse"],
                              format_func=lambda n: load(n).title, key="map_instrument")
    up_mapping = st.file_uploader("Mapping file (optional: YAML or CSV source,target)",
                                  type=["yaml", "yml", "csv"], key="up_mapping")
    if up_export is not None:
        export_sheet = pick_sheet(up_export.getvalue(), up_export.name, "export")
        raw = preview(up_export, "Export", sheet=export_sheet)
        if raw is not None:
            headers = list(read_upload(raw, up_export.name, sheet=export_sheet).columns)
            mapping_bytes, mapping_name = None, "mapping.yaml"
            if up_mapping is not None:
                mapping_bytes, mapping_name = up_mapping.getvalue(), up_mapping.name
                try:
                    spec = ingest.load_mapping(mapping_bytes, mapping_name)
                    st.caption(f"Using {escape_md(up_mapping.name)}: {len(spec['columns'])} columns mapped.")
                except InputError as exc:
                    show_error(exc, "The mapping file cannot be used.")
                    mapping_bytes = None
            else:
                guess = selfservice.suggest_mapping(headers, instrument, frames.wording(engine, instrument))
                targets = [None, "helper_id", "submitted_at", "comment", *load(instrument).item_ids]
                loaded = frames.wording(engine, instrument)
                meaning = {i.id: (loaded.get(i.id) or i.text or i.key.replace("_", " "))
                           for i in load(instrument).items}

                def describe(t):
                    if t is None:
                        return "(ignore)"
                    return f"{t} · {meaning[t][:70]}" if t in meaning else t

                st.caption("Suggested from the header names" + (" and the loaded official wording"
                                                                 if loaded else "")
                           + ". Check each one; choose “(ignore)” for columns you do not need.")
                choices = {}
                for i, h in enumerate(headers):
                    default = guess.get(h)
                    choices[h] = st.selectbox(
                        escape_md(h), targets, index=targets.index(default) if default in targets else 0,
                        format_func=describe, key=f"map_{instrument}_{i}")
                try:
                    spec = selfservice.mapping_spec(instrument, choices)
                except InputError as exc:
                    st.info("To finish the mapping: " + escape_md("; ".join(exc.problems or [str(exc)])) + ".")
                else:
                    mapping_bytes = selfservice.mapping_yaml(spec)
                    st.download_button("Save this mapping for next time (YAML)", mapping_bytes,
                                       file_name=f"mapping_{instrument}.yaml", mime="application/x-yaml",
                                       key="dl_mapping", on_click="ignore")
            if mapping_bytes is not None:
                b1, b2 = st.columns(2)
                kwargs = {"surveys": raw, "mapping": mapping_bytes}
                map_names = {"surveys": up_export.name, "mapping": mapping_name}
                map_sheets = {"surveys": export_sheet} if export_sheet else None
                if b1.button("Check only", key="map_check", width="stretch"):
                    run_import(kwargs, map_names, check_only=True, sheets=map_sheets)
                if b2.button("Store this export", key="map_store", type="primary", width="stretch"):
                    run_import(kwargs, map_names, check_only=False, sheets=map_sheets)

# ------------------------------------------------------------------ wording
with tab_wording:
    st.write("The project does not ship the official wording of licensed questionnaires. Until an "
             "instrument's wording is loaded, helpers are not asked it (they see one line saying it will "
             "come); the weekly pulse and the single item are always asked.")
    status = []
    for name in ("proqol5", "cbi", "sib"):
        inst = load(name)
        n = len(frames.wording(engine, name))
        status.append({"instrument": inst.title, "items": len(inst.item_ids),
                       "wording loaded": "yes" if n == len(inst.item_ids) else ("partly" if n else "no"),
                       "official source": inst.licence.get("url") or ""})
    st.dataframe(pd.DataFrame(status), hide_index=True, width="stretch")
    st.markdown("**Load official wording, step by step**")
    for name in ("cbi", "proqol5", "sib"):
        inst = load(name)
        n = len(frames.wording(engine, name))
        done = n == len(inst.item_ids)
        with st.expander(f"{inst.title}: " + ("wording loaded" if done else NO_WORDING_NOTE.split(":")[0].lower()),
                         expanded=not done and name != "sib", icon=":material/check:" if done else ":material/info:"):
            url = inst.licence.get("url")
            st.markdown("1. Get the wording from the official source"
                        + (f": [{escape_md(url)}]({url})" if url else "") + f" ({escape_md(inst.licence.get('name'))}).")
            st.markdown("2. Read the terms: " + " ".join(escape_md(t) for t in inst.licence.get("terms") or []))
            st.markdown(f"3. Put the {len(inst.item_ids)} items in a file of `item_id,text` (CSV) or "
                        f"`item_id: text` (YAML), ids `{inst.item_ids[0]}` … `{inst.item_ids[-1]}`; each item's "
                        "meaning is given by its short key in the table below the upload.")
            st.markdown("4. Upload it below and check the preview; helpers see it from their next check-in.")
            if not done:
                st.caption(NO_WORDING_NOTE)
    w_inst = st.selectbox("Instrument", ["proqol5", "cbi", "sib"], format_func=lambda n: load(n).title,
                          key="wording_instrument")
    up_wording = st.file_uploader("Wording file", type=["csv", "yaml", "yml", "txt"], key="up_wording")
    if up_wording is not None:
        suffix = Path(up_wording.name).suffix or ".csv"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"wording{suffix}"
            path.write_bytes(up_wording.getvalue())
            try:
                wording, credit = load_wording_file(w_inst, path)
            except InputError as exc:
                exc_text = str(exc).replace(str(path), up_wording.name)
                st.error(f"This wording file cannot be used: {escape_md(exc_text)}")
                wording = None
        if wording is not None:
            st.dataframe(pd.DataFrame({"item_id": list(wording), "text": list(wording.values())}),
                         hide_index=True, width="stretch", height=240)
            st.info(f"Credit line shown with these questions: {escape_md(credit)}")
            if st.button("Save this wording", key="save_wording", type="primary"):
                writes.save_wording(engine, w_inst, wording, actor=actor)
                st.session_state["data_flash"] = (f"Saved {len(wording)} items for {load(w_inst).title}. "
                                                  "Helpers see them from their next check-in.")
                st.rerun()

# ------------------------------------------------------------------ demo
with tab_demo:
    if seed.is_demo(engine):
        keeps_admin = seed.real_admin_kept(engine)
        st.write("The demo organisation lets you try every page. Clearing it removes every demo helper, answer, "
                 "caseload row, note and demo login (including demo-admin). Real admin accounts stay.")
        new_admin = None
        if not keeps_admin:
            st.write("No real admin account exists yet, so clearing first creates one: give its username. You "
                     "get a one-time link to set its password.")
            new_admin = st.text_input("Username of your organisation's admin", key="clear_new_admin")
        sure = st.checkbox("I understand that all demo data and demo logins will be removed", key="clear_confirm")
        if st.button("Clear demo data", key="clear_demo", type="primary",
                     disabled=not sure or (not keeps_admin and not (new_admin or "").strip())):
            try:
                token = seed.clear_all_data(engine, actor=actor, new_admin=new_admin)
            except InputError as exc:
                st.error(escape_md(auth.plain_message(exc)))
            else:
                st.success("Demo data cleared. The database is ready for your own files.")
                if token:
                    # shown now, in this run: the demo account looking at it is already gone
                    # and is signed out at its next click
                    st.warning(f"Your organisation's admin account **{escape_md(new_admin.strip())}** was "
                               f"created. Open this one-time link (valid {auth.setting(engine, 'invite_hours')} "
                               "hours) to set its password; it is shown only now. The demo accounts, yours "
                               "included, are gone.", icon=":material/key:")
                    st.code(auth.invite_link(token, common.site_url()), language=None)
    else:
        st.write("No demo data is loaded. The database holds your organisation's own data.")

# ------------------------------------------------------------------ deletion requests
with tab_delete:
    st.write("Helpers can ask for their self-report data to be deleted. Completing a request deletes their "
             "check-in and survey answers, scores and notes. Their roster entry and caseload weeks stay "
             "(operational records of work allocation); the audit log keeps a line saying the deletion happened.")
    pending = selfservice.pending_deletions(engine)
    if pending.empty:
        st.info("No open deletion requests.")
    else:
        st.dataframe(pending.rename(columns={"request_id": "Request", "helper_id": "Helper",
                                             "requested_at": "Asked on",
                                             "submissions": "Check-ins and surveys to delete"}),
                     hide_index=True, width="stretch")
        rid = st.selectbox("Request", pending["request_id"].tolist(),
                           format_func=lambda r: f"#{r} · {pending.set_index('request_id').at[r, 'helper_id']}",
                           key="delete_request_id")
        sure = st.checkbox("Delete this helper's answers now (cannot be undone)", key="delete_confirm_admin")
        if st.button("Complete deletion", key="complete_deletion", type="primary", disabled=not sure):
            try:
                done = selfservice.complete_deletion(engine, int(rid), actor=actor)
            except InputError as exc:
                st.error(escape_md(str(exc)))
            else:
                st.session_state["data_flash"] = (f"Deleted {done['submissions']} submissions "
                                                  f"({done['answers']} answers) for {done['helper_id']}.")
                st.rerun()
