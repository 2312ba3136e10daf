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

from burnout import auth
from burnout.domain.settings import TEAM_KINDS
from burnout.store.demo import is_demo
from burnout.errors import InputError
from burnout.instruments import INSTRUMENTS

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


def _read_file(path: Path, name: str) -> bytes:
    if not path.exists():
        raise InputError(f"file not found ({path})", file=name)
    if path.is_dir():
        raise InputError(f"this is a folder, not a file ({path})", file=name)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=name) from exc


def read_table(source, name: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file (path, bytes or file-like) into a frame of stripped
    strings with ``<NA>`` for empty cells.  Typing happens in validation, where a
    bad cell can be reported by row and column.

    Fully empty rows (blank lines, ``,,,,`` lines, blank spreadsheet rows) are
    dropped, but the index keeps every row's place in the file: index + 2 is
    the row a person sees, so a blank line never shifts a reported row."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        raw = _read_file(path, name)
    elif isinstance(source, bytes):
        raw = source
    else:
        raw = source.read()
    name = name or "upload"
    if not raw.strip():
        raise InputError("the file is empty", file=name)
    lead = 0
    if raw[:4] == b"PK\x03\x04":   # XLSX is a zip
        try:
            df = pd.read_excel(io.BytesIO(raw), dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many kinds
            raise InputError(f"cannot read the spreadsheet ({exc})", file=name) from exc
    else:
        text = _decode(raw, name)
        # Blank lines above the header would become the header once blank lines
        # are kept; they are cut off and counted so data rows keep their numbers.
        lines = text.splitlines(keepends=True)
        while lead < len(lines) and not lines[lead].strip():
            lead += 1
        text = "".join(lines[lead:])
        sep = _sniff_delimiter(text)
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                             na_values=[""], skipinitialspace=True, skip_blank_lines=False)
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
                                     f"(an unquoted {sep!r} inside a value?)", file=name, row=n + lead)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.apply(_strip_cells)
    df.index = df.index + lead
    # Column by column, stopping once every row has a value: usually after the
    # first column, where a frame-wide notna() would build one flag per cell.
    filled = np.zeros(len(df), dtype=bool)
    for c in df.columns:
        filled |= df[c].notna().to_numpy()
        if filled.all():
            break
    if not filled.all():
        df = df[filled]
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

EMPTY_BUT_REQUIRED = "empty, but a value is required"

_CHECK_WORDS = {
    "column_in_dataframe": "required column is missing",
    "field_uniqueness": "appears more than once",
}


def _describe_check(check: str, failure) -> str:
    if check.startswith("coerce_dtype('float") or check.startswith("coerce_dtype('int"):
        return f"{failure!r} is not a number"
    if check.startswith("coerce_dtype('datetime"):
        return f"{failure!r} is not a date (use ISO 8601, e.g. 2026-03-02)"
    if check == "not_nullable":
        return EMPTY_BUT_REQUIRED
    if check in _CHECK_WORDS:
        return _CHECK_WORDS[check] if check == "column_in_dataframe" else f"{failure!r} {_CHECK_WORDS[check]}"
    return f"{failure!r} fails: {check}"


def _add_schema_errors(err: SchemaErrors, probs: "Problems", row_of: Callable[[object], int],
                       failed: set) -> None:
    """Turn pandera's failure cases into problems.

    ``failed`` holds (column, index) cells that already failed type coercion:
    their check failures, and a check that crashed on the whole column because
    of them, would only repeat the same problem in worse words."""
    fc = err.failure_cases
    fc = fc[~fc["check"].astype(str).str.startswith("dtype(")]
    bad_columns = {c for c, _ in failed}
    for rec in fc.itertuples(index=False):
        check = str(rec.check)
        col = rec.column if rec.column is not None else (rec.failure_case if check == "column_in_dataframe" else None)
        no_row = rec.index is None or (isinstance(rec.index, float) and np.isnan(rec.index))
        if (col, None if no_row else rec.index) in failed or (no_row and col in bad_columns):
            continue
        probs.add(_describe_check(check, rec.failure_case), None if no_row else row_of(rec.index), col)


