"""The attacker's test through the real outputs (issue 10, point 4): for small random
organisations, every number the HR reader class receives in the review workbooks (the
organisation and every one-team report, as the page's download and the CLI write them)
goes into one linear system per measure — and per week for the weekly cells — and no
person, no group under the minimum, may be determined by it, counting every consenting
helper as known (HR material reaches managers).  Exact rank tests over the people.

The XLSX carries every table the page and the PDF show (they render the same Review);
the page and PDF themselves are covered by tests/test_org_review_page.py and
tests/test_export.py, which check that they print the Review's own figures."""
from __future__ import annotations

import numbers

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from burnout import disclosure
from burnout.domain import measures
from burnout.export.xlsx import to_xlsx
from burnout.views.data import ROLLUP_MEASURES, active_roster, load_data, people_frame, series_for
from burnout.views.review import build_review

from helpers import small_groups_determined, small_org, xlsx_cells

MIN_N = 5
LABELS = {label: col for col, label in ROLLUP_MEASURES.items()}


def _table(rows):
    """The header row and data rows of a section sheet (title, text, note, blank, header...)."""
    header = rows[4]
    return header, [r for r in rows[5:] if any(v is not None for v in r)]


def _released(cells: dict, fixed: dict, out: dict, weekly: dict, group_word: str) -> None:
    for title, rows in cells.items():
        if title.startswith("Wellbeing by "):
            dim = title.removeprefix("Wellbeing by ").strip().lower()
            header, data = _table(rows)
            for r in data:
                cond = dict(fixed)
                if str(r[0]) != "All":
                    cond[dim] = str(r[0])
                for name, v in zip(header[1:], r[1:]):
                    col = "n" if name == "People" else LABELS.get(name)
                    if col and isinstance(v, numbers.Number):
                        out.setdefault(col, []).append(cond)
        elif "by week" in title:
            header, data = _table(rows)
            for r in data:
                group, week = r[0], r[1]          # the group column, then the week
                cond = dict(fixed)
                if str(group) != "All":
                    cond[group_word if not fixed else "role"] = str(group)
                if any(isinstance(v, numbers.Number) for v in r[3:]):
                    weekly.setdefault(str(week), []).append(cond)


# few examples, no shrinking: each one imports an organisation and builds every report
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(1, 10_000), helpers=st.integers(20, 32))
def test_no_small_group_is_determined_by_everything_hr_receives(tmp_path_factory, seed, helpers):
    engine = small_org(tmp_path_factory.mktemp("attack"), helpers=helpers, weeks=5, seed=seed)
    data = load_data(engine)
    people = people_frame(data)
    known = disclosure.consenting(people)
    released: dict = {}
    weekly: dict = {}
    org = build_review(engine, "org", data=data)
    _released(xlsx_cells(to_xlsx(org)), {}, released, weekly, "team")
    for team in sorted(people["team"].unique()):
        rev = build_review(engine, f"team:{team}", data=data)
        _released(xlsx_cells(to_xlsx(rev)), {"team": team}, released, weekly, "team")
    assert released, "the workbooks carry figures"
    for col, groups in released.items():
        base = people if col == "n" else people[people[col].notna()] if col in people else people
        if col == "n":
            base = people[people[[c for c in ROLLUP_MEASURES if c in people]].notna().any(axis=1)]
        assert small_groups_determined(base, groups, MIN_N, known) == [], col
    # the weekly cells: one system per week over that week's respondents
    series = series_for(data, "pulse_strain")
    active = active_roster(data.roster, data.as_of)
    for week, groups in weekly.items():
        ids = set(series.loc[series["week_start"] == pd.Timestamp(week), "helper_id"])
        base = active[active["helper_id"].isin(ids)]
        assert small_groups_determined(base, groups, MIN_N, known) == [], week
