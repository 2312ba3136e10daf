"""Organisation-editable defaults, each with the evidence it rests on.

Every value here is a *default*: admins override them in Settings (stored in the
``settings`` table) and the analysis functions take them as arguments.  Sources
are in ../shared/reference/turnover-models.md (section numbers below).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("BURNOUT_DATA_DIR", REPO_DIR / "data"))

INSTRUMENTS = ("proqol5", "cbi", "sib", "pulse")
ROLES = ("helper", "lead", "hr", "admin")

# Kinds of helping team.  ``client_word`` replaces "client" in CBI client-related
# items (Kristensen 2005 allows patient/student/... substitution).
TEAM_KINDS: dict[str, dict] = {
    "child_welfare": {"label": "Child welfare", "client_word": "family"},
    "adult_mental_health": {"label": "Adult mental health", "client_word": "client"},
    "addiction": {"label": "Addiction services", "client_word": "client"},
    "crisis_line": {"label": "Crisis line", "client_word": "caller"},
    "hospital_social_work": {"label": "Hospital social work", "client_word": "patient"},
    "school_counselling": {"label": "School counselling", "client_word": "student"},
}

# Recommended active caseload per role (turnover-models.md §9).  Child-welfare
# figures are CWLA standards; the others have no national standard and are
# conservative organisation defaults meant to be edited in Settings.
CASELOAD_STANDARDS: dict[str, float] = {
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
}

# Replacement cost as a multiple of annual salary (turnover-models.md §5):
# social work 0.3-0.7 (PCG), RN about 1.0 (NSI), generic 0.5-2.0 (Gallup).
COST_MULTIPLIER: dict[str, float] = {
    "child welfare caseworker": 0.5,
    "child protection investigator": 0.5,
    "foster care worker": 0.5,
    "mental health counsellor": 0.5,
    "clinical social worker": 0.5,
    "addiction counsellor": 0.5,
    "crisis line worker": 0.4,
    "hospital social worker": 0.5,
    "nurse": 1.0,
    "school counsellor": 0.5,
    "case manager": 0.5,
}
DEFAULT_COST_MULTIPLIER = 0.5

# Base (all-cause) annual turnover by team kind (turnover-models.md §6).  Child
# welfare ≈30 % national average (Casey); RNs 16.4 % (NSI 2025).  The others are
# stated assumptions to be replaced by the organisation's own rates.
BASE_TURNOVER: dict[str, float] = {
    "child_welfare": 0.30,
    "adult_mental_health": 0.20,
    "addiction": 0.25,
    "crisis_line": 0.30,
    "hospital_social_work": 0.164,
    "school_counselling": 0.12,
}
DEFAULT_BASE_TURNOVER = 0.20

# Burned-out helpers are about twice as likely to leave (Shanafelt 2017 fn d;
# Hamidi 2018 RR 2.1).  Sensitivity range 1.5-2.7 (turnover-models.md §7).
RELATIVE_RISK = 2.0

MIN_GROUP_SIZE = 5      # distinct respondents for any score aggregate (Glint, Qualtrics, Viva)
MIN_COMMENT_GROUP = 10  # comments (Glint)
SESSION_MINUTES = 60    # a login expires after this much inactivity

# How often the longer instruments are due, in weeks, unless a team sets its own.
CHECKIN_SCHEDULE = {"pulse": 1, "sib": 1, "cbi": 4, "proqol5": 12}


def database_url() -> str:
    """``BURNOUT_DATABASE_URL`` or the embedded SQLite file under data/."""
    url = os.environ.get("BURNOUT_DATABASE_URL")
    if url:
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'burnout.db'}"