def _raise(problems: list[str], file: str, first: tuple, uncounted: int = 0) -> None:
    problems = list(dict.fromkeys(problems))
    msg, row, col = first
    more = "" if len(problems) <= 1 else (
        f" ({len(problems) + uncounted} problems in all:\n  " + "\n  ".join(problems[:MAX_PROBLEMS])
        + ("\n  …" if len(problems) > MAX_PROBLEMS else "") + ")")
    raise InputError(msg + more, file=file, row=row, column=col, problems=problems)


class Problems:
    """Collects row/column problems of one file, then raises them together.

    ``headers`` maps internal column names back to the file's own headers
    (a form-tool export read through a mapping), so a message names the
    column the person can find in their file."""

    def __init__(self, file: str, rows: pd.Series | None = None, headers: dict[str, str] | None = None):
        self.file, self.items, self.first = file, [], None
        self.rows = rows
        self.headers = headers or {}
        self.uncounted = 0   # problems beyond those listed one by one

    def add(self, msg: str, row: int | None = None, column: str | None = None) -> None:
        if column in self.headers and self.headers[column] != column:
            msg, column = f"{msg} (mapped to {column})", self.headers[column]
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
    """Validate with pandera, numbers coerced first.

    Coercing numeric columns here, not in pandera, reports every cell that is
    not a number and still lets the range checks run on the cells that are:
    pandera would run them on the raw text and fail the whole column."""
    probs = Problems(file)
    df = df.copy()
    failed: set = set()
    for name, col in schema.columns.items():
        if name not in df.columns or not str(col.dtype).startswith("float"):
            continue
        raw = df[name]
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & num.isna()
        probs.add_mask(bad, name, lambda v: f"{v!r} is not a number", raw)
        failed |= {(name, i) for i in bad[bad].index}
        df[name] = num.astype(float)
    try:
        out = schema.validate(df, lazy=True)
    except SchemaErrors as err:
        _add_schema_errors(err, probs, _spreadsheet_row, failed)
        probs.raise_if_any()
        raise   # pandera failed in a way the checks above did not describe
    probs.raise_if_any()
    return out


_DATE = pa.Column("datetime64[ns]", coerce=True)


def _date_col(nullable: bool = False) -> pa.Column:
    return pa.Column("datetime64[ns]", coerce=True, nullable=nullable)


def _num_col(nullable: bool = False, *checks) -> pa.Column:
    return pa.Column(float, list(checks), coerce=True, nullable=nullable)


def _parse_dates(df: pd.DataFrame, cols: list[str], file: str,
                 headers: dict[str, str] | None = None) -> pd.DataFrame:
    """ISO 8601 only: ambiguous day/month orders are rejected rather than guessed."""
    probs = Problems(file, headers=headers)
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
                probs.add_mask(pd.Series(out.index == i, index=out.index), "username", auth.plain_message(exc))
    bad_mail = out["email"].map(lambda e: isinstance(e, str) and ("@" not in e or " " in e))
    probs.add_mask(bad_mail, "email", lambda v: f"{v!r} is not an e-mail address", out["email"])
    probs.raise_if_any()
    return out[out["username"].notna() | out["email"].notna()].astype(object)


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
    kinds = list(TEAM_KINDS)
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


def validate_caseload(df: pd.DataFrame, file: str = "caseload") -> pd.DataFrame:
    """Weekly rows; event rows (a ``date`` and ``case_id`` column) are rolled up first.

    The result has a ``row`` column (the file row of the week, or of its first
    event) and a ``partial_week`` column (see ``rollup_events``)."""
    if is_event_file(df.columns):
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
    out["row"] = out.index + 2
    _reject_duplicate_keys(out, ["helper_id", "week_start"], file)
    out["partial_week"] = False
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
        probs.add_mask(df[c].isna(), c, EMPTY_BUT_REQUIRED)
    probs.raise_if_any()
    df["row"] = df.index + 2
    _reject_duplicate_events(df, file)
    return df


