"""The organisation's settings: one typed object with its defaults, validation and clamps.

Every value has a documented default (evidence in ../shared/reference/
turnover-models.md, section numbers below); admins override them under Users &
settings (stored as JSON rows in the ``settings`` table, read by
``burnout.store.settings``), and the HR review may override the turnover
assumptions for one session (:meth:`Settings.merged`).  Validation and the
privacy clamps live here and nowhere else, so what is saved, what the analysis
uses and what a helper is told are the same numbers:

- the minimum group size is never below 5 (DESIGN §7), whatever was saved;
- the minimum group for written comments is never below 10, nor below the
  minimum group size.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from burnout.errors import InputError

logger = logging.getLogger(__name__)

__all__ = [
    "CASELOAD_STANDARDS", "COST_MULTIPLIER", "REFERENCE_BURNOUT", "REFERENCE_BURNOUT_SOURCE", "GENERAL_CONTINUITY", "MIN_COMMENT_GROUP", "MIN_GROUP_SIZE",
    "TEAM_KINDS", "Settings", "resolve", "team_kind_label", "client_word_for", "validate",
]

class FrozenMap(dict):
    """A read-only dict: settings are shared by every page and cache, so nobody
    may change them in place; unlike MappingProxyType it pickles (st.cache_data)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("settings are read-only; build a new Settings with merged()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenMap, (dict(self),))

    def __hash__(self):  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: str(kv[0]))))


def _frozen(d: Mapping) -> Mapping:
    return FrozenMap({k: (_frozen(v) if isinstance(v, Mapping) else v) for k, v in dict(d).items()})


# DESIGN §7; Glint, Qualtrics and Viva use 5 for scores and Glint 10 for comments.
MIN_GROUP_SIZE = 5
MIN_COMMENT_GROUP = 10

# Kinds of helping team: a label, the word that replaces "client" in the CBI
# client-related items (Kristensen 2005 allows patient/student/... substitution),
# base all-cause annual turnover (§6: child welfare ≈30 % national average,
# Casey; RNs 16.4 %, NSI 2025; the others are stated assumptions to replace with
# the organisation's own rates) and what losing a helper means for clients (§8).
_CONTINUITY_THERAPY = (
    "Dropout after a therapist transfer has been reported as high as 69 % "
    "(Tantam & Klerman 1979; Wapner et al. 1986), against a usual premature "
    "dropout rate of about 35 % (Roos & Werbart 2013, 44 studies).")
TEAM_KINDS: Mapping[str, Mapping[str, Any]] = _frozen({
    "child_welfare": _frozen({
        "label": "Child welfare", "client_word": "family", "base_turnover": 0.30,
        "continuity": (
            "Children who kept one caseworker reached permanency in 74.5 % of cases, "
            "against 17.5 % for children who had two (Flower, McDonald & Sumski 2005, "
            "Milwaukee). Each additional caseworker on a case came with 73 % lower odds "
            "of a timely discharge from out-of-home care (SSWR 2025 abstract, 27,509 episodes).")}),
    "adult_mental_health": _frozen({
        "label": "Adult mental health", "client_word": "client", "base_turnover": 0.20,
        "continuity": _CONTINUITY_THERAPY}),
    "addiction": _frozen({
        "label": "Addiction services", "client_word": "client", "base_turnover": 0.25,
        "continuity": _CONTINUITY_THERAPY[:-1] + ". These figures come from psychotherapy; "
                      "no addiction-specific figure was found."}),
    "crisis_line": _frozen({
        "label": "Crisis line", "client_word": "caller", "base_turnover": 0.30,
        "continuity": (
            "No specific evidence was found on what happens to callers when crisis-line "
            "staff leave. In the helping professions generally, continuity of the "
            "helping relationship supports engagement and outcomes.")}),
    "hospital_social_work": _frozen({
        "label": "Hospital social work", "client_word": "patient", "base_turnover": 0.164,
        "continuity": (
            "When patients lose their primary-care physician they make 18.4 % fewer "
            "primary-care visits and 17.8 % more urgent-care visits in the following year "
            "(Sabety et al. 2021, 359,470 Medicare patients). This evidence is from "
            "physicians; none specific to hospital social work was found.")}),
    "school_counselling": _frozen({
        "label": "School counselling", "client_word": "student", "base_turnover": 0.12,
        "continuity": (
            "No specific evidence was found on what happens to students when their "
            "school counsellor leaves. In the helping professions generally, continuity "
            "of the helping relationship supports engagement and outcomes.")}),
})
GENERAL_CONTINUITY = (
    "No evidence specific to this kind of team was found. In the helping professions "
    "generally, a client who loses their helper has to build a new relationship, and "
    "continuity of the helping relationship supports engagement and outcomes.")

