"""Answers -> subscale scores and bands, for every instrument, vectorised.

One scoring function drives all instruments from their YAML definitions
(burnout/instruments/*.yaml); the exact rules are DESIGN §4:

- ProQOL 5: reverse items 1, 4, 15, 17, 29 as 6 - x; subscale = sum of its 10
  items; 1-2 missing -> prorated (mean of answered x 10); 3+ missing -> empty.
  Bands: low s <= 22, moderate 22 < s < 42, high s >= 42 (prorated scores too).
- CBI: mean of answered items after reversing cbi_w7 (100 - x); empty with fewer
  than 3/6 personal, 4/7 work, 3/6 client answers.  Bands: low < 50 <= moderate
  < 75 <= high < 100, severe = 100.
- Single item: sib_level = sib_1; burned_out when sib_1 >= 3.
- Pulse (project's own): strain, trauma load, support on 0-100.

An answer off the scale is an InputError naming the row and column; nothing is
ever clipped or zeroed.  Rows in messages are spreadsheet rows: the header is
row 1, so the answer at position p is row p + 2.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from burnout.errors import InputError
from burnout.instruments import INSTRUMENTS, MISSING_MARKERS, Instrument, apply_bands, load, normalise_label

__all__ = ["ALL_SCORE_COLUMNS", "band", "score", "score_columns", "score_csv", "score_long"]

# How many bad cells an error lists before it stops: enough to fix a file in one
# go, short enough to read.
_MAX_PROBLEMS = 20


def score_columns(instrument: str | None = None) -> tuple[str, ...]:
    """Score columns of one instrument, or of all of them in INSTRUMENTS order."""
    names = [instrument] if instrument else INSTRUMENTS
    return tuple(c for n in names for c in load(n).score_columns)


ALL_SCORE_COLUMNS = score_columns()


# --------------------------------------------------------------------------- answers -> numbers

def _unique_values(uniques: np.ndarray, inst: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Value and badness of each distinct cell; the loop is over distinct cells
    (a handful of labels/numbers), never over rows."""
    lookup, allowed = inst.answer_lookup, set(inst.answer_values)
    values = np.full(len(uniques), np.nan)
    bad = np.zeros(len(uniques), dtype=bool)
    for k, cell in enumerate(uniques):
        if isinstance(cell, (bool, np.bool_)):
            bad[k] = True           # True would pass as 1: never guess
            continue
        if isinstance(cell, (int, float, np.integer, np.floating)):
            number = float(cell)
        else:
            label = normalise_label(cell)
            if label in MISSING_MARKERS:
                continue
            if label in lookup:
                values[k] = lookup[label]
                continue
            try:
                number = float(label)
            except ValueError:
                bad[k] = True
                continue
        if np.isnan(number):
            continue
        if number in allowed:
            values[k] = number
        else:
            bad[k] = True
    return values, bad


