"""The one CSV writer for every CSV download and every CSV the CLI writes.

Text cells that a spreadsheet could run as a formula (= + - @, tab, carriage
return) are neutralised (privacy.neutralise_formulas, DESIGN §7); numbers are
left alone.  Downloads meant for a spreadsheet carry a UTF-8 byte order mark
so Excel reads names in any script correctly; files for programs do not.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from burnout import privacy


def to_csv(df: pd.DataFrame, *, bom: bool = True) -> bytes:
    """``df`` as CSV bytes (UTF-8; with a byte order mark unless ``bom`` is False)."""
    # categories become text so their labels are neutralised too; dates and numbers keep
    # their dtype so they are written as they always were
    plain = df.astype({c: object for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})
    text = privacy.neutralise_formulas(plain).to_csv(index=False)
    return text.encode("utf-8-sig" if bom else "utf-8")


def write_csv(df: pd.DataFrame, path: Path | str, *, bom: bool = False) -> Path:
    """Write ``df`` to ``path`` as :func:`to_csv` does (no byte order mark by default: CLI output)."""
    path = Path(path)
    path.write_bytes(to_csv(df, bom=bom))
    return path
