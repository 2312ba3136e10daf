"""Text is text in the browser (issue 10, point 5): a helper's name and a lead's action
note carrying links, HTML and markdown reach the real team page in Chromium as plain
characters — no link, no image, no styling, nothing fetched from the named host."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from browser import CHROMIUM_ARGS, App, require_chromium
from burnout.store import get_engine
from burnout.store import schema as sch

pytestmark = pytest.mark.browser
WAIT = 90_000
HOST = "evil.example"
NAME = f'<a href="http://{HOST}/n">Ann</a> <img src="http://{HOST}/p.png"> http://{HOST}/bare'
NOTE = f"[click](http://{HOST}/md) ![t](http://{HOST}/pixel.png) <b>bold</b> www.{HOST}/x"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    chromium = require_chromium()
    tmp = tmp_path_factory.mktemp("browser_text")
    server = App(tmp)
    server.chromium = chromium
    server.db = tmp / "browser.db"
    yield server
    server.stop()


def test_names_and_notes_with_links_stay_text(app):
    from playwright.sync_api import sync_playwright

    fetched = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=app.chromium, args=CHROMIUM_ARGS)
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT)
        page.on("request", lambda r: fetched.append(r.url) if HOST in r.url else None)
        page.goto(app.url)
        page.get_by_label("Username").fill("demo-lead")
        page.get_by_label("Password", exact=True).fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", level=1, name=re.compile(r"^Team ")).wait_for()
        # the demo is seeded now: give a consenting helper of the lead's team a hostile name
        engine = get_engine(f"sqlite:///{app.db}")
        with engine.begin() as conn:
            team = conn.execute(select(sch.users.c.team_id).where(sch.users.c.username == "demo-lead")).scalar_one()
            hid = conn.execute(select(sch.helpers.c.helper_id).where(
                (sch.helpers.c.team_id == team) & sch.helpers.c.consent_lead_view.is_(True))).scalars().first()
            assert hid, "the demo lead's team has a consenting helper"
            conn.execute(update(sch.helpers).where(sch.helpers.c.helper_id == hid).values(name=NAME))
        page.reload()
        page.get_by_role("heading", level=1, name=re.compile(r"^Team ")).wait_for()
        page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
        # an action note with markdown, a bare host and HTML
        page.get_by_text("Add or update a note", exact=True).click()
        page.get_by_label("You said (what the team raised)").fill(NOTE)
        page.get_by_label("Owner").fill(f"[boss](http://{HOST}/o)")
        page.get_by_role("button", name="Save note").click()
        page.get_by_text("evil.example/md", exact=False).first.wait_for()
        page.wait_for_timeout(1500)
        html = page.content()
        b.close()
    assert HOST in html                           # the text is on the page ...
    for tag in ("a", "img", "image"):             # ... and never as a link, an image or an svg link
        assert not re.search(rf"<{tag}\b[^>]*(href|src)=\"[^\"]*{re.escape(HOST)}", html), tag
    assert "<b>bold</b>" not in html
    assert fetched == []                          # nothing was requested from the named host
