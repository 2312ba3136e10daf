"""Validate each file type against its schema; every problem of a file at once.

Header problems (a required column missing, an unknown column) stop a file
before its rows are read, because rows cannot be understood without them.
Everything else (types, ranges, plausibility, unknown helpers, duplicates,
answers off the scale) is collected in one pass and refused together.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from burnout.domain.settings import TEAM_KINDS
from burnout.instruments import INSTRUMENTS
from burnout.errors import InputError
from burnout.ingest import schemas
from burnout.ingest.dates import HOW_TO_DECLARE, ISO_ONLY, DateStyle
from burnout.ingest.limits import ImportLimits
from burnout.ingest.problems import Problems
from burnout.ingest.read import as_text
from burnout.ingest.schemas import Context
from burnout.instruments import normalise_label

ROSTER_REQUIRED = ["helper_id", "name", "team", "role", "site", "fte", "start_date"]
ROSTER_OPTIONAL = ["end_date", "end_reason", "annual_salary", "specialties", "caseload_standard",
                   "team_kind"]
CASELOAD_NUMERIC = ["active_cases", "new_cases", "high_acuity_cases", "trauma_exposures",
                    "critical_incidents", "hours_worked", "overtime_hours"]
CASELOAD_REQUIRED = ["helper_id", "week_start", *CASELOAD_NUMERIC]
CASELOAD_OPTIONAL = ["case_types", "cases_outside_specialty"]
# Event rows (one per contact); rolled up to weeks by ``rollup_events``.
EVENT_REQUIRED = ["helper_id", "date", "case_id"]
EVENT_OPTIONAL = ["new_case", "high_acuity", "trauma_exposure", "critical_incident", "hours",
                  "overtime_hours", "case_type", "outside_specialty"]
SURVEY_KEYS = ["helper_id", "submitted_at", "instrument"]
STANDARD_WEEK_HOURS = 40.0


def _context(df: pd.DataFrame, limits: ImportLimits | None, known_helpers, dates: DateStyle | None,
             labels: dict[str, float] | None = None, date_hint: str = HOW_TO_DECLARE) -> Context:
    from_labels = {normalise_label(k): float(v) for k, v in (labels or {}).items()}
    return Context(limits=limits or ImportLimits(),
                   known_helpers=None if known_helpers is None else frozenset(known_helpers),
                   decimal_comma=bool(df.attrs.get("decimal_comma")), dates=dates or DateStyle(),
                   labels=from_labels, date_hint=date_hint)


def _headers(df: pd.DataFrame) -> dict[str, str]:
    return dict(df.attrs.get("source_headers") or {})


def _require_columns(df: pd.DataFrame, required: Iterable[str], file: str, what: str,
                     headers: dict[str, str] | None = None) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        probs = Problems(file, headers)
        for c in missing:
            probs.add(f"required column missing for a {what} file (found: {', '.join(map(str, df.columns))})",
                      1, c)
        probs.raise_if_any()


def _with_rows(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: (df[c] if c in df.columns else pd.Series(None, index=df.index, dtype=object))
                          for c in columns}, index=df.index)
    frame["_row"] = df.index + 2
    return frame


# --------------------------------------------------------------------------- roster

def roster_extra_columns(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c not in ROSTER_REQUIRED + ROSTER_OPTIONAL]


def validate_roster(df: pd.DataFrame, file: str = "roster", *, limits: ImportLimits | None = None,
                    dates: DateStyle | None = None) -> pd.DataFrame:
    """Roster rows -> typed frame (ROSTER_REQUIRED + ROSTER_OPTIONAL).  Columns
    beyond those are ignored (the import summary names them)."""
    headers = _headers(df)
    _require_columns(df, ROSTER_REQUIRED, file, "roster", headers)
    probs = Problems(file, headers)
    frame = _with_rows(df, ROSTER_REQUIRED + ROSTER_OPTIONAL)
    out = schemas.validate(schemas.RosterSchema, frame, probs, _context(df, limits, None, dates))
    probs.raise_if_any()
    return out.drop(columns="_row")


# --------------------------------------------------------------------------- caseload

def is_event_file(columns: Iterable[str]) -> bool:
    columns = set(columns)
    return "week_start" not in columns and {"date", "case_id"} <= columns


def absent_caseload_columns(columns: Iterable[str]) -> list[str]:
    """Stored caseload columns a file says nothing about: a re-import leaves them as stored."""
    columns = set(columns)
    if not is_event_file(columns):
        return [c for c in CASELOAD_OPTIONAL if c not in columns]
    given = {"case_types": "case_type" in columns,
             "cases_outside_specialty": "outside_specialty" in columns,
             "hours_worked": "hours" in columns,
             "overtime_hours": bool({"hours", "overtime_hours"} & columns)}
    return [c for c, ok in given.items() if not ok]


def _unknown_columns(df: pd.DataFrame, allowed: list[str], file: str, what: str) -> None:
    unknown = [c for c in df.columns if c not in allowed]
    if unknown:
        probs = Problems(file)
        for c in unknown:
            probs.add(f"unknown column in a {what} file", 1, c)
        probs.raise_if_any()


def validate_caseload(df: pd.DataFrame, file: str = "caseload", *, limits: ImportLimits | None = None,
                      known_helpers: Iterable[str] | None = None,
                      dates: DateStyle | None = None) -> pd.DataFrame:
    """Weekly rows; event rows (a ``date`` and ``case_id`` column) are rolled up first.

    The result has a ``row`` column (the file row of the week, or of its first
    event) and a ``partial_week`` column (see ``rollup_events``)."""
    if is_event_file(df.columns):
        ev = validate_events(df, file, limits=limits, known_helpers=known_helpers, dates=dates)
        weeks = rollup_events(ev)
        _check_event_weeks(weeks, file, limits)
        return weeks
    _require_columns(df, CASELOAD_REQUIRED, file, "caseload")
    _unknown_columns(df, CASELOAD_REQUIRED + CASELOAD_OPTIONAL, file, "caseload")
    probs = Problems(file)
    frame = _with_rows(df, CASELOAD_REQUIRED + CASELOAD_OPTIONAL)
    out = schemas.validate(schemas.CaseloadSchema, frame, probs,
                           _context(df, limits, known_helpers, dates, date_hint=ISO_ONLY))
    probs.raise_if_any()
    out = out.rename(columns={"_row": "row"})
    out["week_start"] = _monday(out["week_start"])
    out["partial_week"] = False
    return out.astype({c: float for c in CASELOAD_NUMERIC + ["cases_outside_specialty"]})


# weekly figure -> the event column it is added up from
_EVENT_SOURCE = {"active_cases": "case_id", "new_cases": "new_case", "high_acuity_cases": "high_acuity",
                 "trauma_exposures": "trauma_exposure", "critical_incidents": "critical_incident",
                 "hours_worked": "hours", "overtime_hours": "overtime_hours",
                 "cases_outside_specialty": "outside_specialty", "week_start": "date"}


def _check_event_weeks(weeks: pd.DataFrame, file: str, limits: ImportLimits | None) -> None:
    """The weekly plausibility rules on the weeks the events add up to,
    reported at each week's first event row and under the event column."""
    inner = Problems(file)
    frame = weeks.drop(columns=["partial_week"]).rename(columns={"row": "_row"})
    # back to text: the schema's parser reads dates as they come in files
    frame["week_start"] = frame["week_start"].dt.strftime("%Y-%m-%d")
    schemas.validate(schemas.CaseloadSchema, frame, inner, Context(limits=limits or ImportLimits()))
    if not len(inner):
        return
    probs = Problems(file)
    week_of = dict(zip(weeks["row"], weeks["week_start"]))
    for row, col, msg in inner.items:
        week = week_of.get(row)
        label = f"the week of {week:%Y-%m-%d} adds up to {col}: " if week is not None else ""
        probs.add(label + msg, row, _EVENT_SOURCE.get(col, col))
    probs.raise_if_any()