def _column_values(col: pd.Series, inst: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """One answer column -> (float values with NaN for no answer, bad-cell mask)."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.to_numpy(dtype=float, na_value=np.nan)
        answered = ~np.isnan(values)
        bad = answered & ~np.isin(values, inst.answer_values)
        return np.where(bad, np.nan, values), bad
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    uvalues, ubad = _unique_values(np.asarray(uniques, dtype=object), inst)
    # A trailing "missing" entry catches code -1, even when every cell is blank.
    uvalues, ubad = np.append(uvalues, np.nan), np.append(ubad, False)
    return uvalues[codes], ubad[codes]


def _collect_bad(bad: np.ndarray, col: pd.Series, rows: np.ndarray, column: str,
                 cells: list) -> int:
    """Remember the first few bad cells of a column; return how many it has."""
    positions = np.flatnonzero(bad)
    cells.extend((int(rows[p]), column, col.iloc[p]) for p in positions[:_MAX_PROBLEMS])
    return len(positions)


def _show(cell: object) -> str:
    """A cell as the person typed it: 6 not np.int64(6), 'x' quoted."""
    if isinstance(cell, str):
        return repr(cell)
    if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(cell, bool):
        f = float(cell)
        return str(int(f)) if f.is_integer() else repr(f)
    return repr(cell)


def _raise_bad_cells(cells: list[tuple[int, str, object]], total: int, inst: Instrument,
                     file: str | None) -> None:
    """Report the first bad cell (by row, then column order) and list some others."""
    cells.sort(key=lambda c: c[0])
    row, column, cell = cells[0]
    problems = [f"row {r}, column {c!r}: {_show(v)}" for r, c, v in cells[:_MAX_PROBLEMS]]
    more = total - 1
    tail = f" ({more} more bad cell{'s' if more > 1 else ''})" if more else ""
    raise InputError(f"{_show(cell)} is not a {inst.short_title} answer; expected "
                     f"{inst.describe_scale()}{tail}",
                     file=file, row=row, column=column, problems=problems)


# --------------------------------------------------------------------------- numbers -> scores

def band(values, instrument: str | Instrument, column: str) -> pd.Series:
    """Band labels for scores of ``column`` (e.g. "burnout"), NaN where no score.

    Bands come from the YAML: ``up_to`` is s <= edge, ``below`` is s < edge,
    checked in order; the last band takes the rest (DESIGN §4).
    """
    inst = load(instrument)
    sub = next((s for s in inst.subscales if s.column == column), None)
    if sub is None or not sub.bands:
        raise KeyError(f"{inst.id} has no banded score {column!r}")
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(apply_bands(values, sub.bands), index=index,
                     name=sub.band_column)


def _score_values(values: dict[str, np.ndarray], inst: Instrument, index: pd.Index) -> pd.DataFrame:
    """Scores from numeric answers (NaN = unanswered), one vectorised pass per subscale."""
    out, bands, flags = _score_arrays(values, inst, len(index))
    frame = pd.DataFrame({**out, **bands, **flags}, index=index)
    return frame[list(inst.score_columns)]


def _score_arrays(values: dict[str, np.ndarray], inst: Instrument, n: int) -> tuple[dict, dict, dict]:
    """The arithmetic of :func:`_score_values`: (scores, bands, flags) as arrays by column."""
    lo, hi = inst.answer_values[0], inst.answer_values[-1]
    out: dict[str, object] = {}
    bands: dict[str, object] = {}
    flags: dict[str, object] = {}
    for sub in inst.subscales:
        k = len(sub.items)
        mat = np.empty((n, k), order="F")   # filled column by column
        for j, item in enumerate(sub.items):
            col = values.get(item)
            col = np.full(n, np.nan) if col is None else col
            # Reversal maps the scale onto itself: 6 - x on 1-5, 100 - x on 0-100.
            mat[:, j] = (lo + hi) - col if item in sub.reverse else col
        answered = ~np.isnan(mat)
        count = answered.sum(axis=1)
        total = np.where(answered, mat, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if sub.rescale is not None:
                # (mean - a) / (b - a) x 100 in one division, so whole numbers stay exact.
                a, b = sub.rescale
                s = (total - a * count) * 100.0 / ((b - a) * count)
            elif sub.method == "sum":
                # Prorated sum = mean x k; total * k / count rounds once and equals
                # the plain sum exactly when every item is answered.
                s = total * k / count
            else:
                s = total / count
        s = np.where(count >= sub.min_answered, s, np.nan)
        out[sub.column] = s
        if sub.bands:
            bands[sub.band_column] = apply_bands(s, sub.bands)
        for flag in sub.flags:
            flags[flag.column] = pd.arrays.BooleanArray(
                np.nan_to_num(s, nan=-np.inf) >= flag.at_least, np.isnan(s))
    return out, bands, flags


def _lookalike_items(columns, inst: Instrument) -> list[tuple[str, str | None]]:
    """Columns shaped like this instrument's item ids that are not among them
    (``proqol_07``, ``proqol_31``, ``cbi_w8``), each with the id it may mean.

    Such a column is a typo or another version of the form; ignoring it would
    silently prorate or drop a subscale, so it is an error instead.
    """
    prefixes = {i.rstrip("0123456789") for i in inst.item_ids}
    known = set(inst.item_ids)
    out = []
    for col in columns:
        name = str(col).strip().lower()
        prefix = name.rstrip("0123456789")
        digits = name[len(prefix):]
        if col in known or prefix not in prefixes or not digits:
            continue
        guess = f"{prefix}{int(digits)}"
        out.append((str(col), guess if guess in known and guess != col else None))
    return out


def _score(answers: pd.DataFrame, inst: Instrument, file: str | None,
           rows: np.ndarray) -> pd.DataFrame:
    strays = _lookalike_items(answers.columns, inst)
    if strays:
        col, guess = strays[0]
        hint = f" (did you mean {guess}?)" if guess else ""
        first, last = inst.item_ids[0], inst.item_ids[-1]
        raise InputError(f"{col!r} is not a {inst.short_title} item id{hint}; the items are "
                         f"{first} … {last}", file=file, row=1, column=col,
                         problems=[f"column {c!r}" for c, _ in strays])
    present = [i for i in inst.item_ids if i in answers.columns]
    if not present:
        raise InputError(f"no {inst.short_title} item columns found; expected "
                         f"{', '.join(inst.item_ids)}", file=file, column=", ".join(inst.item_ids))
    values: dict[str, np.ndarray] = {}
    bad_cells: list[tuple[int, str, object]] = []
    total_bad = 0
    for item in present:
        col = answers[item]
        if isinstance(col, pd.DataFrame):
            raise InputError(f"column {item} appears {col.shape[1]} times", file=file, column=item)
        vals, bad = _column_values(col, inst)
        if bad.any():
            total_bad += _collect_bad(bad, col, rows, item, bad_cells)
        values[item] = vals
    if bad_cells:
        _raise_bad_cells(bad_cells, total_bad, inst, file)
    return _score_values(values, inst, answers.index)


def score(answers: pd.DataFrame, instrument: str, file: str | None = None) -> pd.DataFrame:
    """Score every row of ``answers`` for ``instrument`` (DESIGN §4).

    ``answers`` has item columns (``proqol_1`` …); other columns are ignored and a
    missing item column counts as unanswered, but a frame with none of the
    instrument's columns is an error.  Answers are scale values (numbers or
    numeric strings such as "75" or "3.0") or scale labels, matched ignoring case
    and spacing.  Returns the instrument's score columns (scores, then bands, then
    flags) on the same index; NaN/NA where a score is not computable.
    Raises InputError naming the first bad cell's row (position + 2) and column.
    """
    inst = load(instrument)
    return _score(answers, inst, file, np.arange(len(answers)) + 2)


def score_one(instrument: str, answers: Mapping[str, float]) -> dict[str, object]:
    """Scores of ONE submission whose answers are already checked numbers on the
    scale (``checkin.validate_answers``): {score column: float, bool or None}.

    The same arithmetic as :func:`score` (it calls the same vectorised pass on a
    single row) without the frame-building a whole file needs, so a check-in is
    scored in well under a millisecond.  Band labels are left out: they are
    derived from the scores wherever they are shown.
    """
    inst = load(instrument)
    unknown = [i for i in answers if i not in inst.item_ids]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a {inst.short_title} item", column=unknown[0])
    values = {item: np.array([float(v)]) for item, v in answers.items()}
    scores, _, flags = _score_arrays(values, inst, 1)
    out: dict[str, object] = {}
    for sub in inst.subscales:
        v = float(scores[sub.column][0])
        out[sub.column] = None if np.isnan(v) else v
        for flag in sub.flags:
            f = flags[flag.column][0]
            out[flag.column] = None if f is pd.NA else bool(f)
    return out


# --------------------------------------------------------------------------- long format

_LONG_COLUMNS = ("submission_id", "instrument", "item_id", "value")


def _empty_scores(n: int) -> dict[str, object]:
    frame: dict[str, object] = {}
    for inst_name in INSTRUMENTS:
        inst = load(inst_name)
        for sub in inst.subscales:
            frame[sub.column] = np.full(n, np.nan)
            if sub.bands:
                frame[sub.band_column] = np.full(n, np.nan, dtype=object)
            for flag in sub.flags:
                frame[flag.column] = pd.array([pd.NA] * n, dtype="boolean")
    return frame


def _positions(items: pd.Series, item_ids) -> np.ndarray:
    """Each answer's item's position in ``item_ids`` (-1: not one of them); a categorical
    column is looked up by its few categories, not answer by answer."""
    if isinstance(items.dtype, pd.CategoricalDtype):
        codes = np.asarray(items.cat.codes)
        of_category = np.append(pd.Index(item_ids).get_indexer(items.cat.categories.astype(object)), -1)
        return of_category[codes]      # code -1 (no value) takes the appended -1
    return pd.Index(item_ids).get_indexer(items.astype(object))


def score_long(answers_long: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Long answers (``submission_id, instrument, item_id, value``) -> one row per
    submission (in order of first appearance) with ``submission_id`` and every
    instrument's score columns (ALL_SCORE_COLUMNS); NaN/NA where an instrument
    does not apply.  Same rules and errors as :func:`score`; rows in errors are
    rows of the long frame (position + 2), column ``value`` or ``item_id``.
    """
    missing = [c for c in _LONG_COLUMNS if c not in answers_long.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=file,
                         column=", ".join(missing))
    rows = np.arange(len(answers_long)) + 2
    submissions = pd.Index(pd.unique(answers_long["submission_id"]))
    result = pd.DataFrame(_empty_scores(len(submissions)))
    result.insert(0, "submission_id", submissions.to_numpy())

    inst_col = answers_long["instrument"]
    if not isinstance(inst_col.dtype, pd.CategoricalDtype):     # categories compare by code
        inst_col = inst_col.astype(object)
    unknown = ~inst_col.isin(INSTRUMENTS)
    if unknown.any():
        p = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"unknown instrument {inst_col.iloc[p]!r}; expected one of "
                         f"{', '.join(INSTRUMENTS)}", file=file, row=int(rows[p]),
                         column="instrument")
    for name in INSTRUMENTS:
        mask = (inst_col == name).to_numpy()
        if not mask.any():
            continue
        inst = load(name)
        part = answers_long.loc[mask]
        part_rows = rows[mask]
        item_pos = _positions(part["item_id"], inst.item_ids)
        if (item_pos < 0).any():
            p = int(np.flatnonzero(item_pos < 0)[0])
            raise InputError(f"{part['item_id'].iloc[p]!r} is not a {inst.short_title} item",
                             file=file, row=int(part_rows[p]), column="item_id")
        sub_pos = submissions.get_indexer(part["submission_id"])
        own = np.unique(sub_pos)
        local = np.searchsorted(own, sub_pos)
        # an item answered twice in a submission: counted on the (submission x item) grid the
        # scores are computed on anyway; the hash of every answer only when there is one to name
        twice = np.bincount(local * len(inst.item_ids) + item_pos,
                            minlength=len(own) * len(inst.item_ids)).max(initial=0) > 1
        if twice:
            dup = pd.Series(sub_pos * len(inst.item_ids) + item_pos).duplicated().to_numpy()
            p = int(np.flatnonzero(dup)[0])
            raise InputError(f"item {part['item_id'].iloc[p]} answered twice in submission "
                             f"{part['submission_id'].iloc[p]!r}", file=file,
                             row=int(part_rows[p]), column="item_id")
        vals, bad = _column_values(part["value"], inst)
        if bad.any():
            cells: list = []
            total = _collect_bad(bad, part["value"], part_rows, "value", cells)
            _raise_bad_cells(cells, total, inst, file)
        # Pivot by position: every submission of this instrument gets one row.
        mat = np.full((len(own), len(inst.item_ids)), np.nan)
        mat[local, item_pos] = vals
        scored = _score_values({item: mat[:, j] for j, item in enumerate(inst.item_ids)},
                               inst, pd.RangeIndex(len(own)))
        for col in inst.score_columns:
            if isinstance(result[col].dtype, pd.BooleanDtype):
                arr = result[col].array.copy()
                arr[own] = scored[col].array
                result[col] = arr
            else:
                result.loc[own, col] = scored[col].to_numpy()
    return result[["submission_id", *ALL_SCORE_COLUMNS]]


