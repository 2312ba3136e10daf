"""Start the real dashboard for browser tests and drive it with Playwright +
Debian's Chromium (Playwright cannot download its own browser here)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SHOTS = ROOT / "test-artifacts" / "screenshots"


def require_chromium() -> str:
    from conftest import chromium_path

    path = chromium_path()
    if path and Path(path).exists():
        return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is required for browser tests in CI (apt-get install chromium)")
    pytest.skip("Chromium not installed: apt-get install chromium to run browser tests")


# The check-in page's first button: "Check in again" for a helper who already checked in
# this week, else the form's own ("Save my check-in", or "Next: ..." on a multi-step form).
_CHECKIN_BUTTONS = re.compile(r"^(Check in again|Save my check-in|Next: )")
_FORM_BUTTONS = re.compile(r"^(Save my check-in|Next: )")


def open_checkin_form(page) -> None:
    """Open the helper's check-in form, pressing "Check in again" when the page offers it.

    Waits for the page to settle on one of its buttons instead of for a fixed time, so a
    slow first rerun cannot make the caller miss the offer."""
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    page.get_by_role("button", name=_CHECKIN_BUTTONS).first.wait_for()
    again = page.get_by_role("button", name="Check in again")
    if again.count():
        again.click()
    page.get_by_role("button", name=_FORM_BUTTONS).first.wait_for()


def wait_for_run(page, timeout: float = 120.0) -> None:
    """Wait until the page's current run is drawn whole.

    While a run is under way, Streamlit keeps the last run's elements on the page, marked
    stale, until the new run replaces them: a heading of the new run can be on the page
    beside a metric of the old one (a lead picking another helper saw the first helper's
    risk for a moment). Done when no element is stale and the app is not running."""
    deadline = time.time() + timeout
    stale = page.locator('[data-stale="true"]')
    running = page.locator('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')
    while stale.count() or running.count():
        if time.time() > deadline:
            raise TimeoutError(f"the page's run did not finish within {timeout:.0f} s")
        page.wait_for_timeout(100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """One ``streamlit run dashboard.py`` on a loopback port, on the database ``db_url``
    (``demo``: seed the demo organisation on first start), logging to ``log``."""

    def __init__(self, db_url: str, log: Path, demo: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, "BURNOUT_DATABASE_URL": db_url, "BURNOUT_DEMO": "1" if demo else "0"},
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"dashboard on port {self.port} did not start; log: "
                           f"{Path(self.log.name).read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class App(Dashboard):
    """A dashboard process on a fresh embedded database (demo seeded on first start)."""

    def __init__(self, tmp: Path):
        super().__init__(f"sqlite:///{tmp / 'browser.db'}", tmp / "streamlit.log", demo=True)
        self.wait_healthy(60)

    def _helper(self, username: str):
        from burnout.store import get_engine
        from burnout.store import schema as s
        from sqlalchemy import select

        eng = get_engine(self.db_url)
        with eng.connect() as conn:
            return eng, conn.execute(select(s.users.c.helper_id).where(s.users.c.username == username)).scalar_one()

    def draft(self, username: str) -> dict:
        from burnout import checkin

        eng, hid = self._helper(username)
        return checkin.load_partial(eng, hid)

    def wait_for_draft(self, username: str, other_than: dict | None = None, timeout: float = 30.0) -> dict:
        """The check-in draft of ``username``'s helper once it holds an answer (and
        differs from ``other_than``): a reload before the page's rerun stored it
        would test the machine's speed, not the product."""
        from burnout import checkin

        eng, hid = self._helper(username)
        deadline = time.time() + timeout
        while time.time() < deadline:
            draft = checkin.load_partial(eng, hid)
            if any(k.startswith("q_") for k in draft) and draft != other_than:
                return draft
            time.sleep(0.2)
        raise AssertionError(f"no check-in draft for {username} after {timeout:.0f} s")

