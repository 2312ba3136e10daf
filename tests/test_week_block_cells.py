"""The leads' organisation audit reads HR's team x week cells from the table's week blocks
(views.team.WeekBlockCells) instead of putting the table together after every check-in: key
for key the same cells as the table hr_weekly releases, before and after check-ins, and
stored (pickled) as the table's cells always were."""
from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd

from burnout import checkin, materialise, privacy
from burnout.domain.time import now
from burnout.seed import seed_demo
from burnout.store import frames, get_engine, prepared
from burnout.views import data as D
from burnout.views import team as T
from burnout.views.tables import hr_known, hr_weekly, org_week_rows


def _table_cells(data: D.OrgData, audit: T.OrgAudit, measure: str) -> T.TeamWeekCells:
    """The cells as the audit made them before: from hr_weekly's whole table."""
    weekly = hr_weekly(None, data.roster, measure, data.min_n, plan=audit.plan, known=hr_known(data.roster),
                       rows=org_week_rows(data, measure))
    return T.TeamWeekCells(weekly.table["team"].astype(str).to_numpy(object), weekly.table["week_start"],
                           weekly.status[measure].to_numpy(object))


def _assert_same_cells(got, want, teams) -> None:
    assert isinstance(got, T.WeekBlockCells)
    assert dict(got) == dict(want) and len(got) == len(want) == len(dict(want))
    for team in [*teams, privacy.TOTAL, "no such team"]:
        assert got.of_team(str(team)) == want.of_team(str(team))
    for key in list(dict(want))[::7]:
        assert got[key] == want[key]
    for cells in (pickle.loads(pickle.dumps(got)), prepared._unpickled(prepared.dumps(got))):
        assert type(cells) is T.TeamWeekCells and dict(cells) == dict(want)


def test_cells_read_from_the_week_blocks_are_the_tables_before_and_after_check_ins(tmp_path):
    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=40, weeks=12, seed=41)
    data = D.load_review_data(eng, with_model=False)
    teams = sorted(set(data.roster["team"].astype(str)))
    roster = frames.roster(eng)
    active = sorted(roster.loc[roster["end_date"].isna(), "helper_id"])
    rng = np.random.default_rng(42)
    statuses = set()
    for step in range(3):
        audit = T.org_audit(data, "pulse_strain")
        measures = {"pulse_strain": audit.weekly, **audit.alert_weekly}
        for m, cells in measures.items():
            if m in D.BLOCK_MEASURES:
                continue
            want = _table_cells(data, audit, m)
            _assert_same_cells(cells, want, teams)
            statuses |= set(dict(want).values())
        # the audit's verdicts on every team, as a lead's page asks them
        for team in teams:
            audit.verdicts(team)
        # a check-in or two this week: the next read patches the held one
        week = data.as_of
        at = min(now(), (week + pd.Timedelta(days=7)).to_pydatetime()) - dt.timedelta(minutes=5 + step)
        for hid in rng.choice(active, size=2, replace=False):
            checkin.save_checkin(eng, str(hid), {"pulse": {f"pulse_{i}": int(rng.integers(1, 6)) for i in range(1, 7)}},
                                 submitted_at=at - dt.timedelta(seconds=int(rng.integers(0, 600))))
        materialise.settle(eng)
        data = D.load_review_data(eng, with_model=False, since=data)
        assert data.patched is not None
    # the organisation's cells hide some: the comparison is not of tables where all is shown
    assert privacy.SHOWN in statuses and len(statuses) > 1, statuses
