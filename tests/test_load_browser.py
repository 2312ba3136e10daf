"""30 helpers check in at the same moment through the real server and Chromium:
every check-in is saved and the server log holds no exception.

Slow (a few minutes on two cores), so it runs when BURNOUT_SLOW=1; the check-in
write path's figures under heavier load are benchmarks/bench_writes.py's."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import func, select

from burnout import auth, seed
from burnout.store import get_engine
from burnout.store import schema as s

from browser import CHROMIUM_ARGS, App, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.skipif(os.environ.get("BURNOUT_SLOW") != "1",
                                                      reason="slow load test: set BURNOUT_SLOW=1")]
SESSIONS = 30
PASSWORD = "load-test-Pass-2026"
WAIT = 180_000


def test_thirty_helpers_check_in_at_once(tmp_path):
    chromium = require_chromium()
    eng = get_engine(f"sqlite:///{tmp_path / 'browser.db'}")
    seed.seed_demo(eng, helpers=40, weeks=6, seed=5)
    with eng.connect() as conn:
        ids = conn.execute(select(s.helpers.c.helper_id).order_by(s.helpers.c.helper_id)).scalars().all()
    for i, hid in enumerate(ids[:SESSIONS]):
        auth.create_user(eng, f"load{i}", PASSWORD, "helper", helper_id=hid)
    eng.dispose()
    app = App(tmp_path)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            pages = []
            for i in range(SESSIONS):
                ctx = browser.new_context(viewport={"width": 390, "height": 844})
                page = ctx.new_page()
                page.set_default_timeout(WAIT)
                page.goto(app.url)
                page.get_by_label("Username").fill(f"load{i}")
                page.get_by_label("Password", exact=True).fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Weekly check-in").wait_for()
                pages.append(page)
            for page in pages:
                again = page.get_by_role("button", name="Check in again")
                if again.count():
                    again.click()
                page.get_by_role("button", name="Save my check-in").wait_for()
                groups = page.locator('[data-testid="stRadio"]')
                for k in range(groups.count()):
                    if groups.nth(k).is_visible():
                        groups.nth(k).locator("label").filter(has_text=re.compile(r"\w")).nth(1).click()
            with get_engine(app_db(tmp_path)).connect() as conn:
                before = conn.execute(select(func.count()).select_from(s.submissions)
                                      .where(s.submissions.c.source == "checkin")).scalar_one()
            for page in pages:          # every Save pressed before any is awaited
                page.get_by_role("button", name="Save my check-in").click(no_wait_after=True)
            for page in pages:
                page.get_by_text("Your check-in is saved").wait_for()
            browser.close()
    finally:
        app.stop()
    with get_engine(app_db(tmp_path)).connect() as conn:
        after = conn.execute(select(func.count()).select_from(s.submissions)
                             .where(s.submissions.c.source == "checkin")).scalar_one()
    assert after - before == 2 * SESSIONS        # pulse + single item each
    log = (tmp_path / "streamlit.log").read_text()
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]


def app_db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'browser.db'}"