# Burnout prevalence at which each kind's base turnover is split into the rates
# among burned-out and not burned-out helpers (turnover-models.md §1).  A base
# rate is only "the national figure" at the prevalence it was observed at; a
# team with more burnout than that should expect more leavers, one with less
# fewer.  None of the base-turnover sources (§6: Casey, NSI) publishes the
# prevalence of its workforce, so every kind uses the one published prevalence
# measured on the same scale as this tool's burnout probability: 38.5 % of
# 5,404 VHA primary-care staff (providers, nurses and other clinical staff)
# rating 3 or more on the single item (Dolan 2015; instruments.md §3).  An
# organisation that knows its sector's prevalence replaces it in Settings.
DOLAN_2015_PREVALENCE = 0.385
_REFERENCE_SOURCE = ("Dolan et al. 2015 (J Gen Intern Med 30:582): 38.5 % of 5,404 VHA primary-care "
                     "staff rated 3 or more on the single-item burnout measure. No prevalence was published "
                     "with this kind's base turnover, so this general helping-staff figure stands in.")
REFERENCE_BURNOUT: Mapping[str, float] = _frozen({k: DOLAN_2015_PREVALENCE for k in TEAM_KINDS})
REFERENCE_BURNOUT_SOURCE: Mapping[str, str] = _frozen({k: _REFERENCE_SOURCE for k in TEAM_KINDS})

# Recommended active caseload per role (§9).  Child-welfare figures are CWLA
# standards; the others have no national standard and are conservative
# organisation defaults meant to be edited.
CASELOAD_STANDARDS: Mapping[str, float] = _frozen({
    "child welfare caseworker": 17,      # CWLA ongoing CPS: 17 active families
    "child protection investigator": 12,  # CWLA initial assessment: 12 per month
    "foster care worker": 15,            # CWLA family foster care: 12-15 children
    "mental health counsellor": 30,
    "clinical social worker": 30,
    "addiction counsellor": 35,
    "crisis line worker": 60,            # contacts handled per week
    "hospital social worker": 25,
    "nurse": 25,
    "school counsellor": 250,            # students per counsellor (ASCA 250:1)
    "case manager": 25,
})

# Replacement cost as a multiple of annual salary (§5): social work 0.3-0.7
# (PCG), RN about 1.0 (NSI), generic 0.5-2.0 (Gallup).
COST_MULTIPLIER: Mapping[str, float] = _frozen({
    "child welfare caseworker": 0.5, "child protection investigator": 0.5, "foster care worker": 0.5,
    "mental health counsellor": 0.5, "clinical social worker": 0.5, "addiction counsellor": 0.5,
    "crisis line worker": 0.4, "hospital social worker": 0.5, "nurse": 1.0, "school counsellor": 0.5,
    "case manager": 0.5,
})

INSTRUMENT_IDS = ("proqol5", "cbi", "sib", "pulse")

