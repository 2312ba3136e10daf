"""AppTest of the helper pages (check-in, my wellbeing) and admin pages (data,
users & settings), role by role: what each role sees and what it must not see.

Read-only tests share the session's demo database; tests that write (a check-in,
consent, deletion, settings, clearing the demo) work on a private copy of it, so
other test modules keep seeing the demo as seeded.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from burnout import auth, checkin, seed
from burnout.instruments import load as load_instrument
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.store import schema as s
from burnout.store.writes import save_wording

from conftest import ROOT
from helpers import decode

NOT_AVAILABLE = "This page is not available for your account."
PAGES = ROOT / "burnout" / "ui"


def page(name: str, engine, username: str | None) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    if username:
        from burnout.ui.common import now

        at.session_state["user"] = auth.authenticate(engine, username, seed.DEMO_PASSWORD)
        at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Every visible text of the page, for "must not show" checks."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                 "success", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")) + " " + str(getattr(el, "label", "")))
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def helper_id(engine, username: str) -> str:
    return auth.authenticate(engine, username, seed.DEMO_PASSWORD)["helper_id"]


# --------------------------------------------------------------------------- who may open what

@pytest.mark.parametrize("name, username", [
    ("checkin", "demo-lead"), ("checkin", "demo-hr"), ("checkin", "demo-admin"),
    ("my_wellbeing", "demo-lead"), ("my_wellbeing", "demo-hr"), ("my_wellbeing", "demo-admin"),
    ("data_admin", "demo-helper1"), ("data_admin", "demo-lead"), ("data_admin", "demo-hr"),
    ("settings_admin", "demo-helper1"), ("settings_admin", "demo-lead"), ("settings_admin", "demo-hr"),
    ("checkin", None), ("data_admin", None),
])
def test_pages_refuse_other_roles(demo_db, name, username):
    at = page(name, demo_db["engine"], username)
    assert [e.value for e in at.error] == [NOT_AVAILABLE]
    assert not at.title and not at.dataframe and not at.radio and not at.get("plotly_chart")


# --------------------------------------------------------------------------- check-in

def open_checkin_form(at: AppTest) -> AppTest:
    """The demo's last week may already hold this week's check-in: then ask to check in again."""
    again = [b for b in at.button if b.label == "Check in again"]
    if again:
        again[0].click().run()
    return at


def test_checkin_form_shows_the_weekly_questions(demo_db):
    at = open_checkin_form(page("checkin", demo_db["engine"], "demo-helper1"))
    assert at.title[0].value == "Weekly check-in"
    keys = {r.key for r in at.radio}
    assert {f"q_pulse_{i}" for i in range(1, 7)} | {"q_sib_1"} <= keys
    p1 = at.radio(key="q_pulse_1")
    assert p1.label.replace("\\", "") == "I had energy left at the end of my working days."   # escaped
    assert p1.options == ["Never", "Rarely", "Sometimes", "Often", "Always"]
    assert p1.value is None                                   # no answer is pre-chosen
    assert at.radio(key="q_sib_1").options[-1] == "Completely burned out"
    page_text = texts(at)
    assert "screening pulse, not a validated measure" in page_text
    assert any(b.label == "Save my check-in" for b in at.button)
    # the helper is told plainly who sees what
    assert "team lead" in page_text


def test_checkin_shows_longer_questionnaires_when_due_with_key_and_credit(writable_db):
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper2")
    with eng.begin() as conn:   # make ProQOL and CBI due: this helper has never answered them
        sids = select(s.submissions.c.submission_id).where(s.submissions.c.helper_id == hid,
                                                           s.submissions.c.instrument.in_(["proqol5", "cbi"]))
        conn.execute(s.answers.delete().where(s.answers.c.submission_id.in_(sids)))
        conn.execute(s.scores.delete().where(s.scores.c.submission_id.in_(sids)))
        conn.execute(s.submissions.delete().where(s.submissions.c.helper_id == hid,
                                                  s.submissions.c.instrument.in_(["proqol5", "cbi"])))
    at = open_checkin_form(page("checkin", eng, "demo-helper2"))
    keys = {r.key for r in at.radio}
    # Until the official wording is loaded a licensed questionnaire is not asked (not in our
    # paraphrase either): the helper reads one plain line, the admin note stays with the admin.
    assert not any(k.startswith(("q_proqol", "q_cbi")) for k in keys)
    page_text = texts(at)
    assert "will be added here once your organisation has loaded its official wording" in page_text
    assert "Official wording not loaded" not in page_text and "short key" not in page_text
    assert "About 1 minute (7 questions)" in page_text

    for name in ("cbi", "proqol5"):
        save_wording(eng, name, {i: f"Test wording {i}" for i in load_instrument(name).item_ids})
    at = open_checkin_form(page("checkin", eng, "demo-helper2"))
    page_text = texts(at)
    # 7 + 19 + 30 questions at 8 s each: an honest estimate, not "two minutes"
    assert "About 8 minutes (56 questions)" in page_text
    assert at.get("progress")[0].proto.text.startswith("Step 1 of 7: This week")
    at.radio(key="q_pulse_1").set_value("Often").run()
    next(b for b in at.button if b.label.startswith("Next")).click().run()
    assert {r.key for r in at.radio} == {f"q_cbi_p{i}" for i in range(1, 7)}
    assert at.radio(key="q_cbi_p1").label == "Test wording cbi\\_p1"
    # CBI keeps its manual's order (Always first): the page says the direction turned
    assert any("run the other way" in w.value for w in at.warning)
    at.radio(key="q_cbi_p1").set_value("Often").run()
    next(b for b in at.button if b.label == "Save and finish later this week").click().run()
    # finishing later: a fresh session (another device) finds the answers and the step
    assert checkin.load_partial(eng, hid)["q_cbi_p1"] == "Often"
    assert len(frames.submissions_frame(eng, hid)[lambda d: d["instrument"] == "cbi"]) == 0  # never counted
    again = open_checkin_form(page("checkin", eng, "demo-helper2"))
    assert again.radio(key="q_cbi_p1").value == "Often"
    for _ in range(5):
        next(b for b in again.button if b.label.startswith("Next")).click().run()
    assert "The Center for Victims of Torture" in texts(again)               # ProQOL credit line
    next(b for b in again.button if b.label == "Save my check-in").click().run()
    assert any("check-in is saved" in x.value for x in again.success)
    subs = frames.submissions_frame(eng, hid)
    assert {"pulse", "cbi"} <= set(subs[subs["submitted_at"] == subs["submitted_at"].max()]["instrument"])
    assert checkin.load_partial(eng, hid) == {}


def test_one_draft_for_every_tab_the_newest_answer_wins(writable_db):
    """Two tabs (a phone and a desktop): an answer changed in one is what the other finds
    after a reload.  With a second, per-session draft the reloading tab brought back its own
    older answer and the newer one was lost."""
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper1")
    phone = open_checkin_form(page("checkin", eng, "demo-helper1"))
    phone.radio(key="q_pulse_1").set_value("Often").run()
    desktop = open_checkin_form(page("checkin", eng, "demo-helper1"))
    assert desktop.radio(key="q_pulse_1").value == "Often"
    desktop.radio(key="q_pulse_1").set_value("Rarely").run()
    desktop.radio(key="q_pulse_2").set_value("Always").run()
    reloaded_phone = open_checkin_form(page("checkin", eng, "demo-helper1"))
    assert reloaded_phone.radio(key="q_pulse_1").value == "Rarely"
    assert reloaded_phone.radio(key="q_pulse_2").value == "Always"
    assert {k for k in checkin.load_partial(eng, hid) if k.startswith("q_")} == {"q_pulse_1", "q_pulse_2"}
    # saving takes the draft with it in the same transaction, whichever tab saves
    next(b for b in reloaded_phone.button if b.label == "Save my check-in").click().run()
    assert any("check-in is saved" in x.value for x in reloaded_phone.success)
    assert checkin.load_partial(eng, hid) == {}
    assert not any("Welcome back" in x.value for x in page("checkin", eng, "demo-helper1").info)


def test_an_answer_on_screen_reaches_the_draft_even_without_its_callback(writable_db):
    """Streamlit skips a widget's on_change when a slow run is cut short by the next answer
    (seen in Chromium on a busy machine: answers on screen, missing after a reload).  The
    page takes each drawn widget's value, so an answer that arrives without its callback
    still reaches the draft, and "Next" leaves none behind."""
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper1")
    at = open_checkin_form(page("checkin", eng, "demo-helper1"))
    at.session_state["q_pulse_3"] = "Always"       # a value the widget holds, no callback called
    at.run()
    assert checkin.load_partial(eng, hid).get("q_pulse_3") == "Always"
    assert page("checkin", eng, "demo-helper1").radio(key="q_pulse_3").value == "Always"


def test_submitting_a_checkin_stores_it_and_shows_feedback_and_crisis_path(writable_db):
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper1")
    before = frames.submissions_frame(eng, hid)
    at = open_checkin_form(page("checkin", eng, "demo-helper1"))
    for i, label in enumerate(["Never", "Always", "Never", "Often", "Rarely", "Sometimes"], start=1):
        at.radio(key=f"q_pulse_{i}").set_value(label)
    at.radio(key="q_sib_1").set_value("Completely burned out")
    at.text_area(key="checkin_comment").input("**Too** many [cases](http://x)")
    next(b for b in at.button if b.label == "Save my check-in").click().run()
    assert not at.exception

    after = frames.submissions_frame(eng, hid)
    new = after[~after["submission_id"].isin(before["submission_id"])]
    assert sorted(new["instrument"]) == ["pulse", "sib"]
    assert set(new["source"]) == {"checkin"}
    assert new["comment"].dropna().tolist() == ["**Too** many [cases](http://x)"]
    sc = frames.scores(eng, hid).set_index("submission_id").loc[new["submission_id"]]
    assert sc["pulse_strain"].dropna().item() == pytest.approx(100.0)

    page_text = texts(at)
    assert any("check-in is saved" in x.value for x in at.success)
    assert "Your results" in page_text
    assert "Your strain score is 100, in the high range" in page_text
    assert "You rated your burnout 5 of 5" in page_text
    # severe answers: the crisis path with a crisis line, EAP and the supervisor
    assert "Please don't carry this alone" in page_text
    assert "988" in page_text and "EAP" in page_text and "supervisor" in page_text
    # the next visit sees this week's check-in as done
    again = page("checkin", eng, "demo-helper1")
    assert any("You checked in this week" in x.value for x in again.info)


def test_checkin_with_no_answers_saves_nothing(writable_db):
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper1")
    n = len(frames.submissions_frame(eng, hid))
    at = open_checkin_form(page("checkin", eng, "demo-helper1"))
    next(b for b in at.button if b.label == "Save my check-in").click().run()
    assert [e.value for e in at.error] == ["Please answer at least one question before saving."]
    assert len(frames.submissions_frame(eng, hid)) == n


# --------------------------------------------------------------------------- my wellbeing

def test_my_wellbeing_shows_own_trends_and_only_own_data(demo_db):
    eng = demo_db["engine"]
    mine, other = helper_id(eng, "demo-helper1"), helper_id(eng, "demo-helper2")
    at = page("my_wellbeing", eng, "demo-helper1")
    assert at.title[0].value == "My wellbeing"
    specs = plotly_specs(at)
    titles = [sp["layout"]["title"]["text"] for sp in specs]
    assert any(t.startswith("Weekly pulse: my scores") for t in titles)
    assert "My caseload next to my strain" in titles
    pulse_spec = next(sp for sp in specs if sp["layout"]["title"]["text"].startswith("Weekly pulse"))
    n_points = len(decode(pulse_spec["data"][0]["x"]))
    own = frames.scores(eng, mine)
    assert n_points == (own["instrument"] == "pulse").sum()
    assert pulse_spec["layout"]["yaxis"]["title"]["text"] == "Score (0–100)"
    # every chart has a table alternative
    assert len(at.expander) >= len(specs)
    page_text = texts(at)
    assert other not in page_text
    all_ids = set(frames.helper_ids(eng)) - {mine}
    assert not any(f",{h}," in page_text or f" {h} " in page_text for h in all_ids)
    # sharing choice: this demo helper shares with their lead
    toggle = at.toggle(key="consent_toggle")
    assert toggle.label == "My team lead may see my individual results" and toggle.value is True
    assert "When this is off" in page_text and "audit log" in page_text
    assert any(b.label == "Ask for my answers to be deleted" for b in at.button)
    assert "Download all my data (CSV)" in [el.proto.label for el in at.get("download_button")]
    # what the lead sees is said exactly: scores, trend, caseload — never the notes
    assert "can also open your own scores, trend and notes" not in page_text
    assert "notes stay private" in page_text.lower()


def test_my_wellbeing_shows_the_teams_action_notes(writable_db):
    from burnout.store.notes import save_action_note

    eng = writable_db["engine"]
    mine = helper_id(eng, "demo-helper1")
    team = frames.roster(eng).set_index("helper_id").loc[mine, "team"]
    save_action_note(eng, "demo-lead", team, "No time between *crisis* calls",
                             "Added a 10-minute break [link](http://x)", "2026-11-02")
    at = page("my_wellbeing", eng, "demo-helper1")
    assert "What your team changed" in [h.value for h in at.header]
    notes = [m.value for m in at.markdown if "You said" in m.value or "We did" in m.value]
    assert any("No time between \\*crisis\\* calls" in n for n in notes)          # shown escaped
    assert any("02 Nov 2026" in n and "\\[link\\]" in n for n in notes)
    assert not at.text_area and not any(b.label == "Save note" for b in at.button)   # read-only


def test_helper_pages_use_material_icons_not_emoji():
    """Emoji render as empty boxes in a browser without an emoji font."""
    import re

    emoji = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2139\u2B50\u2705]")
    for name in ("checkin", "my_wellbeing", "team", "helper_detail", "data_admin", "settings_admin"):
        text = (PAGES / f"{name}.py").read_text(encoding="utf-8")
        assert not emoji.findall(text), name


def test_consent_off_by_default_and_switching_it_is_audited(writable_db):
    eng = writable_db["engine"]
    hid2 = helper_id(eng, "demo-helper2")
    at = page("my_wellbeing", eng, "demo-helper2")
    assert at.toggle(key="consent_toggle").value is False
    at.toggle(key="consent_toggle").set_value(True).run()
    from burnout.selfservice import get_consent

    assert get_consent(eng, hid2) is True
    assert any("can now see your individual results" in x.value for x in at.success)
    with eng.connect() as conn:
        rows = conn.execute(select(s.audit_log.c.actor, s.audit_log.c.action)
                            .where(s.audit_log.c.subject_helper_id == hid2)).all()
    assert ("demo-helper2", "consent_given") in rows


def test_deletion_request_reaches_the_admin_who_completes_it(writable_db):
    eng = writable_db["engine"]
    hid = helper_id(eng, "demo-helper2")
    at = page("my_wellbeing", eng, "demo-helper2")
    button = next(b for b in at.button if b.label == "Ask for my answers to be deleted")
    assert button.disabled                                            # needs the confirmation first
    at.checkbox(key="delete_confirm").check().run()
    next(b for b in at.button if b.label == "Ask for my answers to be deleted").click().run()
    assert any("asked for your answers to be deleted" in x.value for x in at.info)

    admin = page("data_admin", eng, "demo-admin")
    tables = [df.value for df in admin.dataframe]
    pending = next(t for t in tables if "Request" in t.columns)
    assert pending["Helper"].tolist() == [hid]
    assert "request_id" not in pending.columns
    admin.checkbox(key="delete_confirm_admin").check().run()
    next(b for b in admin.button if b.label == "Complete deletion").click().run()
    assert not admin.exception
    assert frames.submissions_frame(eng, hid).empty
    assert not frames.caseload(eng, hid).empty                       # operational data stays
    assert any("Deleted" in x.value for x in admin.success)


# --------------------------------------------------------------------------- admin pages

def test_data_admin_shows_import_wording_demo_and_deletions(demo_db):
    at = page("data_admin", demo_db["engine"], "demo-admin")
    assert at.title[0].value == "Data"
    assert any("demo organisation" in w.value for w in at.warning)
    assert [t.label for t in at.tabs] == ["Import files", "Form-tool export", "Instrument wording", "Demo data",
                                          "Deletion requests"]
    uploaders = [el.proto.label for el in at.get("file_uploader")]
    assert {"Roster", "Surveys", "Caseload", "Form-tool export", "Wording file"} <= set(uploaders)
    wording = next(df.value for df in at.dataframe if "wording loaded" in df.value.columns)
    assert set(wording["wording loaded"]) == {"no"}
    clear = next(b for b in at.button if b.label == "Clear demo data")
    assert clear.disabled


def test_clear_demo_data_needs_confirmation_and_leaves_a_real_admin(writable_db):
    eng = writable_db["engine"]
    at = page("data_admin", eng, "demo-admin")
    at.checkbox(key="clear_confirm").check().run()
    # only demo admins exist: clearing needs the organisation's own admin first
    assert next(b for b in at.button if b.label == "Clear demo data").disabled
    at.text_input(key="clear_new_admin").input("ops.admin").run()
    next(b for b in at.button if b.label == "Clear demo data").click().run()
    assert any("Demo data cleared" in x.value for x in at.success)
    assert not seed.is_demo(eng)
    assert frames.helper_ids(eng) == set()
    [link] = [c.value for c in at.code]
    assert "/?invite=" in link
    assert auth.get_user(eng, "demo-admin") is None
    assert auth.get_user(eng, "ops.admin")["role"] == "admin" and auth.has_real_admin(eng)
    # the demo admin's session ends at its next interaction
    at.run()
    assert [e.value for e in at.error] == [NOT_AVAILABLE]
    # the link lets the new admin set their own password, once
    token = link.split("invite=", 1)[1]
    auth.accept_invite(eng, token, "tidal-crane-orbit-42")
    assert auth.authenticate(eng, "ops.admin", "tidal-crane-orbit-42")["role"] == "admin"


def test_import_into_the_demo_is_refused_on_the_data_page(writable_db, demo_files):
    from burnout import ingest
    from burnout.errors import InputError

    at = page("data_admin", writable_db["engine"], "demo-admin")
    assert any("Clear it before importing your own data" in w.value for w in at.warning)
    with pytest.raises(InputError, match="demo organisation"):
        ingest.import_files(writable_db["engine"], roster=str(demo_files["roster"]))


def test_settings_admin_lists_users_and_saves_settings(writable_db):
    eng = writable_db["engine"]
    at = page("settings_admin", eng, "demo-admin")
    assert at.title[0].value == "Users & settings"
    users = next(df.value for df in at.dataframe if "Username" in df.value.columns)
    assert {"demo-admin", "demo-hr", "demo-lead", "demo-helper1", "demo-helper2"} <= set(users["Username"])
    assert "password_hash" not in users.columns
    # plain headers, no internal ids, blanks instead of None
    assert list(users.columns) == ["Username", "Role", "Roster entry", "Team", "Can sign in", "Demo account",
                                   "Created"]
    assert not users.isna().any().any() and "None" not in users.astype(str).to_numpy()
    assert "Team lead" in set(users["Role"])
    # the absolute cost per departure says its currency
    assert any("cost per departure, $" in str(c) for df in at.dataframe for c in df.value.columns)
    mg = at.number_input(key="set_min_group")
    assert mg.min == 5 and mg.value == 5          # never below 5, whatever is typed (DESIGN §7)
    mg.set_value(7)
    next(b for b in at.button if b.label == "Save").click().run()    # the privacy form's button
    assert not at.exception
    assert saved_settings.load(eng).min_group_size == 7
    assert any("Privacy and session settings saved" in x.value for x in at.success)
    at.number_input(key="set_every_cbi").set_value(2)
    [b for b in at.button if b.label == "Save"][2].click().run()     # the schedule form's button
    assert saved_settings.load(eng).checkin_schedule["cbi"] == 2
    # sign-in protection and import limits are settings too, saved through the same rules
    at.number_input(key="set_signin_lock").set_value(6)
    [b for b in at.button if b.label == "Save"][1].click().run()
    at.number_input(key="set_max_cases").set_value(80)
    [b for b in at.button if b.label == "Save"][5].click().run()
    assert not at.exception
    st_ = saved_settings.load(eng)
    assert st_.signin_lock_failures == 6 and st_.import_max_active_cases == 80
    # each team's word for the people it serves is listed, from the team's kind
    words = next(df.value for df in at.dataframe if "Word for the people served" in df.value.columns)
    assert {"family", "caller", "patient", "student"} & set(words["Word for the people served"])


def test_every_settings_form_saves_its_current_values(writable_db):
    eng = writable_db["engine"]
    at = page("settings_admin", eng, "demo-admin")
    n_forms = len([b for b in at.button if b.label == "Save"])
    assert n_forms == 8
    for i in range(n_forms):
        [b for b in at.button if b.label == "Save"][i].click().run()
        assert not at.exception
        assert not at.error, [e.value for e in at.error]
        assert at.success and "saved" in at.success[0].value
    st_ = saved_settings.load(eng)
    assert st_.caseload_standards["nurse"] == 25
    assert st_.cost_per_departure == {}
    assert st_.resources[0]["title"] == "Talk it through with your supervisor"
    assert any("988" in r["detail"] for r in st_.crisis_resources)


def test_settings_admin_creates_a_user_with_an_invite_link(writable_db):
    eng = writable_db["engine"]
    hid = sorted(frames.helper_ids(eng))[0]
    at = page("settings_admin", eng, "demo-admin")
    assert not [t for t in at.text_input if t.key == "new_password"]     # the admin never sets a password
    at.text_input(key="new_username").input("ana.worker")
    at.selectbox(key="new_role").set_value("helper")
    at.selectbox(key="new_helper").set_value(hid)
    next(b for b in at.button if b.label == "Create user and invite link").click().run()
    assert any("ana\\.worker created" in x.value for x in at.success)      # user text shown escaped
    [link] = [c.value for c in at.code]
    assert auth.authenticate(eng, "ana.worker", "") is None
    users = next(df.value for df in at.dataframe if "Username" in df.value.columns)
    assert users.set_index("Username").loc["ana.worker", "Can sign in"] == "invited"
    user = auth.accept_invite(eng, link.split("invite=", 1)[1], "maple-harbour-violet")
    assert user["role"] == "helper" and user["helper_id"] == hid
    assert auth.authenticate(eng, "ana.worker", "maple-harbour-violet")["username"] == "ana.worker"
    # an admin reset ends the old password and issues a new link
    at.selectbox(key="manage_user").set_value("ana.worker").run()
    next(b for b in at.button if b.label == "Reset password (new invite link)").click().run()
    assert auth.authenticate(eng, "ana.worker", "maple-harbour-violet") is None
    assert len(at.code) == 1 and at.code[0].value != link


# --------------------------------------------------------------------------- the dashboard itself

def test_dashboard_sign_in_then_helper_lands_on_checkin(demo_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Helper wellbeing"
    demo_list = next(e for e in at.expander if e.label == "Demo accounts")
    shown = "\n".join([m.value for m in demo_list.markdown] + [df.value.to_csv() for df in demo_list.dataframe])
    for name in ("demo-helper1", "demo-helper2", "demo-lead", "demo-hr", "demo-admin"):
        assert name in shown
    at.text_input(key="login_user").input("demo-helper1")
    at.text_input(key="login_password").input(seed.DEMO_PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception
    assert at.title[0].value == "Weekly check-in"
    assert NOT_AVAILABLE not in [e.value for e in at.error]


# --------------------------------------------------------------------------- upload errors

def test_upload_problems_are_one_sorted_row_each():
    """The admin reads "Nothing was stored. 2 problems in surveys.csv:" and then one line per
    problem sorted by row — not a run-on message that repeats itself."""
    from burnout import ingest
    from burnout.errors import InputError
    from burnout.ui.common import problem_rows

    bad = (b"helper_id,submitted_at,instrument,sib_1,pulse_1,pulse_2,pulse_3,pulse_4,pulse_5,pulse_6\n"
           b"H1,2026-11-04T16:39:00,sib,2,,,,,,\n"
           b"H1,2026-11-04T16:40:00,pulse,,2,2,7,2,2,2\n"
           b"H1,2026-11-05T16:39:00,sib,9,,,,,,\n")
    with pytest.raises(InputError) as err:
        ingest.prepare(surveys=bad, names={"surveys": "surveys.csv"}, known_helpers={"H1"})
    table = problem_rows(err.value)
    assert list(table.columns) == ["row", "column", "problem"]
    assert table["row"].tolist() == sorted(table["row"].tolist())
    assert table[["row", "column"]].values.tolist() == [[3, "pulse_3"], [4, "sib_1"]]
    assert all("problems in all" not in p and not p.startswith("row") for p in table["problem"])
    single = problem_rows(InputError("the file is empty", file="x.csv"))
    assert single["problem"].tolist() == ["the file is empty"] and pd_isna(single["row"].iloc[0])


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_checkin_page_tells_the_helper_the_group_size_actually_applied(writable_db):
    """An older version saved a minimum group of 3; the analysis applies 5, and so does the page."""
    import json

    from sqlalchemy import delete, insert

    from burnout.store.schema import settings as settings_t

    eng = writable_db["engine"]
    with eng.begin() as conn:
        conn.execute(delete(settings_t).where(settings_t.c.key.in_(["min_group_size", "min_comment_group"])))
        conn.execute(insert(settings_t), [{"key": "min_group_size", "value": json.dumps(3)},
                                          {"key": "min_comment_group", "value": json.dumps(14)}])
    at = page("checkin", eng, "demo-helper2")
    text = " ".join(c.value for c in at.caption)
    assert "at least 5 people" in text and "groups of 5 or more" in text and "at least 14 people" in text
    assert "at least 3 people" not in text
