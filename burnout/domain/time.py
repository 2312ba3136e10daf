"""Dates: "now", and the Monday that starts a week.

Weeks start on Monday everywhere (ISO 8601), so answers, caseload weeks and
every weekly table join on one key.  Times are UTC without a time zone, as
they are stored.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from burnout.errors import InputError

__all__ = ["now", "today", "week_start", "week_starts", "monday_day_numbers", "week_end", "parse_day"]


def now() -> dt.datetime:
    """The current time in UTC, naive (the database stores naive UTC)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def today() -> dt.date:
    return now().date()


def week_start(value) -> dt.date:
    """The Monday of the week holding ``value`` (a date, datetime or text)."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        day = pd.Timestamp(value).date()
    return day - dt.timedelta(days=day.weekday())


def week_end(value) -> dt.date:
    """The Sunday that ends the week holding ``value``."""
    return week_start(value) + dt.timedelta(days=6)


def week_starts(values) -> pd.Series:
    """Vectorised :func:`week_start`: timestamps -> midnight of their week's Monday
    (``datetime64``; NaT stays NaT)."""
    d = pd.Series(values)
    if not pd.api.types.is_datetime64_dtype(d):   # already naive datetimes: no Timestamp per value
        d = pd.to_datetime(d, errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    d = d.dt.normalize()
    return d - pd.to_timedelta(d.dt.weekday, unit="D")


def monday_day_numbers(days: np.ndarray, missing: int) -> np.ndarray:
    """Day numbers (days since 1970-01-01, a Thursday) -> the day number of their
    week's Monday; ``missing`` marks absent days and is kept."""
    days = np.asarray(days, dtype=np.int64)
    return np.where(days == missing, missing, days - (days + 3) % 7)


def parse_day(value, what: str = "the as-of date") -> pd.Timestamp | None:
    """``None`` or a date typed by a person; anything else is an InputError in plain words."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        raise InputError(f"{what} is empty; give a date such as 2024-06-30")
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{what} {value!r} is not a valid date; use YYYY-MM-DD, e.g. 2024-06-30") from None
    if pd.isna(day):
        raise InputError(f"{what} {value!r} is not a valid date; use YYYY-MM-DD, e.g. 2024-06-30")
    return day.tz_localize(None) if day.tzinfo is not None else day
