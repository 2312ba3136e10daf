"""Side by side with the peer: the open-source burnout-mvp Streamlit dashboard
(github.com/priyankasingh6143-lang/burnout-mvp), which reads a CSV of check-ins
and draws one team chart.

    .venv/bin/python benchmarks/bench_peer.py --url sqlite:////tmp/b.db [--peer-git DIR] [--runs 5]
        [--no-browser]

The peer's code is not vendored (its repository carries no licence): it is
extracted at run time from a git copy (``--peer-git``: a bare repository or a
clone, default the mirror the project's tools fetch, else ``git clone``) into
benchmarks/peer/src-<process id>/, which git ignores and the run removes.  Its CSV is written from OUR database,
one row per weekly pulse check-in, so both dashboards hold the same check-ins:
the peer's four strain items are our pulse items 2 and 4 and the reversed items
5 and 3; the lead's team is named OPS-ALPHA, the team the peer's page opens on.

Measured: (a) the team page's warm rerun in AppTest for the peer, each in its
own process (ours is bench_pages.py's ``team.warm``); (b) in Chromium through
Playwright, with both apps under ``streamlit run``: from another page of the
app, the click on the team page until its first chart is drawn (plotly's or
vega's graphic visible, not only the empty box that holds it; median of
``--runs``, after one visit that warms the server), the CPU seconds Chromium and
the server spent meanwhile (on a shared machine the wall time waits for the
other processes, the CPU time does not), the bytes the server sent, and each
server's peak RSS.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import PYTHON, ROOT, emit, peak_mib_self, run_measured, timed_call  # noqa: E402

PEER_REPO = "priyankasingh6143-lang/burnout-mvp"
PEER_GIT = Path("/work/.mirror/priyankasingh6143-lang+burnout-mvp/repo")
PEER_DIR = ROOT / "benchmarks" / "peer" / "src"
PEER_TEAM = "OPS-ALPHA"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PEER_COLUMNS = ["date", "user_pseudo_id", "role", "tenure_bucket", "team_id", "q1", "q2", "q3", "q4",
                "note_text", "note_text_redacted", "sentiment_score", "burnout_flag"]


def extract_peer(dest: Path = PEER_DIR, git: Path | None = None) -> Path:
    """The peer's app.py and utils.py at the newest commit of a local git copy."""
    git = git or PEER_GIT
    if not git.exists():
        git = Path(tempfile.mkdtemp(prefix="peer_git.")) / "repo"
        subprocess.run(["git", "clone", "--bare", "--depth", "1", f"https://github.com/{PEER_REPO}", str(git)],
                       check=True, capture_output=True)
    git_dir = git / ".git" if (git / ".git").exists() else git
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "HEAD", "app.py", "utils.py"],
                             check=True, capture_output=True).stdout
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "data").mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    rev = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    (dest / "REVISION").write_text(f"{PEER_REPO} {rev}\n")
    return dest


def write_peer_csv(engine, path: Path, lead_team: str) -> int:
    """One peer row per weekly pulse check-in in our database; returns the row count."""
    import numpy as np
    import pandas as pd
    from sqlalchemy import case, func, select

    from burnout.store import schema as s

    sub, ans, hel = s.submissions, s.answers, s.helpers

    def item(name):
        return func.max(case((ans.c.item_id == name, ans.c.value)))

    q = (select(sub.c.submitted_at, sub.c.helper_id, hel.c.role, hel.c.team_id, hel.c.start_date,
                item("pulse_2").label("drained"), item("pulse_4").label("stayed"),
                item("pulse_5").label("supported"), item("pulse_3").label("manageable"))
         .join(hel, hel.c.helper_id == sub.c.helper_id).join(ans, ans.c.submission_id == sub.c.submission_id)
         .where(sub.c.instrument == "pulse").group_by(sub.c.submission_id, sub.c.submitted_at, sub.c.helper_id,
                                                      hel.c.role, hel.c.team_id, hel.c.start_date))
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    when = pd.to_datetime(df["submitted_at"])
    years = (when - pd.to_datetime(df["start_date"])).dt.days / 365.25
    out = pd.DataFrame({
        "date": when.dt.strftime("%Y-%m-%d"),
        "user_pseudo_id": df["helper_id"],
        "role": df["role"],
        "tenure_bucket": np.select([years < 1, years < 3], ["<1y", "1-3y"], "3y+"),
        "team_id": df["team_id"].where(df["team_id"] != lead_team, PEER_TEAM),
        "q1": df["drained"].round().astype("Int64"), "q2": df["stayed"].round().astype("Int64"),
        "q3": (6 - df["supported"]).round().astype("Int64"), "q4": (6 - df["manageable"]).round().astype("Int64"),
        "note_text": "", "note_text_redacted": "", "sentiment_score": 0.0,
    })
    out["burnout_flag"] = (out[["q1", "q2", "q3", "q4"]].astype(float).mean(axis=1) >= 3.5).astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    out[PEER_COLUMNS].to_csv(path, index=False)
    return len(out)