# --------------------------------------------------------------------------- CSV in and out

def _read_answers_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a CSV as text cells; returns the frame without blank lines and each
    kept row's spreadsheet row number.  ``,``, ``;`` or tab; UTF-8 (BOM or not), else
    cp1252, else latin-1.  (ingest.read_table arrived later; this reader keeps
    blank lines in the row count so messages point at the right line.)"""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Windows spreadsheet exports: cp1252 is latin-1 plus curly quotes and dashes.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    if not text.strip():
        raise InputError("the file is empty; expected a header row", file=str(path))
    # pandas would choke on blank lines above the header; drop them but count
    # them, so row numbers still match what a spreadsheet shows.
    body = text.lstrip("\r\n")
    lead = text[: len(text) - len(body)].count("\n")
    first = body.splitlines()[0]
    delimiter = max((",", ";", "\t"), key=first.count)   # ties go to ","
    names = [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter))]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"column {name!r} appears twice in the header", file=str(path),
                             row=1 + lead, column=name)
        seen.add(name)
    try:
        frame = pd.read_csv(io.StringIO(body), sep=delimiter, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, header=0, names=names)
    except (pd.errors.ParserError, ValueError) as exc:
        raise _parse_error(body, delimiter, len(names), lead, str(path), exc) from None
    blank = frame.isna().all(axis=1) | frame.fillna("").apply(lambda c: c.str.strip() == "").all(axis=1)
    rows = np.arange(len(frame)) + 2 + lead
    keep = ~blank.to_numpy()
    return frame.loc[keep].reset_index(drop=True), rows[keep]


def _parse_error(body: str, delimiter: str, width: int, lead: int, file: str,
                 exc: Exception) -> InputError:
    """Name the first row with more cells than the header (the usual cause:
    an unquoted delimiter inside a cell); only runs once parsing has failed."""
    for k, cells in enumerate(csv.reader(io.StringIO(body), delimiter=delimiter)):
        if len(cells) > width:
            return InputError(f"this row has {len(cells)} cells but the header has {width}; "
                              f"is a {delimiter!r} inside a cell without quotes?",
                              file=file, row=k + 1 + lead)
    return InputError(f"cannot parse the CSV: {exc}", file=file)


def _format_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells for the CSV: whole numbers without ".0", others at full
    precision (shortest round-trip repr, e.g. 64.28571428571429, 68.75), empty
    where not computable, bands as lowercase words, flags as true/false."""
    out = {}
    for col in frame.columns:
        data = frame[col]
        if isinstance(data.dtype, pd.BooleanDtype):
            out[col] = np.where(pd.isna(data).to_numpy(), "",
                                np.where(data.fillna(False).to_numpy(dtype=bool), "true", "false"))
        elif pd.api.types.is_float_dtype(data.dtype):
            v = data.to_numpy(dtype=float)
            finite = np.isfinite(v)
            whole = finite & (v == np.round(v))
            as_int = np.where(whole, v, 0).astype(np.int64).astype(str)
            out[col] = np.where(whole, as_int, np.where(finite, v.astype(str), ""))
        else:
            out[col] = data.astype(object).where(data.notna(), "").astype(str).str.lower().to_numpy()
    return pd.DataFrame(out, index=frame.index)


