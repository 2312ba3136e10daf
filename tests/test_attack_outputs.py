"""The attacker's test through the real outputs (issue 10, point 4): for small random
organisations, every number the HR reader class receives in the review's files goes into
one linear system per measure — and per week for the weekly cells — and no person, no
group under the minimum, may be determined by it, counting every consenting helper as
known (HR material reaches managers).  Exact rank tests over the people.

The files: the organisation's report from the CLI (``report --format pdf``; its
``--format xlsx`` is the same Review's workbook, read by tests/test_attack_readers.py),
the organisation's and every one-team report's workbook as the page's download makes
them, and the first team's PDF.  The PDF is read as text (``helpers.pdf_text``, no PDF library) and
its roll-ups and weekly table are parsed on their own into the same system (and must be
the workbook's rows: the PDF prints the same Review).  HR receives no CSV: the review page
offers the PDF and the XLSX, and the CLI's only CSV (``risk``) is individual rows read on
the record, not an HR aggregate.  The what-if, turnover and driver figures are the readers'
attacker's (tests/test_attack_readers.py)."""
from __future__ import annotations

import numbers
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from burnout import cli, disclosure, privacy
from burnout.export import pdf as pdf_export
from burnout.export.xlsx import to_xlsx
from burnout.views.data import ROLLUP_MEASURES, active_roster, load_data, people_frame, series_for
from burnout.views.review import build_review

from helpers import pdf_text, small_groups_determined, small_org, xlsx_cells

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


CELL = re.compile(r"(hidden|<5|-?\d[\d,]*(?:\.\d+)?)(?: |$)")


def _rows(text: str, pos: int, names: list, k: int) -> list:
    """The rows from ``pos``: a group's name then up to ``k`` cells ("hidden", "<5" or a
    number; a blank cell prints nothing, so a row with one has fewer), while a name starts
    the text."""
    out = []
    names = sorted(names, key=len, reverse=True)        # "case manager" before "case"

    def name_at(i):
        return next((n for n in names if text.startswith(n + " ", i)), None)
    name = name_at(pos)
    while name:
        pos += len(name) + 1
        cells = []
        while len(cells) < k and (m := CELL.match(text, pos)) and not name_at(pos):
            cells.append(m.group(1))
            pos = m.end()
        out.append((name, cells))
        name = name_at(pos)
    return out


def _pdf_released(text: str, names: dict, weeks: list, fixed: dict, out: dict, weekly: dict,
                  group_word: str, unplaced: list) -> int:
    """The PDF's roll-ups ("Wellbeing by ...") and weekly table ("... by week") as rows of the
    system, read from its text alone; returns how many figures it read.  A row with a blank
    cell cannot be placed column by column from the text: its figures go to ``unplaced``."""
    read = 0
    for m in re.finditer(r"Wellbeing by (team|role|site) ", text):
        dim = m.group(1)
        head = text.find(f"{dim.capitalize()} People ", m.end())
        end = text.find("<5: fewer than", head)
        labels = sorted((text.find(label, head, end), label) for label in LABELS if 0 <= text.find(label, head, end))
        columns = ["People"] + [label for _, label in labels]
        start = labels[-1][0] + len(labels[-1][1]) + 1
        rows = _rows(text[:end], start, names[dim] + [privacy.TOTAL], len(columns))
        assert rows, f"no rows read in the PDF's table by {dim}"
        for group, cells in rows:
            cond = dict(fixed)
            if group != privacy.TOTAL:
                cond[dim] = group
            if len(cells) < len(columns):
                unplaced += [v for v in cells if v not in ("hidden", "<5")]
                continue
            for name, v in zip(columns, cells):
                if v not in ("hidden", "<5"):
                    out.setdefault("n" if name == "People" else LABELS[name], []).append(cond)
                    read += 1
    m = re.search(r" by week .*?Every week is in the XLSX export\. (Team|Role) ((?:\d\d-\d\d )+)", text)
    if m:
        dim = m.group(1).lower()
        days = m.group(2).split()
        by_day = {pd.Timestamp(w).strftime("%m-%d"): pd.Timestamp(w) for w in weeks}
        for group, cells in _rows(text, m.end(), names[dim] + [privacy.TOTAL], len(days)):
            cond = dict(fixed)
            if group != privacy.TOTAL:
                cond[group_word if not fixed else "role"] = group
            if len(cells) < len(days):
                unplaced += [v for v in cells if v not in ("hidden", "<5")]
                continue
            for day, v in zip(days, cells):
                if v not in ("hidden", "<5"):
                    weekly.setdefault(str(by_day[day].date()), []).append(cond)
                    read += 1
    return read


def _fmt(v) -> str:
    x = float(str(v).replace(",", ""))
    return f"{x:.1f}"


def _numbers(cells: dict) -> set:
    """Every number a workbook prints, as the PDF rounds it (one decimal)."""
    return {_fmt(t) for rows in cells.values() for r in rows for v in r if v is not None
            for t in re.findall(r"-?\d[\d,]*(?:\.\d+)?", str(v))}


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
    names = {d: sorted(people[d].astype(str).unique()) for d in ("team", "role", "site")}
    weeks = sorted(pd.to_datetime(data.scores["week_start"]).unique())
    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BURNOUT_DATABASE_URL", str(engine.url))
        mp.setattr(pdf_export, "_ensure_kaleido", lambda: False)      # the PDF's text: no chart images
        assert cli.main(["report", "--scope", "org", "--format", "pdf", "--out", str(folder / "org.pdf")]) == 0
        org_book = xlsx_cells(to_xlsx(build_review(engine, "org", data=data)))
        _released(org_book, {}, released, weekly, "team")
        from_pdf: dict = {}
        pdf_weekly: dict = {}
        unplaced: list = []
        assert _pdf_released(pdf_text((folder / "org.pdf").read_bytes()), names, weeks, {}, from_pdf, pdf_weekly,
                             "team", unplaced), "the PDF carries figures"
        in_books = _numbers(org_book)
        for i, team in enumerate(sorted(people["team"].unique())):
            rev = build_review(engine, f"team:{team}", data=data)
            book = xlsx_cells(to_xlsx(rev))
            _released(book, {"team": team}, released, weekly, "team")
            if i == 0:          # a one-team PDF too: its tables by role and site, its role x week table
                in_books |= _numbers(book)
                _pdf_released(pdf_text(pdf_export.to_pdf(rev)), names, weeks, {"team": team}, from_pdf,
                              pdf_weekly, "team", unplaced)
    # a row with a blank cell: its figures are the workbooks' own
    assert all(_fmt(v) in in_books for v in unplaced), sorted(set(unplaced))
    # the PDF prints the workbook's rows (the same Review): none of its own
    for col, groups in from_pdf.items():
        assert all(g in released.get(col, []) for g in groups), col
    for week, groups in pdf_weekly.items():
        assert all(g in weekly.get(week, []) for g in groups), week
    for col, groups in from_pdf.items():
        released.setdefault(col, []).extend(groups)
    for week, groups in pdf_weekly.items():
        weekly.setdefault(week, []).extend(groups)
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
