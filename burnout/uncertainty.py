"""Ranges, not false precision: an interval for every leaver, money and client figure.

The turnover figures rest on assumptions that are known only to a range
(reference/turnover-models.md): the relative risk of leaving for a burned-out
helper (§7: default 2.0, range 1.5–2.7), the cost of one departure (§5: social
work 30–70 % of salary around the 50 % default), the organisation's burnout
prevalence (estimated from the people who answered) and, when the base is the
organisation's own, its turnover (a count of leavers).  Point figures are the
model's central values; the ranges are a Monte Carlo over those assumptions
with a fixed seed (the same inputs always give the same range)::

    RR_d   ~ Uniform(Settings.relative_risk_low, Settings.relative_risk_high)
    f_d    ~ Uniform(Settings.cost_low_factor, Settings.cost_high_factor)       cost_i,d = f_d · cost_i
    BO_d   ~ Beta(n·BO + ½, n·(1 − BO) + ½)   (n helpers with an estimate)   q_i,d = min(1, q_i · BO_d / BO)
    T_d    = T                                       national or entered base
           = T · Gamma(O + k, 1) / (O + k)           own observed base (O leavers, k prior)
    p_i,d  = T_d / (1 + (RR_d − 1)·BO_ref) · (1 + (RR_d − 1)·q_i,d)        (not cut at 1: sums only)
           = p_i · exp(N(0, 1/√events))              fitted model (its hold-out events)

Each total is summed within a draw and the range is its 2.5th–97.5th
percentile, so a team's range is not the sum of its helpers' ranges.  What the
ranges leave out: uncertainty in the national base rates themselves and in the
risk score of each person (stated in docs/MODELS.md).

Those ranges are for the *expected* number of leavers.  Next year's actual
count also depends on chance: who of the people at risk does leave.  Given a
draw's expected count λ_d of a group, its count is taken as Poisson(λ_d), so the
count over all draws is the Poisson mixture ``(1/D) Σ_d Poisson(λ_d)``, and
``COUNTS`` names its 2.5th–97.5th percentiles (:func:`count_spans`): next year's
count of leavers, and of clients whose helper leaves (the leavers' count times
the group's expected clients per expected leaver).  Their range combines the
assumptions and chance ("about 90 expected; next year's count likely between 70
and 110").

Why Poisson and not each person's own draw: the count of a group whose people
leave independently with chances p_i is Poisson-binomial, with variance
Σp_i(1 − p_i).  That variance depends on how the chances are spread between the
group's people, not only on their sum, so a range built from it answers a
question about individuals (issue 10: saves of the base turnover could move one
group's range and not another's with the same sum).  Poisson(Σp_i) depends on
the sum alone and is the conservative bound of the Poisson-binomial: its
variance Σp_i is never smaller, and the two differ by at most 2·Σp_i² in total
variation (Le Cam, 1960), so for a group of people each unlikely to leave it is
close, and otherwise its range comes out a little wider, not narrower.  What the
clients' count leaves out: how caseloads differ between the people who happen
to leave.

:func:`format_range` writes the result as people read it:
"about $110k (range $66k–$160k)".
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import sparse, special

from burnout.domain.settings import Settings, resolve
from burnout.leaving import OBSERVED_PRIOR_LEAVERS
from burnout.turnover import shanafelt, what_if

__all__ = ["COUNTS", "DRAWS", "Draws", "GroupDraws", "LEVEL", "SEED", "FIGURES", "Ranges", "count_span", "count_spans", "count_words", "format_parts", "format_range", "format_span",
           "group_ranges", "helper_ranges", "interval", "org_ranges", "prevalence_interval", "shanafelt_ranges",
           "simulate", "what_if_ranges"]

DRAWS = 2000
SEED = 20261127
LEVEL = (2.5, 97.5)          # percentiles: 95 % of the draws lie inside the range
# figure -> (per-helper column of turnover.helper_impact, total name)
FIGURES = {
    "p_leave_12m": "expected_leavers",
    "expected_turnover_cost": "expected_turnover_cost",
    "attributable_p_leave": "attributable_leavers",
    "attributable_cost": "attributable_cost",
    "clients_affected": "clients_affected",
    "attributable_clients_affected": "attributable_clients_affected",
}
# expected total -> the total of next year's actual count (count_spans: chance on top of the
# assumptions); its central figure is the expected total's
COUNTS = {
    "expected_leavers": "leavers_next_year",
    "clients_affected": "clients_next_year",
}


# --------------------------------------------------------------------------- #
# Words
# --------------------------------------------------------------------------- #

def _sig(x: float, digits: int = 2) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _money(x: float) -> str:
    x = _sig(x)
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e6:
        return f"{sign}${a / 1e6:g}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:g}k"
    return f"{sign}${a:g}"


def _number(x: float) -> str:
    x = _sig(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"


def _float(v) -> float:
    try:
        return float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def format_parts(mid, low, high, money: bool = False, percent: bool = False) -> tuple[str, str]:
    """The two halves of :func:`format_range`: ``("about $110k", "range $66k–$160k")``
    (the range is "" when it is unknown or rounds to the central figure), for
    places that show them apart (a headline number and its caption)."""
    vals = [_float(v) for v in (mid, low, high)]
    if not math.isfinite(vals[0]):
        return "not known", ""
    if percent:
        m, lo, hi = (round(100 * v) if math.isfinite(v) else None for v in vals)
        if lo is None or hi is None or lo == hi:
            return f"about {m} %", ""
        return f"about {m} %", f"range {lo}–{hi} %"
    fmt = _money if money else _number
    if not (math.isfinite(vals[1]) and math.isfinite(vals[2])) or fmt(vals[1]) == fmt(vals[2]):
        return f"about {fmt(vals[0])}", ""
    return f"about {fmt(vals[0])}", f"range {fmt(vals[1])}–{fmt(vals[2])}"


def format_range(mid, low, high, money: bool = False, percent: bool = False) -> str:
    """"about $110k (range $66k–$160k)": two significant figures, because the
    assumptions behind them are not known more precisely.  ``percent`` shows a
    0–1 probability as whole percents ("about 30 % (range 24–37 %)").  An
    unknown figure reads "not known"."""
    about, rng = format_parts(mid, low, high, money=money, percent=percent)
    return f"{about} ({rng})" if rng else about


def format_span(low, high, money: bool = False, percent: bool = False) -> str:
    """Just the range, "$66k–$160k" ("" when unknown), for a table column beside its figure."""
    lo, hi = _float(low), _float(high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    if percent:
        return f"{round(100 * lo)}–{round(100 * hi)} %"
    fmt = _money if money else _number
    return f"{fmt(lo)}–{fmt(hi)}"


def _outward(x: float, up: bool) -> str:
    """``x`` to two significant figures, rounded away from the centre of its
    range (down for a low end, up for a high end), so the words never narrow it."""
    if x <= 0:
        return "0"
    step = 10.0 ** max(0, int(math.floor(math.log10(x))) - 1)
    v = (math.ceil(x / step) if up else math.floor(x / step)) * step
    return f"{v:,.0f}"


def count_span(low, high) -> str:
    """Next year's likely count as "70–110" ("" when unknown), its ends rounded outward."""
    lo, hi = _float(low), _float(high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"{_outward(lo, False)}–{_outward(hi, True)}"


def count_words(expected: Mapping, count: Mapping | None) -> str:
    """An expected count with next year's likely count, in plain words:
    "about 90 expected (range 82–105); next year's count likely between 70 and 110".
    Without a count range it is :func:`format_range` alone."""
    about, rng = format_parts(expected.get("mid"), expected.get("low"), expected.get("high"))
    lo, hi = _float((count or {}).get("low")), _float((count or {}).get("high"))
    if about == "not known" or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{about} ({rng})" if rng else about
    return (f"{about} expected{f' ({rng})' if rng else ''}; next year's count likely between "
            f"{_outward(lo, False)} and {_outward(hi, True)}")


def interval(draws, mid=None) -> dict:
    """``{"low", "mid", "high"}`` of a vector of draws (``mid``: the central
    figure when given, else the draws' median)."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if not len(d):
        return {"low": None, "mid": None if mid is None else float(mid), "high": None}
    lo, hi = np.percentile(d, LEVEL)
    return {"low": float(lo), "mid": float(np.median(d) if mid is None else mid), "high": float(hi)}


# --------------------------------------------------------------------------- #
# Monte Carlo over the assumption ranges
# --------------------------------------------------------------------------- #

def _percentiles(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's LEVEL percentiles, NaN left out.  Columns without a NaN go through one
    vectorised ``np.percentile`` (the same numbers: nanpercentile of a NaN-free column is
    percentile); ``np.nanpercentile`` of a whole matrix with any NaN in it works column by
    column in Python (seconds at thousands of helpers), so it gets only the columns that need it."""
    if not d.size:
        return np.array([]), np.array([])
    lo, hi = np.full(d.shape[1], np.nan), np.full(d.shape[1], np.nan)
    bad = np.isnan(d).any(axis=0)
    # overwrite_input: each column set is a copy of its own (a boolean index copies), so
    # numpy may partition it in place instead of copying it again (a quarter of the time at
    # ten thousand helpers, the same numbers)
    if not bad.all():
        lo[~bad], hi[~bad] = np.percentile(d[:, ~bad], LEVEL, axis=0, overwrite_input=True)
    if bad.any():
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # an all-NaN column: NaN, as before
            lo[bad], hi[bad] = np.nanpercentile(d[:, bad], LEVEL, axis=0, overwrite_input=True)
    return lo, hi


@dataclass
class Ranges:
    """Draws of every per-helper figure (``draws[figure]``: draws × helpers)."""

    impact: pd.DataFrame
    draws: Mapping[str, np.ndarray]           # a dict, or simulate's Draws (each made when asked for)
    # True: the totals add next year's count (COUNTS) from each draw's expected count
    counted: bool = False
    _whole: dict | None = field(default=None, init=False, repr=False, compare=False)
    _groups: "GroupDraws | None" = field(default=None, init=False, repr=False, compare=False)

    def helper(self) -> pd.DataFrame:
        """Per helper: ``helper_id`` and ``<figure>_low`` / ``<figure>_high``."""
        out = {"helper_id": self.impact["helper_id"].to_numpy()}
        for fig in FIGURES:
            lo, hi = _percentiles(self.draws[fig])
            known = self.impact[fig].notna().to_numpy()
            out[f"{fig}_low"] = np.where(known, lo, np.nan)
            out[f"{fig}_high"] = np.where(known, hi, np.nan)
        return pd.DataFrame(out)

    def total(self, mask=None) -> dict:
        """Sums over the helpers in ``mask`` (all by default): for each total
        ``{"mid", "low", "high"}`` with ``mid`` the central figure."""
        if mask is None and self._whole is None and self._groups is not None:
            self._whole = self._groups.total()      # the groups' sums already hold everyone
        if mask is None and self._whole is not None:    # the scope's row and the finished review both ask
            return {k: dict(v) for k, v in self._whole.items()}
        m = np.ones(len(self.impact), bool) if mask is None else np.asarray(mask, bool)
        out = {name: _summed(self.impact[fig].to_numpy(float)[m], self.draws[fig][:, m])
               for fig, name in FIGURES.items()}
        if self.counted:
            lam = np.nansum(self.draws["p_leave_12m"][:, m], axis=1)[:, None]
            out.update(_count_totals(out, lam, 0))
        if mask is None:
            self._whole = {k: dict(v) for k, v in out.items()}
        return out

    @property
    def grouped(self) -> "GroupDraws | None":
        """The groups' sums of the last :meth:`groups` (None: not summed by group)."""
        return self._groups

    def groups(self, keys) -> "GroupDraws":
        """Each group's sums within every draw (``keys``: one group per helper), summed
        once; kept, so :meth:`total` and the totals over several groups
        (:meth:`GroupDraws.total`) add up groups instead of masking the helpers' draws again."""
        g = GroupDraws.of(self, keys)
        self._groups = g
        return g

    def total_by(self, keys) -> dict:
        """:meth:`total` over the helpers of each value of ``keys`` (one per helper):
        the same sums, each group's added up once within every draw (:meth:`groups`)."""
        return self.groups(keys).each()


@dataclass(frozen=True)
class GroupDraws:
    """Per group (one column each, groups sorted): the central figure of every total
    (NaN: no helper of the group has that figure) and its sum within each draw
    (draws × groups, a missing figure counted as 0 as ``nansum`` does)."""

    names: tuple
    mids: Mapping[str, np.ndarray]
    sums: Mapping[str, np.ndarray]
    counted: bool = False           # totals add next year's count (COUNTS), as Ranges.counted

    @classmethod
    def of(cls, ranges: Ranges, keys) -> "GroupDraws":
        codes, uniques = pd.factorize(pd.Series(list(keys), dtype=object), sort=True)
        if not len(uniques):        # no one in scope: every total is unknown
            return cls((), {name: np.empty(0) for name in FIGURES.values()},
                       {name: np.zeros((0, 0)) for name in FIGURES.values()}, ranges.counted)
        n, g = len(codes), len(uniques)
        # one row per group, 1 for its helpers: a sum within every draw is one sparse product
        member = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(g, n))
        mids, sums = {}, {}
        for fig, name in FIGURES.items():
            col = ranges.impact[fig].to_numpy(float)
            mids[name] = np.where(member @ np.isfinite(col).astype(float) > 0, member @ np.nan_to_num(col), np.nan)
        for base, figures in _bases(ranges.draws):
            for fig, s in zip((f for f, _, _ in figures), _weighted_sums(base, figures, codes, g)):
                sums[FIGURES[fig]] = s
        return cls(tuple(uniques), mids, sums, ranges.counted)

    def _columns(self, keys) -> np.ndarray:
        want = set(map(str, keys))
        return np.array([i for i, k in enumerate(self.names) if str(k) in want], dtype=np.int64)

    def total(self, keys=None) -> dict:
        """The ranged totals over the groups ``keys`` (all by default), as :meth:`Ranges.total`."""
        cols = np.arange(len(self.names)) if keys is None else self._columns(keys)
        out = {}
        for name in FIGURES.values():
            mid = self.mids[name][cols]
            out[name] = ({"mid": None, "low": None, "high": None} if not np.isfinite(mid).any()
                         else interval(self.sums[name][:, cols].sum(axis=1), mid=float(np.nansum(mid))))
        if self.counted:
            lam = self.sums["expected_leavers"][:, cols].sum(axis=1)[:, None]
            out.update(_count_totals(out, lam, 0))
        return out

    def each(self) -> dict:
        """:meth:`total` of every group alone, the percentiles of all groups taken at once."""
        out: dict = {k: {} for k in self.names}
        for name in FIGURES.values():
            mid = self.mids[name]
            lo, hi = np.percentile(self.sums[name], LEVEL, axis=0) if len(self.names) else ([], [])
            for i, k in enumerate(self.names):
                out[k][name] = ({"mid": None, "low": None, "high": None} if not np.isfinite(mid[i])
                                else {"low": float(lo[i]), "mid": float(mid[i]), "high": float(hi[i])})
        if self.counted and len(self.names):
            spans = count_spans(self.sums["expected_leavers"])      # every group's at once
            for i, k in enumerate(self.names):
                out[k].update(_count_totals(out[k], None, i, spans))
        return out


