"""The benchmark harness keeps working (its figures are not asserted: speed
targets live in benchmarks/, not in timed unit tests).

One end-to-end run of run_all.py at a tiny size through the command-line steps,
and the other parts' own functions on a tiny organisation: a page measured
cold / warm / after a check-in in AppTest, the peer's CSV written from our
database, the profile summary and the README table.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

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
         "--skip", "pages,whatif,write,peer,browser,profile,legacy", "--no-readme"],
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
    new_week = bench_pages.moves_the_week(engine)
    bench_pages.measure_page(engine, "team", tiny_org["who"]["lead"], warm=2, after=2, checkin_helpers=others)
    got = {r["key"]: r for r in measure.results(capsys.readouterr().out)}
    # the week's first check-in (it moves every figure's week) is timed apart from the others
    assert set(got) == {"team.cold", "team.warm", "team.after_checkin", "team.after_checkin_at_once"} | \
        ({"team.after_new_week", "team.after_new_week_ready"} if new_week else set())
    if new_week:        # the page shown meanwhile, then how long until the new one is made
        assert got["team.after_new_week"]["update_wall"] > 0
    assert got["team.warm"]["runs"] == 2 and got["team.cold"]["cpu"] > 0
    assert got["team.after_checkin"]["runs"] == got["team.after_checkin_at_once"]["runs"] == 2
    # the process's update after each check-in (the lead's page was shown) is timed apart
    assert got["team.after_checkin"]["update_wall"] > 0 and got["team.after_checkin"]["update_cpu"] > 0
    assert not bench_pages.moves_the_week(engine)       # the data now reach this week
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(s.submissions)).scalar_one()
    assert after - before == 2 * (2 + 2 + new_week)      # check-ins, pulse + single item each
    with engine.connect() as conn:
        teams = set(conn.execute(select(s.helpers.c.team_id).join(s.submissions, s.submissions.c.helper_id
                                                                  == s.helpers.c.helper_id)
                                 .where(s.submissions.c.source == "checkin")).scalars())
    assert bench_pages.auth_team(engine, tiny_org["who"]["lead"]) not in teams


def test_own_team_check_ins_come_from_the_lead_s_team_and_the_others_from_elsewhere(tiny_org):
    """``--own-team`` times the check-ins a lead's page must wait for: its helpers are the lead's
    active team members; without it none of them (and together they are every active helper)."""
    from burnout.store import frames

    engine = tiny_org["engine"]
    team = bench_pages.auth_team(engine, tiny_org["who"]["lead"])
    own, others = bench_pages.other_team_helpers(engine, team, own=True), bench_pages.other_team_helpers(engine, team)
    roster = frames.roster(engine).set_index("helper_id")
    active = roster[roster["end_date"].isna()]
    assert own and others and not set(own) & set(others)
    assert (roster.loc[own, "team"] == team).all() and (roster.loc[others, "team"] != team).all()
    assert set(own) | set(others) == set(active.index)


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


def test_a_step_that_runs_out_of_time_keeps_what_it_measured_and_says_what_did_not_finish(monkeypatch, tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import json, time\n"
                      "print('RESULT|' + json.dumps({'key': 'p.cold', 'runs': 1, 'wall': 0.1, 'cpu': 0.1, "
                      "'rss_mib': 50}), flush=True)\n"
                      "time.sleep(60)\n")
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    t = time.perf_counter()
    found, _ = run_all.step("slow.py", expect=("p.cold", "p.warm", "p.after_checkin"), timeout=3)
    assert time.perf_counter() - t < 30          # killed, not waited for
    got = {r["key"]: r for r in found}
    assert got["p.cold"]["wall"] == 0.1
    assert run_all.fmt(got["p.warm"]) == f"> {got['p.warm']['dnf']:,} s (did not finish)"
    assert 2 <= got["p.warm"]["dnf"] <= 4
    assert run_all.fmt(got["p.after_checkin"]) == "n/a (not reached)"
    merged = {r["key"]: r for r in run_all.merge_cold(found)}   # a cold open that never finished stays one
    assert merged["p.cold"]["wall"] == 0.1 and "dnf" in merged["p.warm"]


def test_a_step_that_fails_is_recorded_and_without_expected_figures_stops_the_run(monkeypatch, tmp_path):
    (tmp_path / "bad.py").write_text("raise MemoryError('out of memory at L')\n")
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    found, _ = run_all.step("bad.py", expect=("p.cold",))
    assert found == [{"key": "p.cold", "failed": "MemoryError: out of memory at L"}]
    assert run_all.fmt(found[0]) == "failed"
    with pytest.raises(SystemExit):
        run_all.step("bad.py")


def test_a_timed_out_command_takes_its_children_with_it(tmp_path):
    pid_file = tmp_path / "child"
    code = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; "
            f"time.sleep(120)']); open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(120)")
    r = measure.run_measured([PYTHON, "-c", code], timeout=3)
    assert r["timed_out"] and r["wall"] < 30
    child = int(pid_file.read_text())
    for _ in range(50):                     # killed; gone once init has reaped it
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if "Z" in open(f"/proc/{child}/stat").read().rpartition(")")[2].split()[:1]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the grandchild outlived the time limit")


def test_server_cpu_counts_the_server_s_finished_and_running_children(monkeypatch):
    monkeypatch.setenv("BENCH_PG_PID", str(os.getpid()))     # this process stands in for the postmaster
    burn = "import time; t = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    before = measure.server_cpu()
    r = measure.run_measured([PYTHON, "-c", burn], timeout=None)   # a backend that ran and was reaped
    assert r["server_cpu"] >= 0.35
    child = subprocess.Popen([PYTHON, "-c", burn + "\ntime.sleep(30)"])   # one still running
    try:
        time.sleep(1.5)
        assert measure.server_cpu() - before >= 0.75
    finally:
        child.kill()
        child.wait()
    monkeypatch.delenv("BENCH_PG_PID")
    assert measure.server_cpu() is None and measure.run_measured([PYTHON, "-c", "pass"])["server_cpu"] is None


def test_a_run_s_deadline_caps_each_step_and_skips_the_ones_after_it(monkeypatch, tmp_path):
    (tmp_path / "never.py").write_text("raise SystemExit('should not have run')\n")
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    monkeypatch.setenv("BENCH_STEP_TIMEOUT", "1200")
    monkeypatch.setenv("BENCH_DEADLINE", str(time.time() + 300))
    assert 290 <= measure.step_timeout() <= 300
    assert measure.cap_at_deadline(None) <= 300 and measure.cap_at_deadline(10) == 10
    monkeypatch.setenv("BENCH_DEADLINE", str(time.time() + 30))
    found, _ = run_all.step("never.py", expect=("p.cold", "p.warm"))
    assert [run_all.fmt(r) for r in found] == ["n/a (not run: out of time)"] * 2


def test_the_cluster_behind_a_url_is_found_by_its_port(monkeypatch, tmp_path):
    cluster = tmp_path / "pgtest.x"
    cluster.mkdir()
    (cluster / "postmaster.pid").write_text(f"4242\n{cluster}\n1700000000\n54321\n")
    monkeypatch.setattr(run_all.tempfile, "gettempdir", lambda: str(tmp_path))
    assert run_all.postmaster_of("postgresql+psycopg://postgres@127.0.0.1:54321/t1") == "4242"
    assert run_all.postmaster_of("postgresql+psycopg://postgres@127.0.0.1:5432/t1") is None
    assert run_all.postmaster_of("sqlite:////tmp/x.db") is None