# Everyday resources and the crisis path shown to a helper after a check-in.
# Everyday resources and the crisis path shown to a helper after a check-in.
# Each entry: title and detail, and optionally phone (tap to call), url, hours and
# topic, which says what the answers must point to for it to come first:
# workload, trauma, support or crisis ("any" or none: always shown in its place).
RESOURCE_TOPICS = ("any", "workload", "trauma", "support", "crisis")
DEFAULT_RESOURCES: tuple[Mapping[str, str], ...] = (
    _frozen({"title": "Talk it through with your supervisor",
                      "detail": "Reflective supervision is part of the job, not a sign of weakness. Bring what is "
                                "weighing on you, including caseload and the cases that stay with you.",
             "topic": "workload"}),
    _frozen({"title": "Employee Assistance Programme (EAP)",
                      "detail": "Free, confidential counselling for you and your family. Ask HR for the number if "
                                "you do not have it; your employer is not told that you called.",
             "topic": "support"}),
    _frozen({"title": "Protect your recovery time",
                      "detail": "Breaks, leave and a clear end to the working day help more than trying harder. "
                                "If your workload makes that impossible, that is a workload problem to raise.",
             "topic": "workload"}),
    _frozen({"title": "Peer support",
                      "detail": "A debrief with a colleague after a hard contact or a critical incident helps; "
                                "ask your lead to make time for it.",
             "topic": "trauma"}),
)
DEFAULT_CRISIS_RESOURCES: tuple[Mapping[str, str], ...] = (
    _frozen({"title": "If you might harm yourself, or feel unsafe right now",
                      "detail": "Call or text 988 in the US (Suicide & Crisis Lifeline), or your local emergency "
                                "number. You can also go to the nearest emergency department.",
             "phone": "988", "url": "https://988lifeline.org", "hours": "24 hours, every day", "topic": "crisis"}),
    _frozen({"title": "Employee Assistance Programme (EAP)",
                      "detail": "Confidential counselling, usually available the same day. Your employer is not "
                                "told that you called.", "topic": "crisis"}),
    _frozen({"title": "Tell your supervisor or someone you trust today",
                      "detail": "You do not need to explain everything. \"I am not OK and need support\" is "
                                "enough; asking for your caseload to be eased is a reasonable request.",
             "topic": "crisis"}),
)


