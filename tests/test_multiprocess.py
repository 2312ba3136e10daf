"""Several dashboard processes, one organisation (issue #12, point 5): three
``streamlit run dashboard.py`` processes on one PostgreSQL database.  A helper
checks in through the first; the lead, signed in once through the second (the
session lives in the database, so the third knows the same cookie), sees the
helper's new risk figure on both other processes within seconds, because every
page's cache key is read from the database's change counters on each rerun."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from browser import CHROMIUM_ARGS, Dashboard, open_checkin_form, require_chromium, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
WAIT = 120_000
SHOWN_WITHIN = 30.0     # seconds from the refreshed row in the database to the figure on the page


def _latest_risk(engine, helper_id: str):
    from burnout.store import helper_weeks as hw

    row = hw.read(engine, [helper_id], latest=True)
    return None if row.empty else row["risk_score"].iloc[0]


def _as_shown(risk) -> str:
    return "not enough data" if risk is None or risk != risk else f"{risk:.0f}"


def _risk_on_page(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Burnout risk")
    return metric.locator('[data-testid="stMetricValue"]').first.inner_text().strip()


def _sign_in(context, url: str, username: str, path: str = ""):
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{url}/{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    for _ in range(240):        # the grant becomes the session cookie, then the page reloads
        if any(c["name"] == "burnout_session" for c in context.cookies()):
            break
        page.wait_for_timeout(250)
    page.get_by_text(f"Signed in as {username}", exact=False).first.wait_for(state="attached")
    return page


def _show_helper(page, name: str) -> None:
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=name, exact=True).click()
    page.get_by_role("heading", name=name).wait_for()
    # the heading can be drawn while the previous helper's metrics below it are still shown
    wait_for_run(page)


def test_a_check_in_in_one_process_shows_in_the_two_others(pg_url, tmp_path):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    from burnout.seed import seed_demo
    from burnout.store import get_engine
    from burnout.store import schema as s

    engine = get_engine(pg_url)
    # few weeks, so that one check-in moves the helper's 8-week levels by more than the rounding
    info = seed_demo(engine, helpers=40, weeks=4, seed=11)
    with engine.connect() as conn:
        hid, name = conn.execute(select(s.helpers.c.helper_id, s.helpers.c.name)
                                 .join(s.users, s.users.c.helper_id == s.helpers.c.helper_id)
                                 .where(s.users.c.username == info["helper1"])).one()
    before = _latest_risk(engine, hid)

    apps = [Dashboard(pg_url, tmp_path / f"streamlit-{i}.log") for i in range(3)]
    try:
        for app in apps:
            app.wait_healthy()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            lead = browser.new_context(viewport={"width": 1280, "height": 900})
            # signed in through the second process; the third takes the same cookie
            # (cookies are per host, not per port) and finds the session in the database
            watchers = [_sign_in(lead, apps[1].url, info["lead"], "helper")]
            other = lead.new_page()
            other.set_default_timeout(WAIT)
            other.goto(f"{apps[2].url}/helper")
            other.get_by_text(f"Signed in as {info['lead']}", exact=False).first.wait_for(state="attached")
            watchers.append(other)
            for page in watchers:
                _show_helper(page, name)
                assert _risk_on_page(page) == _as_shown(before)

            helper = browser.new_context(viewport={"width": 390, "height": 844})
            form = _sign_in(helper, apps[0].url, info["helper1"], "checkin")
            open_checkin_form(form)
            form.get_by_role("button", name="Save my check-in").wait_for()
            groups = form.locator('[data-testid="stRadio"]')
            groups.first.wait_for()
            # the answer at the other end of each scale from the helper's figure now
            # (label 0 is the question, then the options in order)
            pick = 1 if before == before and before is not None and before >= 50 else -1
            answered = 0
            for i in range(groups.count()):
                if groups.nth(i).is_visible():
                    groups.nth(i).locator("label").filter(has_text=re.compile(r"\w")).nth(pick).click()
                    answered += 1
            assert answered >= 7        # six pulse items and the single item
            form.get_by_role("button", name="Save my check-in").click()
            try:
                form.get_by_text("Your check-in is saved").wait_for()
            except Exception:
                form.screenshot(path=str(tmp_path / "checkin.png"), full_page=True)
                raise

            # the first process refreshes the helper's weeks right after the save
            deadline = time.time() + 120
            while _as_shown(after := _latest_risk(engine, hid)) == _as_shown(before) and time.time() < deadline:
                time.sleep(0.25)
            assert _as_shown(after) != _as_shown(before), "the check-in did not change the helper's stored risk"
            for page in watchers:
                start = time.time()
                deadline = start + SHOWN_WITHIN
                while True:
                    # Streamlit's rerun key (the same session, a new run), away from any input
                    page.evaluate("document.activeElement && document.activeElement.blur()")
                    page.keyboard.press("r")
                    page.wait_for_timeout(1000)
                    wait_for_run(page)
                    shown = _risk_on_page(page)
                    if shown == _as_shown(after) or time.time() > deadline:
                        break
                assert shown == _as_shown(after), (page.url, shown, before, after)
                print(f"{page.url}: the new figure {shown} shown {time.time() - start:.1f} s after it was stored")
            browser.close()
    finally:
        for app in apps:
            app.stop()
