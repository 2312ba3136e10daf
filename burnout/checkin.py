"""The helper's weekly check-in: what is due, storing it whole, and immediate feedback.

Core module (no streamlit).  The check-in page calls :func:`due_instruments`,
:func:`save_checkin` and :func:`feedback`; the CLI and tests call them too.

Language rule: feedback speaks to the helper in plain, non-judgmental words.
A high score is a signal about the work and its conditions, never a verdict on
the person.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from typing import Mapping

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from burnout import materialise
from burnout.domain import measures
from burnout.domain.settings import Settings
from burnout.domain.time import now, week_start
from burnout.errors import InputError
from burnout.scoring import score_one
from burnout.instruments import INSTRUMENTS, display_text, load as _instrument, normalise_label
from burnout.store import frames, writes
from burnout.store import settings as saved_settings
from burnout.store.retry import DATABASE_ERRORS, is_foreign_key_violation, is_unique_violation, run_in_transaction
from burnout.store.schema import checkin_drafts, helpers, submissions, teams

log = logging.getLogger(__name__)

# Display order of a check-in: the short weekly part first, the longer ones when due.
ORDER = ("pulse", "sib", "cbi", "proqol5")

# Answers that open the crisis path (DESIGN §1: "a crisis path when answers are severe").
SEVERE_SIB_LEVEL = 5          # "completely burned out"
SEVERE_PULSE_STRAIN = 80.0    # 0-100
SEVERE_CBI = 100.0            # the CBI "severe" band
SEVERE_PROQOL_HIGH = 42.0     # ProQOL self-score band "high" (STS or burnout)

# One gentle line per score when its band is high: about conditions, not the person.
HIGH_HINTS: dict[str, str] = {
    "pulse_strain": "A heavy week. This says more about the load you are carrying than about you.",
    "personal_burnout": "Tiredness at this level is worth raising; rest is not a luxury.",
    "work_burnout": "Work is taking a lot out of you. Workload and support are fair things to raise.",
    "client_burnout": "Client work is draining right now. Supervision and case mix are fair things to raise.",
    "burnout": "Burnout at this level usually reflects workload and conditions; it is worth raising.",
    "secondary_traumatic_stress": "Other people's trauma is staying with you. That is a known cost of "
                                  "this work, and support helps.",
}
LOW_GOOD_HINTS: dict[str, str] = {
    "compassion_satisfaction": "Low satisfaction from helping is a common sign of strain, "
                               "not a failing.",
}

DUPLICATE_CHECKIN = "a check-in with this exact time is already stored; nothing was saved"

USUAL_MIN_HISTORY = 3     # previous scores needed before saying "usual for you"
USUAL_WINDOW = 12         # how many previous scores define "usual"
USUAL_SHARE = 0.10        # a change of 10 % of the scale's range counts as a difference


# --------------------------------------------------------------------------- small helpers

def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


_AUTOLINK = re.compile(r"(?i)(://|\bwww\.|@)")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def escape_md(text) -> str:
    """Escape free text for st.markdown: no links, images, HTML, LaTeX or formatting.

    Free text (comments, admin-written resources) is shown as typed, never interpreted.
    A bare address (``http://…``, ``www.…``, ``name@host``) would still be turned
    into a link by the markdown renderer, so a zero-width joiner breaks it.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    out = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200d" + m.group(0)[-1], str(text))
    return _MD_SPECIAL.sub(r"\\\1", out).replace("\n", "  \n")


def band_of(value: float | None, subscale) -> str | None:
    """The band label of ``value`` on ``subscale``: the same rule as scoring."""
    if value is None or pd.isna(value) or not subscale.bands:
        return None
    return measures.get(subscale.column).band([value])[0]


def _subscales() -> dict[str, tuple[str, object]]:
    """score column -> (instrument id, Subscale)."""
    out = {}
    for name in ORDER:
        inst = _instrument(name)
        for sub in inst.subscales:
            out[sub.column] = (name, sub)
    return out


# --------------------------------------------------------------------------- settings

# What answers point to, for choosing which resources come first.
TRAUMA_SCORES = {"pulse_trauma_load": 75.0, "secondary_traumatic_stress": 42.0}
WORKLOAD_SCORES = {"pulse_strain": 60.0, "work_burnout": 50.0, "burnout": 42.0}
SUPPORT_LOW = {"pulse_support": 25.0}


def resource_pointers(fb: Mapping | None) -> list[str]:
    """Topics the latest answers point to (workload, trauma, support, crisis), strongest first."""
    if not fb:
        return []
    latest = {col: s["value"] for entry in fb.get("instruments", {}).values() if entry.get("recent")
              for col, s in entry["scores"].items()}
    out = []
    if fb.get("severe"):
        out.append("crisis")
    if any(latest.get(c, -1) >= v for c, v in TRAUMA_SCORES.items()):
        out.append("trauma")
    if any(latest.get(c, -1) >= v for c, v in WORKLOAD_SCORES.items()):
        out.append("workload")
    if any(c in latest and latest[c] <= v for c, v in SUPPORT_LOW.items()):
        out.append("support")
    return out


def resources(settings: Settings, fb: Mapping | None = None) -> list[dict[str, str]]:
    """Everyday resources (the organisation's, else the documented defaults).

    With feedback, the ones whose topic the answers point to come first, each with
    ``because`` saying why in plain words; the others keep their order after them.
    """
    pointers = resource_pointers(fb)
    why = {"trauma": "Your answers suggest the hard things you hear are staying with you.",
           "workload": "Your answers point to a heavy workload.",
           "support": "Your answers suggest support has been thin lately."}
    items = [dict(r) for r in settings.resources]
    rank = {t: i for i, t in enumerate(pointers)}
    for r in items:
        if r.get("topic") in rank and r["topic"] in why:
            r["because"] = why[r["topic"]]
    return sorted(items, key=lambda r: rank.get(r.get("topic"), len(rank)))


def crisis_resources(settings: Settings) -> list[dict[str, str]]:
    """The crisis path (the organisation's, else the documented defaults)."""
    return [dict(r) for r in settings.crisis_resources]


# --------------------------------------------------------------------------- what is due

def last_submissions(engine: Engine, helper_id: str) -> dict[str, dt.datetime]:
    """instrument -> the helper's latest submission time (instruments never answered are absent)."""
    q = (select(submissions.c.instrument, func.max(submissions.c.submitted_at))
         .where(submissions.c.helper_id == helper_id).group_by(submissions.c.instrument))
    with engine.connect() as conn:
        return {inst: pd.Timestamp(ts).to_pydatetime() for inst, ts in conn.execute(q) if ts is not None}


def is_due(last: dt.datetime | dt.date | None, today: dt.date, every_weeks: int) -> bool:
    """Due when never answered, or when ``every_weeks`` calendar weeks (Monday starts)
    have begun since the week of the last answer."""
    if last is None:
        return True
    weeks = (week_start(_as_date(today)) - week_start(_as_date(last))).days // 7
    return weeks >= max(1, int(every_weeks))


def due_instruments(engine: Engine, helper_id: str, today: dt.date | None = None,
                    schedule: Mapping[str, int] | None = None) -> list[str]:
    """Instruments due for ``helper_id`` this week, in check-in order.

    ``schedule`` maps instrument -> every how many weeks (the settings'
    ``checkin_schedule``: by default pulse and sib weekly, cbi every 4 weeks,
    proqol5 every 12).  Based on the helper's last submission of each.
    """
    if schedule is None:
        schedule = saved_settings.load(engine).checkin_schedule
    today = _as_date(today or now())
    last = last_submissions(engine, helper_id)
    return [name for name in ORDER if name in schedule
            and is_due(last.get(name), today, schedule[name])]


def next_due(engine: Engine, helper_id: str, schedule: Mapping[str, int] | None = None) -> dict[str, dt.date]:
    """instrument -> the Monday of the week it is next due (today's week when overdue)."""
    if schedule is None:
        schedule = saved_settings.load(engine).checkin_schedule
    last = last_submissions(engine, helper_id)
    this_week = week_start(now().date())
    out = {}
    for name in ORDER:
        if name not in schedule:
            continue
        if name not in last:
            out[name] = this_week
        else:
            out[name] = max(this_week, week_start(last[name].date()) + dt.timedelta(weeks=int(schedule[name])))
    return out


# --------------------------------------------------------------------------- steps

# Seconds one answer takes on a phone (reading, choosing, scrolling), measured on the
# longer questionnaires in our own walk-throughs; generous so the estimate is honest.
SECONDS_PER_ITEM = 8
# Longer questionnaires are cut into pages of at most this many questions.
STEP_SIZE = 10


def minutes_for(n_items: int) -> int:
    """An honest, whole-minute estimate of answering ``n_items`` questions."""
    return max(1, math.ceil(n_items * SECONDS_PER_ITEM / 60))


def has_official_wording(engine: Engine, instrument: str) -> bool:
    """Whether every item of ``instrument`` can be shown in its own or official wording."""
    inst = _instrument(instrument)
    if inst.wording_shipped or instrument == "sib":
        return True
    wording = frames.wording(engine, instrument)
    return all(wording.get(i) for i in inst.item_ids)


def askable(engine: Engine, due: list[str]) -> tuple[list[str], list[str]]:
    """(instruments to ask this week, due instruments held back until their wording is loaded).

    A licensed questionnaire is not asked in our paraphrase: answers to other words would
    not be that instrument's score, and its wording is not ours to write.  The single
    item is asked in the project's own summary of its levels (non-proprietary)."""
    ask, held = [], []
    for name in ["pulse", "sib"] + [n for n in ("cbi", "proqol5") if n in due]:
        (ask if has_official_wording(engine, name) else held).append(name)
    return ask, held


def direction(instrument: str, scale: str) -> str:
    """How a scale's options run left to right, e.g. "from Never to Always"."""
    opts = _instrument(instrument).scales[scale].options
    return f"from {opts[0][0]} to {opts[-1][0]}"


def steps(instruments: list[str]) -> list[dict]:
    """The check-in cut into short pages, in order.

    Each step: ``{"title", "instruments": {name: [item ids]}, "n", "minutes", "direction",
    "turns"}``.  The weekly part (pulse and the single item) is one page; a longer
    questionnaire gets pages of at most STEP_SIZE questions, split where its own scales
    split (CBI personal / work / client).  Each validated instrument keeps its manual's
    answer order, so ``turns`` marks a page whose options run the other way from the page
    before: the form says so instead of silently flipping.
    """
    out: list[dict] = []
    weekly = {n: list(_instrument(n).item_ids) for n in instruments if n in ("pulse", "sib")}
    if weekly:
        out.append({"title": "This week", "instruments": weekly, "scales": [("pulse", "frequency")]
                    if "pulse" in weekly else [("sib", "level")]})
    for name in instruments:
        if name in ("pulse", "sib"):
            continue
        inst = _instrument(name)
        if name == "cbi":
            chunks = [(f"{inst.short_title}: {sub.name.lower()}", list(sub.items)) for sub in inst.subscales]
        else:
            ids = list(inst.item_ids)
            parts = [ids[i:i + STEP_SIZE] for i in range(0, len(ids), STEP_SIZE)]
            chunks = [(f"{inst.short_title}: part {k} of {len(parts)}", p) for k, p in enumerate(parts, 1)]
        for title, ids in chunks:
            scales = list(dict.fromkeys((name, inst.item(i).scale) for i in ids))
            out.append({"title": title, "instruments": {name: ids}, "scales": scales})
    previous = None
    for st_ in out:
        st_["n"] = sum(len(v) for v in st_["instruments"].values())
        st_["minutes"] = minutes_for(st_["n"])
        name, scale = st_["scales"][0]
        opts = _instrument(name).scales[scale].options
        rising = opts[0][1] < opts[-1][1]
        st_["direction"] = direction(name, scale)
        st_["turns"] = previous is not None and rising != previous
        previous = rising
    return out


# --------------------------------------------------------------------------- drafts

def load_partial(engine: Engine, helper_id: str, today: dt.date | None = None) -> dict:
    """The helper's unsaved check-in of this week (answer labels by widget key), or {}."""
    week = week_start(_as_date(today or now()))
    with engine.connect() as conn:
        row = conn.execute(select(checkin_drafts.c.answers).where(
            checkin_drafts.c.helper_id == helper_id, checkin_drafts.c.week_start == week)).first()
    if row is None:
        return {}
    try:
        data = json.loads(row[0])
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def save_partial(engine: Engine, helper_id: str, values: Mapping[str, object],
                 today: dt.date | None = None) -> bool:
    """Keep a begun check-in for this week (replacing the earlier one); empty clears it.

    The one draft of a check-in: every tab and device of the helper reads it, so a
    reload, a new tab or a phone later in the week finds the same answers.  Stored
    apart from submissions: a draft is never scored nor counted anywhere.
    Best effort: when the database cannot take it (away, read-only, full) the
    answers stay in the browser tab and saving the check-in says what happened,
    so this only logs and returns False."""
    week = week_start(_as_date(today or now()))
    clean = {str(k): v for k, v in values.items() if isinstance(v, (str, int, float)) and v != ""}

    def write(conn) -> None:
        # earlier weeks' drafts go too: "finish later" means within the same week
        conn.execute(delete(checkin_drafts).where(checkin_drafts.c.helper_id == helper_id))
        if clean:
            conn.execute(insert(checkin_drafts).values(helper_id=helper_id, week_start=week,
                                                       answers=json.dumps(clean), updated_at=now()))
    try:
        # written on every answer: a moment's lock (another tab, a check-in being saved) is
        # waited out like any short write rather than losing the answer
        run_in_transaction(engine, write, what="check-in draft")
    except DATABASE_ERRORS:
        log.warning("could not keep the check-in draft of %s", helper_id, exc_info=True)
        return False
    return True


def plain_error(exc: Exception) -> str:
    """One plain sentence for the helper about a check-in that was not saved."""
    msg = str(exc)
    if "no question was answered" in msg:
        return "Please answer at least one question before saving."
    if "already stored" in msg:
        return "This check-in was already saved a moment ago, so nothing new was stored."
    if "not in the roster" in msg:
        return "Your account is not linked to the roster any more, so nothing was saved; your admin can fix this."
    return "Nothing was saved because one answer is not on the scale; please choose it again."


# --------------------------------------------------------------------------- saving

def validate_answers(answers: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, float]]:
    """Check every answer against its instrument's scale; return numeric answers.

    Values may be numbers on the scale or the scale's labels.  ``None`` / NaN
    means "skipped".  Instruments with no answer at all are dropped.  Anything
    else raises :class:`InputError` naming the instrument and item.
    """
    if not isinstance(answers, Mapping):
        raise InputError("answers must map instrument -> {item id: value}")
    clean: dict[str, dict[str, float]] = {}
    problems: list[str] = []
    first = None
    for name, items in answers.items():
        if name not in INSTRUMENTS:
            raise InputError(f"unknown instrument {name!r}; expected one of {', '.join(INSTRUMENTS)}",
                             column="instrument")
        inst = _instrument(name)
        allowed = set(inst.answer_values)
        lookup = inst.answer_lookup
        got: dict[str, float] = {}
        for item_id, value in (items or {}).items():
            if item_id not in inst.item_ids:
                msg = f"{item_id!r} is not an item of {inst.short_title}"
                problems.append(f"column {item_id!r}: {msg}")
                first = first or (msg, item_id)
                continue
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, bool):
                num = None
            elif isinstance(value, (int, float)):
                num = float(value)
            else:
                text = str(value).strip()
                try:
                    num = float(text)
                except ValueError:
                    num = lookup.get(normalise_label(text))
            if num is None or num not in allowed:
                msg = (f"{value!r} is not an answer on the {inst.short_title} scale "
                       f"({inst.describe_scale()})")
                problems.append(f"column {item_id!r}: {msg}")
                first = first or (msg, item_id)
                continue
            got[item_id] = num
        if got:
            clean[name] = got
    if problems:
        raise InputError(first[0], column=first[1], problems=problems)
    if not clean:
        raise InputError("nothing to save: no question was answered")
    return clean


