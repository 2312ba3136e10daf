"""The pandera schemas of every import file, and their problems in plain words.

Each file type has one ``DataFrameModel``.  Its parsers turn the text cells
into numbers, dates and answers (a cell they cannot read stays in the frame
as an ``Unreadable``); its checks hold the formats and the plausibility rules.
``validate`` runs a schema lazily, so every failing cell of every column is
found in one pass, and turns pandera's failure cases into problems that name
the file's row and column.

Parsers and checks need a little context that is not in the frame (limits,
the helpers already stored, the file's date style and decimal comma); it is
set for the duration of one ``validate`` call.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from burnout.domain.settings import TEAM_KINDS
from burnout.instruments import INSTRUMENTS
from burnout.ingest.cells import (Unreadable, answer_value, is_unreadable, numeric, parse_flags,
                                  parse_numbers, show, text_ok, text_problem)
from burnout.ingest.dates import HOW_TO_DECLARE, DateStyle, parse_dates
from burnout.ingest.limits import TEXT_LENGTHS, ImportLimits
from burnout.ingest.problems import EMPTY_BUT_REQUIRED, Problems
from burnout.instruments import all_instruments

FTE_MAX = 1.5
SALARY_MAX = 10_000_000


@dataclass
class Context:
    limits: ImportLimits = field(default_factory=ImportLimits)
    known_helpers: frozenset | None = None     # None: not checked here
    decimal_comma: bool = False
    dates: DateStyle = field(default_factory=DateStyle)
    labels: dict[str, float] = field(default_factory=dict)   # normalised label -> value
    date_hint: str = HOW_TO_DECLARE     # how to settle an ambiguous date column


_CTX: contextvars.ContextVar[Context] = contextvars.ContextVar("ingest_context")


def ctx() -> Context:
    return _CTX.get(None) or Context()


# --------------------------------------------------------------------------- parsers used by the models

NOT_A_DATE = "is not a date (write ISO 8601, e.g. 2026-03-02; docs/IMPORT.md lists the form-tool formats read)"


def parse_date_cells(s: pd.Series) -> pd.Series:
    p = parse_dates(s.astype(object).where(s.notna(), None), ctx().dates)
    if not (p.bad.any() or p.ambiguous.any()):
        return p.values
    out = p.values.astype(object).where(p.values.notna(), None)
    why = NOT_A_DATE if not p.mixed_orders else (
        "is not a date this column can read: the column mixes day/month and month/day orders")
    for i in p.bad[p.bad].index:
        out[i] = Unreadable(str(s[i]), f"{str(s[i])!r} {why}")
    for i in p.ambiguous[p.ambiguous].index:
        out[i] = Unreadable(str(s[i]), "", ambiguous_date=True)
    return out


def _dates_in(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        s = s.map(lambda v: pd.NaT if v is None or isinstance(v, Unreadable) else v)
    return pd.to_datetime(s, errors="coerce")


def _within(s: pd.Series, lo, hi) -> pd.Series:
    d = _dates_in(s)
    return d.isna() | ((d >= pd.Timestamp(lo)) & (d < pd.Timestamp(hi) + pd.Timedelta(days=1)))


def _not_unreadable(s: pd.Series) -> pd.Series:
    return ~is_unreadable(s)


# --------------------------------------------------------------------------- models

class _Model(pa.DataFrameModel):
    class Config:
        strict = False      # bookkeeping columns (_row) ride along
        coerce = False      # the parsers coerce, so a bad cell keeps its own words


class RosterSchema(_Model):
    helper_id: Series[Any] = pa.Field(nullable=False)
    name: Series[Any] = pa.Field(nullable=True)
    team: Series[Any] = pa.Field(nullable=False)
    role: Series[Any] = pa.Field(nullable=False)
    site: Series[Any] = pa.Field(nullable=True)
    fte: Series[Any] = pa.Field(nullable=False)
    start_date: Series[Any] = pa.Field(nullable=False)
    end_date: Series[Any] = pa.Field(nullable=True)
    end_reason: Series[Any] = pa.Field(nullable=True)
    annual_salary: Series[Any] = pa.Field(nullable=True)
    specialties: Series[Any] = pa.Field(nullable=True)
    caseload_standard: Series[Any] = pa.Field(nullable=True)
    team_kind: Series[Any] = pa.Field(nullable=True)

    @pa.parser("fte", "annual_salary", "caseload_standard")
    @classmethod
    def _numbers(cls, s):
        return parse_numbers(s, ctx().decimal_comma)

    @pa.parser("start_date", "end_date")
    @classmethod
    def _dates(cls, s):
        return parse_date_cells(s)

    @pa.check("fte", "annual_salary", "caseload_standard", "start_date", "end_date", name="readable")
    @classmethod
    def _readable(cls, s):
        return _not_unreadable(s)

    @pa.check("helper_id", "team", "role", "site", "name", "end_reason", "specialties", "team_kind",
              name="text")
    @classmethod
    def _text(cls, s):
        return text_ok(s, *TEXT_RULES[s.name])

    @pa.check("fte", name="fte_range")
    @classmethod
    def _fte(cls, s):
        x = numeric(s)
        return x.isna() | ((x > 0) & (x <= FTE_MAX))

    @pa.check("annual_salary", name="salary_range")
    @classmethod
    def _salary(cls, s):
        x = numeric(s)
        return x.isna() | ((x >= 0) & (x <= SALARY_MAX))

    @pa.check("caseload_standard", name="standard_range")
    @classmethod
    def _standard(cls, s):
        x = numeric(s)
        return x.isna() | ((x > 0) & (x <= ctx().limits.max_active_cases))

    @pa.check("start_date", "end_date", name="roster_date_window")
    @classmethod
    def _window(cls, s):
        lim = ctx().limits
        return _within(s, lim.earliest_hire, lim.latest_roster_date)

    @pa.check("team_kind", name="team_kind")
    @classmethod
    def _kind(cls, s):
        return s.isna() | s.isin(list(TEAM_KINDS))

    @pa.dataframe_check(name="unique_helper")
    @classmethod
    def _unique(cls, df):
        return ~df["helper_id"].duplicated(keep=False) | df["helper_id"].isna()

    @pa.dataframe_check(name="end_after_start")
    @classmethod
    def _end(cls, df):
        a, b = _dates_in(df["start_date"]), _dates_in(df["end_date"])
        return a.isna() | b.isna() | (b >= a)

    @pa.dataframe_check(name="one_kind_per_team")
    @classmethod
    def _one_kind(cls, df):
        given = df[df["team_kind"].notna()]
        n = given.groupby("team")["team_kind"].nunique()
        return ~(df["team"].isin(n[n > 1].index) & df["team_kind"].notna())


class CaseloadSchema(_Model):
    helper_id: Series[Any] = pa.Field(nullable=False)
    week_start: Series[Any] = pa.Field(nullable=False)
    active_cases: Series[Any] = pa.Field(nullable=False)
    new_cases: Series[Any] = pa.Field(nullable=False)
    high_acuity_cases: Series[Any] = pa.Field(nullable=False)
    trauma_exposures: Series[Any] = pa.Field(nullable=False)
    critical_incidents: Series[Any] = pa.Field(nullable=False)
    hours_worked: Series[Any] = pa.Field(nullable=True)
    overtime_hours: Series[Any] = pa.Field(nullable=True)
    case_types: Series[Any] = pa.Field(nullable=True)
    cases_outside_specialty: Series[Any] = pa.Field(nullable=True)

    @pa.parser("active_cases", "new_cases", "high_acuity_cases", "trauma_exposures", "critical_incidents",
               "hours_worked", "overtime_hours", "cases_outside_specialty")
    @classmethod
    def _numbers(cls, s):
        return parse_numbers(s, ctx().decimal_comma)

    @pa.parser("week_start")
    @classmethod
    def _dates(cls, s):
        return parse_date_cells(s)

    @pa.check("week_start", "active_cases", "new_cases", "high_acuity_cases", "trauma_exposures",
              "critical_incidents", "hours_worked", "overtime_hours", "cases_outside_specialty",
              name="readable")
    @classmethod
    def _readable(cls, s):
        return _not_unreadable(s)

    @pa.check("helper_id", "case_types", name="text")
    @classmethod
    def _text(cls, s):
        return text_ok(s, *TEXT_RULES[s.name])

    @pa.check("helper_id", name="known_helper")
    @classmethod
    def _known(cls, s):
        known = ctx().known_helpers
        return pd.Series(True, index=s.index) if known is None else s.isin(known)

    @pa.check("active_cases", "new_cases", "high_acuity_cases", "trauma_exposures", "critical_incidents",
              "hours_worked", "overtime_hours", "cases_outside_specialty", name="not_negative")
    @classmethod
    def _nonneg(cls, s):
        x = numeric(s)
        return x.isna() | (x >= 0)

    @pa.check("active_cases", "new_cases", name="max_cases")
    @classmethod
    def _max_cases(cls, s):
        x = numeric(s)
        return x.isna() | (x <= ctx().limits.max_active_cases)

    @pa.check("trauma_exposures", "critical_incidents", name="max_events")
    @classmethod
    def _max_events(cls, s):
        x = numeric(s)
        return x.isna() | (x <= ctx().limits.max_events_per_week)

    @pa.check("hours_worked", "overtime_hours", name="hours_in_week")
    @classmethod
    def _hours(cls, s):
        x = numeric(s)
        return x.isna() | (x <= ctx().limits.max_hours_per_week)

    @pa.check("week_start", name="date_window")
    @classmethod
    def _window(cls, s):
        lim = ctx().limits
        return _within(s, lim.organisation_start, lim.latest_answer)

    @pa.dataframe_check(name="acuity_within_active")
    @classmethod
    def _acuity(cls, df):
        a, h = numeric(df["active_cases"]), numeric(df["high_acuity_cases"])
        return a.isna() | h.isna() | (h <= a)

    @pa.dataframe_check(name="outside_within_active")
    @classmethod
    def _outside(cls, df):
        a, o = numeric(df["active_cases"]), numeric(df["cases_outside_specialty"])
        return a.isna() | o.isna() | (o <= a)

    @pa.dataframe_check(name="overtime_within_hours")
    @classmethod
    def _overtime(cls, df):
        h, o = numeric(df["hours_worked"]), numeric(df["overtime_hours"])
        return h.isna() | o.isna() | (o <= h)

    @pa.dataframe_check(name="unique_week")
    @classmethod
    def _unique(cls, df):
        return ~df.assign(_w=_monday(_dates_in(df["week_start"]))).duplicated(["helper_id", "_w"], keep=False) \
            | _dates_in(df["week_start"]).isna()


EVENT_FLAGS = ["new_case", "high_acuity", "trauma_exposure", "critical_incident", "outside_specialty"]


class EventSchema(_Model):
    helper_id: Series[Any] = pa.Field(nullable=False)
    date: Series[Any] = pa.Field(nullable=False)
    case_id: Series[Any] = pa.Field(nullable=False)
    new_case: Optional[Series[Any]] = pa.Field(nullable=True)
    high_acuity: Optional[Series[Any]] = pa.Field(nullable=True)
    trauma_exposure: Optional[Series[Any]] = pa.Field(nullable=True)
    critical_incident: Optional[Series[Any]] = pa.Field(nullable=True)
    outside_specialty: Optional[Series[Any]] = pa.Field(nullable=True)
    hours: Optional[Series[Any]] = pa.Field(nullable=True)
    overtime_hours: Optional[Series[Any]] = pa.Field(nullable=True)
    case_type: Optional[Series[Any]] = pa.Field(nullable=True)

    @pa.dataframe_parser
    @classmethod
    def _cells(cls, df):
        c = ctx()
        df = df.copy()
        df["date"] = parse_date_cells(df["date"])
        for f in EVENT_FLAGS:
            if f in df.columns:
                df[f] = parse_flags(df[f])
        for h in ("hours", "overtime_hours"):
            if h in df.columns:
                df[h] = parse_numbers(df[h], c.decimal_comma)
        return df

    @pa.check("date", "new_case", "high_acuity", "trauma_exposure", "critical_incident", "outside_specialty",
              "hours", "overtime_hours", name="readable", ignore_na=True)
    @classmethod
    def _readable(cls, s):
        return _not_unreadable(s)

    @pa.check("helper_id", "case_id", "case_type", name="text")
    @classmethod
    def _text(cls, s):
        return text_ok(s, *TEXT_RULES[s.name])

    @pa.check("helper_id", name="known_helper")
    @classmethod
    def _known(cls, s):
        known = ctx().known_helpers
        return pd.Series(True, index=s.index) if known is None else s.isin(known)

    @pa.check("hours", "overtime_hours", name="event_hours")
    @classmethod
    def _hours(cls, s):
        x = numeric(s)
        return x.isna() | ((x >= 0) & (x <= 24))

    @pa.check("date", name="date_window")
    @classmethod
    def _window(cls, s):
        lim = ctx().limits
        return _within(s, lim.organisation_start, lim.latest_answer)

    @pa.dataframe_check(name="unique_event")
    @classmethod
    def _unique(cls, df):
        cols = [c for c in df.columns if c != "_row"]
        return ~df[cols].astype(str).duplicated(keep=False)


class SubmissionSchema(_Model):
    """The key columns of a survey file (wide or long), one row per file row."""

    helper_id: Series[Any] = pa.Field(nullable=False)
    submitted_at: Series[Any] = pa.Field(nullable=False)
    instrument: Series[Any] = pa.Field(nullable=False)
    comment: Optional[Series[Any]] = pa.Field(nullable=True)

    @pa.parser("submitted_at")
    @classmethod
    def _dates(cls, s):
        return parse_date_cells(s)

    @pa.parser("instrument")
    @classmethod
    def _instrument(cls, s):
        return s.where(s.isna(), s.astype(str).str.strip().str.lower())

    @pa.check("submitted_at", name="readable")
    @classmethod
    def _readable(cls, s):
        return _not_unreadable(s)

    @pa.check("helper_id", "comment", name="text")
    @classmethod
    def _text(cls, s):
        return text_ok(s, *TEXT_RULES[s.name])

    @pa.check("helper_id", name="known_helper")
    @classmethod
    def _known(cls, s):
        known = ctx().known_helpers
        return pd.Series(True, index=s.index) if known is None else s.isin(known)

    @pa.check("instrument", name="instrument")
    @classmethod
    def _inst(cls, s):
        return s.isin(INSTRUMENTS)

    @pa.check("submitted_at", name="date_window")
    @classmethod
    def _window(cls, s):
        lim = ctx().limits
        return _within(s, lim.organisation_start, lim.latest_answer)


class WideSubmissionSchema(SubmissionSchema):
    @pa.dataframe_check(name="unique_submission")
    @classmethod
    def _unique(cls, df):
        d = _dates_in(df["submitted_at"])
        return ~df.assign(_d=d).duplicated(["helper_id", "_d", "instrument"], keep=False) | d.isna()


class AnswerSchema(_Model):
    """Survey answers in long form: one row per answered item."""

    instrument: Series[Any] = pa.Field(nullable=False)
    item_id: Series[Any] = pa.Field(nullable=False)
    value: Series[Any] = pa.Field(nullable=False)

    @pa.dataframe_parser
    @classmethod
    def _answers(cls, df):
        return df.assign(value=parse_answers(df["item_id"], df["value"], ctx().labels))

    @pa.check("item_id", name="known_item")
    @classmethod
    def _item(cls, s):
        return s.isin(list(item_scales()))

    @pa.check("value", name="readable")
    @classmethod
    def _readable(cls, s):
        return _not_unreadable(s)

    @pa.dataframe_check(name="answer_instrument")
    @classmethod
    def _same_instrument(cls, df):
        of_item = {k: v[0] for k, v in item_scales().items()}
        item, given = df["item_id"], df["instrument"]
        if isinstance(item.dtype, pd.CategoricalDtype) and isinstance(given.dtype, pd.CategoricalDtype):
            # by category codes (the wide melt's columns): no instrument text per answer
            # each item category's instrument as given's code; -2: not an item (the item check
            # reports it) or no item; -1: an instrument no row of the file has
            known = pd.Index(given.cat.categories, dtype=object)
            want = np.array([known.get_indexer([of_item[c]])[0] if c in of_item else -2
                             for c in item.cat.categories] + [-2], dtype=np.int64)
            code = want[np.asarray(item.cat.codes)]
            return pd.Series((code == -2) | (code == np.asarray(given.cat.codes)), index=df.index)
        inst = item.map(of_item)
        return inst.isna() | (inst == given)

    @pa.dataframe_check(name="unique_answer")
    @classmethod
    def _unique(cls, df):
        if "_submission" not in df.columns:
            return pd.Series(True, index=df.index)
        return ~df.duplicated(["_submission", "item_id"], keep=False)


# --------------------------------------------------------------------------- answers

_SCALES: dict | None = None


def item_scales() -> dict[str, tuple[str, np.ndarray, dict[str, float]]]:
    """item id -> (instrument, allowed numeric values, normalised label -> value)."""
    global _SCALES
    if _SCALES is None:
        out = {}
        for inst in all_instruments():
            allowed = np.array(inst.answer_values, dtype=float)
            lookup = dict(inst.answer_lookup)
            for item in inst.item_ids:
                out[item] = (inst.id, allowed, lookup)
        _SCALES = out
    return _SCALES


def parse_answers(items: pd.Series, values: pd.Series, extra: dict[str, float]) -> pd.Series:
    """Answer text -> value on each item's scale (or Unreadable).  Each distinct
    (instrument, text) pair is read once: millions of answers, a few dozen texts."""
    scales = item_scales()
    # Items and texts are numbered apart and each pair by its two numbers: joining
    # the two as one string per answer cost a new string for each of 11 M answers.
    # Categorical columns (from the wide melt) bring their numbers; pandas'
    # factorize would build a hash table the size of the column.
    names = sorted({v[0] for v in scales.values()})
    item_codes, item_uniq = _numbered(items)
    text_codes, texts = _numbered(values)
    texts = [str(t) for t in texts] + ["None"]
    # per answer numbers in 4 bytes when the pairs fit (a few dozen texts): each array is
    # 11 M answers at a health system's size
    wide = np.int32 if (len(names) + 1) * len(texts) < 2**31 else np.int64
    # an unknown or missing item: 0, the instruments 1..; then the pair's number
    inst_of_item = np.array([names.index(scales[i][0]) + 1 if i in scales else 0 for i in item_uniq] + [0],
                            dtype=wide)
    pair = inst_of_item[item_codes]
    del item_codes
    pair *= len(texts)
    text_codes = text_codes.astype(wide)      # a category's codes may be a byte: widened first
    text_codes[text_codes < 0] = len(texts) - 1
    pair += text_codes
    del text_codes
    used = np.zeros((len(names) + 1) * len(texts), dtype=bool)
    used[pair] = True
    pairs = np.flatnonzero(used)
    number = np.full(len(used), -1, dtype=wide)
    number[pairs] = np.arange(len(pairs))
    codes = number[pair]
    del pair, used, number
    by_inst = {v[0]: v for v in scales.values()}
    parsed = []
    for p in pairs:
        inst, text = int(p) // len(texts) - 1, texts[int(p) % len(texts)]
        if inst < 0:
            parsed.append(np.nan)    # unknown item: the item check reports it
            continue
        _, allowed, lookup = by_inst[names[inst]]
        parsed.append(answer_value(text, allowed, {**lookup, **extra} if extra else lookup))
    if not any(isinstance(v, Unreadable) for v in parsed):
        # every text read: floats straight away, no object per answer first
        return pd.Series(np.asarray(parsed, dtype=float)[codes], index=values.index)
    arr = np.empty(len(parsed), dtype=object)
    arr[:] = parsed
    return pd.Series(arr[codes], index=values.index, dtype=object)


def _numbered(s: pd.Series) -> tuple[np.ndarray, list]:
    """(a number per cell, -1 where missing; the distinct values numbered)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return np.asarray(s.cat.codes), list(s.cat.categories)
    codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=True)
    return codes.astype(np.int64), list(uniq)


