"""Each user's weekly job, end to end in Chromium, at 390 px (phone) and 1400 px.

Screenshots go to test-artifacts/screenshots/role_*.png for a person to look at.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func as sa_func
from sqlalchemy import select

from burnout import auth, checkin
from burnout.instruments import load as load_instrument
from burnout.store import get_engine
from burnout.domain.time import week_start
from burnout.store import schema as s
from burnout.store.writes import save_wording

from browser import open_checkin_form
from test_browser import PHONE_UA, WAIT, app, browser, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
SIZES = {"phone": {"width": 390, "height": 844}, "wide": {"width": 1400, "height": 900}}


def _engine(app):
    return get_engine(f"sqlite:///{app.log.name.rsplit('/', 1)[0]}/browser.db")


def _make_long_questionnaires_due(app, username: str) -> None:
    """Load test wording (not the official one), forget the helper's CBI and ProQOL and
    anything checked in or begun this week, so the walk starts from a fresh week whatever
    other browser tests did with the same demo helper."""
    eng = _engine(app)
    for name in ("cbi", "proqol5"):
        save_wording(eng, name, {i: f"Test wording for {i}" for i in load_instrument(name).item_ids})
    hid = auth.get_user(eng, username)["helper_id"]
    monday = dt.datetime.combine(week_start(dt.date.today()), dt.time())
    forget = (s.submissions.c.helper_id == hid) & (s.submissions.c.instrument.in_(["proqol5", "cbi"])
                                                   | (s.submissions.c.submitted_at >= monday))
    with eng.begin() as conn:
        sids = select(s.submissions.c.submission_id).where(forget)
        conn.execute(s.answers.delete().where(s.answers.c.submission_id.in_(sids)))
        conn.execute(s.scores.delete().where(s.scores.c.submission_id.in_(sids)))
        conn.execute(s.submissions.delete().where(forget))
        conn.execute(s.checkin_drafts.delete().where(s.checkin_drafts.c.helper_id == hid))


def _answer_visible(page, pick: int = 2) -> int:
    groups = page.locator('[data-testid="stRadio"]')
    n = 0
    for i in range(groups.count()):
        g = groups.nth(i)
        if g.is_visible():
            labels = g.locator("label").filter(has_text=re.compile(r"\w"))
            labels.nth(min(pick, labels.count() - 1)).click()
            n += 1
    page.wait_for_timeout(600)
    return n


@pytest.mark.parametrize("size", ["phone", "wide"])
def test_helper_weekly_checkin_in_steps_finish_later_and_call(browser, app, size):  # noqa: F811
    user = "demo-helper2" if size == "phone" else "demo-helper1"
    page = sign_in(browser, app, user, SIZES[size])
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    _make_long_questionnaires_due(app, user)
    page.reload()
    open_checkin_form(page)
    page.get_by_text(re.compile(r"About \d+ minutes \(56 questions\)")).wait_for()
    page.get_by_text("Step 1 of 7").wait_for()
    shot(page, f"role_helper_{size}_1_weekly")
    assert _answer_visible(page) == 7
    # the single item last option: "Completely burned out" opens the crisis path later
    page.locator('[data-testid="stRadio"]').nth(6).locator("label").filter(has_text="Completely burned out").click()
    page.wait_for_timeout(600)
    page.get_by_role("button", name=re.compile("^Next")).click()
    page.get_by_text("run the other way").wait_for()
    shot(page, f"role_helper_{size}_2_cbi_direction")
    _answer_visible(page)
    page.get_by_role("button", name="Save and finish later this week").click()
    page.get_by_text("Kept for later").wait_for()
    # later the same week, a fresh tab: the answers and the step are back
    page.reload()
    page.get_by_text("Step 2 of 7").wait_for()
    assert _checked(page, 6, at_least=True) >= 6
    for _ in range(5):
        page.get_by_role("button", name=re.compile("^Next")).click()
        page.wait_for_timeout(1200)
    page.get_by_text("Step 7 of 7").wait_for()
    shot(page, f"role_helper_{size}_3_last_step")
    page.get_by_role("button", name="Save my check-in").click()
    page.get_by_text("Your check-in is saved").wait_for()
    page.get_by_text("Please don't carry this alone").wait_for()
    call = page.locator('a[href^="tel:"]')
    call.first.wait_for()
    assert call.first.get_attribute("href") == "tel:988"
    call.first.scroll_into_view_if_needed()
    shot(page, f"role_helper_{size}_4_feedback")
    page.close()


def _checked(page, want: int, at_least: bool = False) -> int:
    """How many answers the page shows chosen, once it shows ``want`` (or at least ``want``)
    within 30 s: after a reload the step's title is drawn before its questions are."""
    boxes = page.locator('[data-testid="stRadio"] input:checked')
    for _ in range(120):
        n = boxes.count()
        if n == want or (at_least and n >= want):
            break
        page.wait_for_timeout(250)
    return n


