"""Reading single cells: numbers, yes/no flags, answers, and the text rules.

A parser never drops a cell it cannot read: it leaves an ``Unreadable`` in
its place, which keeps the text as typed and the reason.  The schema's
``readable`` check then reports it by row and column, and the other checks
skip it, so one bad cell is reported once, in its own words.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from burnout.instruments import normalise_label

# Numbers this large are typing slips or attacks, never headcounts, hours or pay.
LARGEST_NUMBER = 1e12


@dataclass(frozen=True)
class Unreadable:
    """A cell a parser could not read: the text as typed and why."""

    text: str
    why: str
    ambiguous_date: bool = False

    def __repr__(self) -> str:   # shown by pandera in its own reports
        return repr(self.text)


def is_unreadable(s: pd.Series) -> pd.Series:
    if s.dtype != object:
        return pd.Series(False, index=s.index)
    return s.map(lambda v: isinstance(v, Unreadable)).astype(bool)


def numeric(s: pd.Series) -> pd.Series:
    """Parsed numbers as float; unreadable and empty cells as NaN (checks skip them)."""
    if s.dtype != object:
        return s.astype(float)
    return s.map(lambda v: np.nan if v is None or isinstance(v, Unreadable) else v).astype(float)


def show(v) -> str:
    if isinstance(v, Unreadable):
        return repr(v.text)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


# --------------------------------------------------------------------------- numbers

def _one_number(text: str, decimal_comma: bool):
    t = text.replace(",", ".", 1) if decimal_comma and re.fullmatch(r"[+-]?\d+,\d+", text) else text
    try:
        # float() also takes "1_000" and non-Latin digits; a figure in a file uses neither
        if "_" in t or not t.isascii():
            raise ValueError(t)
        x = float(t)
    except ValueError:
        if not decimal_comma and re.fullmatch(r"[+-]?\d+,\d+", text):
            return Unreadable(text, f"{text!r} is not a number (a decimal comma? only files separated "
                                    "by ';' may use one)")
        return Unreadable(text, f"{text!r} is not a number")
    if not math.isfinite(x) or t.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        return Unreadable(text, f"{text!r} is not a number (only finite numbers are accepted)")
    if abs(x) > LARGEST_NUMBER:
        return Unreadable(text, f"{text!r} is far too large to be a real figure")
    return x


def parse_numbers(s: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Text -> float; each distinct text is read once (a column of 200k
    hours has a few hundred distinct values)."""
    if s.dtype != object:
        x = s.astype(float)
        bad = ~np.isfinite(x) & x.notna()
        if not bad.any():
            return x
        s = s.astype(object)
    filled = s.notna()
    if not decimal_comma:
        # The usual case, vectorised: every filled cell a plain finite number, each distinct
        # text read once and handed to its cells by code (8 M caseload cells at L)
        codes, uniq = pd.factorize(s.to_numpy(dtype=object))
        read = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce").to_numpy(dtype=float)
        x = pd.Series(np.where(codes >= 0, read[codes] if len(read) else np.nan, np.nan), index=s.index)
        if bool((x.notna() == filled).all()) and bool((x[filled].abs() <= LARGEST_NUMBER).all()):
            return x.astype(float)
    uniq = pd.unique(s[filled].astype(str))
    table = {u: _one_number(u, decimal_comma) for u in uniq}
    out = s.astype(object).map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                               else table.get(str(v)))
    if not any(isinstance(v, Unreadable) for v in table.values()):
        return out.astype(float)
    return out


_FLAGS = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0,
          "1.0": 1.0, "0.0": 0.0}


def parse_flags(s: pd.Series) -> pd.Series:
    def one(v):
        if v is None:
            return None
        got = _FLAGS.get(str(v).strip().lower())
        return Unreadable(str(v), f"{str(v)!r} is not yes/no (use 1/0, true/false or yes/no)") if got is None else got
    out = s.astype(object).map(one)
    return out if any(isinstance(v, Unreadable) for v in out) else out.astype(float)


# --------------------------------------------------------------------------- text

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NO_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _char_name(ch: str) -> str:
    if ch == "\x00":
        return "a NUL byte"
    return f"an invisible character (U+{ord(ch):04X}{' ' + unicodedata.name(ch) if unicodedata.name(ch, '') else ''})"


def text_problem(v, max_len: int | None, identifier: bool, multiline: bool = False) -> str | None:
    """Why a text cell cannot be stored as it is, or None.

    Identifiers also refuse Unicode format characters (zero-width spaces,
    direction marks): two ids that look the same must be the same."""
    if not isinstance(v, str):
        return None
    pattern = _CONTROL if multiline else _CONTROL_NO_BREAKS
    m = pattern.search(v)
    if m:
        return f"contains {_char_name(m.group())}; remove it"
    if identifier:
        for ch in v:
            if unicodedata.category(ch) in ("Cf", "Co", "Cs", "Zl", "Zp"):
                return f"contains {_char_name(ch)}; remove it"
    if max_len is not None and len(v) > max_len:
        return f"is {len(v):,} characters long; at most {max_len} fit"
    return None


def text_ok(s: pd.Series, max_len: int | None, identifier: bool, multiline: bool = False) -> pd.Series:
    if s.dtype != object:
        return pd.Series(True, index=s.index)
    # Fast path: nothing unusual in a column of plain short ASCII.
    as_str = s.astype(str)
    plain = as_str.str.fullmatch(r"[\x20-\x7e]*")
    if max_len is not None:
        plain &= as_str.str.len() <= max_len
    if plain.all():
        return pd.Series(True, index=s.index)
    out = pd.Series(True, index=s.index)
    out[~plain] = [text_problem(v, max_len, identifier, multiline) is None for v in s[~plain]]
    return out


# --------------------------------------------------------------------------- answers

# "5 - Very Often", "4 = Often", "4: Often", "4. Often", "Very Often (5)", "Often [4]"
_NUMBER_FIRST = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:[-=:.)–—]|\s)\s*(\D.*?)\s*$")
_NUMBER_LAST = re.compile(r"^\s*(\D.*?)\s*[(\[]\s*([+-]?\d+(?:\.\d+)?)\s*[)\]]\s*$")


def _fmt(x: float) -> str:
    return f"{x:g}"


def answer_value(text: str, allowed: np.ndarray, lookup: Mapping[str, float]):
    """One answer cell -> its value on the scale, or an Unreadable saying why.

    A number with a label ("5 - Very Often", "Often (4)") is read when both are
    on the scale and agree; a pair that disagrees is refused, never resolved
    in favour of one of them."""
    scale = ", ".join(_fmt(a) for a in allowed)
    t = str(text).strip()
    try:
        x = float(t)
    except ValueError:
        x = None
    if x is not None:
        if math.isfinite(x) and x in allowed:
            return x
        return Unreadable(t, f"{t!r} is outside the scale ({scale})")
    label = normalise_label(t)
    if label in lookup:
        return float(lookup[label])
    m = _NUMBER_FIRST.match(t)
    pair = (m.group(1), m.group(2)) if m else None
    if pair is None:
        m = _NUMBER_LAST.match(t)
        pair = (m.group(2), m.group(1)) if m else None
    if pair is not None:
        num, lab = float(pair[0]), normalise_label(pair[1])
        if lab in lookup:
            if float(lookup[lab]) == num:
                return num
            return Unreadable(t, f"{t!r}: the number {_fmt(num)} and the label {pair[1]!r} "
                                 f"({_fmt(lookup[lab])} on this scale) disagree")
    return Unreadable(t, f"{t!r} is not an answer on this scale (expected one of {scale} or its label)")
