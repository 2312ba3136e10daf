"""The benchmark harness keeps working (its figures are not asserted: speed
targets live in benchmarks/, not in timed unit tests).

One end-to-end run of run_all.py at a tiny size through the command-line steps,
and the other parts' own functions on a tiny organisation: a page measured
cold / warm / after a check-in in AppTest, the peer's CSV written from our
database, the profile summary and the README table.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import func, select

from conftest import PYTHON, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_cli  # noqa: E402
import bench_pages  # noqa: E402
import bench_peer  # noqa: E402
import measure  # noqa: E402
import run_all  # noqa: E402


@pytest.fixture(scope="module")
def tiny_org(tmp_path_factory, monkeypatch_module):
    from burnout import ingest
    from burnout.demo import write_demo
    from burnout.store import get_engine

    tmp = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{tmp / 'b.db'}"
    engine = get_engine(url)
    ingest.import_files(engine, **write_demo(tmp, helpers=10, weeks=6, seed=7))
    monkeypatch_module.setenv("BURNOUT_DATABASE_URL", url)
    monkeypatch_module.setenv("BURNOUT_DEMO", "0")
    return {"url": url, "engine": engine, "who": bench_pages.accounts(engine)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_run_all_command_line_steps_end_to_end():
    proc = subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "run_all.py"), "--helpers", "6", "--weeks", "4", "--runs", "1",
         "--skip", "pages,write,peer,browser,profile,legacy", "--no-readme"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {ln.split(" | ")[0].lstrip("| "): ln for ln in proc.stdout.splitlines() if ln.startswith("| ")}
    for what in ("import (CLI), three files into an empty database", "`risk` CLI: re-score, risk, leaving "
                 "probability and cost"):
        assert what in rows, proc.stdout[-2000:]
        assert "CPU" in rows[what] and "MiB" in rows[what]
    rebuild = rows["`rebuild` (CLI), the materialised helper-weeks from scratch"]
    assert ("n/a" in rebuild) != bench_cli.has_command("rebuild")


def test_run_measured_reports_the_child_s_own_cpu_and_memory():
    burn = "import time; b = bytearray(300 * 2**20); t = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    r = measure.run_measured([PYTHON, "-c", burn])
    assert r["rc"] == 0
    assert r["cpu"] >= 0.3 and r["wall"] >= r["cpu"] * 0.5
    assert r["rss_mib"] >= 300


def test_page_cold_warm_and_after_checkin(tiny_org, capsys):
    from burnout.store import schema as s

    engine = tiny_org["engine"]
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(s.submissions)).scalar_one()
    others = bench_pages.other_team_helpers(engine, bench_pages.auth_team(engine, tiny_org["who"]["lead"]))
    bench_pages.measure_page(engine, "team", tiny_org["who"]["lead"], warm=2, after=2, checkin_helpers=others)
    got = {r["key"]: r for r in measure.results(capsys.readouterr().out)}
    assert set(got) == {"team.cold", "team.warm", "team.after_checkin"}
    assert got["team.warm"]["runs"] == 2 and got["team.cold"]["cpu"] > 0
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(s.submissions)).scalar_one()
    assert after - before == 2 * 2          # two check-ins, pulse + single item each
    with engine.connect() as conn:
        teams = set(conn.execute(select(s.helpers.c.team_id).join(s.submissions, s.submissions.c.helper_id
                                                                  == s.helpers.c.helper_id)
                                 .where(s.submissions.c.source == "checkin")).scalars())
    assert bench_pages.auth_team(engine, tiny_org["who"]["lead"]) not in teams


def test_peer_csv_holds_every_pulse_check_in_in_the_peer_s_columns(tiny_org, tmp_path):
    from burnout.store import frames

    engine = tiny_org["engine"]
    lead_team = bench_pages.auth_team(engine, tiny_org["who"]["lead"])
    n = bench_peer.write_peer_csv(engine, tmp_path / "c.csv", lead_team)
    df = pd.read_csv(tmp_path / "c.csv")
    scores = frames.scores(engine)
    assert n == len(df) == (scores["instrument"] == "pulse").sum()
    assert list(df.columns) == bench_peer.PEER_COLUMNS
    assert df[["q1", "q2", "q3", "q4"]].isin(range(1, 6)).all().all()
    roster = frames.roster(engine).set_index("helper_id")
    lead_rows = df["team_id"] == bench_peer.PEER_TEAM
    assert (roster.loc[df.loc[lead_rows, "user_pseudo_id"], "team"] == lead_team).all()
    assert lead_team not in set(df["team_id"]) and lead_rows.any()


def test_profile_summary_counts_inclusive_and_self_time(tmp_path):
    raw = tmp_path / "p.raw"
    raw.write_text(f"main (x.py:1);load ({ROOT}/burnout/store/frames.py:10);read_sql (pandas/io/sql.py:5) 30\n"
                   f"main (x.py:1);plan ({ROOT}/burnout/privacy.py:40) 70\n"
                   f"main (x.py:1);plan ({ROOT}/burnout/privacy.py:41) 0\n")
    lines = run_all.summarise_profile(raw)
    assert lines[0] == "100 samples"
    assert "incl.   70 %  plan (burnout/privacy.py)" in lines
    assert "incl.   30 %  load (burnout/store/frames.py)" in lines
    assert "self    30 %  read_sql (pandas/io/sql.py)" in lines


def test_readme_table_puts_each_size_beside_the_target(tmp_path):
    base = {"date": "2026-01-01", "command": "x", "machine": "m", "legacy": [], "profile": {}}
    s = {**base, "size": "S", "helpers": 60, "weeks": 52, "results": {
        "team.warm": {"key": "team.warm", "runs": 3, "wall": 0.5, "cpu": 0.4, "rss_mib": 300},
        "rebuild": {"key": "rebuild", "runs": 0, "wall": None, "na": "no `rebuild` command"}}}
    m = {**base, "size": "M", "helpers": 1000, "weeks": 104, "results": {
        "team.warm": {"key": "team.warm", "runs": 3, "wall": 12.0, "cpu": 11.0, "rss_mib": 900}}}
    for d in (m, s):
        (tmp_path / f"bench-{d['size']}.json").write_text(json.dumps(d))
    table = run_all.table(run_all.load_all(tmp_path))
    assert "| step | S (60 × 52) | M (1,000 × 104) | target at L |" in table
    assert "| team page, warm rerun (AppTest) | 0.50 s (CPU 0.40 s, 300 MiB) | 12 s (CPU 11 s, 900 MiB) " \
           "| ≤ 1/5 of the peer's |" in table
    assert "| n/a (no `rebuild` command) | – |" in table
    assert "HR review" not in table          # rows no size measured are left out


def test_ratio_to_the_peer_in_wall_and_cpu():
    res = {"team.warm": {"key": "team.warm", "runs": 3, "wall": 0.2, "cpu": 0.4, "rss_mib": 1},
           "peer.team.warm": {"key": "peer.team.warm", "runs": 3, "wall": 0.1, "cpu": 0.1, "rss_mib": 1}}
    run_all.derived(res)
    assert run_all.fmt(res["ratio.team.warm"]) == "2.00 (CPU 4.00)"
