"""Mapping files: form-tool survey exports and HR roster exports, whose headers
are not the import's column names.

YAML::

    instrument: proqol5            # surveys: or a column mapped to ``instrument``
    columns: {"Staff number": helper_id, "Timestamp": submitted_at,
              "Q1 - placeholder question": proqol_1}
    labels: {"Very often": 5}      # optional; the instrument's own labels always work
    dayfirst: true                 # optional: 03/04/2026 is 3 April
    date_format: "%d/%m/%Y %H:%M"  # optional: the exact format of the date columns

A roster mapping has only ``columns`` (and the date keys), mapping to roster
columns: ``{"Employee ID": helper_id, "Department": team}``.

CSV: two columns ``source,target``; a row ``instrument,<id>`` with an empty
source fixes the instrument, rows ``label:<text>,<value>`` add labels.

A mapping file is a few dozen lines: it is parsed by a YAML loader that
refuses anchors and aliases (a few hundred bytes of aliases can expand to
gigabytes) and only after its size is checked.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from burnout.domain.settings import TEAM_KINDS
from burnout.instruments import INSTRUMENTS
from burnout.errors import InputError
from burnout.ingest.dates import DateStyle
from burnout.ingest.limits import ImportLimits
from burnout.ingest.read import decode, read_table, source_bytes
from burnout.ingest.schemas import item_scales
from burnout.ingest.validate import ROSTER_OPTIONAL, ROSTER_REQUIRED, SURVEY_KEYS

MAPPING_TARGETS = [*SURVEY_KEYS, "comment", "item_id", "value"]
_KEYS = {"instrument", "columns", "labels", "dayfirst", "date_format"}


MAX_DEPTH = 10   # a mapping nests three levels; deep nesting only exhausts the parser's stack


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting before composing them."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.YAMLError(f"anchors and aliases (&, *) are not accepted in a mapping file "
                                 f"(line {event.start_mark.line + 1})")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.YAMLError(f"the mapping nests more than {MAX_DEPTH} levels deep "
                                 f"(line {event.start_mark.line + 1})")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_mapping(source, name: str = "mapping", limits: ImportLimits | None = None) -> dict:
    """Read a mapping file (YAML or CSV) into its spec: ``columns`` and, as
    given, ``instrument``, ``labels``, ``dayfirst``, ``date_format``."""
    limits = limits or ImportLimits()
    if isinstance(source, (str, Path)):
        name = Path(source).name
    raw, name = source_bytes(source, name)
    if len(raw) > limits.max_mapping_bytes:
        raise InputError(f"the mapping file is {len(raw) / 1024:,.0f} KB; a mapping is a few dozen lines "
                         f"(at most {limits.max_mapping_bytes // 1024:,} KB accepted)", file=name)
    text = decode(raw, name)
    if Path(name).suffix.lower() in (".yaml", ".yml") or text.lstrip().startswith(
            ("instrument:", "columns:", "dayfirst:", "date_format:", "labels:")):
        try:
            spec = yaml.load(text, Loader=_NoAliasLoader) or {}   # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", file=name) from exc
    else:
        spec = _csv_mapping(raw, name)
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise InputError("the mapping needs a 'columns' section", file=name)
    unknown = [str(k) for k in spec if k not in _KEYS]
    if unknown:
        raise InputError(f"unknown key in the mapping ({', '.join(sorted(_KEYS))} are accepted)",
                         file=name, column=unknown[0])
    for src, tgt in spec["columns"].items():
        if not isinstance(tgt, str) or not tgt.strip():
            raise InputError(f"the column {str(src)!r} is mapped to {tgt!r}; give an item id or "
                             "helper_id, submitted_at, instrument or comment", file=name, column="columns")
    labels = spec.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise InputError("'labels' must map each answer label to its number", file=name, column="labels")
    label_values(labels, name)
    date_style(spec, name)
    return spec


def _csv_mapping(raw: bytes, name: str) -> dict:
    table = read_table(raw, name)
    if not {"source", "target"} <= set(table.columns):
        raise InputError("a CSV mapping needs columns source,target", file=name, row=1)
    spec: dict = {"columns": {}, "labels": {}}
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
    return spec


def label_values(labels: dict | None, file: str) -> dict[str, float]:
    out = {}
    for k, v in (labels or {}).items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = None
        if x is None or isinstance(v, bool) or x != x:
            raise InputError(f"the label {str(k)!r} is given {v!r}, which is not a number on the scale",
                             file=file, column="labels")
        out[str(k)] = x
    return out


def date_style(spec: dict, file: str = "mapping") -> DateStyle:
    dayfirst, fmt = spec.get("dayfirst"), spec.get("date_format")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise InputError(f"'dayfirst' must be true or false, not {dayfirst!r}", file=file, column="dayfirst")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt or len(fmt) > 100):
        raise InputError(f"'date_format' must be a format such as \"%d/%m/%Y %H:%M\", not {fmt!r}",
                         file=file, column="date_format")
    return DateStyle(dayfirst=dayfirst, date_format=fmt)


def apply_mapping(df: pd.DataFrame, spec: dict, file: str,
                  mapping_name: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Rename a form-tool export's columns to import columns.

    The result remembers the file's own header of every mapped column in
    ``attrs["source_headers"]`` so validation messages name the column the
    person sees in their export.  ``mapping_name`` names the mapping file in
    messages about the mapping itself."""
    where = mapping_name or "the mapping"
    cols = {str(k).strip(): str(v).strip() for k, v in spec["columns"].items()}
    scales = item_scales()
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
    labels = label_values(spec.get("labels") or {}, where)
    out.attrs.update(df.attrs)
    out.attrs["source_headers"] = {tgt: src for src, tgt in cols.items()}
    return out, labels


def apply_roster_mapping(df: pd.DataFrame, spec: dict, file: str,
                         mapping_name: str | None = None) -> pd.DataFrame:
    """Rename an HR export's columns to roster columns; unmapped columns are left
    out (the import summary names them)."""
    where = mapping_name or "the roster mapping"
    allowed = ROSTER_REQUIRED + ROSTER_OPTIONAL
    cols = {str(k).strip(): str(v).strip() for k, v in spec["columns"].items()}
    seen: dict[str, str] = {}
    for src, tgt in cols.items():
        if tgt not in allowed:
            raise InputError(f"the roster mapping maps this column to {tgt!r}, which is not a roster column "
                             f"(one of {', '.join(allowed)})", file=where, column=src)
        if tgt in seen:
            raise InputError(f"the roster mapping maps both {seen[tgt]!r} and {src!r} to {tgt!r}",
                             file=where, column=src)
        seen[tgt] = src
    missing = [k for k in cols if k not in df.columns]
    if missing:
        raise InputError("the roster mapping names a column the file does not have", file=file, row=1,
                         column=missing[0])
    # Columns already named as the roster expects need no mapping line.
    keep = {c: c for c in df.columns if c in allowed and c not in seen and c not in cols}
    out = df[list(cols) + list(keep)].rename(columns=cols)
    out.attrs.update(df.attrs)
    out.attrs["source_headers"] = {tgt: src for src, tgt in cols.items()}
    out.attrs["unmapped"] = [c for c in df.columns if c not in cols and c not in keep]
    return out