def _monday(s: pd.Series) -> pd.Series:
    """Weeks start on Monday everywhere, so surveys and caseload join on one key."""
    d = pd.to_datetime(s).dt.normalize()
    return d - pd.to_timedelta(d.dt.weekday, unit="D")


def validate_events(df: pd.DataFrame, file: str = "caseload", *, limits: ImportLimits | None = None,
                    known_helpers: Iterable[str] | None = None,
                    dates: DateStyle | None = None) -> pd.DataFrame:
    _require_columns(df, EVENT_REQUIRED, file, "caseload event")
    _unknown_columns(df, EVENT_REQUIRED + EVENT_OPTIONAL, file, "caseload event")
    probs = Problems(file)
    frame = df.copy()
    frame["_row"] = df.index + 2
    out = schemas.validate(schemas.EventSchema, frame, probs,
                           _context(df, limits, known_helpers, dates, date_hint=ISO_ONLY))
    probs.raise_if_any()
    out = out.rename(columns={"_row": "row"})
    out["date"] = pd.to_datetime(out["date"])
    return out


def rollup_events(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per contact → one row per helper-week.

    active_cases counts distinct cases seen in the week; hours sum; overtime is
    the sum of given overtime, or hours beyond 40 when overtime is not given.
    A figure the file has no column for (case types, cases outside the
    specialty, hours) is left empty, not counted as zero.

    Only whole events give exact weekly counts (distinct cases cannot be added
    up across files), and the store keeps weeks, not events.  So a week the
    file covers only in part (the first week when the file's earliest date is
    not a Monday, the last when its latest date is not a Sunday) is marked
    ``partial_week``: such a week is stored when it is new, but it never
    replaces a week already stored with other figures; the import summary
    names those helper-weeks instead.  Importing a file that covers the whole
    week replaces it as usual.
    """
    ev = ev.copy()
    ev["week_start"] = _monday(ev["date"])
    flags = ["new_case", "high_acuity", "trauma_exposure", "critical_incident", "outside_specialty"]
    has_outside = "outside_specialty" in ev.columns
    for c in flags:
        if c not in ev.columns:
            ev[c] = 0.0
        ev[c] = ev[c].astype(float).fillna(0.0)
    g = ev.groupby(["helper_id", "week_start"], sort=True)
    out = pd.DataFrame({
        "active_cases": g["case_id"].nunique(),
        "new_cases": ev[ev["new_case"] > 0].groupby(["helper_id", "week_start"])["case_id"].nunique(),
        "high_acuity_cases": ev[ev["high_acuity"] > 0].groupby(["helper_id", "week_start"])["case_id"].nunique(),
        "trauma_exposures": g["trauma_exposure"].sum(),
        "critical_incidents": g["critical_incident"].sum(),
        "cases_outside_specialty": ev[ev["outside_specialty"] > 0].groupby(
            ["helper_id", "week_start"])["case_id"].nunique(),
    })
    for c in ["new_cases", "high_acuity_cases", "cases_outside_specialty"]:
        out[c] = out[c].fillna(0.0)
    if not has_outside:
        out["cases_outside_specialty"] = np.nan
    if "hours" in ev.columns:
        ev["hours"] = ev["hours"].astype(float)
        out["hours_worked"] = g["hours"].sum(min_count=1)
        if "overtime_hours" in ev.columns:
            ev["overtime_hours"] = ev["overtime_hours"].astype(float)
            out["overtime_hours"] = ev.groupby(["helper_id", "week_start"])["overtime_hours"].sum(min_count=1)
        else:
            out["overtime_hours"] = (out["hours_worked"] - STANDARD_WEEK_HOURS).clip(lower=0)
    else:
        out["hours_worked"] = np.nan
        out["overtime_hours"] = (ev.assign(overtime_hours=ev["overtime_hours"].astype(float))
                                 .groupby(["helper_id", "week_start"])["overtime_hours"].sum(min_count=1)
                                 if "overtime_hours" in ev.columns else np.nan)
    if "case_type" in ev.columns:
        out["case_types"] = g["case_type"].agg(lambda s: ";".join(sorted(set(s.dropna()))) or pd.NA)
    else:
        out["case_types"] = pd.NA
    out["row"] = g["row"].min() if "row" in ev.columns else np.nan
    out = out.reset_index()
    days = pd.to_datetime(ev["date"]).dt.normalize()
    first, last = days.min(), days.max()
    first_week, last_week = _monday(pd.Series([first])).iloc[0], _monday(pd.Series([last])).iloc[0]
    out["partial_week"] = (((out["week_start"] == first_week) & (first > first_week))
                           | ((out["week_start"] == last_week) & (last < last_week + pd.Timedelta(days=6))))
    out = out[CASELOAD_REQUIRED + CASELOAD_OPTIONAL + ["row", "partial_week"]]
    return out.astype({c: float for c in CASELOAD_NUMERIC})


# --------------------------------------------------------------------------- surveys

def validate_surveys(df: pd.DataFrame, file: str = "surveys", labels: dict[str, float] | None = None, *,
                     limits: ImportLimits | None = None, known_helpers: Iterable[str] | None = None,
                     dates: DateStyle | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide or long survey file → (submissions, answers).

    submissions: helper_id, instrument, submitted_at, comment, row
    answers: instrument, item_id (both categorical), value, submission (its row in submissions:
    the answer's helper, instrument and time are that row's)

    A frame from ``apply_mapping`` carries the file's own headers in
    ``attrs["source_headers"]``; messages name those, not the item ids.
    """
    scales = schemas.item_scales()
    headers = _headers(df)
    _require_columns(df, SURVEY_KEYS, file, "survey", headers)
    long_form = {"item_id", "value"} <= set(df.columns)
    if long_form:
        extra = [c for c in df.columns if c not in SURVEY_KEYS + ["item_id", "value", "comment"]]
        if extra:
            raise InputError("unknown column in a long survey file", file=file, row=1, column=extra[0])
        items: list[str] = []
    else:
        items = [c for c in df.columns if c not in SURVEY_KEYS + ["comment"]]
        unknown = [c for c in items if c not in scales]
        if unknown:
            probs = Problems(file, headers)
            for c in unknown:
                probs.add("unknown column: not an item id of proqol5, cbi, sib or pulse "
                          "(a form-tool export needs a mapping file)", 1, c)
            probs.raise_if_any()
    # A compact frame (read_table(compact=True)): every column but the items as text;
    # the item columns stay categorical, only their filled cells are ever picked.
    df = _texts_but(df, items)
    context = _context(df, limits, known_helpers, dates, labels)
    probs = Problems(file, headers)
    key_cols = SURVEY_KEYS + (["comment"] if "comment" in df.columns else [])
    keys = _with_rows(df, key_cols)
    model = schemas.SubmissionSchema if long_form else schemas.WideSubmissionSchema
    subs_v = schemas.validate(model, keys, probs, context)

    raw_inst = df["instrument"].astype(object).where(df["instrument"].isna(),
                                                     df["instrument"].astype(str).str.strip().str.lower())
    if long_form:
        long = pd.DataFrame({"_row": df.index + 2, "instrument": raw_inst, "item_id": df["item_id"],
                             "value": df["value"]}, index=df.index)
        # the raw key, so duplicates are found even when a key cell cannot be read
        long["_submission"] = (df["helper_id"].astype(str) + "\x1f" + df["submitted_at"].astype(str)
                               + "\x1f" + raw_inst.astype(str))
    else:
        long = _melt_answers(df, items, scales, instrument=raw_inst, rows=df.index + 2)
    # A row whose instrument is not one is reported once, not again per answer.
    keep = long["value"].notna() & long["instrument"].isin(INSTRUMENTS)
    if not keep.all():
        long = long[keep].reset_index(drop=True)
    del keep
    ans_v = schemas.validate(schemas.AnswerSchema, long, probs, context,
                             column_of=lambda data, i, col: (data.at[i, "item_id"] if col == "value"
                                                             else col), inplace=True)
    answered = pd.unique(long["_row"].to_numpy())
    del long      # ans_v holds the answers now
    no_answers = keys["_row"][~keys["_row"].isin(answered) & raw_inst.isin(INSTRUMENTS)]
    for r in no_answers:
        probs.add("the row has no answers", int(r), None)
    probs.raise_if_any()

    subs_v = subs_v.rename(columns={"_row": "row"})
    if long_form:
        groups = subs_v.groupby(SURVEY_KEYS, sort=False)
        subs = groups.agg(row=("row", "min")).reset_index()
        subs["comment"] = groups["comment"].first().values if "comment" in subs_v.columns else pd.NA
        position = groups.ngroup().to_numpy()        # numbered as ``subs`` lists them
    else:
        subs = subs_v[SURVEY_KEYS + ["row"]].copy()
        subs["comment"] = subs_v["comment"] if "comment" in subs_v.columns else pd.NA
        position = np.arange(len(subs_v))
    # Each answer names its submission by position in ``subs``, not by the three key
    # columns: at a health system's size (11 M answers) helper_id, instrument and
    # submitted_at per answer were 24 bytes a row and most of the import's peak memory.
    # Instrument and item id stay categories (a byte or two an answer), because the
    # scoring and the answers table's key order need them per answer.
    # Filled column by column: a frame built from a dict stacks its columns into one
    # block, a second copy of them.
    at = pd.Index(subs_v["row"].to_numpy()).get_indexer(ans_v["_row"].to_numpy())
    inst = pd.Categorical(subs_v["instrument"].to_numpy(dtype=object))
    ans = pd.DataFrame(index=pd.RangeIndex(len(at)))
    ans["instrument"] = pd.Categorical.from_codes(np.asarray(inst.codes)[at], dtype=inst.dtype)
    item = ans_v["item_id"]
    ans["item_id"] = (item.array if isinstance(item.dtype, pd.CategoricalDtype)
                      else pd.Categorical(item.to_numpy(dtype=object)))
    ans["value"] = ans_v["value"].to_numpy(dtype=float)
    ans["submission"] = position[at]
    # subs is this function's own frame: renumbered in place, where reset_index copied
    # every column (the end of the checks was their peak: ~0.2 GB more at L)
    subs.index = pd.RangeIndex(len(subs))
    return subs, ans


def _texts_but(df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    kept = set(keep)
    # copy=False: the item columns are the caller's, not a second copy of them
    out = pd.DataFrame({c: df[c] if c in kept else as_text(df[c]) for c in df.columns}, index=df.index,
                       copy=False)
    out.attrs.update(df.attrs)
    return out


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(a code per cell, -1 where empty; the texts the codes stand for)."""
    cat = col.array if isinstance(col.dtype, pd.CategoricalDtype) else pd.Categorical(col.to_numpy(dtype=object))
    return np.asarray(cat.codes), np.asarray(cat.categories, dtype=object)


def _melt_answers(df: pd.DataFrame, items: list[str], scales: dict, instrument: pd.Series | None = None,
                  rows=None) -> pd.DataFrame:
    """Wide → long, one instrument at a time, keeping only filled cells, row by row.
    ``instrument`` and ``rows`` (file rows) default to ``df``'s columns of those names.

    Melting every item column of every row would build (rows × all items)
    mostly-empty cells first: 60 M for a large export.  So which cells are filled
    is found once for the whole file and only those are picked, through the item
    columns' category codes (a byte or two a cell, where text is eight).  Cells
    answered for another instrument are kept so validation can name them."""
    instrument = df["instrument"] if instrument is None else instrument
    row_numbers = np.asarray(df["_row"] if rows is None else rows)
    coded = [_codes(df[c]) for c in items]
    # one table of every column's texts: a cell's text is table[its code + its column's offset]
    offsets = np.cumsum([0] + [len(t) for _, t in coded])
    table = np.concatenate([t for _, t in coded] + [np.array([None], dtype=object)])
    # item ids and answer texts leave as categories: a code per answer, not a pointer
    text_of, texts = pd.factorize(table, use_na_sentinel=True)
    filled = (np.column_stack([c >= 0 for c, _ in coded]) if items
              else np.zeros((len(df), 0), dtype=bool))
    inst_of_row = instrument.to_numpy(dtype=object)
    picks = []
    for inst in instrument.dropna().unique():
        mask = inst_of_row == inst
        here = filled[mask]
        cols = [j for j, c in enumerate(items) if scales[c][0] == inst or here[:, j].any()]
        if cols:
            picks.append((inst, mask, cols, int(np.count_nonzero(here[:, cols]))))
    # The long columns are allocated once and filled instrument by instrument:
    # a concat of the parts held every answer twice.
    n = sum(p[3] for p in picks)
    out_rows = np.empty(n, dtype=np.int64)
    # codes of the instruments picked, in order (a file may name many that are none)
    out_inst = np.empty(n, dtype=np.int8 if len(picks) < 128 else np.int32)
    out_item, out_value = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
    at = 0
    for code, (inst, mask, cols, count) in enumerate(picks):
        r, k = np.nonzero(filled[mask][:, cols])
        where = np.column_stack([coded[j][0][mask].astype(np.int32) + offsets[j] for j in cols])
        part = slice(at, at + count)
        out_rows[part] = row_numbers[mask][r]
        out_inst[part] = code
        out_item[part] = np.asarray(cols, dtype=np.int32)[k]
        out_value[part] = text_of[where[r, k]]
        at += count
        del r, k, where
    long = pd.DataFrame(index=pd.RangeIndex(n))
    long["_row"] = out_rows
    # a category, not an eight-byte pointer per answer (11 M at a health system's size)
    long["instrument"] = pd.Categorical.from_codes(out_inst, categories=pd.Index([p[0] for p in picks],
                                                                                 dtype=object))
    long["item_id"] = pd.Categorical.from_codes(out_item, categories=pd.Index(items, dtype=object))
    long["value"] = pd.Categorical.from_codes(out_value, categories=pd.Index(texts, dtype=object))
    return long
