"""Prepare (read + validate everything) and store (staged in short batches, made visible
all at once, one import at a time)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from burnout import auth, materialise
from burnout.errors import InputError
from burnout.ingest.dates import DateStyle
from burnout.ingest.limits import ImportLimits
from burnout.ingest.mapping import apply_mapping, apply_roster_mapping, date_style, load_mapping
from burnout.ingest.problems import Problems
from burnout.ingest.read import read_table
from burnout.ingest.validate import (CASELOAD_REQUIRED, EVENT_REQUIRED, ROSTER_OPTIONAL, ROSTER_REQUIRED,
                                     SURVEY_KEYS, absent_caseload_columns, roster_extra_columns, validate_caseload, validate_roster,
                                     validate_surveys)
from burnout.store import frames, writes
from burnout.store import settings as saved_settings
from burnout.store.demo import is_demo
from burnout.store import staging
from burnout.store.retry import run_in_transaction
from burnout.store.schema import SCORE_COLUMNS


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
    if mapping is not None and surveys is None:
        raise InputError("a mapping file is for a form-tool survey export: give it together with "
                         "the surveys file", file=names.get("mapping") or _name(mapping, "mapping"))
    if roster_mapping is not None and roster is None:
        raise InputError("a roster mapping is for a roster file: give it together with the roster file",
                         file=names.get("roster_mapping") or _name(roster_mapping, "roster mapping"))
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
        df = read_table(surveys, f, sheet=sheets.get("surveys"), expect=expect, limits=limits)
        if spec is not None:
            df, labels = apply_mapping(df, spec, f, mapping_name=m)
        subs, ans = validate_surveys(df, f, labels, limits=limits, known_helpers=helper_ids, dates=dates)
        prepared["surveys"] = (f, subs, ans)
    if caseload is not None:
        f = names.get("caseload") or _name(caseload, "caseload")
        # A workbook of weekly rows or of events: either header picks the sheet.
        raw = read_table(caseload, f, sheet=sheets.get("caseload"), limits=limits,
                         expect=[CASELOAD_REQUIRED, EVENT_REQUIRED])
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


def _store_roster(conn, prepared: dict, actor: str, summary: ImportSummary) -> None:
    f, df, info = prepared["roster"]
    n_new, n_upd = writes.upsert_roster(conn, df, absent=info["absent"])
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


def _surveys_stored(conn, summary: ImportSummary, f: str, subs, n_new: int, n_items: int,
                    differing: pd.DataFrame, actor: str) -> None:
    writes.log_import(conn, "surveys", f, len(subs), n_new, actor)
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
                     actor: str) -> None:
    writes.log_import(conn, "caseload", f, len(weeks), n_new + n_upd, actor)
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
            differing = writes.stored_with_other_answers(conn, subs, ans)
            new, long = writes.new_submissions(conn, subs, ans, source="import")
        # scored here, outside every transaction: the write lock is held only to write
        scored = writes.scored(long, key="seq") if len(long) else pd.DataFrame(columns=["seq"])
        staging.stage_submissions(engine, token, new, long, scored.reindex(columns=["seq", *SCORE_COLUMNS]),
                                  progress=lambda x: progress(0.3 + 0.55 * x, "storing survey answers"))
        plan["surveys"] = {"differing": differing}
    if "caseload" in prepared:
        f, weeks, info = prepared["caseload"]
        with engine.connect() as conn:
            new, changed, kept, compare = writes.caseload_changes(conn, weeks, info["absent"], info["partial"])
            dialect = conn.dialect.name
        rows = pd.concat([new, changed.reindex(columns=new.columns)], ignore_index=True)
        staging.stage_caseload(engine, token, writes.caseload_for_insert(rows, dialect))
        plan["caseload"] = {"new": len(new), "changed": len(changed), "kept": kept, "compare": compare}
    progress(0.9, "making the import visible")
    return plan


def _publish(conn, token: str, prepared: dict, plan: dict, actor: str) -> ImportSummary:
    """The one transaction that makes a staged import visible, with the roster."""
    summary = ImportSummary()
    if "roster" in prepared:
        _store_roster(conn, prepared, actor, summary)
    compare = plan["caseload"]["compare"] if "caseload" in plan else None
    n_subs, n_answers = staging.publish(conn, token, compare)
    if "surveys" in prepared:
        f, subs, _ = prepared["surveys"]
        _surveys_stored(conn, summary, f, subs, n_subs, n_answers, plan["surveys"]["differing"], actor)
    if "caseload" in prepared:
        f, weeks, _ = prepared["caseload"]
        c = plan["caseload"]
        _caseload_stored(conn, summary, f, weeks, c["new"], c["changed"], c["kept"], actor)
    return summary


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
    left as stored.
    """
    progress = progress or (lambda f, m: None)
    if is_demo(engine):
        raise InputError(DEMO_REFUSAL)
    progress(0.0, "reading and checking files")
    limits = limits or ImportLimits.from_settings(saved_settings.load(engine))
    known = frames.helper_ids(engine)
    prepared = prepare(roster, surveys, caseload, mapping, names, known, limits=limits,
                       roster_mapping=roster_mapping, sheet=sheet, sheets=sheets)
    if not prepared:
        return ImportSummary()
    progress(0.3, "storing")
    files = ", ".join(entry[0] for entry in prepared.values())
    token = staging.acquire(engine, files, actor, IMPORT_WAIT_SECONDS if wait is None else wait,
                            waiting=lambda text: progress(0.3, text))
    try:
        plan = _stage(engine, token, prepared, progress)
        summary = run_in_transaction(engine, lambda conn: _publish(conn, token, prepared, plan, actor),
                                     what="import")
    except BaseException:
        staging.release(engine, token)
        raise
    staging.finished(token)
    # ---- after commit: the import is stored and visible.  Work that follows a
    # stored import (refreshing what is derived from the touched helpers) goes here.
    materialise.after_import(engine, prepared, summary.counts)
    progress(1.0, "done")
    return summary


IMPORT_WAIT_SECONDS = 120
