"""Read, map and validate import files (DESIGN §6), then store them whole.

Files arrive from HR systems, case-management systems and form tools, so the
reader tolerates what they really export (UTF-8 with or without BOM, UTF-16,
Latin-1/Windows-1252, semicolon or tab separators, XLSX) and the validators
reject everything else with a message that names file, row and column.  Rows
are numbered as a person sees them in a spreadsheet: the header is row 1.

Validation is all-or-nothing: every file of one import call is validated before
anything is written, and the writes happen in one transaction.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from burnout import config
from burnout.errors import InputError

MAX_PROBLEMS = 20

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


# --------------------------------------------------------------------------- reading

def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel "CSV" on Windows: cp1252 is Latin-1 plus the curly quotes and dashes.
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = head.splitlines()[0] if head else ""
        return max([",", ";", "\t"], key=first.count)


def read_table(source, name: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file (path, bytes or file-like) into a frame of stripped
    strings with ``<NA>`` for empty cells.  Typing happens in validation, where a
    bad cell can be reported by row and column."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        if not path.exists():
            raise InputError("file not found", file=name)
        raw = path.read_bytes()
    elif isinstance(source, bytes):
        raw = source
    else:
        raw = source.read()
    name = name or "upload"
    if not raw.strip():
        raise InputError("the file is empty", file=name)
    if raw[:4] == b"PK\x03\x04":   # XLSX is a zip
        try:
            df = pd.read_excel(io.BytesIO(raw), dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many kinds
            raise InputError(f"cannot read the spreadsheet ({exc})", file=name) from exc
    else:
        text = _decode(raw, name)
        sep = _sniff_delimiter(text)
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                             na_values=[""], skipinitialspace=True)
        except pd.errors.ParserError as exc:
            raise InputError(f"cannot read as CSV ({exc})", file=name) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError("the file is empty", file=name) from exc
        if not isinstance(df.index, pd.RangeIndex):
            # pandas silently turns surplus fields into an index: find the row and say so
            reader = csv.reader(io.StringIO(text), delimiter=sep)
            width = len(next(reader))
            for n, fields in enumerate(reader, start=2):
                if len(fields) > width:
                    raise InputError(f"the row has {len(fields)} fields but the header has {width} "
                                     f"(an unquoted {sep!r} inside a value?)", file=name, row=n)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.apply(_strip_cells)
    if df.empty:
        raise InputError("the file has a header but no data rows", file=name)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise InputError("the column appears twice in the header", file=name, column=dup[0])
    return df


def _strip_cells(col: pd.Series) -> pd.Series:
    """Trim whitespace; blank cells become missing.  Only filled cells are
    touched: wide survey files are mostly empty, and this runs on every cell."""
    col = col.astype(object)
    filled = col.notna()
    if filled.any():
        stripped = col[filled].astype(str).str.strip()
        col = col.copy()
        col[filled] = stripped.where(stripped != "", None)
    return col.where(col.notna(), None)


# --------------------------------------------------------------------------- validation

_CHECK_WORDS = {
    "column_in_dataframe": "required column is missing",
    "not_nullable": "is empty but required",
    "field_uniqueness": "appears more than once",
}


def _describe_check(check: str, failure) -> str:
    if check.startswith("coerce_dtype('float") or check.startswith("coerce_dtype('int"):
        return f"{failure!r} is not a number"
    if check.startswith("coerce_dtype('datetime"):
        return f"{failure!r} is not a date (use ISO 8601, e.g. 2026-03-02)"
    if check in _CHECK_WORDS:
        return _CHECK_WORDS[check] if check == "column_in_dataframe" else f"{failure!r} {_CHECK_WORDS[check]}"
    return f"{failure!r} fails: {check}"


def _raise_schema_errors(err: SchemaErrors, file: str, row_of: Callable[[object], int]) -> None:
    fc = err.failure_cases
    fc = fc[~fc["check"].astype(str).str.startswith("dtype(")]
    problems, first = [], None
    for rec in fc.itertuples(index=False):
        check = str(rec.check)
        col = rec.column if rec.column is not None else (rec.failure_case if check == "column_in_dataframe" else None)
        row = None if rec.index is None or (isinstance(rec.index, float) and np.isnan(rec.index)) else row_of(rec.index)
        msg = _describe_check(check, rec.failure_case)
        where = ", ".join(x for x in (f"row {row}" if row else "", f"column {col!r}" if col else "") if x)
        problems.append(f"{where}: {msg}" if where else msg)
        if first is None:
            first = (msg, row, col)
    _raise(problems, file, first)


def _raise(problems: list[str], file: str, first: tuple, uncounted: int = 0) -> None:
    problems = list(dict.fromkeys(problems))
    msg, row, col = first
    more = "" if len(problems) <= 1 else (
        f" ({len(problems) + uncounted} problems in all:\n  " + "\n  ".join(problems[:MAX_PROBLEMS])
        + ("\n  …" if len(problems) > MAX_PROBLEMS else "") + ")")
    raise InputError(msg + more, file=file, row=row, column=col, problems=problems)


class Problems:
    """Collects row/column problems of one file, then raises them together."""

    def __init__(self, file: str, rows: pd.Series | None = None):
        self.file, self.items, self.first = file, [], None
        self.rows = rows
        self.uncounted = 0   # problems beyond those listed one by one

    def add(self, msg: str, row: int | None = None, column: str | None = None) -> None:
        where = ", ".join(x for x in (f"row {row}" if row else "", f"column {column!r}" if column else "") if x)
        self.items.append(f"{where}: {msg}" if where else msg)
        if self.first is None:
            self.first = (msg, row, column)

    def add_mask(self, mask: pd.Series, column: str | None, msg: Callable[[pd.Series], pd.Series] | str,
                 values: pd.Series | None = None) -> None:
        """Add one problem per True row of ``mask``."""
        if not mask.any():
            return
        idx = mask[mask].index
        self.uncounted += max(0, len(idx) - MAX_PROBLEMS * 5)
        rows = self.rows.loc[idx] if self.rows is not None else pd.Series(idx + 2, index=idx)
        for i, r in zip(idx[:MAX_PROBLEMS * 5], rows[:MAX_PROBLEMS * 5]):
            text = msg if isinstance(msg, str) else msg(values.loc[i] if values is not None else None)
            self.add(text, int(r), column)

    def raise_if_any(self) -> None:
        if self.items:
            _raise(self.items, self.file, self.first, self.uncounted)


def _require_columns(df: pd.DataFrame, required: Iterable[str], file: str, what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"required column missing for a {what} file (found: {', '.join(df.columns)})",
                         file=file, row=1, column=missing[0])


def _spreadsheet_row(idx) -> int:
    return int(idx) + 2


def _validate(schema: pa.DataFrameSchema, df: pd.DataFrame, file: str) -> pd.DataFrame:
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as err:
        _raise_schema_errors(err, file, _spreadsheet_row)
    raise AssertionError("unreachable")


_DATE = pa.Column("datetime64[ns]", coerce=True)


def _date_col(nullable: bool = False) -> pa.Column:
    return pa.Column("datetime64[ns]", coerce=True, nullable=nullable)


def _num_col(nullable: bool = False, *checks) -> pa.Column:
    return pa.Column(float, list(checks), coerce=True, nullable=nullable)


def _parse_dates(df: pd.DataFrame, cols: list[str], file: str) -> pd.DataFrame:
    """ISO 8601 only: ambiguous day/month orders are rejected rather than guessed."""
    probs = Problems(file)
    out = df.copy()
    for c in cols:
        if c not in df.columns:
            continue
        s = df[c]
        parsed = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
        bad = s.notna() & parsed.isna()
        probs.add_mask(bad, c, lambda v: f"{v!r} is not an ISO 8601 date (e.g. 2026-03-02)", s)
        out[c] = parsed.dt.tz_convert(None)
    probs.raise_if_any()
    return out


# ---- roster

def validate_roster(df: pd.DataFrame, file: str = "roster") -> pd.DataFrame:
    _require_columns(df, ROSTER_REQUIRED, file, "roster")
    unknown = [c for c in df.columns if c not in ROSTER_REQUIRED + ROSTER_OPTIONAL]
    if unknown:
        raise InputError("unknown column in a roster file", file=file, row=1, column=unknown[0])
    df = df.copy()
    for c in ROSTER_OPTIONAL:
        if c not in df.columns:
            df[c] = pd.Series(pd.NA, index=df.index, dtype="string")
    df = _parse_dates(df, ["start_date", "end_date"], file)
    kinds = list(config.TEAM_KINDS)
    schema = pa.DataFrameSchema({
        "helper_id": pa.Column(str, unique=True),
        "name": pa.Column(str, nullable=True),
        "team": pa.Column(str),
        "role": pa.Column(str),
        "site": pa.Column(str, nullable=True),
        "fte": _num_col(False, pa.Check.in_range(0, 1.5, include_min=False,
                                                 error="fte must be above 0 and at most 1.5")),
        "start_date": pa.Column("datetime64[ns]"),
        "end_date": pa.Column("datetime64[ns]", nullable=True),
        "end_reason": pa.Column(str, nullable=True),
        "annual_salary": _num_col(True, pa.Check.ge(0, error="salary cannot be negative")),
        "specialties": pa.Column(str, nullable=True),
        "caseload_standard": _num_col(True, pa.Check.gt(0, error="caseload standard must be above 0")),
        "team_kind": pa.Column(str, pa.Check.isin(kinds, error=f"team_kind must be one of {kinds}"),
                               nullable=True),
    }, strict=False)
    out = _validate(schema, df[ROSTER_REQUIRED + ROSTER_OPTIONAL], file)
    probs = Problems(file)
    probs.add_mask(out["end_date"].notna() & (out["end_date"] < out["start_date"]), "end_date",
                   "end_date is before start_date")
    # one team must have one kind, otherwise the stored team row would depend on row order
    kinds_per_team = out.dropna(subset=["team_kind"]).groupby("team")["team_kind"].nunique()
    for team in kinds_per_team[kinds_per_team > 1].index:
        probs.add_mask((out["team"] == team) & out["team_kind"].notna(), "team_kind",
                       f"team {team!r} is given more than one team_kind")
    probs.raise_if_any()
    return out


# ---- caseload

def validate_caseload(df: pd.DataFrame, file: str = "caseload") -> pd.DataFrame:
    """Weekly rows; event rows (a ``date`` and ``case_id`` column) are rolled up first."""
    if "week_start" not in df.columns and {"date", "case_id"} <= set(df.columns):
        return rollup_events(validate_events(df, file))
    _require_columns(df, CASELOAD_REQUIRED, file, "caseload")
    unknown = [c for c in df.columns if c not in CASELOAD_REQUIRED + CASELOAD_OPTIONAL]
    if unknown:
        raise InputError("unknown column in a caseload file", file=file, row=1, column=unknown[0])
    df = df.copy()
    for c in CASELOAD_OPTIONAL:
        if c not in df.columns:
            df[c] = pd.Series(pd.NA, index=df.index, dtype="string")
    df = _parse_dates(df, ["week_start"], file)
    nonneg = pa.Check.ge(0, error="must be 0 or more")
    cols = {"helper_id": pa.Column(str), "week_start": pa.Column("datetime64[ns]"),
            "case_types": pa.Column(str, nullable=True),
            "cases_outside_specialty": _num_col(True, nonneg)}
    cols.update({c: _num_col(c in ("hours_worked", "overtime_hours"), nonneg) for c in CASELOAD_NUMERIC})
    schema = pa.DataFrameSchema(cols)
    out = _validate(schema, df[CASELOAD_REQUIRED + CASELOAD_OPTIONAL], file)
    probs = Problems(file)
    for col in ("high_acuity_cases", "cases_outside_specialty"):
        probs.add_mask(out[col] > out["active_cases"], col, f"{col} is more than active_cases")
    probs.raise_if_any()
    out["week_start"] = _monday(out["week_start"])
    _reject_duplicate_keys(out, ["helper_id", "week_start"], file)
    return out


def _monday(s: pd.Series) -> pd.Series:
    """Weeks start on Monday everywhere, so surveys and caseload join on one key."""
    d = pd.to_datetime(s).dt.normalize()
    return d - pd.to_timedelta(d.dt.weekday, unit="D")


def _flag(s: pd.Series) -> pd.Series:
    return s.astype("string").str.lower().map(
        {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0,
         "1.0": 1.0, "0.0": 0.0})


def validate_events(df: pd.DataFrame, file: str = "caseload") -> pd.DataFrame:
    _require_columns(df, EVENT_REQUIRED, file, "caseload event")
    unknown = [c for c in df.columns if c not in EVENT_REQUIRED + EVENT_OPTIONAL]
    if unknown:
        raise InputError("unknown column in a caseload event file", file=file, row=1, column=unknown[0])
    df = _parse_dates(df.copy(), ["date"], file)
    probs = Problems(file)
    for c in ["new_case", "high_acuity", "trauma_exposure", "critical_incident", "outside_specialty"]:
        if c in df.columns:
            flags = _flag(df[c])
            probs.add_mask(df[c].notna() & flags.isna(), c,
                           lambda v: f"{v!r} is not yes/no (use 1/0, true/false or yes/no)", df[c])
            df[c] = flags
    for c in ["hours", "overtime_hours"]:
        if c in df.columns:
            num = pd.to_numeric(df[c], errors="coerce")
            probs.add_mask(df[c].notna() & (num.isna() | (num < 0)), c,
                           lambda v: f"{v!r} is not a number of hours", df[c])
            df[c] = num
    for c in EVENT_REQUIRED:
        probs.add_mask(df[c].isna(), c, "is empty but required")
    probs.raise_if_any()
    return df


def rollup_events(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per contact → one row per helper-week.

    active_cases counts distinct cases seen in the week; hours sum; overtime is
    the sum of given overtime, or hours beyond 40 when overtime is not given.
    """
    ev = ev.copy()
    ev["week_start"] = _monday(ev["date"])
    for c in ["new_case", "high_acuity", "trauma_exposure", "critical_incident", "outside_specialty"]:
        if c not in ev.columns:
            ev[c] = 0.0
        ev[c] = ev[c].fillna(0.0)
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
    if "hours" in ev.columns:
        out["hours_worked"] = g["hours"].sum(min_count=1)
        if "overtime_hours" in ev.columns:
            out["overtime_hours"] = g["overtime_hours"].sum(min_count=1)
        else:
            out["overtime_hours"] = (out["hours_worked"] - STANDARD_WEEK_HOURS).clip(lower=0)
    else:
        out["hours_worked"] = np.nan
        out["overtime_hours"] = g["overtime_hours"].sum(min_count=1) if "overtime_hours" in ev.columns else np.nan
    if "case_type" in ev.columns:
        out["case_types"] = g["case_type"].agg(lambda s: ";".join(sorted(set(s.dropna()))) or pd.NA)
    else:
        out["case_types"] = pd.NA
    out = out.reset_index()
    return out[CASELOAD_REQUIRED + CASELOAD_OPTIONAL].astype({c: float for c in CASELOAD_NUMERIC})


