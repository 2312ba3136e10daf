"""Helpers shared by several test files (one place, not a copy per file): a small
organisation, a roll-up built the way the views build one, a PDF's text, a
workbook's cells, plotly's packed arrays.  (Fixtures live in conftest.py.)"""
from __future__ import annotations

import base64
import io
import re
import zlib
from functools import lru_cache
from itertools import chain, combinations
from math import comb
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from burnout import ingest, privacy
from burnout.demo import write_demo
from burnout.store import get_engine


def small_org(folder: Path, *, helpers: int = 40, weeks: int = 20, seed: int = 3, rename: dict | None = None):
    """A demo organisation imported into a new SQLite database under ``folder``.

    ``rename``: ``{"team": {...}, "site": {...}, "role": {...}}`` maps the demo's
    names to others (e.g. names in other scripts) before the import.
    Returns the engine.
    """
    folder = Path(folder)
    files = write_demo(folder / "files", helpers=helpers, weeks=weeks, seed=seed)
    if rename:
        roster = pd.read_csv(files["roster"], dtype=str, keep_default_na=False)
        for col, mapping in rename.items():
            roster[col] = roster[col].map(lambda v: mapping.get(v, v))
        roster.to_csv(files["roster"], index=False)
    engine = get_engine(f"sqlite:///{folder / 'org.db'}")
    ingest.import_files(engine, roster=str(files["roster"]), surveys=str(files["surveys"]),
                        caseload=str(files["caseload"]))
    return engine


def aggregate_scores(scores: pd.DataFrame, roster: pd.DataFrame, by: str | Sequence[str],
                     value_cols: Sequence[str], min_n: int = privacy.MIN_N, *, as_of=None, weeks: int = 4,
                     margins: bool = True, where: Mapping | None = None,
                     known: Iterable | None = None) -> privacy.Suppressed:
    """A suppressed roll-up of recent scores, the way the views build one:
    ``privacy.helper_window`` then ``privacy.suppress`` (``where`` is a
    narrowing filter, protected against the unfiltered table)."""
    per = privacy.helper_window(scores, roster, list(value_cols), as_of=as_of, weeks=weeks)
    population = None
    if where:
        population = per
        mask = np.ones(len(per), dtype=bool)
        for col, allowed in where.items():
            if allowed:
                mask &= per[col].isin(list(allowed)).to_numpy()
        per = per[mask]
    return privacy.suppress(per, by, "helper_id", list(value_cols), min_n, margins=margins,
                            population=population, known=known)


# --------------------------------------------------------------------------- PDF text

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(s: bytes) -> bytes:
    def one(m):
        c = m.group(1)
        if c[:1].isdigit():
            return bytes([int(c, 8) & 0xFF])
        return _ESCAPES.get(c, c)
    return re.sub(rb"\\([0-7]{1,3}|.)", one, s, flags=re.S)


def _cmap(stream: bytes) -> dict[int, str]:
    out = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + k)
    return out


def pdf_text(data: bytes) -> str:
    """Text drawn on the pages of an fpdf2 PDF, whitespace collapsed to single spaces
    (so a sentence reads the same wherever a line wrapped).

    Reads the PDF directly (no PDF library): embedded TrueType fonts through
    their ToUnicode maps, core fonts as Latin-1.
    """
    objects: dict[int, bytes] = {}
    streams: dict[int, bytes] = {}
    for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S):
        num, body = int(m.group(1)), m.group(2)
        objects[num] = body
        s = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        # an image's pixels carry no text (and may hold the bytes "Tj" by chance)
        if s and not re.search(rb"/Subtype\s*/Image", body[:s.start()]):
            # the stream is /Length bytes: a stream ending in a CR byte would lose it to
            # the pattern's optional CR, and the page would read as empty
            length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", body[:s.start()])
            raw = s.group(1) if length is None else body[s.start(1):s.start(1) + int(length.group(1))]
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                pass
            streams[num] = raw
    fonts: dict[bytes, dict[int, str] | None] = {}
    for body in objects.values():
        for block in re.findall(rb"/Font\s*<<(.*?)>>", body, re.S):
            for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", block):
                font = objects.get(int(ref), b"")
                tu = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
                fonts[name] = _cmap(streams.get(int(tu.group(1)), b"")) if tu else None
    out = []
    token = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj|\[((?:\\.|[^\]\\])*)\]\s*TJ", re.S)
    for raw in streams.values():
        if b"Tj" not in raw and b"TJ" not in raw:
            continue
        cmap = None
        for m in token.finditer(raw):
            if m.group(1) is not None:
                cmap = fonts.get(m.group(1))
                continue
            parts = [m.group(2)] if m.group(2) is not None else \
                re.findall(rb"\(((?:\\.|[^\\)])*)\)", m.group(3), re.S)
            for part in parts:
                s = _unescape(part)
                if cmap is None:
                    out.append(s.decode("latin-1"))
                else:
                    out.append("".join(cmap.get(int.from_bytes(s[i:i + 2], "big"), "")
                                       for i in range(0, len(s) - 1, 2)))
            out.append(" ")
    return " ".join("".join(out).split())


