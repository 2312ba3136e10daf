"""Every measure the product shows, described once: built from the instrument YAML.

A *measure* is a column that pages, charts, tables, driver texts and exports
show: each instrument score (from its YAML subscale: title, helper's word,
range, the manual's bands, direction) and three derived ones — the burnout
risk (its bands are the risk model's), the share of check-ins reporting
burnout (the single item's flag), and caseload against the role standard.

Nothing else in the project writes a measure's label, range or band edges;
band labels are applied by ``instruments.apply_bands``, the rule scoring uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Iterable, Mapping

import numpy as np

from burnout.instruments import Band, all_instruments, apply_bands

__all__ = ["NORM_SHARES", "Measure", "RISK_BANDS", "RISK_BAND_EDGES", "all_measures", "get", "label", "title",
           "band_regions", "percent_measures"]

# Risk 0-100 bands (burnout.risk): every instrument at its moderate threshold
# scores 40 and at its high threshold 65, so the risk bands sit at the same edges.
RISK_BAND_EDGES = (40.0, 65.0)
RISK_BANDS = (Band("low", below=RISK_BAND_EDGES[0]), Band("moderate", below=RISK_BAND_EDGES[1]), Band("high"))

# The shares of a normative population at or beyond the risk model's moderate
# and high anchors, the same on every instrument (docs/MODELS.md): 40 % and
# 16 % (one SD above the mean).  Chosen because the single item's published
# distribution has natural steps there: 38.5 % answer 3 or more ("burning
# out") and 15.7 % answer 4 or more (Dolan 2015).
NORM_SHARES = (0.40, 0.16)


@dataclass(frozen=True)
class Measure:
    id: str                           # the column in scores, views and exports
    title: str                        # "Burnout (ProQOL)": headings, legends
    label: str                        # "Burnout (ProQOL, 10-50)": axes and table headers, with the range
    plain: str                        # "burnout": what a helper reads about their own score
    range: tuple[float, float] | None
    bands: tuple[Band, ...] = ()      # the manual's own bands (empty when it publishes none)
    higher_is_worse: bool = True
    instrument: str | None = None     # None for derived measures
    percent: bool = False             # a 0-1 share shown as a percentage
    flag_at: float | None = None      # single item: burned out at 3 or more
    norms: Mapping | None = None      # published norms (instrument YAML), not bands

    @property
    def norm_source(self) -> str | None:
        return str(self.norms["source"]) if self.norms else None

    def norm_anchor(self, share: float) -> float | None:
        """The score that ``share`` of the normative population reaches or
        passes in the direction of concern (higher for burnout, lower for
        compassion satisfaction): mean ± z·SD for published means and SDs; for
        a published distribution of levels (single item), the level whose
        published share at or above it is nearest to ``share`` on a log scale.
        None when the measure has no published norms."""
        if not self.norms:
            return None
        if "at_least" in self.norms:
            levels = self.norms["at_least"]
            return float(min(levels, key=lambda lv: abs(np.log(levels[lv] / share))))
        z = NormalDist().inv_cdf(1.0 - share)
        mean, sd = float(self.norms["mean"]), float(self.norms["sd"])
        return mean + z * sd if self.higher_is_worse else mean - z * sd

    def norm_share(self, value: float) -> float | None:
        """Share of the normative population at or beyond ``value`` in the
        direction of concern (None without norms)."""
        if not self.norms:
            return None
        if "at_least" in self.norms:
            levels = self.norms["at_least"]
            above = [v for lv, v in levels.items() if lv >= value]
            return float(max(above)) if above else 0.0
        d = NormalDist(float(self.norms["mean"]), float(self.norms["sd"]))
        return 1.0 - d.cdf(value) if self.higher_is_worse else d.cdf(value)

    @property
    def name(self) -> str:
        """The title inside a sentence: "burnout (ProQOL)", "weekly strain (pulse)"."""
        return self.title[:1].lower() + self.title[1:]

    @property
    def short(self) -> str:
        """The title without its bracket: "Burnout", "Weekly strain"."""
        return self.title.split(" (")[0]

    def band(self, values) -> np.ndarray:
        """Band labels of ``values`` (NaN where no value or no bands)."""
        if not self.bands:
            return np.full(np.shape(values), np.nan, dtype=object)
        return apply_bands(values, self.bands)

    @property
    def edges(self) -> tuple[float, ...]:
        """The boundaries between bands, in order (``up_to`` and ``below`` alike)."""
        return tuple(b.up_to if b.up_to is not None else b.below for b in self.bands[:-1])

    def regions(self) -> list[tuple[str, float, float]]:
        """(label, from, to) for shading each band across the measure's range."""
        return band_regions(self)


