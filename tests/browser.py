"""Start the real dashboard for browser tests and drive it with Playwright +
Debian's Chromium (Playwright cannot download its own browser here)."""
from __future__ import annotations

import os
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """A dashboard process on a fresh embedded database (demo seeded on first start)."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "BURNOUT_DATABASE_URL": f"sqlite:///{tmp / 'browser.db'}",
               "BURNOUT_DEMO": "1"}
        self.log = open(tmp / "streamlit.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"dashboard did not start; log: {(tmp / 'streamlit.log').read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