def _reject_duplicate_events(ev: pd.DataFrame, file: str) -> None:
    """An event row that repeats another in every cell would count one contact
    twice, so it is rejected like a duplicate weekly row.  Compared after
    parsing, so "yes"/"1" and "2026-03-02"/"2026-03-02T00:00" are the same."""
    cols = [c for c in ev.columns if c != "row"]
    dup = ev.duplicated(cols, keep=False)
    if not dup.any():
        return
    probs = Problems(file)
    rows = ev[dup].groupby(cols, sort=False, dropna=False)["row"].apply(list)
    for group in rows.head(MAX_PROBLEMS):
        probs.add(f"duplicate row: the same event as row(s) {', '.join(str(r) for r in group[1:])} "
                  "(two real contacts on one day need their times in the date column, "
                  "e.g. 2026-03-02T09:30)", int(group[0]), "date")
    probs.raise_if_any()


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
    if not has_outside:
        out["cases_outside_specialty"] = np.nan
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
    out["row"] = g["row"].min() if "row" in ev.columns else np.nan
    out = out.reset_index()
    days = pd.to_datetime(ev["date"]).dt.normalize()
    first, last = days.min(), days.max()
    first_week, last_week = _monday(pd.Series([first])).iloc[0], _monday(pd.Series([last])).iloc[0]
    out["partial_week"] = (((out["week_start"] == first_week) & (first > first_week))
                           | ((out["week_start"] == last_week) & (last < last_week + pd.Timedelta(days=6))))
    out = out[CASELOAD_REQUIRED + CASELOAD_OPTIONAL + ["row", "partial_week"]]
    return out.astype({c: float for c in CASELOAD_NUMERIC})


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


def _label_values(labels: dict | None, file: str) -> dict[str, float]:
    out = {}
    for k, v in (labels or {}).items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise InputError(f"the label {str(k)!r} is given {v!r}, which is not a number on the scale",
                             file=file, column="labels") from None
    return out