# --------------------------------------------------------------------------- workbooks, plotly

def xlsx_cells(data: bytes) -> dict[str, list[list]]:
    """Every sheet of a workbook as rows of cell values."""
    from openpyxl import load_workbook   # only the export tests read workbooks

    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def decode(arr):
    """A plotly array as sent to the browser (base64 'bdata' or a plain list) as values."""
    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"])
    return arr


# --------------------------------------------------------------------------- attacker's view

def published_groups(tables: Iterable[privacy.Suppressed], column: str, fixed: Mapping | None = None
                     ) -> list[dict]:
    """The groups (as ``{dim: value}``) whose ``column`` a reader can read in
    ``tables`` (one-way roll-ups; ``All`` is the table's ``fixed`` scope)."""
    out = []
    for sup in tables:
        g = sup.group_cols[0]
        for i in range(len(sup.table)):
            if sup.status.iloc[i][column] != privacy.SHOWN:
                continue
            key = sup.table.iloc[i][g]
            cond = dict(fixed or {})
            if str(key) != privacy.TOTAL:
                cond[g] = key
            out.append(cond)
    return out


def small_groups_determined(people: pd.DataFrame, groups: Iterable[Mapping], min_n: int = privacy.MIN_N,
                            known: Iterable = ()) -> list[tuple]:
    """Every set of 1..min_n-1 people outside ``known`` whose sum a reader could
    work out from the sums over ``groups`` (each a ``{column: value}`` filter of
    ``people``) and the known people's own values: the sets whose indicator
    lies in the row space of the published rows.  Exhaustive over people, so
    for small organisations only; empty is the promise the gate makes."""
    ids = list(people["helper_id"])
    pos = {h: i for i, h in enumerate(ids)}
    rows = []
    for cond in groups:
        mask = np.ones(len(people), dtype=bool)
        for k, v in cond.items():
            vals = v if isinstance(v, (list, tuple, set)) else [v]
            mask &= people[k].astype(str).isin([str(x) for x in vals]).to_numpy()
        rows.append(mask.astype(float))
    for h in known:
        if h in pos:
            r = np.zeros(len(ids))
            r[pos[h]] = 1.0
            rows.append(r)
    if not rows:
        return []
    a = np.vstack(rows)
    # project onto the null space once: x is determined iff x is orthogonal to it
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > 1e-9).sum())
    null = vt[rank:]
    unknown = [h for h in ids if h not in set(known)]
    out = []
    for size in range(1, min_n):
        for combo in combinations(unknown, size):
            x = np.zeros(len(ids))
            x[[pos[h] for h in combo]] = 1.0
            if null.shape[0] == 0 or np.abs(null @ x).max() < 1e-8:
                out.append(combo)
    return out


