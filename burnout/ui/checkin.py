"""Weekly check-in (helper): a short form, then immediate feedback, resources and,
when answers are severe, a crisis path.  Phone-friendly: the weekly part is one short
page; longer questionnaires, when due, follow in pages of a few questions with
progress and an honest time estimate, and can be finished later in the week."""
from __future__ import annotations

import logging

import streamlit as st

from burnout import checkin, selfservice
from burnout.errors import InputError
from burnout.instruments import load
from burnout.store.retry import DATABASE_ERRORS
from burnout.ui import common

log = logging.getLogger("burnout.ui")

user = common.require_role("helper")
engine = common.engine()
helper_id = user.get("helper_id")

st.title("Weekly check-in")
if not helper_id:
    st.warning("Your account is not linked to a helper in the roster yet, so there is nothing to check in; "
               "your admin can link it.")
    st.stop()

settings = common.settings()
schedule = settings.checkin_schedule
shared = selfservice.get_consent(engine, helper_id)
ABOUT_SHARING = ("Your answers are yours: "
                 + ("you have chosen to let your team lead see your individual results (change this in My wellbeing)."
                    if shared else
                    "your team lead sees only group figures of at least "
                    f"{settings.min_group_size} people, never your individual answers "
                    "(you can change this in My wellbeing)."))


def _resource(r: dict) -> None:
    """One resource: name, what it is, hours, and a tap-to-call and a link when known."""
    st.markdown(f"**{checkin.escape_md(r['title'])}**  \n{checkin.escape_md(r.get('detail'))}")
    if r.get("because"):
        st.caption(checkin.escape_md(r["because"]))
    if r.get("hours"):
        st.caption(f":material/schedule: {checkin.escape_md(r['hours'])}")
    if r.get("phone") or r.get("url"):
        cols = st.columns(2)
        # phone and url are validated by the settings (digits only; http(s) only)
        if r.get("phone"):
            cols[0].link_button(f"Call {r['phone']}", "tel:" + "".join(c for c in r["phone"] if c in "+0123456789"),
                                icon=":material/call:", width="stretch")
        if r.get("url"):
            cols[1].link_button("Open website", r["url"], icon=":material/open_in_new:", width="stretch")


def _show_crisis(fb: dict) -> None:
    """Shown first, before any score, when answers are severe."""
    if not fb.get("severe"):
        return
    with st.container(border=True):
        st.subheader("Please don't carry this alone")
        st.warning("Some of your answers suggest things are very hard right now. "
                   "That is a signal about what you are carrying, not a failing on your part.", icon=":material/favorite:")
        for reason in fb["severe_reasons"]:
            st.markdown(f"- {checkin.escape_md(reason)}")
        for r in checkin.crisis_resources(settings):
            _resource(r)


def _show_resources(fb: dict) -> None:
    with st.expander("What might help", expanded=not fb.get("severe")):
        for r in checkin.resources(settings, fb):
            _resource(r)


def _instrument_card(name: str, entry: dict) -> None:
    inst = load(name)
    with st.container(border=True):
        st.markdown(f"**{inst.title}** · {entry['submitted_at']:%d %b %Y}")
        if inst.label:
            st.caption(f"A {inst.label}.")
        cols = st.columns(max(1, len(entry["scores"])))
        for col, s in zip(cols, entry["scores"].values()):
            wide = s["max"] - s["min"] >= 20
            delta = None
            if s["change"] is not None:
                delta = round(s["change"]) if wide or float(s["change"]).is_integer() else round(s["change"], 1)
            col.metric(s["name"].capitalize(), f"{s['value']:.0f}" if wide else f"{s['value']:.0f} of {s['max']:.0f}",
                       delta=delta, delta_color="inverse" if s["better"] == "lower" else "normal",
                       help=f"Band: {s['band']}" if s["band"] else None)
        for s in entry["scores"].values():
            st.markdown(checkin.escape_md(s["sentence"]))
            if s["hint"]:
                st.caption(s["hint"])


def _show_feedback(fb: dict) -> None:
    if not fb["instruments"]:
        st.info("Your results will appear here after your first check-in.")
        return
    st.subheader("Your results")
    recent = {k: v for k, v in fb["instruments"].items() if v["recent"]}
    earlier = {k: v for k, v in fb["instruments"].items() if not v["recent"]}
    for name, entry in recent.items():
        _instrument_card(name, entry)
    if earlier:
        with st.expander("Your latest longer questionnaires", expanded=not recent):
            for name, entry in earlier.items():
                _instrument_card(name, entry)
    st.caption("Bands are screening ranges, not a diagnosis. Changes of a few points from week to week are normal. "
               "Your full history is in My wellbeing.")