# figure -> (the simulated matrix it is a product of, the helper's weight, the draw's factor)
_PRODUCTS = {
    "p_leave_12m": ("p", None, None),
    "expected_turnover_cost": ("p", "cost", "f"),
    "attributable_p_leave": ("a", None, None),
    "attributable_cost": ("a", "cost", "f"),
    "clients_affected": ("p", "cases", None),
    "attributable_clients_affected": ("a", "cases", None),
}


class Draws(Mapping):
    """Every figure's draws (draws × helpers), each made the first time it is asked for
    from the two simulated matrices (chance of leaving, its burnout-attributable part):
    a figure is one of them times the helper's cost or caseload (times the draw's cost
    factor), so the groups' sums (:class:`GroupDraws`) need only those two."""

    def __init__(self, p: np.ndarray, a: np.ndarray, cost: np.ndarray, f: np.ndarray, cases: np.ndarray):
        self._parts = {"p": p, "a": a, "cost": cost, "f": f, "cases": cases}
        self._made: dict = {}

    def __getitem__(self, fig: str) -> np.ndarray:
        if fig not in self._made:
            base, w, f = _PRODUCTS[fig]
            m = self._parts[base]
            if w is not None:      # the same products, in the same order, as one matrix per figure gave
                weight = self._parts[w][None, :]
                m = m * (weight * self._parts[f][:, None] if f is not None else weight)
            self._made[fig] = m
        return self._made[fig]

    def __iter__(self):
        return iter(_PRODUCTS)

    def __len__(self) -> int:
        return len(_PRODUCTS)

    def bases(self) -> list:
        """[(matrix, [(figure, helper weights or None, draw factors or None), ...]), ...]"""
        out = []
        for base in ("p", "a"):
            out.append((self._parts[base], [(fig, None if w is None else self._parts[w],
                                             None if f is None else self._parts[f])
                                            for fig, (b, w, f) in _PRODUCTS.items() if b == base]))
        return out