# --------------------------------------------------------------------------- text rules

# column -> (max length, is an identifier, may hold line breaks)
TEXT_RULES: dict[str, tuple[int | None, bool, bool]] = {
    "helper_id": (TEXT_LENGTHS["helper_id"], True, False),
    "team": (TEXT_LENGTHS["team"], True, False),
    "role": (TEXT_LENGTHS["role"], True, False),
    "site": (TEXT_LENGTHS["site"], True, False),
    "name": (TEXT_LENGTHS["name"], False, False),
    "end_reason": (TEXT_LENGTHS["end_reason"], False, False),
    "team_kind": (TEXT_LENGTHS["team_kind"], True, False),
    "specialties": (None, False, False),
    "case_types": (None, False, False),
    "case_type": (None, False, False),
    "case_id": (200, True, False),
    "comment": (None, False, True),
}


def _monday(d: pd.Series) -> pd.Series:
    d = pd.to_datetime(d).dt.normalize()
    return d - pd.to_timedelta(d.dt.weekday, unit="D")


# --------------------------------------------------------------------------- failures -> problems

def _date_text(v) -> str:
    ts = pd.Timestamp(v)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def _window_message(v, lo, hi, what: str, before: str) -> str:
    d = pd.Timestamp(v)
    if d < pd.Timestamp(lo):
        return f"{_date_text(v)} is before {before} ({lo:%Y-%m-%d}); check the year"
    return f"{_date_text(v)} is too far in the future: {what} (latest accepted: {hi:%Y-%m-%d})"