def score_csv(instrument: str, input: Path, output: Path, warn=None) -> int:
    """``python -m burnout score``: read answers, write ``respondent_id`` and the
    instrument's score columns (DESIGN §5).  Returns the number of rows scored.

    Output: UTF-8, ``,``-separated, header then one row per non-blank input row.
    Whole-number scores are written without ".0" (30, not 30.0); others at full
    float precision; empty cells where a score is not computable; bands as
    low/moderate/high/severe; burned_out as true/false.  ``warn(text)`` hears
    about item columns the file lacks: they count as unanswered in every row,
    so their subscale is prorated or left empty.
    """
    inst = load(instrument)
    input, output = Path(input), Path(output)
    frame, rows = _read_answers_csv(input)
    # Headers typed as "ProQOL_1" or "Respondent_ID" mean the same columns.
    canonical = {c.lower(): c for c in ("respondent_id", *inst.item_ids)}
    frame = frame.rename(columns=lambda c: canonical.get(str(c).lower(), c))
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InputError(f"column {dup!r} appears twice in the header (ignoring case)",
                         file=str(input), row=1, column=dup)
    if "respondent_id" not in frame.columns:
        raise InputError("missing column 'respondent_id'", file=str(input), row=1,
                         column="respondent_id")
    scores = _score(frame, inst, str(input), rows)
    absent = [i for i in inst.item_ids if i not in frame.columns]
    if absent and warn is not None:
        warn(f"{input}: no column for {', '.join(absent)}; counted as unanswered in every row")
    table = pd.concat([frame[["respondent_id"]], _format_scores(scores)], axis=1)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(output, index=False, encoding="utf-8", lineterminator="\n")
    except OSError as exc:
        raise InputError(f"cannot write the output: {exc.strerror or exc}", file=str(output)) from None
    return len(table)