def _bases(draws: Mapping) -> list:
    if isinstance(draws, Draws):
        return draws.bases()
    return [(m, [(fig, None, None)]) for fig, m in draws.items() if fig in FIGURES]


def _weighted_sums(base: np.ndarray, figures: list, codes: np.ndarray, groups: int) -> list:
    """For each (figure, weights, factors): draws × groups sums of ``base · weights · factors``
    over each group's helpers, a missing value counted as 0 (``nansum``).  The helpers with
    a missing value anywhere are added apart, the rest by one sparse product."""
    n = base.shape[1]
    bad = np.isnan(base).any(axis=0)
    weights = [np.ones(n) if w is None else np.asarray(w, float) for _, w, _ in figures]
    for w in weights:
        bad |= ~np.isfinite(w)
    good = np.flatnonzero(~bad)
    rows = np.concatenate([codes[good] + k * groups for k in range(len(figures))])
    cols = np.tile(good, len(figures))
    vals = np.concatenate([w[good] for w in weights])
    stacked = sparse.csr_matrix((vals, (rows, cols)), shape=(groups * len(figures), n))
    # draws x (figures x groups), some draws at a time: the product wants the helpers x draws
    # transpose in order, a copy of the whole matrix at once would be tens of MB of new pages.
    # Each sum adds its helpers in the same order whatever the draws beside it: the same bits.
    total = np.empty((base.shape[0], stacked.shape[0]))
    for j in range(0, base.shape[0], 256):
        total[j:j + 256] = np.asarray(stacked @ base[j:j + 256].T).T
    out = []
    odd = np.flatnonzero(bad)
    for k, (_, _, f) in enumerate(figures):
        s = total[:, k * groups:(k + 1) * groups]
        if f is not None:
            s = s * np.asarray(f, float)[:, None]
        if len(odd):
            w = weights[k][odd][None, :]
            part = np.nan_to_num(base[:, odd] * (w * np.asarray(f, float)[:, None] if f is not None else w), nan=0.0)
            s = s + part @ (codes[odd][:, None] == np.arange(groups)[None, :]).astype(float)
        out.append(np.ascontiguousarray(s))
    return out