last = checkin.last_submissions(engine, helper_id)
due = checkin.due_instruments(engine, helper_id, common.now().date(), schedule)
just_saved = st.session_state.pop("checkin_saved", None)

if just_saved:
    st.success("Thank you. Your check-in is saved.", icon=":material/check_circle:")
    fb = checkin.feedback(engine, helper_id)
    _show_crisis(fb)
    _show_feedback(fb)
    _show_resources(fb)
    st.stop()

# Answers live in one dict of this session (widgets of other steps are not drawn, and
# Streamlit forgets the state of widgets it does not draw).  Each answer is also kept in
# this week's draft (checkin.save_partial), the one copy a reload, another tab or another
# device reads back, so the longer questionnaires can be finished later; never counted.
ANSWERS = "checkin_answers"
UNSAVED = "checkin_unsaved"      # answers taken that the draft does not hold yet
if ANSWERS not in st.session_state:
    st.session_state[ANSWERS] = checkin.load_partial(engine, helper_id)
answers_so_far: dict = st.session_state[ANSWERS]
has_draft = any(k.startswith("q_") for k in answers_so_far) or bool(answers_so_far.get("checkin_comment"))

weekly_done = "pulse" in last and "pulse" not in due
if weekly_done and not st.session_state.get("checkin_again") and not has_draft:
    st.caption(ABOUT_SHARING)
    st.info(f"You checked in this week (on {last['pulse']:%A %d %B}). Thank you. "
            "You can check in again if your week has changed.")
    if st.button("Check in again", key="checkin_again_btn"):
        st.session_state["checkin_again"] = True
        st.rerun()
    fb = checkin.feedback(engine, helper_id)
    _show_crisis(fb)
    _show_feedback(fb)
    _show_resources(fb)
    st.stop()

shown, held = checkin.askable(engine, due)
steps = checkin.steps(shown)
n_items = sum(s_["n"] for s_ in steps)
step_no = min(int(st.session_state.get("checkin_step", answers_so_far.get("checkin_step", 0)) or 0), len(steps) - 1)
step = steps[step_no]
total_min = checkin.minutes_for(n_items)
st.caption(f"About {total_min} minute{'s' if total_min != 1 else ''} ({n_items} questions). " + ABOUT_SHARING)
if has_draft and step_no == 0 and not st.session_state.get("checkin_touched"):
    st.info("Welcome back: the answers you gave earlier this week are filled in below.", icon=":material/restore:")
for name in held:
    st.caption(f":material/schedule: The {load(name).short_title} questionnaire will be added here once your "
               "organisation has loaded its official wording; nothing is needed from you.")


def _persist() -> bool:
    """Keep the answers so far in this week's draft (save_checkin removes it).  Best
    effort: it runs on every answer, and a database away for a moment must not turn an
    answer into an error; the answers stay in this tab and the next answer writes them
    all again."""
    try:
        checkin.save_partial(engine, helper_id, st.session_state[ANSWERS])
        st.session_state[UNSAVED] = False
        return True
    except DATABASE_ERRORS:
        log.warning("could not store the check-in draft; kept in this tab only", exc_info=True)
        return False


def _note(key: str, value) -> bool:
    """Take a drawn widget's value into the answers; True when it changed.

    The value the widget returns on this run is the truth.  An on_change callback is not:
    when answers come quickly and a run is slow, Streamlit starts the next run before the
    last one drew every widget, forgets those widgets, and never calls their callbacks, so
    an answer on screen never reached the draft."""
    answers = st.session_state[ANSWERS]
    if value in (None, ""):
        if answers.pop(key, None) is None:
            return False
    elif answers.get(key) == value:
        return False
    else:
        answers[key] = value
    # until the draft is written (a run can be stopped between here and there)
    st.session_state[UNSAVED] = True
    return True


def _go(to: int) -> None:
    """Move to another step: after this step's answers were taken (so none is left behind)."""
    st.session_state["checkin_step"] = to
    st.session_state["checkin_touched"] = True
    st.session_state[ANSWERS]["checkin_step"] = to
    _persist()
    st.rerun()


