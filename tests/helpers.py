"""Helpers shared by several test files (one place, not a copy per file)."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from burnout import privacy


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