def _summed(col: np.ndarray, draws: np.ndarray) -> dict:
    """A total's central figure (the sum of ``col``) and its range (the sums of the draws)."""
    if not np.isfinite(col).any():
        return {"mid": None, "low": None, "high": None}
    return interval(np.nansum(draws, axis=1), mid=float(np.nansum(col)))


_MIX_POINTS = 64      # the draws' expected counts summarised by this many quantiles (count_spans)


def count_spans(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Next year's likely count of each group: the 2.5th and 97.5th percentiles
    (``LEVEL``) of the Poisson mixture ``(1/D) Σ_d Poisson(λ_d)`` over the draws
    (``lam``: draws × groups expected counts, module docstring).  A function of each
    group's own expected counts only: never of how they split between people, nor of
    which other groups are summed beside it.  NaN where a group's count is unknown.

    The mixture is taken over ``_MIX_POINTS`` quantiles of the group's λ draws (each
    a ~1.6 % slice of them; exact when every draw agrees), and each percentile is the
    smallest whole count whose mixture CDF reaches it, found by bisection from a
    normal guess with the mixture's own mean and variance (E λ + Var λ)."""
    lam = np.atleast_2d(np.asarray(lam, float))
    g = lam.shape[1]
    if not lam.shape[0]:        # no draws: nothing to say
        return np.full(g, np.nan), np.full(g, np.nan)
    bad = ~np.isfinite(lam).all(axis=0)
    srt = np.sort(np.where(np.isfinite(lam), np.maximum(lam, 0.0), 0.0), axis=0)
    pts = srt[((np.arange(_MIX_POINTS) + 0.5) * lam.shape[0] / _MIX_POINTS).astype(int)]
    mean = pts.mean(axis=0)
    sd = np.sqrt(mean + pts.var(axis=0))

    def cdf(k, cols):
        return special.pdtr(k[None, :], pts[:, cols]).mean(axis=0)

    ends = []
    for q in np.asarray(LEVEL) / 100.0:
        guess = mean + special.ndtri(q) * sd
        # invariant: F(lo) < q (lo = -1: F = 0) and F(hi) >= q; the answer is hi when hi = lo + 1
        lo = np.floor(np.maximum(-1.0, guess - 4 * sd - 5))
        hi = np.ceil(guess + 4 * sd + 5)
        cols = np.arange(g)
        low_ok = lo < 0
        low_ok[~low_ok] = cdf(lo[~low_ok], cols[~low_ok]) < q
        lo[~low_ok] = -1.0
        while True:                   # a bracket's top not reached yet: widen it (rare)
            short = np.flatnonzero(cdf(hi, cols) < q)
            if not len(short):
                break
            hi[short] = 2 * hi[short] + 10
        live = np.flatnonzero(hi - lo > 1)
        while len(live):
            mid = np.floor((lo[live] + hi[live]) / 2)
            up = cdf(mid, live) >= q
            hi[live[up]], lo[live[~up]] = mid[up], mid[~up]
            live = live[hi[live] - lo[live] > 1]
        ends.append(np.where(bad, np.nan, hi))
    return ends[0], ends[1]


