"""Read CSV and XLSX files into frames of stripped text.

Files arrive from HR systems, case-management systems and form tools, so the
reader tolerates what they really export (UTF-8 with or without BOM, UTF-16,
Latin-1/Windows-1252, semicolon or tab separators, decimal commas, XLSX with
several sheets, the two extra header rows of Qualtrics) and refuses what
cannot be a table, before it costs memory: oversized workbooks are caught from
the zip directory, before any sheet is parsed.

Rows are numbered as a person sees them in a spreadsheet: the header is row 1.
Every frame returned keeps that: index + 2 is the row in the file, also when
blank lines or Qualtrics' extra header rows were dropped.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from burnout.errors import InputError
from burnout.ingest.limits import ImportLimits

# A number written with a decimal comma ("1,5"), as spreadsheets in much of
# Europe save it next to a ";" separator.
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_IMPORT_ID = '{"ImportId"'


def decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError("the file says it is UTF-16 but is not readable as such", file=name) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel "CSV" on Windows: cp1252 is Latin-1 plus the curly quotes and dashes.
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _looks_binary(text: str) -> bool:
    """Many control characters in the first few KB: an image, a database, a
    zip that is not a workbook... not a table anyone typed.  A stray control
    character inside a cell is left to the cell checks, which name its row."""
    head = text[:8192]
    if not head:
        return False
    odd = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    return odd > max(8, len(head) // 100)


def _head_lines(text: str, n: int) -> list[str]:
    """``text.splitlines()[:n]`` without splitting the rest of the file: a list of
    every line of a large export was several times the file's size."""
    end = 0
    for k, m in enumerate(_LINE_BREAKS.finditer(text), start=1):
        end = m.end()
        if k == n:
            break
    else:
        end = len(text)
    return text[:end].splitlines()[:n]


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(_head_lines(text, 20))
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = head.splitlines()[0] if head else ""
        return max([",", ";", "\t"], key=first.count)


def read_file(path: Path, name: str) -> bytes:
    if not path.exists():
        raise InputError(f"file not found ({path})", file=name)
    if path.is_dir():
        raise InputError(f"this is a folder, not a file ({path})", file=name)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=name) from exc


