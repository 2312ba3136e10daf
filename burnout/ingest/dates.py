"""Dates and timestamps as form tools and spreadsheets write them.

ISO 8601 works everywhere (also Qualtrics' ``2026-01-12 09:10:03`` and
REDCap's ``2026-01-12 09:10``).  Besides it:

- year first with slashes: Google Forms ``2026/01/12 9:10:03 AM GMT`` (also
  ``GMT+2``, ``GMT-05:00``, ``UTC``);
- day and month first: Google Sheets in US locale ``1/12/2026 9:10:03``,
  Microsoft Forms ``1/12/26 9:10:00``, SurveyMonkey ``01/12/2026 09:10:03 AM``,
  European ``12.01.2026 09:10``.

Whether ``01/02/2026`` is 1 February or 2 January is never guessed: a value
in the same column whose first number is above 12 proves day-first for the
whole column, one whose second number is above 12 proves month-first.  A
column that nothing settles is refused, naming the column and how to declare
the order (``dayfirst`` or ``date_format`` in a mapping file).  Times with a
zone are stored in UTC, times without one as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TIME = (r"(?:[ T,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?"
         r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?")
_ZONE = r"(?:\s*(?P<zone>GMT|UTC|Z)?\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?)?)?"
_YMD = re.compile(r"^(?P<y>\d{4})[/.](?P<a>\d{1,2})[/.](?P<b>\d{1,2})" + _TIME + _ZONE + r"\s*$")
_XXY = re.compile(r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})" + _TIME + _ZONE + r"\s*$")

# Caseload files have no mapping file to declare an order in.
ISO_ONLY = "write the dates as ISO 8601 (e.g. 2026-03-02)"
HOW_TO_DECLARE = ("write ISO 8601 (e.g. 2026-03-02) or declare the order in a mapping file "
                  "(dayfirst: true, or date_format: \"%d/%m/%Y %H:%M\")")


@dataclass(frozen=True)
class DateStyle:
    """A file's declared date style (from its mapping file); None = find out."""

    dayfirst: bool | None = None
    date_format: str | None = None


@dataclass
class ParsedDates:
    values: pd.Series            # datetime64[ns], NaT where empty or unreadable
    bad: pd.Series               # bool: a filled cell that is not a date
    ambiguous: pd.Series         # bool: could be day/month or month/day, nothing settles it
    mixed_orders: bool = False   # the column proves both orders


def _offset_minutes(off: pd.Series) -> pd.Series:
    def one(o):
        if not isinstance(o, str) or not o:
            return 0.0
        sign = -1 if o[0] == "-" else 1
        digits = o[1:].replace(":", "")
        hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
        return sign * (int(hours) * 60 + int(minutes))
    return off.map(one).astype(float)


def _assemble(m: pd.DataFrame, day: pd.Series, month: pd.Series) -> tuple[pd.Series, pd.Series]:
    year = m["y"].astype(float)
    year = year.where(m["y"].str.len() == 4, np.where(year < 70, 2000 + year, 1900 + year))
    hour = m["H"].astype(float).fillna(0)
    minute = m["M"].astype(float).fillna(0)
    second = m["S"].astype(float).fillna(0)
    ampm = m["ampm"].fillna("").str.lower().str.replace(".", "", regex=False)
    bad = ((ampm != "") & ((hour < 1) | (hour > 12))) | (hour > 23) | (minute > 59) | (second > 59)
    hour = hour.where(ampm != "pm", hour % 12 + 12).where(ampm != "am", hour % 12)
    parts = pd.DataFrame({"year": year, "month": month, "day": day}).where(~bad)
    base = pd.to_datetime(parts, errors="coerce")
    stamp = (base + pd.to_timedelta(hour, unit="h") + pd.to_timedelta(minute, unit="m")
             + pd.to_timedelta(second, unit="s") - pd.to_timedelta(_offset_minutes(m["off"]), unit="m"))
    return stamp, stamp.isna()


def parse_dates(s: pd.Series, style: DateStyle | None = None) -> ParsedDates:
    """Read one column of date text (None for empty cells)."""
    style = style or DateStyle()
    filled = s.notna()
    text = s.where(filled).astype(object)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    nothing = pd.Series(False, index=s.index)
    if not filled.any():
        return ParsedDates(out, nothing.copy(), nothing.copy())
    # Each distinct text is parsed once and every cell takes its text's result by code
    # (a wide export's times are mostly distinct: 1.9 M at L, and a dict of Timestamps
    # looked up per cell cost more than the parsing)
    codes, uniq = pd.factorize(text[filled].astype(str).to_numpy(dtype=object))
    uniq = pd.Series(np.asarray(uniq, dtype=object))
    values = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    iso = pd.to_datetime(uniq, format="ISO8601", errors="coerce", utc=True)
    values[iso.notna()] = iso[iso.notna()].dt.tz_convert(None).astype("datetime64[ns]")
    rest = iso.isna()
    ambiguous_u = pd.Series(False, index=uniq.index)
    mixed = False
    if rest.any() and style.date_format:
        try:
            got = pd.to_datetime(uniq[rest], format=style.date_format, errors="coerce", utc=True)
        except (ValueError, TypeError):
            got = None       # a format pandas cannot use: its cells are reported as not dates
        if got is not None:
            values[got.index] = got.dt.tz_convert(None).astype("datetime64[ns]")
    elif rest.any():
        r = uniq[rest]
        ymd = r.str.extract(_YMD)
        ok = ymd["y"].notna()
        if ok.any():
            stamp, _ = _assemble(ymd[ok], ymd.loc[ok, "b"].astype(float), ymd.loc[ok, "a"].astype(float))
            values[stamp.index] = stamp
        xxy = r[~ok].str.extract(_XXY)
        ok2 = xxy["y"].notna()
        if ok2.any():
            m = xxy[ok2]
            a, b = m["a"].astype(float), m["b"].astype(float)
            day_first = (a > 12).any()
            month_first = (b > 12).any()
            dayfirst = style.dayfirst
            if dayfirst is None:
                if day_first and month_first:
                    mixed = True
                elif day_first or month_first:
                    dayfirst = bool(day_first)
            if dayfirst is None:
                # Either order reads the same only when day and month agree.
                ambiguous_u[m.index] = (a != b) & ~mixed
                same = a == b
                if same.any() and not mixed:
                    stamp, _ = _assemble(m[same], a[same], b[same])
                    values[stamp.index] = stamp
            else:
                stamp, _ = _assemble(m, a if dayfirst else b, b if dayfirst else a)
                values[stamp.index] = stamp
    out[filled] = values.to_numpy(dtype="datetime64[ns]")[codes]
    amb = pd.Series(np.zeros(len(s), dtype=bool), index=s.index)
    if ambiguous_u.any():
        amb[filled] = ambiguous_u.to_numpy(dtype=bool)[codes]
    bad = filled & out.isna() & ~amb
    return ParsedDates(out, bad, amb, mixed)