def _count_totals(out: Mapping, lam, i: int, spans=None) -> dict:
    """Next year's counts (``COUNTS``) of one group beside its expected totals ``out``:
    leavers from :func:`count_spans` of its draws ``lam`` (or column ``i`` of ``spans``
    already made); clients as the leavers' count times the group's expected clients per
    expected leaver."""
    none = {"mid": None, "low": None, "high": None}
    leav = out["expected_leavers"]["mid"]
    if leav is None:            # no one in scope, or no one with a chance of leaving
        return {name: dict(none) for name in COUNTS.values()}
    lo, hi = count_spans(lam) if spans is None else spans
    lo, hi = float(lo[0 if spans is None else i]), float(hi[0 if spans is None else i])
    if not np.isfinite(lo):
        return {name: dict(none) for name in COUNTS.values()}
    res = {"leavers_next_year": {"low": lo, "mid": float(leav), "high": hi}}
    cli = out["clients_affected"]["mid"]
    if cli is None:
        res["clients_next_year"] = dict(none)
    else:
        per = float(cli) / float(leav) if leav > 0 else 0.0
        res["clients_next_year"] = {"low": lo * per, "mid": float(cli), "high": hi * per}
    return res


def _prevalence_draws(q: pd.Series, rng: np.random.Generator, draws: int):
    """Draws of the prevalence behind ``q`` (each person's probability of being
    burned out): Beta(n·BO + ½, n·(1 − BO) + ½) over the n people with an
    estimate; None when it is unknown or at 0 or 1."""
    q = pd.to_numeric(pd.Series(q), errors="coerce")
    n = int(q.notna().sum())
    bo = float(q.mean()) if n else float("nan")
    if not (n and 0 < bo < 1):
        return None
    return rng.beta(n * bo + 0.5, n * (1 - bo) + 0.5, draws)