# ---- surveys

def _item_scales() -> dict[str, tuple[str, np.ndarray, dict[str, float]]]:
    """item id -> (instrument, allowed numeric values, normalised label -> value)."""
    from burnout.instruments import all_instruments

    out = {}
    for inst in all_instruments():
        allowed = np.array(inst.answer_values, dtype=float)
        lookup = dict(inst.answer_lookup)
        for item in inst.item_ids:
            out[item] = (inst.id, allowed, lookup)
    return out


def _labels_to_values(raw: pd.Series, lookup: dict[str, float]) -> pd.Series:
    """Map answer labels to values; each distinct text is normalised once, so a
    file of millions of answers costs one call per distinct label."""
    from burnout.instruments import normalise_label

    uniq = raw.dropna().unique()
    table = {u: lookup.get(normalise_label(u)) for u in uniq}
    return raw.map(table).astype(float)


def convert_answers(long: pd.DataFrame, file: str, labels: dict[str, float] | None = None) -> pd.Series:
    """Answers (``item_id``, ``value`` as text, ``row``) → numeric values.

    Numbers must be on the item's scale; text must be one of the scale's labels
    (or of ``labels`` from a mapping file).  Nothing is clipped or defaulted.
    """
    scales = _item_scales()
    probs = Problems(file, rows=long["row"])
    out = pd.Series(np.nan, index=long.index, dtype=float)
    from burnout.instruments import normalise_label

    extra = {normalise_label(k): float(v) for k, v in (labels or {}).items()}
    for item, part in long.groupby("item_id", sort=False):
        inst, allowed, label_map = scales[item]
        raw = part["value"]
        num = pd.to_numeric(raw, errors="coerce")
        val = num.astype(float)
        if num.isna().any():
            val = val.fillna(_labels_to_values(raw[num.isna()], {**label_map, **extra}))
        not_understood = val.isna()
        probs.add_mask(not_understood, item,
                       lambda v, a=allowed: f"{v!r} is not an answer on this scale "
                                            f"(expected one of {', '.join(f'{x:g}' for x in a)} or its label)", raw)
        off = val.notna() & ~val.isin(allowed)
        probs.add_mask(off, item, lambda v, a=allowed: f"{v!r} is outside the scale "
                                                       f"({', '.join(f'{x:g}' for x in a)})", raw)
        out.loc[part.index] = val
    probs.raise_if_any()
    return out


