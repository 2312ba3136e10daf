"""Weekly check-in (helper): a short form, then immediate feedback, resources and,
when answers are severe, a crisis path.  Phone-friendly and under two minutes."""
from __future__ import annotations

import streamlit as st

from burnout import checkin, selfservice
from burnout.errors import InputError
from burnout.instruments import load
from burnout.ui import common

user = common.require_role("helper")
engine = common.engine()
helper_id = user.get("helper_id")

st.title("Weekly check-in")
if not helper_id:
    st.warning("Your account is not linked to a helper in the roster yet, so there is nothing to check in. "
               "Your admin can link it.")
    st.stop()

settings = common.settings()
schedule = settings.checkin_schedule
shared = selfservice.get_consent(engine, helper_id)
st.caption("About two minutes. Your answers are yours: "
           + ("you have chosen to let your team lead see your individual results (change this in My wellbeing)."
              if shared else
              "your team lead sees only group figures of at least "
              f"{settings.min_group_size} people, never your individual answers "
              "(you can change this in My wellbeing)."))


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
            st.markdown(f"**{checkin.escape_md(r['title'])}**  \n{checkin.escape_md(r['detail'])}")


def _show_resources(fb: dict) -> None:
    with st.expander("What might help", expanded=not fb.get("severe")):
        for r in checkin.resources(settings):
            st.markdown(f"**{checkin.escape_md(r['title'])}**  \n{checkin.escape_md(r['detail'])}")


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

# Answers are kept as a draft of this session while they are given (not in a form, whose
# values would only reach the server on submit): a reload, or a phone dropping the tab
# in the background, brings them back.
saved_draft = common.draft()
for key, value in saved_draft.items():
    if (key.startswith("q_") or key == "checkin_comment") and key not in st.session_state:
        st.session_state[key] = value

weekly_done = "pulse" in last and "pulse" not in due
if weekly_done and not st.session_state.get("checkin_again") and not saved_draft:
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

shown = ["pulse", "sib"] + [n for n in ("cbi", "proqol5") if n in due]



def _keep_draft() -> None:
    common.save_draft({k: v for k, v in st.session_state.items()
                       if isinstance(k, str) and (k.startswith("q_") or k == "checkin_comment")
                       and v not in (None, "")})


def _questions(name: str) -> None:
    inst = load(name)
    items, has_wording = checkin.item_texts(engine, name, helper_id)
    if name == "pulse":
        st.subheader("This week")
        st.caption(f"{inst.intro} This weekly pulse is a {inst.label}.")
    elif name == "sib":
        st.subheader("Overall")
        st.caption("How would you rate your level of burnout overall?")
    else:
        st.subheader(inst.title)
        st.caption(f"Due every {schedule.get(name)} weeks · {len(items)} questions · "
                   f"recall: {inst.recall}. You can leave it for next week.")
    if not has_wording:
        st.caption(":material/info: The official wording is not loaded yet — your admin can load it. "
                   "Each question shows its short key meanwhile.")
    for it in items:
        labels = [lab for lab, _ in it["options"]]
        # wording can come from an uploaded file: shown as typed, never interpreted as markdown
        st.radio(checkin.escape_md(it["text"]), labels, index=None, horizontal=True, key=f"q_{it['item_id']}",
                 on_change=_keep_draft)
    if name == "proqol5":
        st.caption(inst.credit)


with st.container(border=False):
    for name in shown:
        if name in ("cbi", "proqol5"):
            with st.expander(f"Also due: {load(name).title}", expanded=False):
                _questions(name)
        else:
            _questions(name)
    comment = st.text_area("Anything you want to add? (optional)", key="checkin_comment", max_chars=2000,
                           on_change=_keep_draft,
                           help="Only you see this note. Your team lead never sees it, even if you share your individual results with them (they then see your scores, trend and caseload).")
    st.caption(settings.group_size_note())
    submitted = st.button("Save my check-in", type="primary", width="stretch", key="checkin_save")
    st.caption("Your answers are kept as you go, so a reload does not lose them; they are stored only when "
               "you save.")

if submitted:
    answers: dict[str, dict[str, float]] = {}
    for name in shown:
        inst = load(name)
        values = {}
        for item in inst.items:
            label = st.session_state.get(f"q_{item.id}")
            if label is not None:
                values[item.id] = dict(inst.scales[item.scale].options)[label]
        answers[name] = values
    saved = False
    try:
        # a database failure shows one plain sentence and leaves the answers on the page
        with common.db_errors(common.CHECKIN_NOT_SAVED):
            checkin.save_checkin(engine, helper_id, answers, comment=comment, actor=user["username"])
            saved = True
    except InputError as exc:
        st.error(f"Nothing was saved: {checkin.escape_md(exc)}")
        for p in exc.problems[1:]:
            st.caption(checkin.escape_md(p))
    if saved:
        for name in shown:
            for item in load(name).items:
                st.session_state.pop(f"q_{item.id}", None)
        st.session_state.pop("checkin_comment", None)
        st.session_state.pop("checkin_again", None)
        common.save_draft({})
        st.session_state["checkin_saved"] = True
        st.rerun()