def _draft_keys(app, username: str) -> set[str]:
    hid = auth.get_user(_engine(app), username)["helper_id"]
    return {k for k in checkin.load_partial(_engine(app), hid) if k.startswith("q_")}


def _wait_for_draft(page, app, username: str, n: int) -> None:
    """Until the server holds n answers in the draft (each answer is written as it is given)."""
    for _ in range(60):
        if len(_draft_keys(app, username)) >= n:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the draft holds {len(_draft_keys(app, username))} answers, expected {n}")


def test_check_in_again_and_reload_mid_way_keeps_every_answer(browser, app):  # noqa: F811
    user = "demo-helper1"
    page = sign_in(browser, app, user, SIZES["wide"])
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    _make_long_questionnaires_due(app, user)
    eng = _engine(app)
    hid = auth.get_user(eng, user)["helper_id"]
    # the weekly part is already in for this week, so the page offers "Check in again"
    checkin.save_checkin(eng, hid, {"pulse": {f"pulse_{i}": 3 for i in range(1, 7)}}, actor=user)
    page.reload()
    page.get_by_role("button", name="Check in again").click()
    page.get_by_text("Step 1 of 7").wait_for()
    first = _answer_visible(page)
    _wait_for_draft(page, app, user, first)
    page.get_by_role("button", name=re.compile("^Next")).click()
    page.get_by_text("Step 2 of 7").wait_for()
    page.wait_for_timeout(800)
    second = _answer_visible(page, pick=1)
    _wait_for_draft(page, app, user, first + second)
    # mid-way, without "finish later": a reload (or a dropped connection) loses nothing
    page.reload()
    page.get_by_text("Step 2 of 7").wait_for()
    page.wait_for_timeout(1000)
    shot(page, "role_helper_wide_reloaded_mid_way")
    assert _checked(page, second) == second
    page.get_by_role("button", name="Back").click()
    page.get_by_text("Step 1 of 7").wait_for()
    page.wait_for_timeout(1000)
    assert _checked(page, first) == first
    for _ in range(6):
        page.get_by_role("button", name=re.compile("^Next")).click()
        page.wait_for_timeout(1200)
    page.get_by_text("Step 7 of 7").wait_for()
    page.get_by_role("button", name="Save my check-in").click()
    page.get_by_text("Your check-in is saved").wait_for()
    # every answer given before the reload was counted, and the draft went with the save
    with eng.connect() as conn:
        when = conn.execute(select(sa_func.max(s.submissions.c.submitted_at))
                            .where(s.submissions.c.helper_id == hid)).scalar()
        saved = select(s.submissions.c.submission_id).where(s.submissions.c.helper_id == hid,
                                                            s.submissions.c.submitted_at == when)
        n_saved = conn.execute(select(sa_func.count()).select_from(s.answers)
                               .where(s.answers.c.submission_id.in_(saved))).scalar()
    assert n_saved == first + second
    assert _draft_keys(app, user) == set()
    page.close()


