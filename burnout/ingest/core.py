"""Prepare (read + validate everything) and store (staged in short batches, made visible
all at once, one import at a time)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from burnout import auth, materialise, memory
from burnout.errors import InputError
from burnout.ingest.dates import DateStyle
from burnout.ingest.limits import ImportLimits
from burnout.ingest.mapping import apply_mapping, apply_roster_mapping, date_style, load_mapping
from burnout.ingest.problems import Problems
from burnout.ingest.read import read_table, source_bytes
from burnout.ingest.validate import (CASELOAD_REQUIRED, EVENT_REQUIRED, ROSTER_OPTIONAL, ROSTER_REQUIRED,
                                     SURVEY_KEYS, absent_caseload_columns, roster_extra_columns, validate_caseload, validate_roster,
                                     validate_surveys)
from burnout.store import frames, writes
from burnout.store import settings as saved_settings
from burnout.store.demo import is_demo
from burnout.store import staging
from burnout.store.retry import run_in_transaction


@dataclass
class ImportSummary:
    lines: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Also appended to ``lines``, so every place that shows the summary shows them.
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.lines.append(f"note: {text}")

    def describe(self) -> str:
        return "\n".join(self.lines) if self.lines else "nothing to import"


SHOW_KEYS = 5   # helper-weeks or submissions named one by one in a summary note


def _name(source, default: str) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return getattr(source, "name", None) or default


ROSTER_ACCOUNT_COLUMNS = ["username", "email"]


def roster_account_columns(df: pd.DataFrame, file: str = "roster") -> pd.DataFrame | None:
    """helper_id, username, email for rows that ask for a helper account (optional columns)."""
    cols = [c for c in ROSTER_ACCOUNT_COLUMNS if c in df.columns]
    if not cols or "helper_id" not in df.columns:
        return None
    out = pd.DataFrame({"helper_id": df["helper_id"].astype("string")})
    probs = Problems(file)
    for c in ROSTER_ACCOUNT_COLUMNS:
        values = df[c].astype("string").str.strip() if c in df.columns else pd.Series(pd.NA, index=df.index,
                                                                                         dtype="string")
        out[c] = values.where(values.notna() & (values != ""), None).astype(object)
    for i, name in out["username"].items():
        if isinstance(name, str):
            try:
                auth.normalise_username(name)
            except InputError as exc:
                probs.add(auth.plain_message(exc), int(i) + 2, "username")
    for i, mail in out["email"].items():
        if isinstance(mail, str) and ("@" not in mail or " " in mail):
            probs.add(f"{mail!r} is not an e-mail address", int(i) + 2, "email")
    probs.raise_if_any()
    return out[out["username"].notna() | out["email"].notna()].astype(object)


DEMO_REFUSAL = ("this database holds the demo organisation: clear the demo data first (Data page, "
                "Demo data tab) so real and synthetic people never mix and the public demo logins go")


def _check_pairs(roster, surveys, mapping, roster_mapping, names: dict) -> None:
    """A mapping comes with the file it maps: refused rather than ignored, before anything is read."""
    if mapping is not None and surveys is None:
        raise InputError("a mapping file is for a form-tool survey export: give it together with "
                         "the surveys file", file=names.get("mapping") or _name(mapping, "mapping"))
    if roster_mapping is not None and roster is None:
        raise InputError("a roster mapping is for a roster file: give it together with the roster file",
                         file=names.get("roster_mapping") or _name(roster_mapping, "roster mapping"))


def prepare(roster=None, surveys=None, caseload=None, mapping=None, names: dict | None = None,
            known_helpers: Iterable[str] = (), *, limits: ImportLimits | None = None,
            roster_mapping=None, sheet: str | None = None, sheets: dict[str, str] | None = None) -> dict:
    """Read and validate everything; raises InputError before any write.

    Returns ``{"roster": (file, frame, info), "surveys": (file, submissions,
    answers), "caseload": (file, weeks, info)}`` for the files given; ``info``
    says which optional columns the file lacked (``absent``), which columns a
    roster had beyond the roster's (``ignored``) and, for caseload, which weeks
    an event file covers only in part (``partial``).

    ``sheet`` names the sheet to read from every workbook given; ``sheets``
    names it per file kind (``{"roster": "2026"}``) and wins over ``sheet``.
    """
    names = names or {}
    sheets = {**({k: sheet for k in ("roster", "surveys", "caseload")} if sheet else {}), **(sheets or {})}
    limits = limits or ImportLimits()
    prepared: dict = {}
    helper_ids = set(known_helpers)
    _check_pairs(roster, surveys, mapping, roster_mapping, names)
    if roster is not None:
        f = names.get("roster") or _name(roster, "roster")
        dates = DateStyle()
        expect = ROSTER_REQUIRED
        spec = None
        if roster_mapping is not None:
            m = names.get("roster_mapping") or _name(roster_mapping, "roster mapping")
            spec = load_mapping(roster_mapping, m, limits)
            dates = date_style(spec, m)
            expect = list(spec["columns"])
        raw = read_table(roster, f, sheet=sheets.get("roster"), expect=expect, limits=limits)
        roster = None       # the file's bytes: not held through the checks (import_files keeps none)
        if spec is not None:
            raw = apply_roster_mapping(raw, spec, f, mapping_name=m)
        accounts = roster_account_columns(raw, f)
        raw = raw.drop(columns=[c for c in ROSTER_ACCOUNT_COLUMNS if c in raw.columns])
        absent = [c for c in ROSTER_OPTIONAL if c not in raw.columns and c != "team_kind"]
        ignored = list(raw.attrs.get("unmapped") or []) + roster_extra_columns(raw.columns)
        prepared["roster"] = (f, validate_roster(raw, f, limits=limits, dates=dates),
                              {"absent": absent, "ignored": ignored, "accounts": accounts})
        helper_ids |= set(prepared["roster"][1]["helper_id"])
    if surveys is not None:
        f = names.get("surveys") or _name(surveys, "surveys")
        labels, dates, expect = None, DateStyle(), SURVEY_KEYS
        spec = None
        if mapping is not None:
            m = names.get("mapping") or _name(mapping, "mapping")
            spec = load_mapping(mapping, m, limits)
            dates = date_style(spec, m)
            expect = list(spec["columns"])
        df = read_table(surveys, f, sheet=sheets.get("surveys"), expect=expect, limits=limits, compact=True)
        surveys = None      # the file's bytes: not held through the checks (import_files keeps none)
        memory.give_back()  # the parser's scratch: the checks' peak does not stack on it
        if spec is not None:
            df, labels = apply_mapping(df, spec, f, mapping_name=m)
        subs, ans = validate_surveys(df, f, labels, limits=limits, known_helpers=helper_ids, dates=dates)
        del df      # the file's cells: not kept while the caseload file is read
        memory.give_back()
        prepared["surveys"] = (f, subs, ans)
    if caseload is not None:
        f = names.get("caseload") or _name(caseload, "caseload")
        # A workbook of weekly rows or of events: either header picks the sheet.
        raw = read_table(caseload, f, sheet=sheets.get("caseload"), limits=limits,
                         expect=[CASELOAD_REQUIRED, EVENT_REQUIRED])
        caseload = None     # the file's bytes: not held through the checks
        weeks = validate_caseload(raw, f, limits=limits, known_helpers=helper_ids)
        info = {"absent": absent_caseload_columns(raw.columns),
                "partial": weeks["partial_week"].to_numpy(dtype=bool)}
        prepared["caseload"] = (f, weeks.drop(columns=["row", "partial_week"]).reset_index(drop=True), info)
    return prepared


def _listed(names: list[str]) -> str:
    more = len(names) - SHOW_KEYS
    return ", ".join(names[:SHOW_KEYS]) + (f" and {more:,} more" if more > 0 else "")


def _stamp(ts) -> str:
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def _store_roster(conn, prepared: dict, actor: str, summary: ImportSummary) -> set[str]:
    """Returns the helpers whose helper weeks the roster rows may change."""
    f, df, info = prepared["roster"]
    n_new, n_upd, touched = writes.upsert_roster(conn, df, absent=info["absent"])
    writes.log_import(conn, "roster", f, len(df), n_new + n_upd, actor)
    summary.counts["roster"] = {"rows": len(df), "new": n_new, "updated": n_upd}
    summary.lines.append(f"{f}: {len(df):,} helpers ({n_new:,} new, {n_upd:,} changed)")
    accounts = info.get("accounts")
    if accounts is not None and len(accounts):
        created = auth.roster_accounts(conn, accounts, actor=actor)
        summary.counts["accounts"] = {"new": len(created)}
        summary.lines.append(f"{f}: {len(created):,} helper account(s) created, waiting for their invite "
                             "(Users & settings: invite links for accounts without a password)")
    if info["absent"] and len(df) > n_new:
        summary.warn(f"{f} has no {', '.join(info['absent'])} column(s): helpers already stored "
                     "keep their stored values there")
    if info.get("ignored"):
        summary.warn(f"{f}: column(s) not used by the roster were left out: {_listed(info['ignored'])}")
    return touched


def _surveys_stored(conn, summary: ImportSummary, f: str, subs, n_new: int, n_items: int,
                    differing: pd.DataFrame, actor: str, fingerprint: tuple[str, int] | None = None) -> None:
    """``fingerprint``: (the file's hash, the deletion counter it was compared under) when
    the file is now stored whole, so importing it again may be skipped."""
    # A file that left stored answers as they were is compared again next time, so
    # its summary keeps saying so.
    skip_next = fingerprint if fingerprint and differing.empty else (None, None)
    writes.log_import(conn, "surveys", f, len(subs), n_new, actor, *skip_next)
    summary.counts["surveys"] = {"rows": len(subs), "new": n_new, "answers": n_items,
                                 "already_stored": len(subs) - n_new, "different": len(differing)}
    summary.lines.append(f"{f}: {len(subs):,} submissions ({n_new:,} new with {n_items:,} answers, "
                         f"{len(subs) - n_new:,} already stored)")
    if len(differing):
        keys = [f"helper {r.helper_id} {r.instrument} {_stamp(r.submitted_at)}"
                for r in differing.itertuples(index=False)]
        summary.warn(f"{f}: {len(differing):,} submission(s) already stored with different answers; "
                     f"kept the stored answers: {_listed(keys)}")


def _caseload_stored(conn, summary: ImportSummary, f: str, weeks, n_new: int, n_upd: int, kept,
                     actor: str, fingerprint: tuple[str, int] | None = None) -> None:
    skip_next = fingerprint if fingerprint and not len(kept) else (None, None)
    writes.log_import(conn, "caseload", f, len(weeks), n_new + n_upd, actor, *skip_next)
    summary.counts["caseload"] = {"rows": len(weeks), "new": n_new, "updated": n_upd, "kept": len(kept)}
    summary.lines.append(f"{f}: {len(weeks):,} helper-weeks ({n_new:,} new, {n_upd:,} changed)")
    if len(kept):
        keys = [f"{r.helper_id} week of {_stamp(r.week_start)}" for r in kept.itertuples(index=False)]
        summary.warn(f"{f}: {len(kept):,} helper-week(s) this file covers only in part are already "
                     f"stored with other figures; kept the stored figures: {_listed(keys)}. "
                     "To replace them, import events covering the whole week(s)")


def store_prepared(conn, prepared: dict, actor: str = "cli",
                   progress: Callable[[float, str], None] | None = None) -> ImportSummary:
    """Write what ``prepare`` returned on an open connection, in the caller's one
    transaction (the demo seed); :func:`import_files` stages instead."""
    progress = progress or (lambda f, m: None)
    summary = ImportSummary()
    if "roster" in prepared:
        _store_roster(conn, prepared, actor, summary)
    if "surveys" in prepared:
        f, subs, ans = prepared["surveys"]
        differing = writes.stored_with_other_answers(conn, subs, ans)
        n_new, n_items = writes.insert_submissions(
            conn, subs, ans, source="import",
            progress=lambda x: progress(0.3 + 0.6 * x, "storing survey answers"))
        _surveys_stored(conn, summary, f, subs, n_new, n_items, differing, actor)
    if "caseload" in prepared:
        f, weeks, info = prepared["caseload"]
        n_new, n_upd, kept = writes.upsert_caseload(conn, weeks, absent=info["absent"],
                                                    keep_stored=info["partial"])
        _caseload_stored(conn, summary, f, weeks, n_new, n_upd, kept, actor)
    return summary


def _stage(engine, token: str, prepared: dict, progress: Callable[[float, str], None]) -> dict:
    """Compare with what is stored (reads only) and write the new rows to staging in
    short batches.  Returns what :func:`_publish` needs for its summary."""
    plan: dict = {}
    if "surveys" in prepared:
        f, subs, ans = prepared["surveys"]
        with engine.connect() as conn:
            # read before comparing: a deletion from now on makes the next import compare again
            seen = writes.deletions(conn, "surveys")
            differing = writes.stored_with_other_answers(conn, subs, ans)
            new, long = writes.new_submissions(conn, subs, ans, source="import")
        # the file's answers are in ``long`` now: not held while it is scored and staged
        del ans
        prepared["surveys"] = (f, subs, None)
        staging.stage_submissions(engine, token, new, long,
                                  progress=lambda x: progress(0.3 + 0.55 * x, "storing survey answers"))
        plan["surveys"] = {"differing": differing, "staged": len(new), "seen": seen,
                           "touched": new[["helper_id", "submitted_at"]].rename(columns={"submitted_at": "at"})}
        # the answers are staged: not held while the caseload is compared and staged
        del new, long
    if "caseload" in prepared:
        f, weeks, info = prepared["caseload"]
        progress(0.85, "comparing caseload weeks with the stored ones")
        with engine.connect() as conn:
            seen = writes.deletions(conn, "caseload")
            new, changed, kept, compare = writes.caseload_changes(conn, weeks, info["absent"], info["partial"])
            dialect = conn.dialect.name
        rows = pd.concat([new, changed.reindex(columns=new.columns)], ignore_index=True)
        staging.stage_caseload(engine, token, writes.caseload_for_insert(rows, dialect))
        plan["caseload"] = {"new": len(new), "changed": len(changed), "kept": kept, "compare": compare,
                            "seen": seen,
                            "touched": rows[["helper_id", "week_start"]].rename(columns={"week_start": "at"})}
    progress(0.9, "making the import visible")
    return plan


def _publish(conn, token: str, prepared: dict, plan: dict, actor: str,
             fingerprints: dict[str, str]) -> tuple[ImportSummary, set[str]]:
    """The one transaction that makes a staged import visible, with the roster.
    Returns the summary and the helpers the roster rows touched."""
    summary = ImportSummary()
    roster_touched: set[str] = set()
    if "roster" in prepared:
        roster_touched = _store_roster(conn, prepared, actor, summary)
    compare = plan["caseload"]["compare"] if "caseload" in plan else None
    n_subs, n_answers = staging.publish(conn, token, compare)
    if "surveys" in prepared:
        f, subs, _ = prepared["surveys"]
        p = plan["surveys"]
        # every staged submission stored (none taken meanwhile by a check-in of the same time)
        whole = n_subs == p["staged"] and "surveys" in fingerprints
        _surveys_stored(conn, summary, f, subs, n_subs, n_answers, p["differing"], actor,
                        (fingerprints["surveys"], p["seen"]) if whole else None)
    if "caseload" in prepared:
        f, weeks, _ = prepared["caseload"]
        c = plan["caseload"]
        _caseload_stored(conn, summary, f, weeks, c["new"], c["changed"], c["kept"], actor,
                         (fingerprints["caseload"], c["seen"]) if "caseload" in fingerprints else None)
    return summary, roster_touched


# --------------------------------------------------------------------------- unchanged files
# A file imported before and not changed since stores nothing when imported again,
# so it is recognised by its fingerprint instead of being read, checked and compared
# row by row again (most of the time of such an import).  The fingerprint covers
# everything that decides what a file stores: its bytes, its mapping, the sheet, the
# limits, and the importer's own code (a new version reads files afresh).  The
# roster is not skipped: it is small, and account rows and team words hang on it.

SKIPPABLE = ("surveys", "caseload")
_IMPORTER_FILES = ("burnout/ingest/*.py", "burnout/store/writes.py", "burnout/store/staging.py",
                   "burnout/store/schema.py")


@lru_cache(maxsize=1)
def _importer_code() -> bytes:
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for pattern in _IMPORTER_FILES:
        for path in sorted(root.glob(pattern)):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.digest()


def fingerprint(kind: str, raw: bytes, limits: ImportLimits, mapping: bytes | None = None,
                sheet: str | None = None) -> str:
    """The hash that names a file of ``kind`` as the importer would read it."""
    h = hashlib.sha256(_importer_code())
    for part in (kind.encode(), repr(limits).encode(), (sheet or "").encode(), mapping or b"", raw):
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def _unchanged(engine, fingerprints: dict[str, str]) -> dict:
    """{kind: the earlier import} for the files that importing again would not change."""
    with engine.connect() as conn:
        found = {kind: writes.unchanged_import(conn, kind, fp) for kind, fp in fingerprints.items()}
    return {kind: row for kind, row in found.items() if row is not None}


def _skipped_line(name: str, kind: str, row) -> str:
    what = "submissions" if kind == "surveys" else "helper-weeks"
    return (f"{name}: already imported on {_stamp(pd.Timestamp(row.at).floor('min'))} UTC"
            + (f" (as {row.file_name})" if row.file_name != name else "")
            + f"; nothing changed, so nothing was stored ({row.rows_read:,} {what})")


def import_files(engine, roster=None, surveys=None, caseload=None, mapping=None, *,
                 names: dict | None = None, actor: str = "cli",
                 progress: Callable[[float, str], None] | None = None,
                 limits: ImportLimits | None = None, roster_mapping=None, sheet: str | None = None,
                 sheets: dict[str, str] | None = None, wait: float | None = None) -> ImportSummary:
    """Validate all given files, then store them all or nothing.

    One import at a time: a second one waits up to ``wait`` seconds (default
    :data:`IMPORT_WAIT_SECONDS`) for the running one, then says whose import is
    running (``store.staging``).  The rows are written to staging in short
    batches, so check-ins keep being saved meanwhile, and one short transaction
    makes them visible.

    Idempotent: the roster and caseload upsert on their natural keys (helper_id;
    helper_id + week_start) and a survey submission already stored under the
    same helper + instrument + submitted_at is left as it is (the summary says
    when its stored answers differ from the file's).  Columns a file lacks are
    left as stored.  A surveys or caseload file imported before, unchanged and with
    nothing of its table deleted since, is recognised by its fingerprint and not read
    again (the summary says when it was imported).  Afterwards only the helpers whose
    rows were stored or changed are refreshed.
    """
    progress = progress or (lambda f, m: None)
    if is_demo(engine):
        raise InputError(DEMO_REFUSAL)
    progress(0.0, "comparing the files with earlier imports")
    limits = limits or ImportLimits.from_settings(saved_settings.load(engine))
    names = dict(names or {})
    _check_pairs(roster, surveys, mapping, roster_mapping, names)
    sheets = {**({k: sheet for k in ("roster", "surveys", "caseload")} if sheet else {}), **(sheets or {})}
    given = {k: v for k, v in (("roster", roster), ("surveys", surveys), ("caseload", caseload),
                               ("mapping", mapping), ("roster_mapping", roster_mapping)) if v is not None}
    raw = {}
    for kind, source in given.items():
        # read once: the fingerprint and the checks see the same bytes (an upload reads once)
        names[kind] = names.get(kind) or _name(source, kind.replace("_", " "))
        raw[kind], _ = source_bytes(source, names[kind])
    fingerprints = {k: fingerprint(k, raw[k], limits, raw.get("mapping") if k == "surveys" else None,
                                   sheets.get(k)) for k in SKIPPABLE if k in raw}
    skipped = _unchanged(engine, fingerprints)
    summary = ImportSummary()
    for kind, row in skipped.items():
        summary.lines.append(_skipped_line(names[kind], kind, row))
        n = int(row.rows_read or 0)
        # the counts an import comparing row by row would give, so callers need not branch
        summary.counts[kind] = ({"rows": n, "new": 0, "answers": 0, "already_stored": n, "different": 0}
                                if kind == "surveys" else {"rows": n, "new": 0, "updated": 0, "kept": 0})
        summary.counts[kind]["unchanged"] = True
        del raw[kind]
        if kind == "surveys":
            raw.pop("mapping", None)
    progress(0.05, "reading and checking files")
    known = frames.helper_ids(engine)
    # the bytes are handed over, not kept here: prepare lets each file's go once it is read
    # (at L the surveys file's 180 MB were held through its checks, the caseload's 80 MB too)
    prepared = prepare(raw.pop("roster", None), raw.pop("surveys", None), raw.pop("caseload", None),
                       raw.pop("mapping", None), names, known, limits=limits,
                       roster_mapping=raw.pop("roster_mapping", None), sheets=sheets)
    raw.clear()
    memory.give_back()
    if not prepared:
        progress(1.0, "done: nothing changed")
        return summary
    progress(0.3, "storing")
    files = ", ".join(entry[0] for entry in prepared.values())
    token = staging.acquire(engine, files, actor, IMPORT_WAIT_SECONDS if wait is None else wait,
                            waiting=lambda text: progress(0.3, text))
    try:
        plan = _stage(engine, token, prepared, progress)
        memory.give_back()
        stored, roster_touched = run_in_transaction(
            engine, lambda conn: _publish(conn, token, prepared, plan, actor, fingerprints), what="import")
    except BaseException:
        staging.release(engine, token)
        raise
    staging.finished(token)
    # stored: the frames are not held while the helper weeks are built
    del prepared
    memory.give_back()
    summary.lines[:0] = stored.lines
    summary.warnings += stored.warnings
    summary.counts.update(stored.counts)
    # ---- after commit: the import is stored and visible.  Only the helpers whose rows
    # it stored or changed are refreshed.
    progress(0.95, "updating the helpers' weekly figures")
    materialise.after_import(engine, roster_touched, [plan[k]["touched"] for k in ("surveys", "caseload")
                                                      if k in plan])
    progress(1.0, "done")
    return summary


IMPORT_WAIT_SECONDS = 120


def terminal_progress(stream) -> Callable[[float, str], None] | None:
    """Progress for the CLI: one line rewritten in place on a terminal; nothing when
    the output goes to a file or a pipe (scripts read one error line there)."""
    if not getattr(stream, "isatty", lambda: False)():
        return None
    last = [""]

    def show(fraction: float, message: str) -> None:
        text = f"import: {100 * min(1.0, max(0.0, fraction)):3.0f} % {message}"
        stream.write("\r" + text.ljust(len(last[0])) + ("\n" if fraction >= 1 else ""))
        stream.flush()
        last[0] = "" if fraction >= 1 else text
    return show
