"""The HR review's own read (views.data.load_review_data: the answers windows' submissions,
each helper's weekly means before them by SQL, the weekly risk, no caseload) gives exactly
the review, the organisation audit and the CLI report that the organisation's full frames
(views.data.load_data) give, on SQLite and on PostgreSQL; and every writer stores the week
that read groups by."""
from __future__ import annotations

import datetime as dt
import io
import threading

import pandas as pd
import pytest
from alembic import command
from openpyxl import load_workbook
from sqlalchemy import select, text, update

from burnout import checkin, materialise
from burnout.cli import write_report
from burnout.domain.time import week_start, week_starts
from burnout.export.xlsx import to_xlsx
from burnout.seed import seed_demo
from burnout.store import frames, get_engine
from burnout.store.engine import alembic_config
from burnout.store import schema as s
from burnout.views import data as D
from burnout.views import team as T
from burnout.views.review import build_review

MEASURES = ("pulse_strain", "risk_score", "burned_out", "work_burnout")
PULSE = {"pulse": {f"pulse_{i}": 1 + i % 5 for i in range(1, 7)}, "sib": {"sib_1": 4}}


def organisation(url: str):
    """The demo organisation, with a helper who answered four times in one early week and
    twice in a week before, with two work-burnout answers (25 and 75) in that week: both
    weeks come as submissions, so a 4-week block pools the two answers as two."""
    eng = get_engine(url)
    seed_demo(eng, helpers=120, weeks=30, seed=5)
    roster = frames.roster(eng)
    hid = roster.loc[roster["end_date"].isna(), "helper_id"].iloc[0]
    first = frames.scores(eng, helper_id=hid)["week_start"].min()
    for week, times in ((first + pd.Timedelta(weeks=2), 3), (first - pd.Timedelta(weeks=1), 2)):
        for k in range(times):
            answers = {"pulse": {f"pulse_{i}": 1 + (i + k) % 5 for i in range(1, 7)}, "sib": {"sib_1": 1 + 2 * k}}
            if times == 2:
                answers["cbi"] = {f"cbi_w{i}": 25 + 50 * k for i in range(1, 8) if i != 7} | {"cbi_w7": 75 - 50 * k}
            checkin.save_checkin(eng, hid, answers, submitted_at=(week + pd.Timedelta(days=k, hours=9)).to_pydatetime())
    materialise.settle(eng)
    return eng, hid


def assert_frames(a: pd.DataFrame, b: pd.DataFrame, what) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True,
                                  check_dtype=False, obj=str(what))


def assert_same_review(a, b) -> None:
    """Every table, figure and sentence of two reviews (their creation time aside)."""
    assert [x.key for x in a.sections] == [x.key for x in b.sections]
    for x, y in zip(a.sections, b.sections):
        assert (x.title, x.text, x.figures) == (y.title, y.text, y.figures)
        assert_frames(x.display, y.display, x.key)
    assert a.tables.keys() == b.tables.keys()
    for k in a.tables:
        assert_frames(a.tables[k].table, b.tables[k].table, k)
        assert_frames(a.tables[k].status, b.tables[k].status, k)
    for name in ("participation", "trend", "assumptions"):
        assert_frames(getattr(a, name), getattr(b, name), name)
    assert_frames(a.turnover.table, b.turnover.table, "turnover")
    assert a.turnover.what_if == b.turnover.what_if and a.turnover.scope_ranges == b.turnover.scope_ranges
    assert (a.calibration.lines, a.calibration.details) == (b.calibration.lines, b.calibration.details)
    assert_frames(a.calibration.display, b.calibration.display, "calibration")
    for name in ("headline", "top_teams", "levers", "clients"):
        assert_frames(getattr(a.summary, name), getattr(b.summary, name), name)
    assert (a.summary.participation, a.summary.hidden, a.summary.best_lever) == \
        (b.summary.participation, b.summary.hidden, b.summary.best_lever)
    assert a.figures.keys() == b.figures.keys()
    for k in a.figures:
        assert a.figures[k].to_json() == b.figures[k].to_json(), k
    assert (a.as_of, a.privacy_note, a.window_weeks) == (b.as_of, b.privacy_note, b.window_weeks)


def full_review(eng, full, scope: str, built: dict | None = None, **kw):
    """build_review over the full frames ``full``; ``built`` keeps each for the other
    tests of the same read-only organisation, which compare against the same review."""
    if built is None:
        return build_review(eng, scope, data=full, **kw)
    key = (scope, tuple(sorted(kw.items())))
    if key not in built:
        built[key] = build_review(eng, scope, data=full, **kw)
    return built[key]


def check_same(eng, full=None, narrow=None, built: dict | None = None) -> None:
    full = D.load_data(eng) if full is None else full
    narrow = D.load_review_data(eng) if narrow is None else narrow
    assert narrow.answers_weeks == D.REVIEW_WEEKS and full.answers_weeks is None
    assert len(narrow.scores) < len(full.scores) and narrow.caseload.empty
    shown = 0
    for measure in MEASURES:
        for window in ((4, 12) if measure == "pulse_strain" else (4,)):
            old = full_review(eng, full, "org", built, trend_measure=measure, window_weeks=window)
            new = build_review(eng, "org", data=narrow, trend_measure=measure, window_weeks=window)
            assert_same_review(old, new)
            shown += int((new.tables["weekly"].status[measure] == "shown").sum())
        a, b = T.org_audit(full, measure), T.org_audit(narrow, measure)
        assert (a.weekly, a.groups, a.plan.status) == (b.weekly, b.groups, b.plan.status)
    assert shown > 0, "the organisation shows weekly figures, so the comparison compares some"
    team = full.roster["team"].value_counts().index[0]
    assert_same_review(full_review(eng, full, f"team:{team}", built), build_review(eng, f"team:{team}", data=narrow))
    # a site filter narrows the roll-ups the same way
    site = sorted(full.roster["site"].dropna().unique())[0]
    assert_same_review(build_review(eng, "org", data=full, where={"site": [site]}),
                       build_review(eng, "org", data=narrow, where={"site": [site]}))


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """One organisation for the tests that only read it."""
    return organisation(f"sqlite:///{tmp_path_factory.mktemp('review_read') / 'org.db'}")