def _questions(name: str, ids: list[str]) -> bool:
    inst = load(name)
    items = {it["item_id"]: it for it in checkin.item_texts(engine, name, helper_id)[0]}
    if name == "pulse":
        st.caption(f"{inst.intro} This weekly pulse is a {inst.label}.")
    elif name == "sib":
        st.markdown("**Overall, how would you rate your level of burnout?**")
        st.caption("The answer options are the project's short summary of this non-proprietary item.")
    elif ids[0] == inst.item_ids[0]:
        st.caption(f"Due every {schedule.get(name)} weeks · {len(inst.item_ids)} questions · "
                   f"recall: {inst.recall}. You can leave it for next week.")
    changed = False
    for item_id in ids:
        it = items[item_id]
        key = f"q_{item_id}"
        labels = [lab for lab, _ in it["options"]]
        if key not in st.session_state and answers_so_far.get(key) in labels:
            st.session_state[key] = answers_so_far[key]
        # wording can come from an uploaded file: shown as typed, never interpreted as markdown
        changed |= _note(key, st.radio(checkin.escape_md(it["text"]), labels, index=None, horizontal=True,
                                       key=key))
    if name == "proqol5" and ids[-1] == inst.item_ids[-1]:
        st.caption(inst.credit)
    return changed


if len(steps) > 1:
    st.progress((step_no + 1) / len(steps),
                text=f"Step {step_no + 1} of {len(steps)}: {step['title']} · {step['n']} questions, "
                     f"about {step['minutes']} min")
st.subheader(step["title"])
if step["turns"]:
    st.warning(f"On this page the answers run the other way, {step['direction']}, as in the "
               "questionnaire's own manual.", icon=":material/swap_horiz:")
elif len(steps) > 1:
    st.caption(f"Answers run {step['direction']}.")
changed = False
for name, ids in step["instruments"].items():
    changed |= _questions(name, ids)

last_step = step_no == len(steps) - 1
if last_step:
    if "checkin_comment" not in st.session_state and answers_so_far.get("checkin_comment"):
        st.session_state["checkin_comment"] = answers_so_far["checkin_comment"]
    changed |= _note("checkin_comment", st.text_area(
        "Anything you want to add? (optional)", key="checkin_comment", max_chars=2000,
        help="Only you see this note. Your team lead never sees it, even if you share your individual "
             "results with them (they then see your scores, trend and caseload)."))
    st.caption(settings.group_size_note())
if changed:
    st.session_state["checkin_touched"] = True
if st.session_state.get(UNSAVED):
    _persist()

submitted = False
if last_step:
    submitted = st.button("Save my check-in", type="primary", width="stretch", key="checkin_save")
else:
    nxt = steps[step_no + 1]
    if st.button(f"Next: {nxt['title']}", type="primary", width="stretch", key="checkin_next"):
        _go(step_no + 1)
if step_no > 0 and st.button("Back", width="stretch", key="checkin_back"):
    _go(step_no - 1)
if len(steps) > 1:
    if st.button("Save and finish later this week", width="stretch", key="checkin_later"):
        if not _persist():
            st.error("Your answers could not be kept for later just now; they are still here, so please "
                     "try again in a minute.")
        else:
                st.success("Kept for later. Come back any time this week to finish; nothing is counted until you "
                       "save your check-in.", icon=":material/bookmark:")
    if not last_step:
        submitted = st.button("Save what I have answered now", width="stretch", key="checkin_save_now",
                              help="Saves your answers so far. Questionnaires you have not finished stay due.")
st.caption("Your answers are kept as you go, so a reload does not lose them; they are counted only when "
           "you save your check-in.")

if submitted:
    answers: dict[str, dict[str, float]] = {}
    for name in shown:
        inst = load(name)
        values = {}
        for item in inst.items:
            label = answers_so_far.get(f"q_{item.id}")
            if label is not None:
                values[item.id] = dict(inst.scales[item.scale].options)[label]
        answers[name] = values
    saved = False
    try:
        # a database failure shows one plain sentence and leaves the answers on the page
        with common.db_errors(common.CHECKIN_NOT_SAVED):
            checkin.save_checkin(engine, helper_id, answers, comment=answers_so_far.get("checkin_comment"),
                                 actor=user["username"])
            saved = True
    except InputError as exc:
        st.error(checkin.plain_error(exc))
    if saved:
        for key in list(st.session_state):
            if isinstance(key, str) and (key.startswith("q_") or key in (
                    "checkin_comment", "checkin_again", "checkin_step", "checkin_touched", ANSWERS, UNSAVED)):
                st.session_state.pop(key, None)
        st.session_state["checkin_saved"] = True
        st.rerun()
