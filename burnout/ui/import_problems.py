"""An import's problems on a page: a capped table, the total, and every
problem as a CSV download (a file with 100,000 bad cells stays usable)."""
from __future__ import annotations

import streamlit as st

from burnout import privacy
from burnout.checkin import escape_md
from burnout.errors import InputError
from burnout.ui import common

SHOWN_PROBLEMS = 200   # rows in the on-page table; the download has every one


def problems_csv(exc: InputError) -> bytes:
    """Every problem (row, column, problem) as CSV; cells that a spreadsheet
    would run as formulas (the file's own text is quoted in them) are neutralised."""
    table = common.problem_rows(exc)
    return privacy.neutralise_formulas(table.astype(object)).to_csv(index=False).encode("utf-8-sig")


def show_error(exc: InputError, what: str = "Nothing was stored.") -> None:
    """One clear sentence, then the problems sorted by row, capped, with the total."""
    table = common.problem_rows(exc)
    total = len(table)
    where = f" in {exc.file}" if exc.file else ""
    noun = "problem" if total == 1 else "problems"
    st.error(escape_md(f"{what} {total:,} {noun}{where}:"))
    shown = table.head(SHOWN_PROBLEMS)
    st.dataframe(shown.astype(object).where(shown.notna(), ""), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(shown), 360))
    if total > len(shown):
        st.caption(f"The first {len(shown):,} of {total:,} problems in all are listed; "
                   "the download has every one.")
    else:
        st.caption(f"{total:,} {noun} in all.")
    st.download_button("Download every problem (CSV)", problems_csv(exc), file_name="problems.csv",
                       mime="text/csv", key=f"dl_problems_{abs(hash(str(exc))) % 10**8}", on_click="ignore")