def simulated_leaving_history(*, start: pd.Timestamp, n: int = 500, weeks: int = 156, beta: float = 2.5,
                              base_hazard: float = 0.002, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A roster and weekly risk history where the weekly leaving hazard is
    ``base_hazard · exp(beta · caseload pressure)`` and the other inputs are noise; leavers
    are not replaced.  Weeks run from ``start`` (a Monday)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    left_after = rng.geometric(np.clip(base_hazard * np.exp(beta * x), 0, 1))     # weeks until leaving
    ids = np.array([f"S{i:04d}" for i in range(n)], dtype=object)
    end = np.where(left_after < weeks, start + pd.to_timedelta(left_after * 7 - 3, unit="D"), pd.NaT)
    roster = pd.DataFrame({"helper_id": ids, "team": "T", "start_date": start - pd.Timedelta(days=400),
                           "end_date": pd.to_datetime(end), "end_reason": "resigned"})
    alive = np.minimum(left_after, weeks)
    h = np.repeat(np.arange(n), alive)
    w = np.concatenate([np.arange(k) for k in alive])
    hist = pd.DataFrame({"helper_id": ids[h], "week_start": start + pd.to_timedelta(w * 7, unit="D"),
                         "c_caseload": np.clip(x[h] + rng.normal(0, 0.05, len(h)), 0, 1),
                         "c_overtime": rng.uniform(0, 1, len(h)), "c_burnout": rng.uniform(0, 1, len(h))})
    hist["risk_score"] = 100 * hist[["c_caseload", "c_overtime", "c_burnout"]].mean(axis=1)
    return roster, hist


def null_space(rows) -> np.ndarray:
    """A basis of what the linear figures ``rows`` (one row per figure, one column per
    unknown) leave undetermined; at most 8 random combinations of it, which tell the same
    as the whole with probability one, so the attackers' set searches stay cheap."""
    # a repeated figure adds nothing to the row space; with at least as many figures as
    # unknowns the thin SVD already gives every right singular vector
    a = np.unique(np.vstack(rows), axis=0)
    _, sv, vt = np.linalg.svd(a, full_matrices=len(a) < a.shape[1])
    null = vt[int((sv > 1e-9).sum()):]
    if len(null) > 8:
        null = np.random.default_rng(0).standard_normal((8, len(null))) @ null
        null /= np.abs(null).max(axis=1, keepdims=True)
    return null


def determined_sets(null: np.ndarray, person: np.ndarray, min_n: int, limit: int = 3,
                    covered: np.ndarray | None = None) -> list[tuple]:
    """Sets of 1..min_n-1 people (columns of ``person``: unknowns x people, 1 where the
    unknown is that person's) whose total the figures determine: a set is determined exactly
    when its indicator is orthogonal to the null space.  At most ``limit`` per size.
    ``covered``: per unknown, whether any figure sums it; a person with an unknown no figure
    touches is in no determined set (that unknown alone is free), so the search skips them
    (a lead's figures touch one team: the search is over that team, not the organisation)."""
    has = np.flatnonzero(person.sum(axis=0) > 0)
    if covered is not None:
        has = has[~(person[~np.asarray(covered, dtype=bool)] > 0).any(axis=0)[has]]
    proj = null @ person
    # One fixed combination of the null rows screens every set first: a set whose residual is
    # under 1e-8 in each row is under |w|_1 * 1e-8 in the combination, so no determined set is
    # screened out, and only the few that pass are checked row by row (the test below).
    w = np.random.default_rng(1).uniform(0.5, 1.5, len(null))
    screen = w @ proj
    bound = np.abs(w).sum() * 1e-8 + 1e-12
    found = []
    for size in range(1, min_n):
        sets = has[_subsets(len(has), size)]
        if not len(sets):
            break
        if len(null):
            sets = sets[np.abs(screen[sets].sum(axis=1)) < bound]
            residual = np.abs(proj[:, sets].sum(axis=2)).max(axis=0)
        else:
            residual = np.zeros(len(sets))
        found += [tuple(c) for c in sets[residual < 1e-8][:limit]]
    return found


@lru_cache(maxsize=None)
def _subsets(n: int, size: int) -> np.ndarray:
    """Every ``size``-subset of range(n), one per row, in the order of itertools.combinations
    (built once per shape: the attackers ask for the same shapes thousands of times)."""
    flat = np.fromiter(chain.from_iterable(combinations(range(n), size)), dtype=np.intp, count=comb(n, size) * size)
    out = flat.reshape(-1, size)
    out.flags.writeable = False
    return out