def _sidebar_open(page) -> bool:
    """The sidebar covers part of the page (Streamlit 1.67 has no aria-expanded on it)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    box = sidebar.bounding_box() if sidebar.count() else None
    return bool(box) and box["x"] + box["width"] > 20 and box["width"] > 20


def _open_sidebar(page) -> None:
    if not _sidebar_open(page):
        page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button') \
            .first.click()
    page.wait_for_timeout(800)
    assert _sidebar_open(page)


@pytest.mark.parametrize("user, start, go_to, heading", [
    ("demo-helper1", "Weekly check-in", "My wellbeing", "My wellbeing"),
    ("demo-hr", "Organisation review", "My account", "My account"),
    ("demo-hr", "My account", "Organisation review", "Organisation review"),
])
def test_phone_sidebar_closes_after_choosing_a_page(browser, app, user, start, go_to, heading):  # noqa: F811
    page = sign_in(browser, app, user, SIZES["phone"], user_agent=PHONE_UA)
    if start != "Weekly check-in" and start != "Organisation review":
        _open_sidebar(page)
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=start).first.click()
    page.get_by_role("heading", name=start).wait_for()
    page.wait_for_timeout(1200)
    assert not _sidebar_open(page), "the sidebar is open over the page on arrival"
    _open_sidebar(page)
    slug = re.sub(r"\W+", "_", go_to.lower())
    shot(page, f"role_phone_sidebar_open_{slug}")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=go_to).first.click()
    page.get_by_role("heading", name=heading).wait_for()
    page.wait_for_timeout(1500)
    shot(page, f"role_phone_after_navigation_{slug}")
    assert not _sidebar_open(page), "the sidebar stays open over the page just chosen"
    # the page itself is in view, not behind the sidebar
    box = page.get_by_role("heading", name=heading).first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"]["width"] + 1
    page.close()


@pytest.mark.parametrize("size", ["phone", "wide"])
def test_lead_sees_who_may_need_a_conversation(browser, app, size):  # noqa: F811
    page = sign_in(browser, app, "demo-lead", SIZES[size])
    page.get_by_role("heading", level=1, name=re.compile(r"^Team ")).wait_for()
    page.get_by_role("heading", name="Who may need a conversation").wait_for()
    page.get_by_text(re.compile(r"\d+ of \d+ helpers in your team share")).wait_for()
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    page.wait_for_timeout(1500)
    shot(page, f"role_lead_{size}_1_worklist")
    page.get_by_role("heading", name="Week by week").scroll_into_view_if_needed()
    shot(page, f"role_lead_{size}_2_heatmap")
    page.get_by_role("heading", name=re.compile("Action notes")).scroll_into_view_if_needed()
    shot(page, f"role_lead_{size}_3_actions")
    # the demo's done action shows whether it helped
    follow = page.get_by_text(re.compile(r"caseload \d+ % → \d+ %.* over \d+ weeks")).first
    follow.scroll_into_view_if_needed()
    shot(page, f"role_lead_{size}_4_action_follow_up")
    page.close()


@pytest.mark.parametrize("size", ["phone", "wide"])
def test_hr_sees_levers_and_clients_by_kind(browser, app, size):  # noqa: F811
    page = sign_in(browser, app, "demo-hr", SIZES[size])
    page.get_by_text("Each lever alone, then together").wait_for()
    page.get_by_text("Each lever alone, then together").scroll_into_view_if_needed()
    shot(page, f"role_hr_{size}_levers")
    page.close()


@pytest.mark.parametrize("size", ["phone", "wide"])
def test_admin_is_guided_to_load_official_wording(browser, app, size):  # noqa: F811
    page = sign_in(browser, app, "demo-admin", SIZES[size])
    page.get_by_role("tab", name="Instrument wording").click()
    page.get_by_text("Load official wording, step by step").wait_for()
    shot(page, f"role_admin_{size}_wording")
    page.close()