@dataclass(frozen=True)
class Settings:
    """Everything an organisation can set, with the defaults in force.

    Read with attributes (``settings.min_group_size``); build with
    :meth:`defaults`, :meth:`from_saved` or :meth:`merged`, which validate and
    clamp.  Mappings are read-only; per-key maps (turnover by team kind, cost
    by role, ...) hold the defaults merged with what was saved.
    """

    # privacy (clamped: see the module docstring)
    min_group_size: int = MIN_GROUP_SIZE
    min_comment_group: int = MIN_COMMENT_GROUP
    # accounts and sign-in protection (burnout.auth)
    session_minutes: int = 60          # idle time before a session ends
    session_max_hours: float = 12      # absolute session age, whatever the activity
    invite_hours: float = 72           # an invite link works this long, once
    signin_free_failures: int = 3      # wrong passwords before delays start
    signin_delay_seconds: float = 2    # first delay; doubles with every further failure
    signin_max_delay_seconds: float = 60
    signin_lock_failures: int = 10     # an account is locked after this many failures in a row
    signin_lock_minutes: float = 15
    signin_client_free_failures: int = 10   # one client (an office behind one address) before its delays
    signin_client_lock_failures: int = 50   # one client (address) trying many accounts
    signin_forget_minutes: float = 60  # failures older than this no longer count
    grant_seconds: float = 120         # sign-in grant exchanged for the session cookie
    setup_code_hours: float = 24
    # workload
    caseload_standards: Mapping[str, float] = field(default_factory=lambda: _frozen(CASELOAD_STANDARDS))
    # how often each instrument is due, in weeks
    checkin_schedule: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"pulse": 1, "sib": 1, "cbi": 4, "proqol5": 12}))
    # risk model: None = the documented default weights (burnout.risk)
    risk_weights: Mapping[str, float] | None = None
    # what the saved risk_weights were fitted on (leaving.fit_risk_weights: leavers, dates, AUCs);
    # None with risk_weights set = weights an admin typed, not fitted
    risk_weights_fit: Mapping[str, Any] | None = None
    # turnover (§1, §5-§7)
    base_turnover: Mapping[str, float] = field(
        default_factory=lambda: _frozen({k: v["base_turnover"] for k, v in TEAM_KINDS.items()}))
    default_base_turnover: float = 0.20
    # burned-out helpers are about twice as likely to leave (Shanafelt 2017 fn d; Hamidi 2018 RR 2.1)
    relative_risk: float = 2.0
    cost_multiplier: Mapping[str, float] = field(default_factory=lambda: _frozen(COST_MULTIPLIER))
    default_cost_multiplier: float = 0.5
    # an absolute figure per role overrides the multiplier (e.g. nurse: 61,110, NSI 2025)
    cost_per_departure: Mapping[str, float] = field(default_factory=lambda: _frozen({}))
    # used only where a helper has no salary; None leaves the cost unknown (never 0)
    default_annual_salary: float | None = None
    # risk -> probability of being burned out; None = fitted on the organisation's
    # own ratings when possible, else the documented default (burnout.turnover)
    burnout_midpoint: float | None = None
    burnout_scale: float | None = None
    # burnout prevalence the base turnover was observed at (one rate, or per team
    # kind), with its source; None = the organisation's own prevalence among
    # helpers of that kind (then expected leavers equal N·T whatever the burnout)
    reference_burnout_rate: float | Mapping[str, float] | None = field(
        default_factory=lambda: _frozen(REFERENCE_BURNOUT))
    reference_burnout_source: Mapping[str, str] = field(
        default_factory=lambda: _frozen(REFERENCE_BURNOUT_SOURCE))
    # the organisation's own annual turnover, per team kind (or "all"), when it
    # knows it; it replaces the national base and the model is calibrated to it
    observed_turnover: Mapping[str, float] = field(default_factory=lambda: _frozen({}))
    # assumption ranges behind every interval (burnout.uncertainty): the relative
    # risk of leaving (turnover-models.md §7: default 2.0, range 1.5-2.7) and the
    # cost per departure as a share of its central figure (§5: social work
    # 30-70 % of salary around the 50 % default, PCG)
    relative_risk_low: float = 1.5
    relative_risk_high: float = 2.7
    cost_low_factor: float = 0.6
    cost_high_factor: float = 1.4
    continuity_evidence: Mapping[str, str] = field(
        default_factory=lambda: _frozen({k: v["continuity"] for k, v in TEAM_KINDS.items()}))
    # plausibility limits of imported files (burnout.ingest.limits)
    import_max_active_cases: int = 1000     # most active cases one helper may hold in a week
    import_max_events_per_week: int = 100   # most trauma exposures / critical incidents in a week
    organisation_start: str = "2000-01-01"  # no answer or caseload week before it (ISO date)
    import_future_days: int = 7             # answers and caseload weeks at most this far ahead
    roster_start_lead_days: int = 365       # roster dates at most this far ahead (announced hires)
    # what a helper is offered after a check-in
    resources: tuple[Mapping[str, str], ...] = DEFAULT_RESOURCES
    crisis_resources: tuple[Mapping[str, str], ...] = DEFAULT_CRISIS_RESOURCES

    # ------------------------------------------------------------------ building
    @classmethod
    def defaults(cls) -> "Settings":
        return cls()

    @classmethod
    def from_saved(cls, saved: Mapping[str, Any] | None) -> "Settings":
        """Defaults overridden by saved values (JSON rows).  A saved value that
        no longer validates (written by an older version, or by hand) is
        replaced by its default, and the replacement is logged, never silent."""
        out = cls()
        for key, value in (saved or {}).items():
            if key not in _FIELDS:
                continue          # keys of other parts (demo flag, ...) live in the same table
            try:
                out = out._with(key, value)
            except InputError as exc:
                clamped = _clamp_saved(key, value)
                if clamped is not None:
                    out = dataclasses.replace(out, **{key: clamped})
                    logger.warning("saved setting %s=%r is below its floor; %r is applied", key, value, clamped)
                else:
                    logger.warning("saved setting %s=%r is not valid (%s); the default is used", key, value, exc)
        return out._clamped()

    def merged(self, overrides: Mapping[str, Any] | None) -> "Settings":
        """A copy with ``overrides`` applied and validated (nested maps merge key
        by key).  Raises InputError for an invalid value."""
        out = self
        for key, value in (overrides or {}).items():
            if key not in _FIELDS:
                raise InputError(f"unknown setting {key!r}", column="key")
            out = out._with(key, value)
        return out._clamped()

    def _with(self, key: str, value) -> "Settings":
        clean = validate(key, value)
        current = getattr(self, key)
        if isinstance(current, Mapping) and isinstance(clean, Mapping) and key in _MERGED_MAPS:
            clean = _frozen({**current, **clean})
        return dataclasses.replace(self, **{key: clean})

    def _clamped(self) -> "Settings":
        group = max(MIN_GROUP_SIZE, int(self.min_group_size))
        comments = max(MIN_COMMENT_GROUP, group, int(self.min_comment_group))
        if (group, comments) == (self.min_group_size, self.min_comment_group):
            return self
        return dataclasses.replace(self, min_group_size=group, min_comment_group=comments)

    # ------------------------------------------------------------------ reading
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (for caches, exports and the settings page)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Mapping):
                v = dict(v)
            elif isinstance(v, tuple):
                v = [dict(x) if isinstance(x, Mapping) else x for x in v]
            out[f.name] = v
        return out

    def base_turnover_for(self, kind: str | None) -> float:
        return float(_lookup(self.base_turnover, kind, self.default_base_turnover))

    def continuity_for(self, kind: str | None) -> str:
        return str(self.continuity_evidence.get(kind, GENERAL_CONTINUITY)) if kind else GENERAL_CONTINUITY

    def every_weeks(self, instrument: str) -> int | None:
        value = self.checkin_schedule.get(instrument)
        return int(value) if value else None

    @property
    def shortest_cadence(self) -> int:
        """Weeks between expected check-ins: the most frequent scheduled instrument."""
        weeks = [int(v) for v in self.checkin_schedule.values() if v]
        return min(weeks) if weeks else 1

    def resolve_caseload_standard(self, roster) -> "pd.Series":
        """Each helper's role standard (DESIGN §6): the roster's value, else this
        organisation's standard for the role, else the team's median."""
        given = pd.to_numeric(roster["caseload_standard"] if "caseload_standard" in roster
                              else pd.Series(np.nan, index=roster.index), errors="coerce").astype(float)
        roles = (roster["role"] if "role" in roster else pd.Series(None, index=roster.index, dtype=object))
        by_role = roles.astype("string").str.strip().str.lower().map(
            {str(k).lower(): float(v) for k, v in self.caseload_standards.items()})
        out = given.fillna(pd.to_numeric(by_role, errors="coerce"))
        if "team" in roster:
            out = out.fillna(out.groupby(roster["team"].astype("string")).transform("median"))
        return out

    def group_size_note(self) -> str:
        """What a helper is told about group sizes: the numbers actually applied."""
        return (f"Team and organisation figures only ever show groups of {self.min_group_size} or more "
                f"people. Your written notes stay with you: nobody else reads them, and any figure about "
                f"notes would need at least {self.min_comment_group} people.")