def save_checkin(engine: Engine, helper_id: str, answers: Mapping[str, Mapping[str, object]],
                 comment: str | None = None, submitted_at: dt.datetime | None = None,
                 actor: str | None = None) -> list[int]:
    """Store one check-in (several instruments) whole or not at all.

    Every answer is validated against its scale and scored first; submissions,
    answers, scores and the audit row are then written in ONE short transaction
    (``store.writes.insert_checkin``), retried when the database is busy.  A
    check-in already stored at the same time is refused by the database's unique
    constraint, reported as the plain :data:`DUPLICATE_CHECKIN`; a helper not in
    the roster by the foreign key, reported as "not in the roster".  The comment belongs to the first
    instrument of the check-in (the pulse in a weekly check-in).  Returns the new
    submission ids in check-in order.
    """
    clean = validate_answers(answers)
    when = pd.Timestamp(submitted_at or now()).to_pydatetime().replace(microsecond=0, tzinfo=None)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 4000:
        raise InputError("the comment is longer than 4,000 characters", column="comment")
    names = [n for n in ORDER if n in clean] + [n for n in clean if n not in ORDER]
    # Scored before the transaction, so the write lock is held only for the inserts.
    parts = [(n, comment if i == 0 else None, clean[n], score_one(n, clean[n])) for i, n in enumerate(names)]

    def write(conn) -> list[int]:
        # the saved check-in takes its draft with it, in the same write
        return writes.insert_checkin(conn, helper_id, when, parts, clear_draft=True,
                                     audit_row=(actor or helper_id, "checkin_saved", ", ".join(names)))

    try:
        ids = run_in_transaction(engine, write, what="check-in", one_statement=True)
    except IntegrityError as exc:
        # The constraints decide, not a read before the insert: a helper missing from
        # the roster fails the foreign key, a second save of the same check-in the
        # unique key; each becomes the same plain sentence a pre-check would give.
        if is_foreign_key_violation(exc):
            raise InputError(f"{helper_id!r} is not in the roster", column="helper_id") from None
        if not is_unique_violation(exc):
            raise
        raise InputError(DUPLICATE_CHECKIN, column="submitted_at") from None
    # the helper's rows are recomputed right after, by a worker that takes every
    # check-in saved meanwhile in one pass (materialise.refresh_soon)
    materialise.refresh_soon(engine, [helper_id], weeks=[when])
    return ids