def source_bytes(source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        return read_file(path, name), name
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name or "upload"
    return source.read(), name or getattr(source, "name", None) or "upload"


def is_xlsx(raw: bytes) -> bool:
    return raw[:4] == b"PK\x03\x04"


# --------------------------------------------------------------------------- XLSX

def _check_zip(raw: bytes, name: str, limits: ImportLimits) -> None:
    """Refuse a workbook whose parts would unpack to more than the limit.

    The sizes come from the zip's central directory, read without inflating
    anything; zipfile also stops a member at its declared size, so a member
    that lies about its size cannot unpack further than it claims."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read the spreadsheet: it is not a valid XLSX file ({exc})", file=name) from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_xlsx_bytes:
        mb = 1024 * 1024
        raise InputError(f"the workbook would unpack to {total / mb:,.0f} MB, more than the "
                         f"{limits.max_xlsx_bytes / mb:,.0f} MB an import accepts; save the sheet as CSV "
                         "or split it", file=name)
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise InputError("cannot read the spreadsheet: it is a zip file, but not an XLSX workbook", file=name)
    for info in infos:
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            rows = _declared_rows(raw, info)
            if rows is not None and rows > limits.max_rows + 1:
                raise InputError(f"a sheet of the workbook declares {rows:,} rows, more than the "
                                 f"{limits.max_rows:,} an import accepts; split the file", file=name)


_DIMENSION = re.compile(rb'<dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


def _declared_rows(raw: bytes, info: zipfile.ZipInfo) -> int | None:
    """The row count a sheet declares in its ``<dimension>``, read from the
    first few KB of the sheet (inflating only those), before openpyxl parses it.
    A sheet may leave it out or understate it: rows are counted while read too."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf, zf.open(info) as f:
            head = f.read(4096)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    m = _DIMENSION.search(head)
    return int(m.group(1)) if m and m.group(1) else None


def _cell_text(v) -> str | None:
    """A cell as the text a person sees, so typing happens in one place for
    CSV and XLSX alike.  Real date cells become ISO 8601, whatever their display
    format; whole numbers lose Excel's ".0"."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ") if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def sheet_names(raw: bytes, name: str = "upload", limits: ImportLimits | None = None) -> list[str]:
    """The sheets of a workbook (for a sheet picker); [] for a CSV."""
    if not is_xlsx(raw):
        return []
    limits = limits or ImportLimits()
    _check_zip(raw, name, limits)
    wb = _open_workbook(raw, name)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _open_workbook(raw: bytes, name: str):
    import openpyxl   # heavy; only workbooks need it

    try:
        return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise InputError(f"cannot read the spreadsheet ({type(exc).__name__}: {exc})", file=name) from exc


def _sheet_rows(ws, name: str, limits: ImportLimits) -> list[tuple]:
    rows = []
    try:
        for r in ws.iter_rows(values_only=True):
            rows.append(r)
            if len(rows) > limits.max_rows + 1:
                raise InputError(f"the sheet has more than {limits.max_rows:,} rows, more than an "
                                 "import accepts; split the file", file=name)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read the spreadsheet ({type(exc).__name__}: {exc})", file=name) from exc
    return rows


def _header_of(ws) -> list[str]:
    for r in ws.iter_rows(values_only=True, max_row=20):
        cells = [_cell_text(v) for v in r]
        if any(c and c.strip() for c in cells):
            return [(c or "").strip() for c in cells]
    return []


def _fits(header: list[str], expect) -> bool:
    """``expect``: column names that must all be there, or a list of such alternatives."""
    expect = list(expect)
    options = [expect] if all(isinstance(e, str) for e in expect) else expect
    return any(set(o) <= set(header) for o in options)


def _choose_sheet(wb, name: str, sheet: str | None, expect: Iterable[str] | None):
    names = list(wb.sheetnames)
    if sheet is not None:
        if sheet not in names:
            raise InputError(f"the workbook has no sheet {sheet!r} (its sheets: {', '.join(names)})",
                             file=name)
        return wb[sheet]
    if len(names) == 1:
        return wb[names[0]]
    fitting = [n for n in names if _fits(_header_of(wb[n]), expect)] if expect else []
    if len(fitting) == 1:
        return wb[fitting[0]]
    what = (f"{len(fitting)} sheets whose header fits ({', '.join(fitting)})" if fitting
            else f"{len(names)} sheets ({', '.join(names)})")
    raise InputError(f"the workbook has {what}; choose the sheet to import (the sheet option, "
                     "--sheet on the command line, or the sheet picker on the Data page)", file=name)


def _read_xlsx(raw: bytes, name: str, sheet: str | None, expect, limits: ImportLimits) -> pd.DataFrame:
    _check_zip(raw, name, limits)
    wb = _open_workbook(raw, name)
    try:
        ws = _choose_sheet(wb, name, sheet, expect)
        rows = _sheet_rows(ws, name, limits)
    finally:
        wb.close()
    lead = 0
    while lead < len(rows) and not any(v is not None and str(v).strip() for v in rows[lead]):
        lead += 1
    if lead == len(rows):
        raise InputError("the file is empty", file=name)
    header = [_cell_text(v) for v in rows[lead]]
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header.pop()
    width = len(header)
    body = rows[lead + 1:]
    for n, r in enumerate(body, start=lead + 2):
        extra = [v for v in r[width:] if v is not None and str(v).strip()]
        if extra:
            raise InputError(f"the row has a value in a column without a header ({extra[0]!r})",
                             file=name, row=n)
    data = [[_cell_text(v) for v in r[:width]] + [None] * (width - len(r[:width])) for r in body]
    header = ["" if h is None else h for h in header]
    _check_header(header, name)
    df = pd.DataFrame(data, columns=header, dtype=object)
    df.index = pd.RangeIndex(len(df)) + lead
    return df


# --------------------------------------------------------------------------- CSV

# Every line break str.splitlines knows, so rows are counted exactly as before.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _line_count(text: str) -> int:
    """len(text.splitlines()) without building the list."""
    if not text:
        return 0
    plain = text.count("\n") + text.count("\r") - text.count("\r\n")
    if text.isascii() and not any(ch in text for ch in "\x0b\x0c\x1c\x1d\x1e"):
        breaks = plain
    else:
        breaks = sum(1 for _ in _LINE_BREAKS.finditer(text))
    return breaks + (0 if text[-1] in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029" else 1)


def _cut_leading_blank_lines(text: str) -> tuple[int, str]:
    """(number of blank lines before the first line with text, the text from that line)."""
    lead, pos = 0, 0
    while pos < len(text):
        m = _LINE_BREAKS.search(text, pos)
        end = m.end() if m else len(text)
        if text[pos:end].strip():
            break
        lead, pos = lead + 1, end
    return lead, text[pos:]


def _lines(text: str):
    """The lines ``io.StringIO(text)`` yields (split after each "\n"), one at a time:
    a StringIO holds a copy of the text at four bytes a character."""
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        yield text[pos:end]
        pos = end


def _check_header(header: list[str], name: str) -> None:
    cleaned = [str(c).strip().lstrip("\ufeff") for c in header]
    seen: dict[str, int] = {}
    for i, c in enumerate(cleaned):
        if c in seen and c:
            raise InputError(f"the column appears twice in the header (columns {seen[c] + 1} and {i + 1})",
                             file=name, row=1, column=c)
        seen[c] = i


def _read_csv(raw: bytes, name: str, limits: ImportLimits) -> pd.DataFrame:
    text = decode(raw, name)
    if _looks_binary(text):
        raise InputError("this is not a CSV or XLSX file (it holds binary data)", file=name)
    # Blank lines above the header would become the header once blank lines
    # are kept; they are cut off and counted so data rows keep their numbers.
    # Counted, not split into a list: a list of every line is several times the file.
    if _line_count(text) > limits.max_rows + 1:
        raise InputError(f"the file has more than {limits.max_rows:,} rows, more than an import "
                         "accepts; split the file", file=name)
    lead, text = _cut_leading_blank_lines(text)
    if not text.strip():
        raise InputError("the file is empty", file=name)
    sep = _sniff_delimiter(text)
    try:
        header = next(csv.reader(_lines(text), delimiter=sep))
    except csv.Error as exc:
        raise InputError(f"cannot read as CSV ({exc})", file=name, row=1) from exc
    _check_header(header, name)
    try:
        # dtype=category: each column is its few distinct texts plus a small code per cell,
        # built chunk by chunk.  As object columns a wide export of 1.9 M rows x 60 columns
        # was 8 bytes a cell (1 GB) and three times that while parsed.
        # The C parser reads UTF-8 bytes: a StringIO would hold the text at four bytes a
        # character (700 MB for a 180 MB export) and be encoded to UTF-8 all the same.
        # A plain ASCII file is parsed from its own bytes and its text let go meanwhile
        # (each is the file's size again: 180 MB for a large export).
        c_engine = "\x00" not in text
        if c_engine and lead == 0 and len(raw) == len(text) and text.isascii():
            data, text = io.BytesIO(raw), None
        else:
            data = io.BytesIO(text.encode("utf-8")) if c_engine else io.StringIO(text)
        df = pd.read_csv(data, sep=sep,
                         dtype="category", keep_default_na=False, na_values=[""], skipinitialspace=True,
                         skip_blank_lines=False, engine="c" if c_engine else "python")
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", file=name) from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        text = raw.decode("ascii") if text is None else text
        _raise_ragged(text, sep, name, lead)
        m = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if m:   # pandas counts lines from 0, the header included
            raise InputError('a quote (") opens a value that is never closed', file=name,
                             row=int(m.group(1)) + 1 + lead) from exc
        raise InputError(f"cannot read as CSV ({str(exc).strip()})", file=name) from exc
    if not isinstance(df.index, pd.RangeIndex):
        # pandas silently turns surplus fields into an index: find the row and say so
        _raise_ragged(raw.decode("ascii") if text is None else text, sep, name, lead)
        raise InputError("cannot read as CSV (rows and header do not line up)", file=name)
    df.index = df.index + lead
    df.attrs["separator"] = sep
    return df


def _raise_ragged(text: str, sep: str, name: str, lead: int) -> None:
    """Name the first row with more fields than the header, if there is one."""
    reader = csv.reader(_lines(text), delimiter=sep)
    try:
        width = len(next(reader))
        for n, fields in enumerate(reader, start=2):
            if len(fields) > width:
                raise InputError(f"the row has {len(fields)} fields but the header has {width} "
                                 f"(an unquoted {sep!r} inside a value?)", file=name, row=n + lead)
    except csv.Error:
        return


# --------------------------------------------------------------------------- both

def read_table(source, name: str | None = None, *, sheet: str | None = None,
               expect: Iterable[str] | None = None, limits: ImportLimits | None = None,
               compact: bool = False) -> pd.DataFrame:
    """Read a CSV or XLSX file (path, bytes or file-like) into a frame of stripped
    strings with ``None`` for empty cells.  Typing happens in validation, where a
    bad cell can be reported by row and column.

    ``compact=True`` leaves every column categorical (the same stripped texts,
    missing for empty cells; ``as_text`` turns a column into strings): a large
    wide survey file stays a byte or two a cell instead of eight.

    ``sheet`` picks a workbook's sheet; without it a workbook with one sheet,
    or with exactly one sheet whose header holds all of ``expect``, is read,
    anything else is refused with the sheets' names (never silently the first).

    Fully empty rows are dropped, but the index keeps every row's place in the
    file: index + 2 is the row a person sees.  ``attrs["decimal_comma"]`` says
    a ";"-separated file writes decimals with a comma."""
    limits = limits or ImportLimits()
    raw, name = source_bytes(source, name)
    if not raw.strip():
        raise InputError("the file is empty", file=name)
    if is_xlsx(raw):
        df = _read_xlsx(raw, name, sheet, expect, limits)
    else:
        df = _read_csv(raw, name, limits)
    columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    attrs = dict(df.attrs)
    df = pd.DataFrame({i: _strip_cells(df.iloc[:, i]) for i in range(df.shape[1])}, index=df.index)
    df.columns = columns
    df = _drop_qualtrics_rows(df)
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
    unnamed = [i for i, c in enumerate(df.columns) if c == ""]
    for i in unnamed:
        if df.iloc[:, i].notna().any():
            raise InputError("a column with values has no header", file=name, row=1, column=f"column {i + 1}")
    if unnamed:
        df = df.iloc[:, [i for i in range(df.shape[1]) if i not in unnamed]]
    if not compact:
        named = list(df.columns)
        df = pd.DataFrame({i: as_text(df.iloc[:, i]) for i in range(df.shape[1])}, index=df.index)
        df.columns = named
    df.attrs.update(attrs)
    df.attrs["decimal_comma"] = attrs.get("separator") == ";" and _has_decimal_commas(df)
    return df


def as_text(col: pd.Series) -> pd.Series:
    """A column of ``read_table(..., compact=True)`` as strings, ``None`` where empty.
    The strings are the categories' own objects, not copies."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        return col
    table = np.append(np.asarray(col.cat.categories, dtype=object), None)
    return pd.Series(table[col.cat.codes.to_numpy()], index=col.index, name=col.name, dtype=object)


def _has_decimal_commas(df: pd.DataFrame) -> bool:
    for c in df.columns:
        s = df[c].dropna()
        if len(s) and pd.Series(s.unique(), dtype=object).astype(str).str.match(DECIMAL_COMMA).any():
            return True
    return False


def _drop_qualtrics_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Qualtrics exports put the question text in row 2 and ``{"ImportId":…}``
    in row 3, under the real header: those are headers, not answers."""
    if len(df) < 2:
        return df
    second = df.iloc[1]
    if any(isinstance(v, str) and v.startswith(_IMPORT_ID) for v in second):
        return df.iloc[2:]
    first = df.iloc[0]
    if any(isinstance(v, str) and v.startswith(_IMPORT_ID) for v in first):
        return df.iloc[1:]
    return df


def _strip_cells(col: pd.Series) -> pd.Series:
    """Trim whitespace; blank cells become missing.  Done on a column's distinct
    texts (its categories), not on each of its cells."""
    if not isinstance(col.dtype, pd.CategoricalDtype):   # a workbook's cells, the python parser's
        col = col.astype("category")
    texts = [str(t).strip() for t in col.cat.categories]
    # texts that differ only by blanks become one category; blank ones none
    new_codes, uniq = pd.factorize(pd.Series([t if t else None for t in texts], dtype=object))
    codes = col.cat.codes.to_numpy()
    lookup = np.append(new_codes, -1).astype(codes.dtype)   # no more categories than before
    cat = pd.Categorical.from_codes(lookup[codes], categories=pd.Index(uniq, dtype=object))
    return pd.Series(cat, index=col.index, name=col.name)