def convert_answers(long: pd.DataFrame, file: str, labels: dict[str, float] | None = None,
                    headers: dict[str, str] | None = None) -> pd.Series:
    """Answers (``item_id``, ``value`` as text, ``row``) → numeric values.

    Numbers must be on the item's scale; text must be one of the scale's labels
    (or of ``labels`` from a mapping file).  Nothing is clipped or defaulted.
    """
    scales = _item_scales()
    probs = Problems(file, rows=long["row"], headers=headers)
    out = pd.Series(np.nan, index=long.index, dtype=float)
    from burnout.instruments import normalise_label

    extra = {normalise_label(k): v for k, v in _label_values(labels, file).items()}
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

    A frame from ``apply_mapping`` carries the file's own headers in
    ``attrs["source_headers"]``; messages name those, not the item ids.
    """
    scales = _item_scales()
    headers = dict(df.attrs.get("source_headers") or {})
    long_form = {"item_id", "value"} <= set(df.columns)
    _require_columns(df, SURVEY_KEYS, file, "survey")
    df = _parse_dates(df.copy(), ["submitted_at"], file, headers)
    probs = Problems(file, headers=headers)
    for c in SURVEY_KEYS:
        probs.add_mask(df[c].isna(), c, EMPTY_BUT_REQUIRED)
    df["instrument"] = df["instrument"].str.lower()
    probs.add_mask(df["instrument"].notna() & ~df["instrument"].isin(INSTRUMENTS), "instrument",
                   lambda v: f"{v!r} is not an instrument (one of {', '.join(INSTRUMENTS)})",
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
        _reject_duplicate_keys(long, keys + ["item_id"], file, headers)
        subs = df.groupby(keys, sort=False, as_index=False).agg(row=("row", "min"))
        subs["comment"] = (df.groupby(keys, sort=False)["comment"].first().values
                           if "comment" in df.columns else pd.NA)
    else:
        items = [c for c in df.columns if c not in keys + ["row", "comment"]]
        unknown = [c for c in items if c not in scales]
        if unknown:
            raise InputError("unknown column: not an item id of proqol5, cbi, sib or pulse "
                             "(a form-tool export needs a mapping file)", file=file, row=1, column=unknown[0])
        _reject_duplicate_keys(df, keys, file, headers)
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
    long["value"] = convert_answers(long, file, labels, headers)
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


def _reject_duplicate_keys(df: pd.DataFrame, keys: list[str], file: str,
                           headers: dict[str, str] | None = None) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        probs = Problems(file, rows=df["row"] if "row" in df.columns else None, headers=headers)
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
        columns: {"Staff number": helper_id, "Timestamp": submitted_at,
                  "Q1 - How content were you at work?": proqol_1}
        labels: {"Very often": 5}      # optional; the instrument's own labels always work

    CSV: two columns ``source,target``; a row ``instrument,<id>`` with an empty
    source fixes the instrument, rows ``label:<text>,<value>`` add labels.
    """
    import yaml

    if isinstance(source, (str, Path)):
        name = Path(source).name
        raw = _read_file(Path(source), name)
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
            if pd.isna(src) and str(tgt).lower() in INSTRUMENTS:
                spec["instrument"] = str(tgt).lower()
            elif pd.isna(src):
                raise InputError("source is empty (only an instrument row leaves it empty)",
                                 file=name, row=i + 2, column="source")
            elif src.lower().startswith("label:"):
                try:
                    spec["labels"][src[6:].strip()] = float(tgt)
                except ValueError as exc:
                    raise InputError(f"{tgt!r} is not a number", file=name, row=i + 2, column="target") from exc
            else:
                spec["columns"][src] = tgt
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise InputError("the mapping needs a 'columns' section", file=name)
    for src, tgt in spec["columns"].items():
        if not isinstance(tgt, str) or not tgt.strip():
            raise InputError(f"the column {str(src)!r} is mapped to {tgt!r}; give an item id or "
                             "helper_id, submitted_at, instrument or comment", file=name, column="columns")
    labels = spec.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise InputError("'labels' must map each answer label to its number", file=name, column="labels")
    _label_values(labels, name)
    return spec


MAPPING_TARGETS = [*SURVEY_KEYS, "comment", "item_id", "value"]