def _messages(c: Context) -> dict[str, Callable[[object, str], str]]:
    lim = c.limits
    return {
        "not_nullable": lambda v, col: EMPTY_BUT_REQUIRED,
        "readable": lambda v, col: v.why if isinstance(v, Unreadable) else f"{show(v)} cannot be read",
        "text": lambda v, col: f"{show(v)[:60]}{'…' if len(show(v)) > 60 else ''} "
                               f"{text_problem(v, *TEXT_RULES[col])}",
        "known_helper": lambda v, col: f"{v!r} is not in the roster (import the roster first or with this file)",
        "fte_range": lambda v, col: f"{show(v)} is outside the range: fte must be above 0 and at most {FTE_MAX:g}",
        "salary_range": lambda v, col: f"{show(v)} is outside the range: a salary is 0 or more and at most "
                                       f"{SALARY_MAX:,}",
        "standard_range": lambda v, col: f"{show(v)} is outside the range: a caseload standard is above 0 and "
                                         f"at most {lim.max_active_cases:,} (import_max_active_cases)",
        "not_negative": lambda v, col: f"{show(v)} is below 0: must be 0 or more",
        "max_cases": lambda v, col: f"{show(v)} is more than the {lim.max_active_cases:,} cases one helper can "
                                    "hold in a week (setting import_max_active_cases)",
        "max_events": lambda v, col: f"{show(v)} is more than {lim.max_events_per_week:,} in one week "
                                     "(setting import_max_events_per_week)",
        "hours_in_week": lambda v, col: f"{show(v)} hours is more than the {lim.max_hours_per_week:g} hours "
                                        "a week has",
        "event_hours": lambda v, col: f"{show(v)} hours is not possible for one contact (0 to 24)",
        "date_window": lambda v, col: _window_message(v, lim.organisation_start, lim.latest_answer,
                                                      f"more than {lim.future_days} days after today",
                                                      "the organisation's start (setting organisation_start)"),
        "roster_date_window": lambda v, col: _window_message(
            v, lim.earliest_hire, lim.latest_roster_date,
            f"more than {lim.roster_start_lead_days} days ahead (setting roster_start_lead_days)",
            "the earliest start date accepted"),
        "team_kind": lambda v, col: f"{v!r} is not a team kind (one of {', '.join(TEAM_KINDS)})",
        "instrument": lambda v, col: f"{v!r} is not an instrument (one of {', '.join(INSTRUMENTS)})",
        "known_item": lambda v, col: f"{v!r} is not a known item id",
    }