def prevalence_interval(p_burned_out, draws: int = DRAWS, seed: int = SEED) -> dict:
    """``{"mid", "low", "high"}`` of the burnout prevalence estimated from each
    person's probability of being burned out: the same Beta spread that
    :func:`simulate` draws (the people who answered are a sample of the team)."""
    q = pd.to_numeric(pd.Series(p_burned_out), errors="coerce")
    if not q.notna().any():
        return {"mid": None, "low": None, "high": None}
    d = _prevalence_draws(q, np.random.default_rng(seed), draws)
    mid = float(q.mean())
    return interval(d, mid=mid) if d is not None else {"mid": mid, "low": mid, "high": mid}


_BLOCK = 256      # helpers per block of simulate's mixture: 2,000 draws x 256 is 4 MB
_ROWS = 32        # draws per block of the fitted model's denominator: 32 x 10,000 helpers is 2.5 MB


def _columns_into(whole: np.ndarray, columns: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``whole`` with ``part`` as its ``columns``; ``part`` itself when it is every column."""
    if len(columns) == whole.shape[1]:
        return part
    whole[:, columns] = part
    return whole


def simulate(impact: pd.DataFrame, settings: Settings | Mapping | None = None, observed=None,
             calibration=None, draws: int = DRAWS, seed: int = SEED) -> Ranges:
    """Draws of every figure of ``turnover.helper_impact`` rows under the
    assumption ranges (module docstring).  ``observed``: the model's
    ``leaving.ObservedTurnover`` (its leaver count sets the base's spread);
    ``calibration``: the accepted Cox model, whose rows vary by the hold-out's
    precision.  Deterministic for ``seed``."""
    s = resolve(settings)
    rng = np.random.default_rng(seed)
    n = len(impact)
    rr0 = float(s.relative_risk)
    rr_lo, rr_hi = min(float(s.relative_risk_low), rr0), max(float(s.relative_risk_high), rr0)
    rr = rng.uniform(rr_lo, rr_hi, draws)[:, None]
    f = rng.uniform(min(s.cost_low_factor, 1.0), max(s.cost_high_factor, 1.0), draws)[:, None]

    q = pd.to_numeric(impact["p_burned_out"], errors="coerce")
    kind = impact["team_kind"].astype("string").fillna("(unknown)")
    own = q.groupby(kind).transform("mean").fillna(q.mean())
    known = int(q.notna().sum())
    bo = float(q.mean()) if known else float("nan")
    bo_d = _prevalence_draws(q, rng, draws)
    scale = (bo_d / bo)[:, None] if bo_d is not None else np.ones((draws, 1))
    ref = pd.to_numeric(impact["reference_prevalence"], errors="coerce").to_numpy(float)
    base = pd.to_numeric(impact["base_turnover"], errors="coerce").to_numpy(float)
    basis = impact.get("p_leave_basis", pd.Series("", index=impact.index)).astype(str).to_numpy()
    is_obs = basis == "calibrated to your organisation's turnover"
    fitted = basis == "fitted on your organisation"
    p_d, a_d = np.empty((draws, n)), np.empty((draws, n))
    # each model only over its own helpers' columns (usually all of them)
    mix = np.flatnonzero(~fitted)
    q_used = q.fillna(own).to_numpy(float)[mix]
    no_q = np.isnan(q_used)
    ref_m = ref[mix]
    q_used = np.where(no_q, ref_m, q_used)
    grow = None
    if observed is not None and getattr(observed, "used", False) and is_obs.any():
        shape = float(observed.leavers) + OBSERVED_PRIOR_LEAVERS
        grow = (rng.gamma(shape, 1.0, draws) / shape)[:, None]
    # A draws x helpers matrix is tens of MB at thousands of helpers, and every new one costs
    # the process its pages again: the mixture is worked out a block of helpers at a time,
    # each step into a block already made, straight into p_d and a_d.  The same operations
    # in the same order give the same bits as the plain expressions in the docstring (x·1.0
    # is x; a sum or product is the same either way round).
    for j in range(0, len(mix), _BLOCK):
        cols = mix[j:j + _BLOCK]
        qu, nq = q_used[j:j + _BLOCK], no_q[j:j + _BLOCK]
        q_d = qu[None, :] * scale            # a prevalence draw scales only the helpers with an estimate
        q_d[:, nq] = qu[nq]
        np.clip(q_d, 0.0, 1.0, out=q_d)
        t_d = np.broadcast_to(base[cols][None, :], (draws, len(cols)))   # read-only: the same in every draw
        if grow is not None:
            t_d = t_d.copy()
            t_d[:, is_obs[cols]] *= grow
        t_nb = (rr - 1.0) * ref_m[None, j:j + _BLOCK]
        t_nb += 1.0
        np.divide(t_d, t_nb, out=t_nb)                              # T_nb = T / (1 + (RR−1)·BO_ref)
        p_m = (rr - 1.0) * q_d
        p_m += 1.0
        p_m *= t_nb
        # Not cut at 1 per helper: in a draw whose base and relative risk put T_b above 1 (saved
        # settings can, with the central figures still shown), a cut bends each group's sum at
        # its own helpers' burnout, and saves of a base moved by steps would find where (issue
        # 10).  Whole, each draw's group sum depends on the group's sums only; the draws are
        # ranges of expected figures, and who leaves (below) takes a chance above 1 as certain.
        no_p = np.isnan(qu)          # q_d is NaN exactly where q_used is (the scale is finite)
        p_m[:, no_p] = t_d[:, no_p]
        # the burnout-attributable part as turnover.helper_impact takes it: T_nb·(RR−1)·q
        a_m = t_nb
        a_m *= rr - 1.0
        a_m *= q_d
        p_d[:, cols], a_d[:, cols] = p_m, a_m

    if fitted.any():
        events = 0
        if calibration is not None:
            events = int((getattr(calibration, "metrics", {}) or {}).get("test_events", 0) or 0)
        se = 1.0 / math.sqrt(max(events, 4))
        fit = np.flatnonzero(fitted)
        p_fit = pd.to_numeric(impact["p_leave_12m"], errors="coerce").to_numpy(float)
        # not cut at 1 per helper, as the mixture above: a group's sum stays its sum
        p_f = p_fit[None, fit] * np.exp(rng.normal(0, se, (draws, 1)))
        # the fitted chance times the population-attributable fraction at the split's prevalence:
        # p_f·BO·(RR−1) / (1 + (RR−1)·BO), the same steps in the same order, into one matrix and
        # a few draws' denominator at a time (written plainly it made four more draws x helpers
        # matrices: at L, 1.5 s of the HR review's 2 s here went on their new pages)
        bo_split = ref[None, fit]
        a_f = np.multiply(p_f, bo_split)
        a_f *= rr - 1.0
        for j in range(0, draws, _ROWS):
            den = (rr[j:j + _ROWS] - 1.0) * bo_split
            den += 1.0
            a_f[j:j + _ROWS] /= den
        p_d, a_d = _columns_into(p_d, fit, p_f), _columns_into(a_d, fit, a_f)

    # no burnout estimate anywhere: the attributable share is unknown, as in helper_impact
    a_d[:, pd.to_numeric(impact["attributable_p_leave"], errors="coerce").isna().to_numpy()] = np.nan
    cost = pd.to_numeric(impact["cost_per_departure"], errors="coerce").to_numpy(float)
    cases = pd.to_numeric(impact["active_cases"], errors="coerce").to_numpy(float)
    d = Draws(p_d, a_d, cost, f[:, 0], cases)
    return Ranges(impact.reset_index(drop=True), d, counted=True)


def helper_ranges(impact: pd.DataFrame, settings=None, observed=None, calibration=None) -> pd.DataFrame:
    """Per helper ``<figure>_low`` / ``<figure>_high`` for every figure of
    ``turnover.helper_impact`` (see :func:`simulate`)."""
    return simulate(impact, settings, observed, calibration).helper()


def group_ranges(impact: pd.DataFrame, by: str = "team", settings=None, observed=None,
                 calibration=None) -> pd.DataFrame:
    """One row per value of ``impact[by]`` (team, team_kind, role, site ...):
    ``<total>``, ``<total>_low``, ``<total>_high`` for expected and attributable
    leavers, cost and clients.  Minimum-group suppression stays privacy.py's job."""
    sim = simulate(impact, settings, observed, calibration)
    keys = sim.impact[by].astype("string").fillna("(none)")
    rows = []
    for key in sorted(keys.unique()):
        tot = sim.total((keys == key).to_numpy())
        row = {by: key}
        for name, v in tot.items():
            row[name], row[f"{name}_low"], row[f"{name}_high"] = v["mid"], v["low"], v["high"]
        rows.append(row)
    return pd.DataFrame(rows)


def org_ranges(impact: pd.DataFrame, settings=None, observed=None, calibration=None) -> dict:
    """Organisation totals with ranges and their words::

        {"expected_leavers": {"mid", "low", "high", "text"}, "expected_turnover_cost": {...}, ...}

    ``text`` is :func:`format_range` ("about $110k (range $66k–$160k)"); for expected
    leavers and clients it adds next year's likely count (:func:`count_words`)."""
    tot = simulate(impact, settings, observed, calibration).total()
    for name, v in tot.items():
        money = name.endswith("cost")
        v["text"] = format_range(v["mid"], v["low"], v["high"], money=money)
    for exp, name in COUNTS.items():
        tot[exp]["text"] = count_words(tot[exp], tot[name])
    return tot


def shanafelt_ranges(helpers, burnout_rate, turnover_rate, cost_per_departure, relative_risk: float = 2.0,
                     target_burnout_rate=None, intervention_cost=None,
                     relative_risk_range: tuple[float, float] = (1.5, 2.7)) -> dict:
    """``_low`` / ``_high`` of the worksheet's figures at the ends of the
    relative-risk range (turnover-models.md §7: 1.5–2.7; widened to include
    ``relative_risk``).  Each figure rises with RR, so the ends are its range;
    the central figures are :func:`turnover.shanafelt`'s, unchanged."""
    lo_rr = min(float(relative_risk_range[0]), float(relative_risk))
    hi_rr = max(float(relative_risk_range[1]), float(relative_risk))
    ends = [shanafelt(helpers, burnout_rate, turnover_rate, cost_per_departure, rr,
                      target_burnout_rate, intervention_cost) for rr in (lo_rr, hi_rr)]
    out = {"relative_risk_low": lo_rr, "relative_risk_high": hi_rr}
    keys = ["attributable_turnover_rate", "attributable_leavers", "attributable_cost"]
    if target_burnout_rate is not None:
        keys += ["savings", "roi"]
    for k in keys:
        vals = [e.get(k) for e in ends]
        if any(v is None for v in vals):
            out[f"{k}_low"] = out[f"{k}_high"] = None
            continue
        out[f"{k}_low"], out[f"{k}_high"] = min(vals), max(vals)
    return out


def what_if_ranges(roster: pd.DataFrame, risk_latest: pd.DataFrame, settings=None, memo: dict | None = None,
                   **scenario) -> dict:
    """:func:`turnover.what_if` with ``_low`` / ``_high`` for its leaver, money,
    client and ROI figures: the scenario rerun at the ends of the relative-risk
    range (the change it predicts grows with RR), money also at the ends of the
    cost range.  ``scenario``: what_if's keyword arguments (burnout_reduction_points,
    cap_caseload, intervention_cost, weights, calibration).  The central figures
    are what_if's own; ``text`` holds the words for the savings and leavers avoided.
    ``memo``: what_if's, kept by a caller that asks for several scenarios on the same inputs;
    the three relative risks here share it anyway."""
    s = resolve(settings)
    rr0 = float(s.relative_risk)
    memo = {} if memo is None else memo
    mid = what_if(roster, risk_latest, s, memo=memo, **scenario)
    ends = [what_if(roster, risk_latest, s.merged({"relative_risk": rr}), memo=memo, **scenario)
            for rr in (min(s.relative_risk_low, rr0), max(s.relative_risk_high, rr0))]
    lo_f, hi_f = min(s.cost_low_factor, 1.0), max(s.cost_high_factor, 1.0)
    k = float(scenario.get("intervention_cost") or 0)
    out = dict(mid)
    for key, money in (("leavers_avoided", False), ("clients_spared", False), ("cost_saved", True)):
        vals = [e.get(key) for e in ends]
        if any(v is None for v in vals):
            out[f"{key}_low"] = out[f"{key}_high"] = None
            continue
        lo, hi = min(vals), max(vals)
        if money:
            lo, hi = min(lo * lo_f, lo * hi_f), max(hi * lo_f, hi * hi_f)
        out[f"{key}_low"], out[f"{key}_high"] = lo, hi
    if k > 0 and out.get("cost_saved_low") is not None:
        out["roi_low"], out["roi_high"] = (out["cost_saved_low"] - k) / k, (out["cost_saved_high"] - k) / k
    out["text"] = {
        "cost_saved": format_range(mid.get("cost_saved"), out.get("cost_saved_low"), out.get("cost_saved_high"),
                                   money=True),
        "leavers_avoided": format_range(mid.get("leavers_avoided"), out.get("leavers_avoided_low"),
                                        out.get("leavers_avoided_high")),
    }
    return out