def apply_mapping(df: pd.DataFrame, spec: dict, file: str,
                  mapping_name: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Rename a form-tool export's columns to import columns.

    The result remembers the file's own header of every mapped column in
    ``attrs["source_headers"]`` so validation messages name the column the
    person sees in their export.  ``mapping_name`` names the mapping file in
    messages about the mapping itself."""
    where = mapping_name or "the mapping"
    cols = {str(k).strip(): str(v).strip() for k, v in spec["columns"].items()}
    scales = _item_scales()
    seen: dict[str, str] = {}
    for src, tgt in cols.items():
        if tgt not in scales and tgt not in MAPPING_TARGETS:
            raise InputError(f"the mapping maps this column to {tgt!r}, which is not a known item id "
                             f"(nor one of {', '.join(MAPPING_TARGETS)})", file=where, column=src)
        if tgt in seen:
            raise InputError(f"the mapping maps both {seen[tgt]!r} and {src!r} to {tgt!r}",
                             file=where, column=src)
        seen[tgt] = src
    missing = [k for k in cols if k not in df.columns]
    if missing:
        raise InputError("the mapping names a column the file does not have", file=file, row=1,
                         column=missing[0])
    for key in ("helper_id", "submitted_at"):
        if key not in seen:
            raise InputError(f"the mapping maps no column to {key!r}", file=where, column="columns")
    out = df[list(cols)].rename(columns=cols)
    if "instrument" not in out.columns:
        inst = spec.get("instrument")
        if inst not in INSTRUMENTS:
            raise InputError("the mapping must give an instrument or map a column to 'instrument'", file=where)
        out["instrument"] = inst
    labels = spec.get("labels") or {}
    _label_values(labels, where)
    out.attrs["source_headers"] = {tgt: src for src, tgt in cols.items()}
    return out, labels


# --------------------------------------------------------------------------- import

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


def prepare(roster=None, surveys=None, caseload=None, mapping=None, names: dict | None = None,
            known_helpers: Iterable[str] = ()) -> dict:
    """Read and validate everything; raises InputError before any write.

    Returns ``{"roster": (file, frame, info), "surveys": (file, submissions,
    answers), "caseload": (file, weeks, info)}`` for the files given; ``info``
    says which optional columns the file lacked (``absent``) and, for
    caseload, which weeks an event file covers only in part (``partial``).
    """
    names = names or {}
    prepared: dict = {}
    helper_ids = set(known_helpers)
    if mapping is not None and surveys is None:
        raise InputError("a mapping file is for a form-tool survey export: give it together with "
                         "the surveys file", file=names.get("mapping") or _name(mapping, "mapping"))
    if roster is not None:
        f = names.get("roster") or _name(roster, "roster")
        raw = read_table(roster, f)
        absent = [c for c in ROSTER_OPTIONAL if c not in raw.columns and c != "team_kind"]
        accounts = roster_account_columns(raw, f)
        raw = raw.drop(columns=[c for c in ROSTER_ACCOUNT_COLUMNS if c in raw.columns])
        prepared["roster"] = (f, validate_roster(raw, f), {"absent": absent, "accounts": accounts})
        helper_ids |= set(prepared["roster"][1]["helper_id"])
    if surveys is not None:
        f = names.get("surveys") or _name(surveys, "surveys")
        df = read_table(surveys, f)
        labels = None
        if mapping is not None:
            m = names.get("mapping") or _name(mapping, "mapping")
            df, labels = apply_mapping(df, load_mapping(mapping, m), f, mapping_name=m)
        headers = dict(df.attrs.get("source_headers") or {})
        subs, ans = validate_surveys(df, f, labels)
        _check_helpers(subs, helper_ids, f, headers)
        prepared["surveys"] = (f, subs, ans)
    if caseload is not None:
        f = names.get("caseload") or _name(caseload, "caseload")
        raw = read_table(caseload, f)
        weeks = validate_caseload(raw, f)
        _check_helpers(weeks, helper_ids, f)
        info = {"absent": absent_caseload_columns(raw.columns),
                "partial": weeks["partial_week"].to_numpy(dtype=bool)}
        prepared["caseload"] = (f, weeks.drop(columns=["row", "partial_week"]).reset_index(drop=True), info)
    return prepared


def _name(source, default: str) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return getattr(source, "name", None) or default


def _check_helpers(df: pd.DataFrame, known: set, file: str, headers: dict[str, str] | None = None) -> None:
    unknown = ~df["helper_id"].isin(known)
    if unknown.any():
        probs = Problems(file, rows=df["row"] if df["row"].notna().all() else None, headers=headers)
        probs.add_mask(unknown, "helper_id",
                       lambda v: f"{v!r} is not in the roster (import the roster first or with this file)",
                       df["helper_id"])
        probs.raise_if_any()


def _listed(names: list[str]) -> str:
    more = len(names) - SHOW_KEYS
    return ", ".join(names[:SHOW_KEYS]) + (f" and {more} more" if more > 0 else "")


def _stamp(ts) -> str:
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def store_prepared(conn, prepared: dict, actor: str = "cli",
                   progress: Callable[[float, str], None] | None = None) -> ImportSummary:
    """Write what ``prepare`` returned on an open connection (the caller's transaction)."""
    from burnout.store import writes

    progress = progress or (lambda f, m: None)
    summary = ImportSummary()
    if "roster" in prepared:
        f, df, info = prepared["roster"]
        n_new, n_upd = writes.upsert_roster(conn, df, absent=info["absent"])
        writes.log_import(conn, "roster", f, len(df), n_new + n_upd, actor)
        summary.counts["roster"] = {"rows": len(df), "new": n_new, "updated": n_upd}
        summary.lines.append(f"{f}: {len(df)} helpers ({n_new} new, {n_upd} changed)")
        accounts = info.get("accounts")
        if accounts is not None and len(accounts):
            created = auth.roster_accounts(conn, accounts, actor=actor)
            summary.counts["accounts"] = {"new": len(created)}
            summary.lines.append(f"{f}: {len(created)} helper account(s) created, waiting for their invite "
                                 "(Users & settings: invite links for accounts without a password)")
        if info["absent"] and len(df) > n_new:
            summary.warn(f"{f} has no {', '.join(info['absent'])} column(s): helpers already stored "
                         "keep their stored values there")
    if "surveys" in prepared:
        f, subs, ans = prepared["surveys"]
        differing = writes.stored_with_other_answers(conn, subs, ans)
        n_new, n_items = writes.insert_submissions(
            conn, subs, ans, source="import",
            progress=lambda x: progress(0.3 + 0.6 * x, "storing survey answers"))
        writes.log_import(conn, "surveys", f, len(subs), n_new, actor)
        summary.counts["surveys"] = {"rows": len(subs), "new": n_new, "answers": n_items,
                                     "already_stored": len(subs) - n_new, "different": len(differing)}
        summary.lines.append(f"{f}: {len(subs)} submissions ({n_new} new with {n_items} answers, "
                             f"{len(subs) - n_new} already stored)")
        if len(differing):
            keys = [f"helper {r.helper_id} {r.instrument} {_stamp(r.submitted_at)}"
                    for r in differing.itertuples(index=False)]
            summary.warn(f"{f}: {len(differing)} submission(s) already stored with different answers; "
                         f"kept the stored answers: {_listed(keys)}")
    if "caseload" in prepared:
        f, weeks, info = prepared["caseload"]
        n_new, n_upd, kept = writes.upsert_caseload(conn, weeks, absent=info["absent"],
                                                    keep_stored=info["partial"])
        writes.log_import(conn, "caseload", f, len(weeks), n_new + n_upd, actor)
        summary.counts["caseload"] = {"rows": len(weeks), "new": n_new, "updated": n_upd,
                                      "kept": len(kept)}
        summary.lines.append(f"{f}: {len(weeks)} helper-weeks ({n_new} new, {n_upd} changed)")
        if len(kept):
            keys = [f"{r.helper_id} week of {_stamp(r.week_start)}" for r in kept.itertuples(index=False)]
            summary.warn(f"{f}: {len(kept)} helper-week(s) this file covers only in part are already "
                         f"stored with other figures; kept the stored figures: {_listed(keys)}. "
                         "To replace them, import events covering the whole week(s)")
    return summary


DEMO_REFUSAL = ("this database holds the demo organisation: clear the demo data first (Data page, "
                "Demo data tab) so real and synthetic people never mix and the public demo logins go")


def import_files(engine, roster=None, surveys=None, caseload=None, mapping=None, *,
                 names: dict | None = None, actor: str = "cli",
                 progress: Callable[[float, str], None] | None = None) -> ImportSummary:
    """Validate all given files, then store them in one transaction.

    Idempotent: the roster and caseload upsert on their natural keys (helper_id;
    helper_id + week_start) and a survey submission already stored under the
    same helper + instrument + submitted_at is left as it is (the summary says
    when its stored answers differ from the file's).  Columns a file lacks are
    left as stored.
    """
    from burnout.store import frames

    progress = progress or (lambda f, m: None)
    if is_demo(engine):
        raise InputError(DEMO_REFUSAL)
    progress(0.0, "reading and checking files")
    known = frames.helper_ids(engine)
    prepared = prepare(roster, surveys, caseload, mapping, names, known)
    progress(0.3, "storing")
    with engine.begin() as conn:
        summary = store_prepared(conn, prepared, actor, progress)
    progress(1.0, "done")
    return summary


def settings_json(value) -> str:
    return json.dumps(value, sort_keys=True)