@pytest.fixture(scope="module")
def read(org):
    """``org``'s full frames, the review's own read of it, and the reviews of the full
    frames built so far (full_review): read and built once for the tests that compare them."""
    eng, _ = org
    return D.load_data(eng), D.load_review_data(eng), {}


def test_the_review_read_gives_exactly_the_review_of_the_full_frames(org, read):
    eng, hid = org
    narrow = D.load_review_data(eng, with_model=False)
    mine = narrow.scores[narrow.scores["helper_id"] == hid]
    per_week = mine.groupby("week_start").size()
    first = per_week.index.min()
    assert per_week[first] >= 2, "two answers in a week: every submission"
    assert per_week[first + pd.Timedelta(weeks=3)] >= 6, "four pulse answers in a week: every submission"
    assert (per_week.iloc[:-D.REVIEW_WEEKS] == 1).sum() > 10, "older weeks: one row per week"
    check_same(eng, *read)


def test_the_review_read_gives_exactly_the_review_on_postgresql(pg_url):
    eng, _ = organisation(pg_url)
    check_same(eng)


def test_the_report_command_writes_the_same_figures(tmp_path, org, read):
    """The CLI report reads the review's frames; its workbook holds the figures the full
    frames give (the creation time aside)."""
    eng, _ = org
    full, _, built = read
    team = frames.roster(eng)["team"].value_counts().index[0]
    for scope, kw in (("org", {"trend_measure": "pulse_strain", "window_weeks": 4}), (f"team:{team}", {})):
        path = write_report(eng, scope, "xlsx", tmp_path / "r.xlsx")
        old = to_xlsx(full_review(eng, full, scope, built, **kw))
        got, want = load_workbook(path), load_workbook(io.BytesIO(old))
        assert got.sheetnames[:len(want.sheetnames)] == want.sheetnames
        for name in want.sheetnames:
            rows = lambda wb: [r for r in wb[name].iter_rows(values_only=True)
                               if not (r and isinstance(r[0], str) and r[0] == "Generated")]
            assert rows(got) == rows(want), (scope, name)


def test_a_window_longer_than_the_read_reads_everything(org, read):
    eng, _ = org
    full, narrow, _ = read
    assert_same_review(build_review(eng, "org", data=full, window_weeks=26),
                       build_review(eng, "org", data=narrow, window_weeks=26))


def test_submissions_without_a_stored_week_are_read_in_full(sqlite_url):
    """A row written by code older than the week column is still counted: the review then
    reads every submission as before."""
    eng, _ = organisation(sqlite_url)
    with eng.begin() as conn:
        conn.execute(update(s.submissions).where(s.submissions.c.submission_id == 1).values(week_start=None))
    data = D.load_review_data(eng)
    assert data.answers_weeks is None and len(data.scores) == len(frames.scores(eng))


def stored_weeks_are_right(eng) -> int:
    with eng.connect() as conn:
        got = pd.read_sql(select(s.submissions.c.submitted_at, s.submissions.c.week_start), conn)
    assert got["week_start"].notna().all()
    want = week_starts(got["submitted_at"])
    assert (pd.to_datetime(got["week_start"]) == want).all()
    return len(got)


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgresql"])
def test_every_writer_stores_the_week(engine_kind, sqlite_url, request):
    """Import (straight and through staging), check-in and the migration's backfill all
    store the Monday of the submission's week, Sundays and Mondays included."""
    url = sqlite_url if engine_kind == "sqlite" else request.getfixturevalue("pg_url")
    eng, hid = organisation(url)        # an import and check-ins
    n = stored_weeks_are_right(eng)
    sunday = dt.datetime(2026, 3, 1, 23, 59, 59)
    monday = dt.datetime(2026, 3, 2, 0, 0, 0)
    for when in (sunday, monday):
        checkin.save_checkin(eng, hid, PULSE, submitted_at=when)
    materialise.settle(eng)
    for thread in threading.enumerate():   # answers older than any: the helper weeks rebuild meanwhile
        if thread.name == "helper-week rebuild":
            thread.join(300)
    assert stored_weeks_are_right(eng) == n + 4
    # the backfill: the column emptied as before the migration, then filled by it
    cfg = alembic_config(url)
    with eng.begin() as conn:
        conn.execute(update(s.submissions).values(week_start=None))
    with eng.begin() as conn:
        conn.execute(text("DROP INDEX ix_submissions_week_helper"))
        conn.execute(text("ALTER TABLE submissions DROP COLUMN week_start"))
        conn.execute(text("ALTER TABLE staging_submissions DROP COLUMN week_start"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0006_import_fingerprints'"))
    command.upgrade(cfg, "0007_submission_weeks")      # the backfill's own migration, not the later ones
    assert stored_weeks_are_right(eng) == n + 4
    with eng.connect() as conn:
        weeks = dict(conn.execute(select(s.submissions.c.submitted_at, s.submissions.c.week_start)
                                  .where(s.submissions.c.submitted_at.in_([sunday, monday]))).all())
    assert {pd.Timestamp(k): pd.Timestamp(v) for k, v in weeks.items()} == {
        pd.Timestamp(sunday): pd.Timestamp(week_start(sunday)), pd.Timestamp(monday): pd.Timestamp(monday)}