# --------------------------------------------------------------------------- feedback

def _fmt(v: float) -> str:
    """Whole numbers as they are; others with one decimal, so a prorated 22.5
    (moderate) never reads as a rounded 22 (low) beside its band."""
    if abs(v - round(v)) < 1e-9:
        return f"{v:.0f}"
    return f"{v:.1f}"


def _ago(days: int) -> str:
    if days <= 10:
        return "last week" if days >= 5 else "last time"
    if days < 60:
        return f"{round(days / 7)} weeks ago"
    return f"{round(days / 30.4)} months ago"


def describe_score(column: str, value: float, history: pd.Series, history_times: pd.Series | None,
                   latest_time: dt.datetime | None, subscale) -> dict:
    """Plain-words feedback for one score, given its earlier values (oldest first)."""
    m = measures.get(column)
    info = {"name": m.plain, "better": "lower" if m.higher_is_worse else "higher"}
    lo, hi = subscale.range
    threshold = USUAL_SHARE * (hi - lo)
    history = pd.to_numeric(history, errors="coerce")
    mask = history.notna().to_numpy()
    prev_vals = history[mask]
    out = {"column": column, "name": info["name"], "value": float(value), "max": hi, "min": lo,
           "band": band_of(value, subscale), "better": info["better"],
           "previous": None, "change": None, "usual": None, "compared_to_usual": None, "hint": None}
    parts = []
    if len(prev_vals) >= USUAL_MIN_HISTORY:
        usual = float(prev_vals.iloc[-USUAL_WINDOW:].median())
        out["usual"] = usual
        if value >= usual + threshold:
            out["compared_to_usual"] = "higher"
            parts.append("higher than usual for you")
        elif value <= usual - threshold:
            out["compared_to_usual"] = "lower"
            parts.append("lower than usual for you")
        else:
            out["compared_to_usual"] = "usual"
            parts.append("about usual for you")
    if len(prev_vals):
        prev = float(prev_vals.iloc[-1])
        change = float(value) - prev
        out["previous"], out["change"] = prev, change
        when = ""
        if history_times is not None and latest_time is not None:
            t_prev = pd.Timestamp(pd.Series(history_times)[mask].iloc[-1])
            when = _ago((pd.Timestamp(latest_time) - t_prev).days)
        if abs(change) < 0.5:
            parts.append(f"the same as {when or 'last time'}")
        else:
            direction = "up" if change > 0 else "down"
            since = f"from {when}" if when.endswith("ago") else f"since {when or 'last time'}"
            parts.append(f"{direction} {_fmt(abs(change))} {since}")
    else:
        parts.append("your first score, so there is nothing to compare yet")
    if column == "sib_level":
        inst = _instrument("sib")
        label = dict((v, lab) for lab, v in inst.scales["level"].options).get(float(value))
        lead = f"You rated your burnout {_fmt(value)} of 5" + (f", \u201c{label}\u201d" if label else "")
    else:
        lead = f"Your {info['name']} score is {_fmt(value)}"
        if out["band"]:
            lead += f", in the {out['band']} range"
    out["sentence"] = f"{lead} ({'; '.join(parts)})."
    if out["band"] in ("high", "severe"):
        out["hint"] = HIGH_HINTS.get(column)
    elif out["band"] == "low":
        out["hint"] = LOW_GOOD_HINTS.get(column)
    return out