def peer_apptest(peer_dir: Path, runs: int) -> None:
    """In this process: open the peer's Team Dashboard, then time ``runs`` reruns."""
    from streamlit.testing.v1 import AppTest

    os.chdir(peer_dir)                 # the peer reads data/sample_checkins.csv relative to here
    sys.path.insert(0, str(peer_dir))  # and imports its utils.py
    at = AppTest.from_file(str(peer_dir / "app.py"), default_timeout=3600)
    at.run()
    at.sidebar.radio[0].set_value("Team Dashboard")
    _, wall, cpu = timed_call(at.run)
    if at.exception:
        raise SystemExit(f"peer: {at.exception[0].value}")
    n = at.metric[0].value
    emit("peer.team.cold", [{"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self()}], responses=n)
    warm = []
    for _ in range(runs):
        _, wall, cpu = timed_call(at.run)
        warm.append({"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self()})
    if not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart"):
        raise SystemExit(f"peer: no team chart ({n} responses)")
    emit("peer.team.warm", warm, responses=n)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, script: str, cwd: Path, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.address",
             "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.port", str(self.port),
             "--server.fileWatcherType", "none"],
            cwd=cwd, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"{script} did not start; see {log}")

    def peak_mib(self) -> float:
        """VmHWM: the server process's peak resident memory so far."""
        for ln in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _cpu_s(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chromium_cpu(root: int) -> float:
    """CPU seconds of the Chromium processes started under ``root`` (this process):
    other engineers' browsers on the machine are not counted."""
    parent, comm = {}, {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            comm[p.name] = stat[stat.index("(") + 1:stat.rindex(")")]
            parent[p.name] = stat.rsplit(")", 1)[1].split()[1]
    total = 0.0
    for pid, name in comm.items():
        if not name.startswith(("chrom", "headless")):
            continue
        up = parent.get(pid)
        while up and up not in ("0", "1", str(root)):
            up = parent.get(up)
        if up == str(root):
            try:
                total += _cpu_s(pid)
            except OSError:
                pass
    return total


def _click_until_drawn(page, click, chart: str, timeout_ms: float, server: "Server", received: list) -> dict:
    received.clear()
    cpu0 = chromium_cpu(os.getpid()) + _cpu_s(server.proc.pid)
    t = time.perf_counter()
    click()
    page.locator(chart).first.wait_for(state="visible", timeout=timeout_ms)
    wall = time.perf_counter() - t
    cpu = chromium_cpu(os.getpid()) + _cpu_s(server.proc.pid) - cpu0
    return {"wall": wall, "cpu": cpu, "rss_mib": server.peak_mib(), "sent_kib": sum(received) / 1024}


def _count_frames(page) -> list:
    """Sizes of the websocket frames the page receives (the server's deltas)."""
    sizes: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: sizes.append(len(p))))
    return sizes


def browser_clicks(url: str, peer_dir: Path, lead: str, password: str, runs: int, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    logs = Path(tempfile.mkdtemp(prefix="bench_peer."))
    ours = Server("dashboard.py", ROOT, {"BURNOUT_DATABASE_URL": url, "BURNOUT_DEMO": "0"}, logs / "ours.log")
    peer = Server("app.py", peer_dir, {}, logs / "peer.log")
    ms = timeout_s * 1000
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            vp = {"viewport": {"width": 1400, "height": 900}}

            # ours: sign in as the lead (lands on the team page, which warms the server),
            # then from "My account" click "Team" until its first chart shows.
            page = browser.new_page(**vp)
            page.set_default_timeout(ms)
            frames = _count_frames(page)
            page.goto(ours.url)
            page.get_by_label("Username").fill(lead)
            page.get_by_label("Password", exact=True).fill(password)
            page.get_by_role("button", name="Sign in").click()
            box = '[data-testid="stPlotlyChart"]'
            chart = box + " .main-svg"          # plotly's drawing, not only its box
            page.locator(chart).first.wait_for(state="visible")
            nav = page.locator('[data-testid="stSidebarNavLink"]')
            times = []
            for _ in range(runs):
                nav.filter(has_text=re.compile(r"My account$")).click()
                page.get_by_role("heading", name="My account").wait_for()
                page.locator(box).first.wait_for(state="detached")
                times.append(_click_until_drawn(
                    page, lambda: nav.filter(has_text=re.compile(r"Team$")).click(), chart, ms, ours, frames))
            emit("browser.team", times, sent_kib=statistics.median(t["sent_kib"] for t in times))
            page.close()

            # the peer: the sidebar radio from "Home / Check-in" to "Team Dashboard"
            page = browser.new_page(**vp)
            page.set_default_timeout(ms)
            frames = _count_frames(page)
            page.goto(peer.url)
            box = '[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]'
            chart = ", ".join(f"{b} {g}" for b in box.split(", ") for g in ("canvas", "svg.marks"))
            page.get_by_role("heading", name=re.compile("Weekly Check-in")).wait_for()
            page.get_by_text("Team Dashboard", exact=True).click()
            page.locator(chart).first.wait_for(state="visible")
            times = []
            for _ in range(runs):
                page.get_by_text("Home / Check-in", exact=True).click()
                page.get_by_role("heading", name=re.compile("Weekly Check-in")).wait_for()
                page.locator(box).first.wait_for(state="detached")
                times.append(_click_until_drawn(
                    page, lambda: page.get_by_text("Team Dashboard", exact=True).click(), chart, ms, peer, frames))
            emit("peer.browser.team", times, sent_kib=statistics.median(t["sent_kib"] for t in times))
            page.close()
            browser.close()
    finally:
        ours.stop()
        peer.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="our database (bench_cli.py's import)")
    ap.add_argument("--peer-git", type=Path, help="a git copy of the peer (bare or a clone)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--timeout", type=float, default=900, help="seconds a page may take in the browser")
    ap.add_argument("--apptest", type=Path, help=argparse.SUPPRESS)   # the child process's own job
    a = ap.parse_args()
    if a.apptest:
        peer_apptest(a.apptest, a.runs)
        return

    sys.path.insert(0, str(ROOT))
    from bench_pages import PASSWORD, accounts, auth_team
    from burnout.store import get_engine

    engine = get_engine(a.url)
    who = accounts(engine)
    # a directory of this run's own: runs at two sizes may go side by side
    peer_dir = extract_peer(PEER_DIR.with_name(f"src-{os.getpid()}"), git=a.peer_git)
    n = write_peer_csv(engine, peer_dir / "data" / "sample_checkins.csv", auth_team(engine, who["lead"]))
    print(f"peer CSV: {n:,} check-ins ({(peer_dir / 'REVISION').read_text().strip()})", flush=True)
    try:
        r = run_measured([PYTHON, str(Path(__file__).resolve()), "--apptest", str(peer_dir), "--runs", str(a.runs)])
        if r["rc"]:
            raise SystemExit(f"peer AppTest failed: {r['stderr'][-3000:]}")
        sys.stdout.write("".join(ln + "\n" for ln in r["stdout"].splitlines() if ln.startswith("RESULT|")))
        emit("peer.checkins", [], count=n)
        if not a.no_browser:
            browser_clicks(a.url, peer_dir, who["lead"], PASSWORD, a.runs, a.timeout)
    finally:
        shutil.rmtree(peer_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
