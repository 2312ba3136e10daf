"""Instrument definitions: one YAML data file per instrument, and their loader.

The YAML files carry everything the scoring and the check-in forms need: item
ids with the project's own short keys, subscales, reversed items, response
scales, scoring and missing-answer rules, bands, licence and credit line
(DESIGN §4, facts in ../shared/reference/instruments.md).

The project ships no licensed item wording.  The organisation supplies it as a
file of item id -> text; :func:`load_wording_file` checks such a file covers the
instrument exactly, and :func:`display_text` falls back to the short key (with a
note) when no wording has been loaded.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple

import yaml

import numpy as np

from burnout.errors import InputError

__all__ = [
    "INSTRUMENTS", "Band", "Flag", "Instrument", "Item", "ItemText", "ResponseScale", "Subscale",
    "all_instruments", "apply_bands", "display_text", "load", "load_wording_file", "normalise_label",
    "with_client_word",
]

# The shipped instruments (their YAML files), in the order of score columns.
INSTRUMENTS = ("proqol5", "cbi", "sib", "pulse")

_DIR = Path(__file__).resolve().parent

# Cells that mean "no answer" in exports (spreadsheets, R, pandas), compared
# after normalise_label.  Anything else that is not on the scale is an error.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "<na>"})


def normalise_label(text: str) -> str:
    """Case-fold and tidy whitespace so " never / Almost  never" matches
    "Never/almost never": form tools differ in case, spacing and slashes."""
    text = " ".join(str(text).split()).casefold()
    return re.sub(r"\s*/\s*", "/", text)


@dataclass(frozen=True)
class ResponseScale:
    """Labelled answer options of one scale, e.g. CBI frequency (Always = 100 …)."""

    name: str
    options: tuple[tuple[str, float], ...]           # (label, value) in display order
    aliases: Mapping[str, float]                     # normalised label or alias -> value

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(v for _, v in self.options)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(lab for lab, _ in self.options)


@dataclass(frozen=True)
class Item:
    id: str
    key: str                  # the project's own short key, never licensed wording
    scale: str                # name of its ResponseScale
    reversed: bool            # scored against its wording's direction somewhere
    text: str | None = None   # own wording, shipped only for the project's pulse
    client_word: bool = False  # "client" may be replaced by the team's word


@dataclass(frozen=True)
class Band:
    """One band: ``s <= up_to`` or ``s < below``; the last band has neither."""

    label: str
    up_to: float | None = None
    below: float | None = None


def apply_bands(values, bands) -> np.ndarray:
    """Band labels of ``values`` under ``bands`` (NaN where no value): the one
    place band edges are applied — scoring, risk, charts and pages all call it.
    ``up_to`` is s <= edge, ``below`` is s < edge, checked in order; the last
    band takes the rest (DESIGN §4)."""
    s = np.asarray(values, dtype=float)
    conditions = [s <= b.up_to if b.up_to is not None else s < b.below for b in bands[:-1]]
    conditions.append(~np.isnan(s))
    codes = np.select(conditions, np.arange(len(bands)), default=-1)
    labels = np.array([b.label for b in bands] + [np.nan], dtype=object)
    return labels[codes]


@dataclass(frozen=True)
class Flag:
    """A boolean column derived from a score, e.g. burned_out = sib_level >= 3."""

    column: str
    at_least: float


@dataclass(frozen=True)
class Subscale:
    name: str
    column: str
    items: tuple[str, ...]
    reverse: tuple[str, ...]       # reversed for this score (x -> lo + hi - x)
    method: str                    # "sum" or "mean"
    min_answered: int              # fewer answered items -> not scored
    prorate: bool                  # sum of answered items scaled up to all items
    range: tuple[float, float]     # possible scores, for checks and charts
    rescale: tuple[float, float] | None = None  # map [lo, hi] onto 0-100
    bands: tuple[Band, ...] = ()
    flags: tuple[Flag, ...] = ()
    title: str = ""                # "Burnout (ProQOL)": headings, legends, tables
    plain: str = ""                # "burnout": what a helper reads about their own score
    higher_is_worse: bool = True   # compassion satisfaction and support: higher is better
    # published norms (not bands): {mean, sd, source} or {at_least: {level: share}, source};
    # the risk model anchors on them (burnout.domain.measures, docs/MODELS.md)
    norms: Mapping[str, object] | None = None

    @property
    def band_column(self) -> str | None:
        return f"{self.column}_band" if self.bands else None


@dataclass(frozen=True)
class Instrument:
    id: str
    title: str
    short_title: str
    description: str
    recall: str
    validated: bool
    wording_shipped: bool
    scales: Mapping[str, ResponseScale]
    items: tuple[Item, ...]
    reversed_items: tuple[str, ...]
    subscales: tuple[Subscale, ...]
    scoring: str
    missing_rule: str
    licence: Mapping[str, object]
    citation: str
    credit: str
    credit_adapted: str | None = None
    label: str | None = None       # e.g. "screening pulse, not a validated measure"
    intro: str | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"{self.id} has no item {item_id!r}")

    @property
    def score_columns(self) -> tuple[str, ...]:
        """Output columns in order: scores, then bands, then flags (ARCHITECTURE.md)."""
        scores = [s.column for s in self.subscales]
        bands = [s.band_column for s in self.subscales if s.bands]
        flags = [f.column for s in self.subscales for f in s.flags]
        return tuple(scores + bands + flags)

    @cached_property
    def answer_values(self) -> tuple[float, ...]:
        """Every value an answer may take (all scales of an instrument share them)."""
        return tuple(sorted({v for sc in self.scales.values() for v in sc.values}))

    @cached_property
    def answer_lookup(self) -> Mapping[str, float]:
        """Normalised label -> value over all the instrument's scales.

        Labels of either CBI scale are accepted on every CBI item: both map to the
        same values, and form tools often use one scale for all 19 items.
        """
        merged: dict[str, float] = {}
        for sc in self.scales.values():
            merged.update(sc.aliases)
        return MappingProxyType(merged)

    def describe_scale(self) -> str:
        """Short human summary of the accepted answers, for error messages."""
        vals = ", ".join(_fmt_number(v) for v in self.answer_values)
        labels = "; ".join(
            ", ".join(f"{lab} = {_fmt_number(v)}" for lab, v in sc.options)
            for sc in self.scales.values())
        return f"{vals} or the labels ({labels})"


def _fmt_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --------------------------------------------------------------------------- loading

class _DefinitionError(ValueError):
    """A shipped YAML file contradicts itself: a bug in the package, not user input."""


def _build(raw: dict, source: Path) -> Instrument:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise _DefinitionError(f"{source.name}: {msg}")

    scales: dict[str, ResponseScale] = {}
    for name, spec in raw["scales"].items():
        options, aliases = [], {}
        for opt in spec["options"]:
            value = float(opt["value"])
            options.append((str(opt["label"]), value))
            for lab in [opt["label"], *opt.get("aliases", [])]:
                key = normalise_label(lab)
                need(aliases.get(key, value) == value, f"label {lab!r} has two values")
                aliases[key] = value
        scales[name] = ResponseScale(name, tuple(options), MappingProxyType(aliases))
    value_sets = {frozenset(sc.values) for sc in scales.values()}
    need(len(value_sets) == 1, "all scales of an instrument must share their values")
    merged: dict[str, float] = {}
    for sc in scales.values():
        for key, value in sc.aliases.items():
            need(merged.setdefault(key, value) == value, f"label {key!r} differs between scales")

    reversed_items = tuple(raw.get("reversed_items") or ())
    default_scale = next(iter(scales)) if len(scales) == 1 else None
    items = []
    for spec in raw["items"]:
        scale = spec.get("scale", default_scale)
        need(scale in scales, f"item {spec['id']} has no known scale")
        items.append(Item(id=spec["id"], key=spec["key"], scale=scale,
                          reversed=spec["id"] in reversed_items, text=spec.get("text"),
                          client_word=bool(spec.get("client_word", False))))
    ids = [i.id for i in items]
    need(len(set(ids)) == len(ids), "duplicate item ids")
    need(set(reversed_items) <= set(ids), "reversed item that is not an item")
    need(raw.get("wording_shipped") or all(i.text is None for i in items),
         "licensed instruments must not ship item wording")

    subscales = []
    for spec in raw["subscales"]:
        sub_items = tuple(spec["items"])
        reverse = tuple(spec.get("reverse") or ())
        need(set(sub_items) <= set(ids), f"{spec['column']}: unknown items")
        need(set(reverse) <= set(sub_items) & set(reversed_items),
             f"{spec['column']}: reverses an item not listed in reversed_items")
        need(spec["method"] in ("sum", "mean"), f"{spec['column']}: method is sum or mean")
        need(1 <= spec["min_answered"] <= len(sub_items), f"{spec['column']}: bad min_answered")
        prorate = bool(spec.get("prorate", False))
        need(spec["method"] == "mean" or prorate or spec["min_answered"] == len(sub_items),
             f"{spec['column']}: a sum with missing items allowed must say prorate: true")
        bands = tuple(Band(label=b["label"], up_to=b.get("up_to"), below=b.get("below"))
                      for b in spec.get("bands") or ())
        if bands:
            need(all((b.up_to is None) != (b.below is None) for b in bands[:-1]),
                 f"{spec['column']}: each band but the last has one of up_to / below")
            need(bands[-1].up_to is None and bands[-1].below is None,
                 f"{spec['column']}: the last band is open")
            edges = [b.up_to if b.up_to is not None else b.below for b in bands[:-1]]
            need(edges == sorted(edges), f"{spec['column']}: band edges must ascend")
        flags = tuple(Flag(column=f["column"], at_least=float(f["at_least"]))
                      for f in spec.get("flags") or ())
        rescale = tuple(float(x) for x in spec["rescale"]) if spec.get("rescale") else None
        norms = spec.get("norms")
        if norms is not None:
            need(bool(norms.get("source")), f"{spec['column']}: norms need their source")
            need(("mean" in norms and float(norms.get("sd", 0)) > 0) or bool(norms.get("at_least")),
                 f"{spec['column']}: norms are mean + sd, or shares at_least each level")
            norms = MappingProxyType({k: (MappingProxyType({float(a): float(b) for a, b in v.items()})
                                          if k == "at_least" else v) for k, v in norms.items()})
        need(spec.get("higher_is") in ("worse", "better"), f"{spec['column']}: higher_is is worse or better")
        need(bool(spec.get("title")) and bool(spec.get("plain")), f"{spec['column']}: title and plain are required")
        subscales.append(Subscale(
            name=spec["name"], column=spec["column"], items=sub_items, reverse=reverse,
            method=spec["method"], min_answered=int(spec["min_answered"]), prorate=prorate,
            range=(float(spec["range"][0]), float(spec["range"][1])), rescale=rescale,
            bands=bands, flags=flags, title=str(spec["title"]), plain=str(spec["plain"]),
            higher_is_worse=spec["higher_is"] == "worse", norms=norms))

    def text(key: str) -> str:
        return " ".join(str(raw[key]).split())

    return Instrument(
        id=raw["id"], title=text("title"), short_title=text("short_title"),
        description=text("description"), recall=text("recall"),
        validated=bool(raw["validated"]), wording_shipped=bool(raw.get("wording_shipped")),
        scales=MappingProxyType(scales), items=tuple(items), reversed_items=reversed_items,
        subscales=tuple(subscales), scoring=text("scoring"), missing_rule=text("missing_rule"),
        licence=MappingProxyType(dict(raw["licence"])), citation=text("citation"),
        credit=text("credit"),
        credit_adapted=text("credit_adapted") if raw.get("credit_adapted") else None,
        label=raw.get("label"), intro=raw.get("intro"),
    )


@lru_cache(maxsize=None)
def _load(name: str) -> Instrument:
    path = _DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    inst = _build(raw, path)
    if inst.id != name:
        raise _DefinitionError(f"{path.name}: id {inst.id!r} does not match the file name")
    return inst


def load(name: str) -> Instrument:
    """The instrument ``name`` (one of INSTRUMENTS), read from its YAML file."""
    if isinstance(name, Instrument):
        return name
    if name not in INSTRUMENTS:
        raise InputError(f"unknown instrument {name!r}; expected one of {', '.join(INSTRUMENTS)}")
    return _load(name)


def all_instruments() -> tuple[Instrument, ...]:
    """Every shipped instrument, in INSTRUMENTS order."""
    return tuple(load(n) for n in INSTRUMENTS)


# --------------------------------------------------------------------------- wording

_CLIENT_RE = re.compile(r"\b(client)(s?)\b", re.IGNORECASE)


def _plural(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|sh|ch|x|z)$", word):
        return word + "es"
    return word + "s"


def with_client_word(text: str, client_word: str | None) -> str:
    """Replace "client(s)" with the team's word (a team kind's ``client_word``).

    Kristensen et al. allow "client" to become patient, student, ...; the case of
    the first letter and the plural are kept ("Clients" -> "Families").
    """
    if not client_word or client_word.casefold() == "client":
        return text

    def repl(m: re.Match) -> str:
        word = _plural(client_word) if m.group(2) else client_word
        return word[:1].upper() + word[1:] if m.group(1)[0].isupper() else word

    return _CLIENT_RE.sub(repl, text)


class ItemText(NamedTuple):
    """What to show for one item.

    ``has_wording`` is False when no wording is loaded and ``text`` is only the
    project's short key; ``note`` then says so, for the page to show.  The pulse
    ships its own wording, so it always has wording.
    """

    text: str
    has_wording: bool
    note: str | None


NO_WORDING_NOTE = ("Official wording not loaded: showing the project's short key. "
                   "An admin can load it from the instrument's official source.")


def display_text(instrument: str | Instrument, item_id: str,
                 wording: Mapping[str, str] | None = None,
                 client_word: str | None = None) -> ItemText:
    """The text to show for an item: loaded wording, else shipped own wording
    (pulse), else the short key with a note.  ``client_word`` applies to items
    marked ``client_word`` (CBI client-related scale)."""
    inst = load(instrument)
    item = inst.item(item_id)
    word = client_word if item.client_word else None
    if wording and wording.get(item_id):
        return ItemText(with_client_word(wording[item_id], word), True, None)
    if item.text:
        return ItemText(with_client_word(item.text, word), True, None)
    key = item.key.replace("_", " ")
    return ItemText(with_client_word(key[:1].upper() + key[1:], word), False, NO_WORDING_NOTE)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Guessing a legacy encoding would put mojibake in front of every helper.
        raise InputError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8",
                         file=str(path)) from None


def _wording_from_csv(path: Path, text: str) -> list[tuple[int, object, object]]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise InputError("the file is empty; expected columns item_id,text", file=str(path))
    names = [h.strip().casefold() for h in header]
    for col in ("item_id", "text"):
        if col not in names:
            raise InputError(f"missing column {col!r}; expected columns item_id,text",
                             file=str(path), row=1, column=col)
    i_id, i_text = names.index("item_id"), names.index("text")
    rows = []
    for n, rec in enumerate(reader, start=2):
        if not any(cell.strip() for cell in rec):
            continue
        rec = rec + [""] * (max(i_id, i_text) + 1 - len(rec))
        rows.append((n, rec[i_id], rec[i_text]))
    return rows


def _wording_from_yaml(path: Path, text: str) -> list[tuple[int, object, object]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                         row=mark.line + 1 if mark else None) from None
    if not isinstance(node, yaml.MappingNode):
        raise InputError("expected a mapping of item id: text", file=str(path))
    rows = []
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(value_node, yaml.ScalarNode):
            raise InputError("the text must be a single string", file=str(path), row=line,
                             column=str(key_node.value))
        rows.append((line, key_node.value, value_node.value))
    return rows


def load_wording_file(instrument: str | Instrument, path: str | Path) -> tuple[dict[str, str], str]:
    """Read an organisation's official item wording and check it fits the instrument.

    CSV (columns ``item_id,text``; UTF-8 with or without BOM; ``,`` or ``;``) or
    YAML (a mapping ``item_id: text``).  The file must give every item of the
    instrument exactly once, with non-empty text, and no unknown ids; otherwise
    :class:`InputError` names the file, the row (CSV row / YAML line) and column.
    Returns (item id -> text, the credit line the licence asks to show with it).
    """
    inst = load(instrument)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    text = _decode(path, raw)
    if path.suffix.casefold() in (".yaml", ".yml"):
        rows, id_col, text_col = _wording_from_yaml(path, text), "item id", "text"
    else:
        rows, id_col, text_col = _wording_from_csv(path, text), "item_id", "text"

    known = set(inst.item_ids)
    wording: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row, item_id, item_text in rows:
        item_id = str(item_id).strip() if item_id is not None else ""
        if not item_id:
            raise InputError("empty item id", file=str(path), row=row, column=id_col)
        if item_id not in known:
            raise InputError(f"unknown item id {item_id!r} for {inst.short_title} "
                             f"(expected {inst.item_ids[0]} … {inst.item_ids[-1]})",
                             file=str(path), row=row, column=id_col)
        if item_id in wording:
            raise InputError(f"item {item_id} appears twice (first in row {first_row[item_id]})",
                             file=str(path), row=row, column=id_col)
        cleaned = " ".join(str(item_text).split()) if item_text is not None else ""
        if not cleaned:
            raise InputError(f"empty text for item {item_id}", file=str(path), row=row,
                             column=text_col)
        wording[item_id] = cleaned
        first_row[item_id] = row
    missing = [i for i in inst.item_ids if i not in wording]
    if missing:
        raise InputError(f"no text for item(s) {', '.join(missing)}; the wording must cover "
                         f"all {len(inst.item_ids)} {inst.short_title} items",
                         file=str(path), column=id_col, problems=[f"missing {m}" for m in missing])
    ordered = {i: wording[i] for i in inst.item_ids}
    return ordered, inst.credit