def _severe_reasons(latest: dict[str, dict]) -> list[str]:
    reasons = []
    sib = latest.get("sib", {}).get("scores", {}).get("sib_level")
    if sib is not None and sib["value"] >= SEVERE_SIB_LEVEL:
        reasons.append("You rated yourself as completely burned out.")
    strain = latest.get("pulse", {}).get("scores", {}).get("pulse_strain")
    if strain is not None and strain["value"] >= SEVERE_PULSE_STRAIN:
        reasons.append(f"Your strain this week is very high ({_fmt(strain['value'])} of 100).")
    for col in ("personal_burnout", "work_burnout", "client_burnout"):
        s = latest.get("cbi", {}).get("scores", {}).get(col)
        if s is not None and s["value"] >= SEVERE_CBI:
            reasons.append(f"Your {s['name']} is at the top of the scale.")
    for col in ("secondary_traumatic_stress", "burnout"):
        s = latest.get("proqol5", {}).get("scores", {}).get(col)
        if s is not None and s["value"] >= SEVERE_PROQOL_HIGH:
            reasons.append(f"Your {s['name']} score is in the high range.")
    return reasons


def feedback(engine: Engine, helper_id: str, scores_df: pd.DataFrame | None = None,
             recent_days: int = 1) -> dict:
    """The helper's latest scores with bands, change and plain-words sentences.

    Returns ``{"instruments": {instrument: {"submitted_at", "recent", "scores":
    {column: {...}}, "sentences": [...]}} , "latest_at", "severe", "severe_reasons"}``.
    ``recent`` marks instruments answered in the latest check-in (less than
    ``recent_days`` days before the newest submission); only those decide ``severe``,
    so a months-old ProQOL does not reopen the crisis path every week.
    """
    if scores_df is None:
        scores_df = frames.scores(engine, helper_id)
    df = scores_df[scores_df["helper_id"] == helper_id].sort_values(["submitted_at", "submission_id"])
    subs = _subscales()
    result: dict = {"instruments": {}, "latest_at": None, "severe": False, "severe_reasons": []}
    if df.empty:
        return result
    latest_at = pd.Timestamp(df["submitted_at"].max())
    result["latest_at"] = latest_at.to_pydatetime()
    for name in ORDER:
        part = df[df["instrument"] == name]
        if part.empty:
            continue
        last = part.iloc[-1]
        earlier = part.iloc[:-1]
        entry = {"submitted_at": pd.Timestamp(last["submitted_at"]).to_pydatetime(),
                 "submission_id": int(last["submission_id"]),
                 "recent": (latest_at - pd.Timestamp(last["submitted_at"])).days < recent_days,
                 "scores": {}, "sentences": []}
        for col, (inst_name, sub) in subs.items():
            if inst_name != name or col not in part.columns or pd.isna(last[col]):
                continue
            d = describe_score(col, float(last[col]), earlier[col], earlier["submitted_at"],
                               last["submitted_at"], sub)
            entry["scores"][col] = d
            entry["sentences"].append(d["sentence"])
        if name == "sib" and "burned_out" in part.columns and not pd.isna(last.get("burned_out")):
            entry["burned_out"] = bool(last["burned_out"])
        result["instruments"][name] = entry
    recent = {k: v for k, v in result["instruments"].items() if v["recent"]}
    result["severe_reasons"] = _severe_reasons(recent)
    result["severe"] = bool(result["severe_reasons"])
    return result


def client_word(engine: Engine, helper_id: str) -> str | None:
    """The word the helper's team uses for "client" (CBI client items)."""
    with engine.connect() as conn:
        row = conn.execute(select(teams.c.client_word).join(helpers, helpers.c.team_id == teams.c.team_id)
                           .where(helpers.c.helper_id == helper_id)).first()
    return row[0] if row else None


def item_texts(engine: Engine, instrument: str, helper_id: str | None = None) -> tuple[list[dict], bool]:
    """What to show for each item: ``[{item_id, text, has_wording, options}]`` and
    whether the official wording is loaded (pulse: always, it is the project's own)."""
    inst = _instrument(instrument)
    wording = frames.wording(engine, instrument)
    word = client_word(engine, helper_id) if helper_id else None
    out = []
    for item in inst.items:
        shown = display_text(inst, item.id, wording, word)
        out.append({"item_id": item.id, "text": shown.text, "has_wording": shown.has_wording,
                    "options": list(inst.scales[item.scale].options)})
    return out, all(o["has_wording"] for o in out)