_FIELDS = {f.name for f in dataclasses.fields(Settings)}
# per-key maps whose saved keys add to (not replace) the defaults
_MERGED_MAPS = {"caseload_standards", "checkin_schedule", "base_turnover", "cost_multiplier",
                "cost_per_departure", "continuity_evidence", "reference_burnout_source", "observed_turnover"}


def resolve(settings: "Settings | Mapping[str, Any] | None") -> Settings:
    """The one way a function that takes "settings" reads them: a Settings object
    as it is, a mapping as overrides of the defaults, None as the defaults."""
    if isinstance(settings, Settings):
        return settings
    return Settings.defaults().merged(settings or {})


def _lookup(table: Mapping[str, float], key: str | None, default):
    if key is None:
        return default
    lowered = {str(k).strip().lower(): v for k, v in table.items()}
    return lowered.get(str(key).strip().lower(), default)


def team_kind_label(kind: str | None) -> str:
    return str(TEAM_KINDS.get(kind, {}).get("label", kind or "unknown kind of team"))


def client_word_for(kind: str | None) -> str:
    return str(TEAM_KINDS.get(kind, {}).get("client_word", "client"))


# =========================================================================== validation

def _num(value, what: str, lo: float | None = None, hi: float | None = None, integer: bool = False,
         above: float | None = None) -> float:
    if isinstance(value, bool):
        raise InputError(f"{what}: {value!r} is not a number", column=what)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: {value!r} is not a number", column=what) from None
    if not math.isfinite(v):
        raise InputError(f"{what}: a finite number is required", column=what)
    if integer and not v.is_integer():
        raise InputError(f"{what}: {value!r} must be a whole number", column=what)
    if lo is not None and v < lo:
        raise InputError(f"{what} must be at least {lo:g}", column=what)
    if above is not None and v <= above:
        raise InputError(f"{what} must be above {above:g}", column=what)
    if hi is not None and v > hi:
        raise InputError(f"{what} must be at most {hi:g}", column=what)
    return int(v) if integer else v