@dataclass(frozen=True)
class RowRule:
    """How a frame-wide check's failing rows become problems."""

    column: str
    message: Callable[[pd.DataFrame, pd.Index], list[tuple[object, str]]]   # (index, text) pairs


def _duplicates(keys: list[str], column: str, text: str) -> RowRule:
    def message(data: pd.DataFrame, idx: pd.Index) -> list[tuple[object, str]]:
        part = data.loc[idx].copy()
        if "_key" in keys:
            part["_key"] = part.drop(columns="_row").astype(str).agg("\x1f".join, axis=1)
        for k in keys:
            if k in ("week_start",):
                part[k] = _monday(_dates_in(part[k]))
            elif part[k].dtype == object:
                part[k] = part[k].astype(str)
        out = []
        for _, g in part.groupby(keys, sort=False, dropna=False):
            rows = g["_row"].tolist()
            out.append((g.index[0], text.format(rows=", ".join(str(int(r)) for r in rows[1:]))))
        return out
    return RowRule(column, message)


def _each(column: str, text: Callable[[pd.Series], str]) -> RowRule:
    return RowRule(column, lambda data, idx: [(i, text(data.loc[i])) for i in idx])


ROW_RULES: dict[str, RowRule] = {
    "unique_helper": _duplicates(["helper_id"], "helper_id",
                                 "the helper_id appears more than once (also on row(s) {rows})"),
    "end_after_start": _each("end_date", lambda r: "end_date is before start_date"),
    "one_kind_per_team": _each("team_kind", lambda r: f"team {r['team']!r} is given more than one team_kind"),
    "acuity_within_active": _each("high_acuity_cases", lambda r: "high_acuity_cases is more than active_cases"),
    "outside_within_active": _each("cases_outside_specialty",
                                   lambda r: "cases_outside_specialty is more than active_cases"),
    "overtime_within_hours": _each("overtime_hours", lambda r: f"overtime_hours ({show(r['overtime_hours'])}) "
                                   f"is more than hours_worked ({show(r['hours_worked'])})"),
    "unique_week": _duplicates(["helper_id", "week_start"], "week_start",
                               "duplicate row: same helper_id + week_start as row(s) {rows}"),
    "unique_event": _duplicates(["_key"], "date",
                                "duplicate row: the same event as row(s) {rows} (two real contacts on one "
                                "day need their times in the date column, e.g. 2026-03-02T09:30)"),
    "unique_submission": _duplicates(["helper_id", "submitted_at", "instrument"], "instrument",
                                     "duplicate row: same helper_id + submitted_at + instrument as row(s) {rows}"),
    "unique_answer": _duplicates(["_submission", "item_id"], "item_id",
                                 "duplicate row: same helper_id + submitted_at + instrument + item_id "
                                 "as row(s) {rows}"),
    "answer_instrument": RowRule("value", lambda data, idx: [
        (i, f"an answer to a {item_scales()[data.at[i, 'item_id']][0]} item in a row whose instrument is "
            "different") for i in idx]),
}