def validate_surveys(df: pd.DataFrame, file: str = "surveys",
                     labels: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide or long survey file → (submissions, answers).

    submissions: helper_id, instrument, submitted_at, comment, row
    answers: helper_id, instrument, submitted_at, item_id, value
    """
    scales = _item_scales()
    long_form = {"item_id", "value"} <= set(df.columns)
    _require_columns(df, SURVEY_KEYS, file, "survey")
    df = _parse_dates(df.copy(), ["submitted_at"], file)
    probs = Problems(file)
    for c in SURVEY_KEYS:
        probs.add_mask(df[c].isna(), c, "is empty but required")
    df["instrument"] = df["instrument"].str.lower()
    probs.add_mask(df["instrument"].notna() & ~df["instrument"].isin(config.INSTRUMENTS), "instrument",
                   lambda v: f"{v!r} is not an instrument (one of {', '.join(config.INSTRUMENTS)})",
                   df["instrument"])
    probs.raise_if_any()
    df["row"] = df.index + 2
    keys = SURVEY_KEYS
    if long_form:
        extra = [c for c in df.columns if c not in keys + ["item_id", "value", "row", "comment"]]
        if extra:
            raise InputError("unknown column in a long survey file", file=file, row=1, column=extra[0])
        long = df[keys + ["item_id", "value", "row"]].copy()
        unknown = ~long["item_id"].isin(list(scales))
        probs.add_mask(unknown, "item_id", lambda v: f"{v!r} is not a known item id", long["item_id"])
        _reject_duplicate_keys(long, keys + ["item_id"], file)
        subs = df.groupby(keys, sort=False, as_index=False).agg(row=("row", "min"))
        subs["comment"] = (df.groupby(keys, sort=False)["comment"].first().values
                           if "comment" in df.columns else pd.NA)
    else:
        items = [c for c in df.columns if c not in keys + ["row", "comment"]]
        unknown = [c for c in items if c not in scales]
        if unknown:
            raise InputError("unknown column: not an item id of proqol5, cbi, sib or pulse "
                             "(a form-tool export needs a mapping file)", file=file, row=1, column=unknown[0])
        _reject_duplicate_keys(df, keys, file)
        long = _melt_answers(df, keys, items, scales)
        subs = df[keys + ["row"]].copy()
        subs["comment"] = df["comment"] if "comment" in df.columns else pd.NA
    long = long[long["value"].notna()]
    item_inst = long["item_id"].map({k: v[0] for k, v in scales.items()})
    wrong = item_inst.notna() & (item_inst != long["instrument"])
    probs.rows = long["row"]
    for item in long.loc[wrong, "item_id"].unique()[:MAX_PROBLEMS]:
        probs.add_mask(wrong & (long["item_id"] == item), item,
                       lambda v: f"an answer to a {v} item in a row whose instrument is different",
                       item_inst)
    probs.raise_if_any()
    long = long.reset_index(drop=True)
    long["value"] = convert_answers(long, file, labels)
    answered = long.groupby(keys).size()
    empty = subs.set_index(keys).index.difference(answered.index)
    if len(empty):
        rows = subs.set_index(keys).loc[empty, "row"]
        probs.rows = None
        for r in rows.iloc[:MAX_PROBLEMS]:
            probs.add("the row has no answers", int(r), None)
        probs.raise_if_any()
    return subs.reset_index(drop=True), long[keys + ["item_id", "value"]]


def _melt_answers(df: pd.DataFrame, keys: list[str], items: list[str], scales: dict) -> pd.DataFrame:
    """Wide → long, one instrument at a time, keeping only filled cells.

    Melting every item column of every row would build (rows × all items)
    mostly-empty cells first: 60 M for a large export.  Cells answered for
    another instrument are kept so validation can name them.
    """
    parts = []
    for inst in df["instrument"].unique():
        rows = df[df["instrument"] == inst]
        own = [c for c in items if scales[c][0] == inst]
        other = [c for c in items if scales[c][0] != inst and rows[c].notna().any()]
        cols = own + other
        if not cols:
            continue
        m = rows.melt(id_vars=keys + ["row"], value_vars=cols, var_name="item_id", value_name="value")
        parts.append(m[m["value"].notna()])
    if not parts:
        return pd.DataFrame(columns=keys + ["row", "item_id", "value"])
    return pd.concat(parts, ignore_index=True)


def _reject_duplicate_keys(df: pd.DataFrame, keys: list[str], file: str) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        probs = Problems(file, rows=df["row"] if "row" in df.columns else None)
        first = df[dup].groupby(keys, sort=False).head(1)
        first_row = (df["row"] if "row" in df.columns else pd.Series(df.index + 2, index=df.index))
        key_rows = df[dup].assign(_r=first_row[dup]).groupby(keys, sort=False)["_r"].apply(list)
        for key, rows in key_rows.head(MAX_PROBLEMS).items():
            probs.add(f"duplicate row: same {' + '.join(keys)} as row(s) "
                      f"{', '.join(str(r) for r in rows[1:])}", int(rows[0]), keys[-1])
        del first
        probs.raise_if_any()


# ---- form-tool exports

def load_mapping(source, name: str = "mapping") -> dict:
    """Mapping for form-tool exports (headers are question texts, answers labels).

    YAML::

        instrument: proqol5            # or a column mapped to ``instrument``
        columns: {"Staff number": helper_id, "Timestamp": submitted_at, "I am happy.": proqol_1}
        labels: {"Very often": 5}      # optional; the instrument's own labels always work

    CSV: two columns ``source,target``; a row ``instrument,<id>`` with an empty
    source fixes the instrument, rows ``label:<text>,<value>`` add labels.
    """
    import yaml

    if isinstance(source, (str, Path)):
        name, raw = Path(source).name, Path(source).read_bytes()
    else:
        raw = source if isinstance(source, bytes) else source.read()
    text = _decode(raw, name)
    if Path(name).suffix.lower() in (".yaml", ".yml") or text.lstrip().startswith(("instrument:", "columns:")):
        try:
            spec = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({exc})", file=name) from exc
    else:
        table = read_table(raw, name)
        if not {"source", "target"} <= set(table.columns):
            raise InputError("a CSV mapping needs columns source,target", file=name, row=1)
        spec = {"columns": {}, "labels": {}}
        for i, r in table.iterrows():
            src, tgt = r["source"], r["target"]
            if pd.isna(tgt):
                raise InputError("target is empty", file=name, row=i + 2, column="target")
            if pd.isna(src) and str(tgt).lower() in config.INSTRUMENTS:
                spec["instrument"] = str(tgt).lower()
            elif isinstance(src, str) and src.lower().startswith("label:"):
                try:
                    spec["labels"][src[6:].strip()] = float(tgt)
                except ValueError as exc:
                    raise InputError(f"{tgt!r} is not a number", file=name, row=i + 2, column="target") from exc
            else:
                spec["columns"][src] = tgt
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise InputError("the mapping needs a 'columns' section", file=name)
    return spec


def apply_mapping(df: pd.DataFrame, spec: dict, file: str) -> tuple[pd.DataFrame, dict]:
    cols = {str(k).strip(): str(v).strip() for k, v in spec["columns"].items()}
    missing = [k for k in cols if k not in df.columns]
    if missing:
        raise InputError("the mapping names a column the file does not have", file=file, row=1,
                         column=missing[0])
    out = df[list(cols)].rename(columns=cols)
    if "instrument" not in out.columns:
        inst = spec.get("instrument")
        if inst not in config.INSTRUMENTS:
            raise InputError("the mapping must give an instrument or map a column to 'instrument'", file=file)
        out["instrument"] = inst
    return out, spec.get("labels") or {}


# --------------------------------------------------------------------------- import

@dataclass
class ImportSummary:
    lines: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def describe(self) -> str:
        return "\n".join(self.lines) if self.lines else "nothing to import"


def prepare(roster=None, surveys=None, caseload=None, mapping=None, names: dict | None = None,
            known_helpers: Iterable[str] = ()) -> dict:
    """Read and validate everything; raises InputError before any write."""
    names = names or {}
    prepared: dict = {}
    helper_ids = set(known_helpers)
    if roster is not None:
        f = names.get("roster") or _name(roster, "roster")
        prepared["roster"] = (f, validate_roster(read_table(roster, f), f))
        helper_ids |= set(prepared["roster"][1]["helper_id"])
    if surveys is not None:
        f = names.get("surveys") or _name(surveys, "surveys")
        df = read_table(surveys, f)
        labels = None
        if mapping is not None:
            df, labels = apply_mapping(df, load_mapping(mapping, names.get("mapping") or _name(mapping, "mapping")), f)
        subs, ans = validate_surveys(df, f, labels)
        _check_helpers(subs, helper_ids, f)
        prepared["surveys"] = (f, subs, ans)
    if caseload is not None:
        f = names.get("caseload") or _name(caseload, "caseload")
        raw = read_table(caseload, f)
        weeks = validate_caseload(raw, f)
        if "row" not in weeks.columns:
            weeks["row"] = (weeks.index + 2) if "week_start" in raw.columns else np.nan
        _check_helpers(weeks, helper_ids, f)
        prepared["caseload"] = (f, weeks.drop(columns="row"))
    return prepared


def _name(source, default: str) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return getattr(source, "name", None) or default


def _check_helpers(df: pd.DataFrame, known: set, file: str) -> None:
    unknown = ~df["helper_id"].isin(known)
    if unknown.any():
        probs = Problems(file, rows=df["row"] if df["row"].notna().all() else None)
        probs.add_mask(unknown, "helper_id",
                       lambda v: f"{v!r} is not in the roster (import the roster first or with this file)",
                       df["helper_id"])
        probs.raise_if_any()


def import_files(engine, roster=None, surveys=None, caseload=None, mapping=None, *,
                 names: dict | None = None, actor: str = "cli",
                 progress: Callable[[float, str], None] | None = None) -> ImportSummary:
    """Validate all given files, then store them in one transaction.

    Idempotent: the roster and caseload upsert on their natural keys (helper_id;
    helper_id + week_start) and a survey submission already stored under the
    same helper + instrument + submitted_at is left as it is.
    """
    from burnout.store import frames, writes

    progress = progress or (lambda f, m: None)
    progress(0.0, "reading and checking files")
    known = frames.helper_ids(engine)
    prepared = prepare(roster, surveys, caseload, mapping, names, known)
    progress(0.3, "storing")
    summary = ImportSummary()
    with engine.begin() as conn:
        if "roster" in prepared:
            f, df = prepared["roster"]
            n_new, n_upd = writes.upsert_roster(conn, df)
            writes.log_import(conn, "roster", f, len(df), n_new + n_upd, actor)
            summary.counts["roster"] = {"rows": len(df), "new": n_new, "updated": n_upd}
            summary.lines.append(f"{f}: {len(df)} helpers ({n_new} new, {n_upd} changed)")
        if "surveys" in prepared:
            f, subs, ans = prepared["surveys"]
            n_new, n_items = writes.insert_submissions(
                conn, subs, ans, source="import",
                progress=lambda x: progress(0.3 + 0.6 * x, "storing survey answers"))
            writes.log_import(conn, "surveys", f, len(subs), n_new, actor)
            summary.counts["surveys"] = {"rows": len(subs), "new": n_new, "answers": n_items,
                                         "already_stored": len(subs) - n_new}
            summary.lines.append(f"{f}: {len(subs)} submissions ({n_new} new with {n_items} answers, "
                                 f"{len(subs) - n_new} already stored)")
        if "caseload" in prepared:
            f, weeks = prepared["caseload"]
            n_new, n_upd = writes.upsert_caseload(conn, weeks)
            writes.log_import(conn, "caseload", f, len(weeks), n_new + n_upd, actor)
            summary.counts["caseload"] = {"rows": len(weeks), "new": n_new, "updated": n_upd}
            summary.lines.append(f"{f}: {len(weeks)} helper-weeks ({n_new} new, {n_upd} changed)")
    progress(1.0, "done")
    return summary


def settings_json(value) -> str:
    return json.dumps(value, sort_keys=True)