def _label(title: str, rng: tuple[float, float]) -> str:
    span = f"{rng[0]:g}-{rng[1]:g}"
    return f"{title[:-1]}, {span})" if title.endswith(")") else f"{title} ({span})"


@lru_cache(maxsize=1)
def _registry() -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    for inst in all_instruments():
        for sub in inst.subscales:
            flag = sub.flags[0].at_least if sub.flags else None
            out[sub.column] = Measure(
                id=sub.column, title=sub.title, label=_label(sub.title, sub.range), plain=sub.plain,
                range=sub.range, bands=sub.bands, higher_is_worse=sub.higher_is_worse,
                instrument=inst.id, flag_at=flag, norms=sub.norms)
            for f in sub.flags:
                out[f.column] = Measure(
                    id=f.column, title="Reporting burnout (single item)",
                    label="Check-ins reporting burnout (%)", plain="burned out", range=(0.0, 1.0),
                    instrument=inst.id, percent=True)
    out["risk_score"] = Measure(id="risk_score", title="Burnout risk", label="Burnout risk (0-100)",
                                plain="burnout risk", range=(0.0, 100.0), bands=RISK_BANDS)
    out["caseload_ratio"] = Measure(id="caseload_ratio", title="Caseload against the role standard",
                                    label="Active cases / role standard (1.0 = at standard)",
                                    plain="caseload against the standard", range=None)
    return out


def all_measures() -> tuple[Measure, ...]:
    return tuple(_registry().values())


def get(measure_id: str) -> Measure:
    """The measure with this column id; KeyError names the known ones."""
    try:
        return _registry()[measure_id]
    except KeyError:
        raise KeyError(f"unknown measure {measure_id!r}; known: {', '.join(_registry())}") from None


def known(measure_id: str) -> bool:
    return measure_id in _registry()


def label(measure_id: str) -> str:
    """Axis / table label with the range; an unknown column is shown tidied up."""
    m = _registry().get(measure_id)
    return m.label if m else measure_id.replace("_", " ").capitalize()


def title(measure_id: str) -> str:
    m = _registry().get(measure_id)
    return m.title if m else measure_id.replace("_", " ").capitalize()


def labels(ids: Iterable[str]) -> dict[str, str]:
    return {i: label(i) for i in ids}


def percent_measures() -> tuple[str, ...]:
    return tuple(m.id for m in all_measures() if m.percent)


def band_regions(measure: "Measure | str") -> list[tuple[str, float, float]]:
    """(label, from, to) per band across the range, for shading charts.

    Measures without bands have none, except a flagged single item, shaded
    below and from its flag (the flag is its only published cut-off).
    """
    m = get(measure) if isinstance(measure, str) else measure
    if m.range is None:
        return []
    lo, hi = m.range
    if not m.bands:
        if m.flag_at is not None:
            return [("low", lo, m.flag_at), ("high", m.flag_at, hi)]
        return []
    cuts = [lo, *m.edges, hi]
    return [(b.label, a, z) for b, a, z in zip(m.bands, cuts[:-1], cuts[1:]) if z > a]