def validate(model: type[pa.DataFrameModel], df: pd.DataFrame, probs: Problems, context: Context,
             column_of: Callable[[pd.DataFrame, object, str], str] | None = None,
             inplace: bool = False) -> pd.DataFrame | None:
    """Validate ``df`` (which has a ``_row`` column: the file row of each row)
    with ``model``; add every problem to ``probs``.  Returns the parsed frame,
    or None when it had problems.

    ``inplace=True``: ``df`` is the caller's scratch frame and may be changed;
    pandera otherwise copies it first (11 M answers of a large export).

    ``column_of(data, index, column)`` may name another column for a failure
    (long answers are reported under their item's column)."""
    token = _CTX.set(context)
    try:
        try:
            return model.validate(df, lazy=True, inplace=inplace)
        except SchemaErrors as err:
            _add_failures(err, probs, context, column_of)
            return None
    finally:
        _CTX.reset(token)


def _add_failures(err: SchemaErrors, probs: Problems, context: Context, column_of) -> None:
    data = err.data
    rows = data["_row"] if "_row" in data.columns else pd.Series(data.index + 2, index=data.index)
    fc = err.failure_cases
    fc = fc[~fc["check"].astype(str).str.startswith("dtype(")]
    messages = _messages(context)
    ambiguous: dict[str, tuple[int, str]] = {}
    frame_checks: dict[str, list] = {}
    for rec in fc.itertuples(index=False):
        check = str(rec.check)
        no_row = rec.index is None or (isinstance(rec.index, float) and np.isnan(rec.index))
        if check in ROW_RULES:
            if not no_row:
                frame_checks.setdefault(check, []).append(rec.index)
            continue
        col = rec.column
        if check == "column_in_dataframe":
            probs.add("required column is missing", 1, rec.failure_case)
            continue
        if no_row:
            probs.add(f"{check} failed", None, col)
            continue
        v = data.at[rec.index, col] if col in data.columns else rec.failure_case
        if isinstance(v, Unreadable) and v.ambiguous_date:
            ambiguous.setdefault(col, (int(rows[rec.index]), v.text))
            continue
        text = messages[check](v, col) if check in messages else f"{show(v)} fails: {check}"
        shown = column_of(data, rec.index, col) if column_of else col
        probs.add(text, int(rows[rec.index]), shown)
    for col, (row, example) in ambiguous.items():
        probs.add(f"dates such as {example!r} could be day/month or month/day, and no date in this column "
                  f"settles it; {context.date_hint}", row, col)
    for check, idx in frame_checks.items():
        rule = ROW_RULES[check]
        for i, text in rule.message(data, pd.Index(pd.unique(np.asarray(idx, dtype=object)))):
            shown = column_of(data, i, rule.column) if column_of else rule.column
            probs.add(text, int(rows[i]), shown)