def _blank(v) -> bool:
    """None, NaN or an empty string: what an emptied editor cell holds."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return True
    return isinstance(v, float) and math.isnan(v)


def _num_map(value, what: str, lo: float | None = None, hi: float | None = None, *, keys=None,
             above: float | None = None, integer: bool = False) -> Mapping:
    if not isinstance(value, Mapping):
        raise InputError(f"{what} must map names to numbers", column=what)
    keys = set(keys) if keys is not None else None
    out = {}
    for k, v in value.items():
        k = str(k).strip()
        if not k:
            continue
        if keys is not None and k not in keys:
            raise InputError(f"{what}: unknown name {k!r} (one of {', '.join(sorted(keys))})", column=what)
        if _blank(v):
            continue
        out[k] = _num(v, f"{what} for {k}", lo, hi, integer=integer, above=above)
    return _frozen(out)

_PHONE = re.compile(r"[0-9+()\- ]{2,30}")


def _resource_list(value, key: str) -> tuple[Mapping[str, str], ...]:
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{key} must be a list of {{title, detail}}", column=key)
    out = []
    for i, r in enumerate(value, start=1):
        if not isinstance(r, Mapping):
            raise InputError(f"{key}: entry {i} must have a title and a detail", column=key)
        title = "" if _blank(r.get("title")) else str(r["title"]).strip()
        detail = "" if _blank(r.get("detail")) else str(r["detail"]).strip()
        if not title and not detail:
            continue
        if not title:
            raise InputError(f"{key}: entry {i} needs a title", column=key, row=i)
        entry = {"title": title, "detail": detail}
        # Optional fields: old entries (title and detail only) stay valid.
        phone = "" if _blank(r.get("phone")) else str(r["phone"]).strip()
        if phone:
            # digits and the usual separators only: it becomes a tel: link a phone dials
            if not _PHONE.fullmatch(phone) or not any(c.isdigit() for c in phone):
                raise InputError(f"{key}: entry {i} has a phone number with characters other than digits, "
                                 "spaces, +, - and brackets", column="phone", row=i)
            entry["phone"] = phone
        url = "" if _blank(r.get("url")) else str(r["url"]).strip()
        if url:
            if not re.fullmatch(r"https?://[^\s<>\"']+", url):
                raise InputError(f"{key}: entry {i} needs a web address starting with https://",
                                 column="url", row=i)
            entry["url"] = url
        hours = "" if _blank(r.get("hours")) else str(r["hours"]).strip()
        if hours:
            entry["hours"] = hours[:120]
        topic = "" if _blank(r.get("topic")) else str(r["topic"]).strip().casefold()
        if topic:
            if topic not in RESOURCE_TOPICS:
                raise InputError(f"{key}: entry {i} has topic {topic!r}; use one of {', '.join(RESOURCE_TOPICS)}",
                                 column="topic", row=i)
            entry["topic"] = topic
        out.append(_frozen(entry))
    if not out:
        raise InputError(f"{key}: keep at least one entry", column=key)
    return tuple(out)


def _iso_date(value, what: str) -> str:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date such as 2015-04-01", column=what) from None


def _optional(fn):
    return lambda v: None if _blank(v) else fn(v)


def _reference_rate(value):
    if isinstance(value, Mapping):
        return _num_map(value, "reference burnout rate", 0, 1)
    return _num(value, "reference burnout rate", 0, 1)


_VALIDATORS = {
    "min_group_size": lambda v: _num(v, "minimum group size", MIN_GROUP_SIZE, 1000, integer=True),
    "min_comment_group": lambda v: _num(v, "minimum group for comments", MIN_COMMENT_GROUP, 1000, integer=True),
    "session_minutes": lambda v: _num(v, "session length in minutes", 5, 24 * 60, integer=True),
    "session_max_hours": lambda v: _num(v, "longest session in hours", 1, 24 * 14),
    "invite_hours": lambda v: _num(v, "invite lifetime in hours", 1, 24 * 30),
    "signin_free_failures": lambda v: _num(v, "wrong passwords before delays", 1, 20, integer=True),
    "signin_delay_seconds": lambda v: _num(v, "first sign-in delay in seconds", 1, 600),
    "signin_max_delay_seconds": lambda v: _num(v, "longest sign-in delay in seconds", 1, 3600),
    "signin_lock_failures": lambda v: _num(v, "wrong passwords before a lock", 2, 100, integer=True),
    "signin_lock_minutes": lambda v: _num(v, "lock length in minutes", 1, 24 * 60),
    "signin_client_free_failures": lambda v: _num(v, "wrong passwords from one address before delays", 1, 1000,
                                                  integer=True),
    "signin_client_lock_failures": lambda v: _num(v, "wrong passwords from one address before a lock", 5, 10000,
                                                  integer=True),
    "signin_forget_minutes": lambda v: _num(v, "minutes before old failures are forgotten", 1, 24 * 60),
    "grant_seconds": lambda v: _num(v, "sign-in hand-over in seconds", 10, 600),
    "setup_code_hours": lambda v: _num(v, "setup code lifetime in hours", 1, 24 * 7),
    "caseload_standards": lambda v: _num_map(v, "caseload standard", above=0),
    "checkin_schedule": lambda v: _num_map(v, "check-in schedule", 1, 52, keys=INSTRUMENT_IDS, integer=True),
    "risk_weights": _optional(lambda v: _num_map(v, "risk weight", 0, 100)),
    "risk_weights_fit": _optional(lambda v: _frozen({str(k): (t if isinstance(t, (int, float)) else str(t))
                                                     for k, t in dict(v).items()})),
    "base_turnover": lambda v: _num_map(v, "base turnover rate", 0, 1),
    "default_base_turnover": lambda v: _num(v, "default base turnover rate", 0, 1),
    "relative_risk": lambda v: _num(v, "relative risk", 1, 10),
    "cost_multiplier": lambda v: _num_map(v, "cost multiplier", 0, 5),
    "default_cost_multiplier": lambda v: _num(v, "default cost multiplier", 0, 5),
    "cost_per_departure": lambda v: _num_map(v, "cost per departure", 0),
    "default_annual_salary": _optional(lambda v: _num(v, "default annual salary", 0)),
    "burnout_midpoint": _optional(lambda v: _num(v, "burnout midpoint", 0, 100)),
    "burnout_scale": _optional(lambda v: _num(v, "burnout scale", above=0, hi=100)),
    "reference_burnout_rate": _optional(_reference_rate),
    "continuity_evidence": lambda v: _frozen({str(k): str(t) for k, t in dict(v).items()}),
    "import_max_active_cases": lambda v: _num(v, "most active cases in a week", 1, 100_000, integer=True),
    "import_max_events_per_week": lambda v: _num(v, "most events in a week", 1, 10_000, integer=True),
    "organisation_start": lambda v: _iso_date(v, "organisation start"),
    "import_future_days": lambda v: _num(v, "days ahead an answer may be dated", 0, 366, integer=True),
    "roster_start_lead_days": lambda v: _num(v, "days ahead a roster date may be", 0, 3660, integer=True),
    "reference_burnout_source": lambda v: _frozen({str(k): str(t) for k, t in dict(v).items()}),
    "observed_turnover": lambda v: _num_map(v, "observed turnover rate", 0, 1,
                                            keys=set(TEAM_KINDS) | {"all"}),
    "relative_risk_low": lambda v: _num(v, "lowest relative risk", 1, 10),
    "relative_risk_high": lambda v: _num(v, "highest relative risk", 1, 10),
    "cost_low_factor": lambda v: _num(v, "low cost factor", 0, 1),
    "cost_high_factor": lambda v: _num(v, "high cost factor", 1, 10),
    "resources": lambda v: _resource_list(v, "resources"),
    "crisis_resources": lambda v: _resource_list(v, "crisis_resources"),
}
assert set(_VALIDATORS) == _FIELDS, "every setting has exactly one validator"


def validate(key: str, value):
    """Check a value an admin wants to save; return it cleaned or raise InputError
    (the message names the setting in plain words)."""
    fn = _VALIDATORS.get(key)
    if fn is None:
        raise InputError(f"unknown setting {key!r}", column="key")
    return fn(value)


def _clamp_saved(key: str, value):
    """A saved privacy threshold below its floor is raised to the floor (an older
    version accepted 3): the stricter rule applies, and the helper is told it."""
    floors = {"min_group_size": MIN_GROUP_SIZE, "min_comment_group": MIN_COMMENT_GROUP}
    if key not in floors:
        return None
    try:
        v = int(float(value))
    except (TypeError, ValueError):
        return None
    return max(floors[key], v)
