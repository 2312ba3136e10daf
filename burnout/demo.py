"""A synthetic helping organisation, written in exactly the import formats (DESIGN §6).

The demo must look like a real organisation to the people evaluating the tool,
and it must exercise every path of the analysis: caseloads above the role's
standard, trauma exposure, case mismatch, leavers and the vacancies they leave
behind, missed check-ins, a team too small to be shown, rosters with a missing
``caseload_standard``.  Nothing here is real data; names are recombined from
short built-in lists.

How it works, in one paragraph.  The organisation is a set of *positions*
grouped in teams.  A week-by-week loop (vectorised over positions) draws each
team's demand, spreads it over whoever currently fills the team's positions
(so a vacancy loads the colleagues), and turns it into each helper's weekly
caseload row.  Each helper carries a latent state — exhaustion, secondary
traumatic stress (STS), compassion satisfaction — that follows exponential
moving averages of their load, so burnout lags overload by a few weeks.  The
latent state drives the leaving hazard (burned-out helpers leave about
``Settings().relative_risk`` times as often) and, after the loop, the answers to
every instrument.  Leavers' positions are refilled by new hires after a
recruitment gap.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed`` and
the calendar is anchored on a fixed Monday, so the same arguments always give
byte-identical files, whatever day it is.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from burnout.domain.settings import CASELOAD_STANDARDS, TEAM_KINDS, Settings
from burnout.errors import InputError

DEFAULT_END_DATE = dt.date(2026, 11, 16)  # a Monday; the week_start of the last week

ROSTER_COLUMNS = [
    "helper_id", "name", "team", "role", "site", "fte", "start_date", "end_date",
    "end_reason", "annual_salary", "specialties", "caseload_standard", "team_kind",
]
CASELOAD_COLUMNS = [
    "helper_id", "week_start", "active_cases", "new_cases", "high_acuity_cases",
    "trauma_exposures", "critical_incidents", "hours_worked", "overtime_hours",
    "case_types", "cases_outside_specialty",
]
PROQOL_ITEMS = [f"proqol_{i}" for i in range(1, 31)]
CBI_ITEMS = ([f"cbi_p{i}" for i in range(1, 7)] + [f"cbi_w{i}" for i in range(1, 8)]
             + [f"cbi_c{i}" for i in range(1, 7)])
SIB_ITEMS = ["sib_1"]
PULSE_ITEMS = [f"pulse_{i}" for i in range(1, 7)]
ITEM_COLUMNS = PROQOL_ITEMS + CBI_ITEMS + SIB_ITEMS + PULSE_ITEMS
SURVEY_COLUMNS = ["helper_id", "submitted_at", "instrument"] + ITEM_COLUMNS

PROQOL_BO = (1, 4, 8, 10, 15, 17, 19, 21, 26, 29)
PROQOL_CS = (3, 6, 12, 16, 18, 20, 22, 24, 27, 30)
PROQOL_STS = (2, 5, 7, 9, 11, 13, 14, 23, 25, 28)
PROQOL_REVERSED = (1, 4, 15, 17, 29)

# Per team kind: a short team-id prefix, the roles it employs (keys of
# CASELOAD_STANDARDS) with their shares, and the specialties a helper
# may hold — which double as the case types the team handles, so "outside
# specialty" has a meaning.
KINDS: dict[str, dict] = {
    "child_welfare": {
        "prefix": "CW",
        "roles": {"child welfare caseworker": 0.55, "child protection investigator": 0.2,
                  "foster care worker": 0.15, "case manager": 0.1},
        "specialties": ["child protection", "foster care", "adolescents", "substance use",
                        "domestic violence"],
        "case_weeks": 30,     # typical time a case stays open
        "acuity": 0.28,       # share of active cases that are high acuity
        "trauma_per_acute": 0.22,
        "incidents": 0.09,    # critical incidents per week at standard load
        "level": 1.0,         # chronic demand relative to the standard
        "vacancy_weeks": (5, 16),
    },
    "adult_mental_health": {
        "prefix": "AMH",
        "roles": {"mental health counsellor": 0.45, "clinical social worker": 0.3,
                  "case manager": 0.15, "nurse": 0.1},
        "specialties": ["depression", "anxiety", "psychosis", "trauma", "personality disorders"],
        "case_weeks": 16, "acuity": 0.16, "trauma_per_acute": 0.18, "incidents": 0.05,
        "level": 0.92, "vacancy_weeks": (4, 12),
    },
    "addiction": {
        "prefix": "ADD",
        "roles": {"addiction counsellor": 0.65, "case manager": 0.2, "nurse": 0.15},
        "specialties": ["alcohol", "opioids", "stimulants", "dual diagnosis", "family work"],
        "case_weeks": 12, "acuity": 0.2, "trauma_per_acute": 0.15, "incidents": 0.08,
        "level": 0.95, "vacancy_weeks": (4, 12),
    },
    "crisis_line": {
        "prefix": "CL",
        "roles": {"crisis line worker": 0.9, "clinical social worker": 0.1},
        "specialties": ["suicide risk", "domestic violence", "substance use", "mental health",
                        "loneliness"],
        "case_weeks": 1, "acuity": 0.12, "trauma_per_acute": 0.3, "incidents": 0.14,
        "level": 0.96, "vacancy_weeks": (3, 8),
    },
    "hospital_social_work": {
        "prefix": "HSW",
        "roles": {"hospital social worker": 0.6, "nurse": 0.25, "case manager": 0.15},
        "specialties": ["discharge planning", "end of life", "elder care", "trauma",
                        "substance use"],
        "case_weeks": 2, "acuity": 0.3, "trauma_per_acute": 0.12, "incidents": 0.1,
        "level": 0.92, "vacancy_weeks": (4, 10),
    },
    "school_counselling": {
        "prefix": "SC",
        "roles": {"school counsellor": 1.0},
        "specialties": ["academic planning", "family issues", "anxiety", "bullying", "self-harm"],
        "case_weeks": 40, "acuity": 0.02, "trauma_per_acute": 0.3, "incidents": 0.04,
        "level": 0.98, "vacancy_weeks": (6, 20),
    },
}
_DEFAULTS = Settings()
KIND_IDS = list(TEAM_KINDS)
N_TYPES = 5  # every kind has five specialties / case types (bit masks below rely on it)

# Full-time annual salary (USD) by role, roughly US 2025 medians for public and
# non-profit agencies; nurses are paid markedly more, which matters for the
# replacement-cost model.
SALARY: dict[str, float] = {
    "child welfare caseworker": 52_000, "child protection investigator": 57_000,
    "foster care worker": 50_000, "mental health counsellor": 56_000,
    "clinical social worker": 68_000, "addiction counsellor": 50_000,
    "crisis line worker": 44_000, "hospital social worker": 66_000, "nurse": 86_000,
    "school counsellor": 63_000, "case manager": 46_000,
}

AREAS = ["North", "South", "East", "West", "Central", "Riverside", "Harbour", "Valley",
         "Hillside", "Lakeside", "Parkway", "Meadow", "Bridge", "Old Town", "Westfield",
         "Northgate"]
SITES = ["Main Street Centre", "Riverside Hub", "Eastfield Clinic", "Harbour House",
         "Millbrook Office"]
FIRST_NAMES = [
    "Amara", "Bilal", "Chen", "Dana", "Elif", "Farah", "Gabriel", "Hana", "Ibrahim", "Jonas",
    "Kavya", "Leilani", "Mateo", "Nadia", "Oluwaseun", "Priya", "Quinn", "Rosa", "Samir",
    "Tamar", "Uzma", "Valentina", "Wei", "Ximena", "Yusuf", "Zofia", "Aiyana", "Bongani",
    "Carmen", "Dmitri", "Esi", "Finn", "Grace", "Hiroshi", "Ines", "Jamal", "Kiri", "Luca",
    "Maya", "Noor",
]
LAST_NAMES = [
    "Abara", "Bergstrom", "Castillo", "Dlamini", "Eriksen", "Fontaine", "Gupta", "Haddad",
    "Ivanova", "Jovanovic", "Kowalski", "Lindqvist", "Mbeki", "Nakamura", "Okafor", "Petrov",
    "Quispe", "Rahman", "Sato", "Tremblay", "Urquhart", "Varga", "Whitfield", "Xu", "Yilmaz",
    "Zielinski", "Acheampong", "Brennan", "Chowdhury", "Delgado", "Essien", "Fitzgerald",
    "Garcia", "Hoang", "Iqbal", "Jensen", "Kaur", "Lopez", "Moreau", "Novak",
]
END_REASONS = ["resigned - workload", "resigned - relocation", "resigned - other job",
               "retired", "dismissed"]
# Burned-out leavers mostly cite workload; the others leave for the usual mix of
# reasons.  Dismissal stays rare either way.
REASON_P_BURNED = [0.6, 0.08, 0.25, 0.05, 0.02]
REASON_P_OTHER = [0.15, 0.27, 0.38, 0.17, 0.03]

BURN_IN_WEEKS = 12       # let lagged states settle before the first written week
BURNED_THRESHOLD = 0.0   # latent exhaustion above which a helper counts as burned out
ASSUMED_BURNOUT_SHARE = 0.5  # used to split BASE_TURNOVER into burned / not burned hazards
# The hazard follows the *latent* state, but anyone analysing the demo sees it
# through noisy, occasional answers, which dilutes the contrast.  Raising the
# latent relative risk makes the RR an analyst measures from sib_1 >= 3 come
# out near the default relative risk, as in the studies it comes from.
LATENT_RR_BOOST = 2.0


def generate(helpers: int = 60, weeks: int = 52, seed: int = 7,
             end_date: dt.date | str | None = None) -> dict[str, pd.DataFrame]:
    """The demo organisation as ``{"roster", "surveys", "caseload"}`` frames.

    ``helpers`` helpers are employed in the first week; leavers are replaced,
    so the roster ends up longer.  ``end_date`` is the ``week_start`` of the
    last week (snapped back to its Monday); the default is a fixed date so the
    output never depends on today.  Values are shaped as they are written to
    CSV: dates are ISO strings, blanks are NaN.
    """
    if helpers < 1 or weeks < 1:
        # InputError (a ValueError) so the CLI answers a bad --helpers/--weeks with exit code 2
        raise InputError(f"helpers and weeks must be at least 1 (got helpers={helpers}, weeks={weeks})")
    rng = np.random.default_rng(seed)
    last_monday = _monday(end_date)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    week_starts = np.datetime64(first_monday, "D") + 7 * np.arange(weeks)

    org = _organisation(helpers, rng)
    sim = _simulate(org, weeks, rng)
    roster = _roster_frame(org, sim, week_starts)
    caseload = _caseload_frame(org, sim, week_starts, roster["helper_id"].to_numpy())
    surveys = _surveys_frame(sim, week_starts, roster["helper_id"].to_numpy(), rng)
    return {"roster": roster, "surveys": surveys, "caseload": caseload}


def write_demo(out_dir: Path, helpers: int = 60, weeks: int = 52, seed: int = 7,
               end_date: dt.date | str | None = None) -> dict[str, Path]:
    """Write roster.csv, surveys.csv and caseload.csv into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = generate(helpers=helpers, weeks=weeks, seed=seed, end_date=end_date)
    paths = {name: out_dir / f"{name}.csv" for name in ("roster", "surveys", "caseload")}
    # %g writes fte 0.8 and a standard of 17 as "0.8" and "17", not "17.0".
    frames["roster"].to_csv(paths["roster"], index=False, lineterminator="\n", float_format="%g")
    frames["caseload"].to_csv(paths["caseload"], index=False, lineterminator="\n")
    _write_surveys_csv(frames["surveys"], paths["surveys"])
    return paths


INSTRUMENT_ITEMS = {"proqol5": PROQOL_ITEMS, "cbi": CBI_ITEMS, "sib": SIB_ITEMS,
                    "pulse": PULSE_ITEMS}


def _write_surveys_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the wide surveys frame as pandas would with ``float_format="%g"``, faster.

    The wide file is mostly empty cells; pandas formats each of them one by
    one (about 18 s at 5,000 x 104).  Every answer is a whole number from a
    tiny set, so each row's cells are looked up as strings, and only the
    instrument's own columns are joined; the empty stretches before and after
    them are constant per instrument.
    """
    labels = np.array([str(v) for v in range(101)] + [""], dtype=object)
    inst = frame["instrument"].to_numpy()
    items = np.empty(len(frame), dtype=object)
    for name, cols in INSTRUMENT_ITEMS.items():
        rows = np.flatnonzero(inst == name)
        if not rows.size:
            continue
        vals = np.column_stack([frame[c].to_numpy()[rows] for c in cols])
        codes = np.where(np.isnan(vals), 101, vals).astype(np.int64)
        first = ITEM_COLUMNS.index(cols[0])
        before = "," * first
        after = "," * (len(ITEM_COLUMNS) - first - len(cols))
        items[rows] = [before + ",".join(r) + after for r in labels[codes].tolist()]
    lines = (frame["helper_id"].to_numpy(dtype=object) + ","
             + frame["submitted_at"].to_numpy(dtype=object) + "," + inst + "," + items)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(SURVEY_COLUMNS) + "\n")
        if len(lines):
            fh.write("\n".join(lines.tolist()) + "\n")


# --------------------------------------------------------------------------- calendar

def _monday(day: dt.date | str | None) -> dt.date:
    if day is None:
        day = DEFAULT_END_DATE
    elif isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    elif isinstance(day, dt.datetime):
        day = day.date()
    return day - dt.timedelta(days=day.weekday())


# --------------------------------------------------------------------------- organisation

def _team_sizes(n: int, rng: np.random.Generator) -> list[int]:
    """Mostly 5-12 per team, plus one team of 3-4 so minimum-group suppression shows."""
    if n < 9:
        return [n]
    small = int(rng.integers(3, 5))
    sizes, rest = [], n - small
    while rest > 12:
        # Never leave a remainder below 5, which would be a second tiny team.
        s = int(rng.integers(6, min(11, rest - 5) + 1))
        sizes.append(s)
        rest -= s
    sizes.append(rest)
    pos = int(rng.integers(0, len(sizes) + 1))
    return sizes[:pos] + [small] + sizes[pos:]


def _organisation(n: int, rng: np.random.Generator) -> dict:
    sizes = _team_sizes(n, rng)
    kind_order = rng.permutation(len(KIND_IDS))
    area_order = {k: rng.permutation(len(AREAS)) for k in KIND_IDS}
    used: dict[str, int] = {}
    team_names, team_kind, team_site = [], [], []
    for i, _ in enumerate(sizes):
        kind = KIND_IDS[kind_order[i % len(KIND_IDS)]]
        c = used.get(kind, 0)
        used[kind] = c + 1
        area = AREAS[area_order[kind][c % len(AREAS)]].replace(" ", "")
        suffix = str(c // len(AREAS) + 1) if c >= len(AREAS) else ""
        team_names.append(f"{KINDS[kind]['prefix']}-{area}{suffix}")
        team_kind.append(KIND_IDS.index(kind))
        team_site.append(int(rng.integers(0, len(SITES))))
    team_of_pos = np.repeat(np.arange(len(sizes)), sizes)
    kind_of_pos = np.asarray(team_kind)[team_of_pos]

    roles = sorted(CASELOAD_STANDARDS)
    role_of_pos = np.empty(n, dtype=np.int64)
    for k, kind in enumerate(KIND_IDS):
        idx = np.flatnonzero(kind_of_pos == k)
        names = list(KINDS[kind]["roles"])
        p = np.array([KINDS[kind]["roles"][r] for r in names])
        picks = rng.choice(len(names), size=idx.size, p=p / p.sum())
        role_of_pos[idx] = [roles.index(names[j]) for j in picks]
    standard = np.array([CASELOAD_STANDARDS[r] for r in roles])[role_of_pos]

    kp = {key: np.array([KINDS[k][key] for k in KIND_IDS], dtype=float)
          for key in ("case_weeks", "acuity", "trauma_per_acute", "incidents", "level")}
    vac = np.array([KINDS[k]["vacancy_weeks"] for k in KIND_IDS])
    return {
        "n": n, "team_sizes": np.asarray(sizes), "team_names": team_names,
        "team_kind": np.asarray(team_kind), "team_site": np.asarray(team_site),
        "team": team_of_pos, "kind": kind_of_pos, "role": role_of_pos, "roles": roles,
        "standard": standard, "kp": kp, "vacancy_weeks": vac,
    }


# --------------------------------------------------------------------------- simulation

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _weekly_hazards(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekly leaving hazards (not burned out, burned out) per kind.

    BASE_TURNOVER is the all-cause annual rate; splitting it with the relative
    risk (turnover-models.md §1, §7) keeps the overall rate near the kind's
    figure while burned-out helpers leave about RR times as often.
    """
    rr = 1 + (_DEFAULTS.relative_risk - 1) * LATENT_RR_BOOST
    annual = np.array([_DEFAULTS.base_turnover_for(k)
                       for k in KIND_IDS])
    t_nb = annual / (1 + (rr - 1) * ASSUMED_BURNOUT_SHARE)
    t_b = np.minimum(rr * t_nb, 0.95)
    weekly = lambda t: 1 - (1 - t) ** (1 / 52)  # noqa: E731
    return weekly(t_nb)[kind], weekly(t_b)[kind]


def _simulate(org: dict, weeks: int, rng: np.random.Generator) -> dict:
    n, n_teams = org["n"], len(org["team_sizes"])
    team, kind, std = org["team"], org["kind"], org["standard"]
    kp = org["kp"]
    h_nb, h_b = _weekly_hazards(kind)

    # People are appended as they are hired; ``person`` maps position -> current person.
    people: dict[str, list] = {k: [] for k in (
        "pos", "start_week", "fte", "salary_factor", "spec_mask", "blank_std", "name",
        "tenure_years", "cbi_off", "pq_off")}
    end_week: dict[int, int] = {}
    end_reason: dict[int, int] = {}
    n_people = 0

    # Per-position state of the current occupant.
    st = {k: np.zeros(n) for k in (
        "fte", "trait_e", "trait_s", "trait_c", "drift", "drift_acc", "mis_base", "indiv",
        "spec_mask", "E", "S", "C", "r_ema", "t_ema", "c_ema", "m_ema", "o_ema", "weeks_in")}
    person = np.full(n, -1, dtype=np.int64)
    hire_week = np.full(n, -10**9, dtype=np.int64)

    # Team-level demand waves: persistent AR(1) noise, occasional surges (a
    # court backlog, a local tragedy, flu season) and, for some teams, a slow
    # upward drift — which is what makes some helpers "clearly rising".
    team_kind = org["team_kind"]
    team_base = kp["level"][team_kind] * np.exp(rng.normal(0, 0.07, n_teams))
    team_drift = np.where(rng.random(n_teams) < 0.25, rng.uniform(0.05, 0.2, n_teams), 0.0)
    team_support = rng.normal(0, 0.5, n_teams)
    team_ar = np.zeros(n_teams)
    team_surge = np.zeros(n_teams)

    def hire(pos: np.ndarray, week: int, initial: bool):
        nonlocal n_people
        m = pos.size
        if m == 0:
            return
        ids = np.arange(n_people, n_people + m)
        n_people += m
        fte = rng.choice([1.0, 0.9, 0.8, 0.6, 0.5], size=m, p=[0.68, 0.05, 0.14, 0.05, 0.08])
        # 2-3 specialties out of the kind's five, as a bit mask.
        perm = rng.random((m, N_TYPES)).argsort(axis=1)
        k_spec = rng.integers(2, 4, m)
        bits = (perm < k_spec[:, None]).astype(np.int64) << np.arange(N_TYPES)
        spec = bits.sum(axis=1)
        people["pos"].append(pos)
        people["start_week"].append(np.full(m, week))
        people["fte"].append(fte)
        # New hires come in near the bottom of the pay band.
        sal = np.exp(rng.normal(0, 0.07, m)) * (0.94 if not initial else 1.0)
        people["salary_factor"].append(sal)
        people["spec_mask"].append(spec)
        people["blank_std"].append(rng.random(m) < 0.1)
        people["name"].append(rng.integers(0, len(FIRST_NAMES) * len(LAST_NAMES), m))
        people["tenure_years"].append(rng.exponential(4.0, m) + 0.1 if initial else np.zeros(m))

        person[pos] = ids
        st["fte"][pos] = fte
        st["spec_mask"][pos] = spec
        st["trait_e"][pos] = rng.normal(0, 0.45, m)
        st["trait_s"][pos] = rng.normal(0, 0.45, m)
        st["trait_c"][pos] = rng.normal(0, 0.5, m)
        # A minority carry something growing outside work (a sick parent, a
        # divorce): their exhaustion creeps up whatever their caseload, by
        # about one to two sib points over the period, so a trend line and an
        # alert have something real to find.  A few others recover.
        u = rng.random(m)
        rise = np.where(u < 0.14, rng.uniform(1.0, 1.6, m), np.where(u > 0.95, -0.6, 0.0))
        st["drift"][pos] = rise / max(weeks, 8)
        st["drift_acc"][pos] = 0.0
        st["mis_base"][pos] = rng.beta(1.5, 10, m)
        st["indiv"][pos] = np.exp(rng.normal(0, 0.1, m))
        # Ramp-up: a new hire is given a partial caseload for the first weeks.
        st["weeks_in"][pos] = 0 if not initial else 100
        start_ratio = 0.5 if not initial else 1.0
        for key, val in (("r_ema", start_ratio), ("t_ema", start_ratio), ("c_ema", 0.0),
                         ("m_ema", 0.1), ("o_ema", 0.0)):
            st[key][pos] = val
        # A new hire starts fresher than the colleague they replace.
        st["E"][pos] = st["trait_e"][pos] - (0.3 if not initial else 0.0)
        st["S"][pos] = st["trait_s"][pos]
        st["C"][pos] = st["trait_c"][pos]
        # Staggered questionnaire schedules for existing staff; a new hire
        # does the long questionnaires in their first week as a baseline.
        people["cbi_off"].append(rng.integers(0, 4, m) if initial else np.zeros(m, dtype=np.int64))
        people["pq_off"].append(rng.integers(0, 12, m) if initial else np.zeros(m, dtype=np.int64))

    hire(np.arange(n), -BURN_IN_WEEKS, initial=True)

    shape = (weeks, n)
    rec = {k: np.zeros(shape, dtype=np.int64) for k in (
        "person", "active", "new", "high", "trauma", "crit", "hours", "ot", "outside", "types")}
    rec["person"][:] = -1
    for k in ("E", "S", "C", "support", "ratio"):
        rec[k] = np.zeros(shape)
    prev_expected = np.zeros(n)

    for t in range(-BURN_IN_WEEKS, weeks):
        arrivals = np.flatnonzero((hire_week == t) & (person < 0))
        hire(arrivals, t, initial=False)
        occ = person >= 0

        team_ar = 0.85 * team_ar + rng.normal(0, 0.05, n_teams)
        team_surge = 0.8 * team_surge + np.where(rng.random(n_teams) < 0.025,
                                                 rng.uniform(0.15, 0.35, n_teams), 0.0)
        progress = max(t, 0) / max(weeks - 1, 1)
        level = team_base * (1 + team_drift * progress) * np.exp(team_ar) * (1 + team_surge)

        # Vacancies: the team's demand does not shrink when someone leaves, so
        # the remaining helpers absorb most of it (some goes to a waiting list).
        filled = np.bincount(team[occ], minlength=n_teams)
        size = org["team_sizes"]
        vac_share = 1 - filled / size
        coverage = 1 + 0.7 * np.where(filled > 0, size / np.maximum(filled, 1) - 1, 0)
        coverage = np.minimum(coverage, 1.8)

        ramp = np.minimum(1.0, 0.4 + 0.08 * st["weeks_in"])
        expected = std * st["fte"] * level[team] * st["indiv"] * coverage[team] * ramp
        active = np.maximum(0, np.rint(expected * np.exp(rng.normal(0, 0.06, n))))
        ratio = active / (std * st["fte"])

        # Besides ordinary intake, cases handed over when a colleague leaves
        # (or given to a new hire) arrive as new cases.
        handover = np.maximum(expected - prev_expected, 0)
        new = rng.poisson(active / kp["case_weeks"][kind] + handover)
        new = np.minimum(new, active)
        acuity = np.clip(kp["acuity"][kind] * (1 + 0.5 * team_surge[team]), 0, 0.9)
        high = rng.binomial(active.astype(np.int64), acuity)
        trauma = rng.poisson(high * kp["trauma_per_acute"][kind] * (1 + team_surge[team]))
        crit = rng.poisson(kp["incidents"][kind] * np.maximum(ratio, 0.2) * (1 + 2 * team_surge[team]))
        mismatch = np.clip(st["mis_base"] + 0.35 * vac_share[team], 0, 0.9)
        outside = rng.binomial(active.astype(np.int64), mismatch)

        contracted = 40 * st["fte"]
        # Exhausted helpers take more sick days; everyone takes some leave.
        absent = rng.random(n) < 0.05 + 0.04 * _sigmoid(3 * st["E"])
        absent_days = np.where(absent, rng.integers(1, 6, n), 0)
        ot = rng.poisson(np.maximum(0, 12 * st["fte"] * (ratio - 0.95)) + 0.8 + 3 * crit)
        ot = np.where(absent_days >= 3, 0, ot)
        hours = np.maximum(0, np.rint(contracted * (1 - absent_days / 5)) + ot)

        # Lagged drivers (EMA, mean lag ≈ 2-3 weeks), relative to what the
        # role normally carries so kinds with naturally high counts are comparable.
        a = 0.3
        expected_trauma = std * st["fte"] * kp["acuity"][kind] * kp["trauma_per_acute"][kind]
        st["r_ema"] += a * (ratio - st["r_ema"])
        st["t_ema"] += a * (trauma / np.maximum(expected_trauma, 0.3) - st["t_ema"])
        st["c_ema"] += a * (crit - st["c_ema"])
        st["m_ema"] += a * (outside / np.maximum(active, 1) - st["m_ema"])
        st["o_ema"] += a * (ot / np.maximum(contracted, 1) - st["o_ema"])

        if t >= 0:
            st["drift_acc"] += st["drift"]
        e_target = (st["trait_e"] + st["drift_acc"] + 1.6 * (st["r_ema"] - 1.0) + 0.12 * (st["t_ema"] - 1)
                    + 0.35 * st["c_ema"] + 1.0 * (st["m_ema"] - 0.12) + 1.2 * st["o_ema"] - 0.25)
        st["E"] += 0.35 * (e_target - st["E"]) + rng.normal(0, 0.08, n)
        s_target = st["trait_s"] + 0.35 * (st["t_ema"] - 1) + 0.3 * st["c_ema"] + 0.25 * st["E"]
        st["S"] += 0.3 * (s_target - st["S"]) + rng.normal(0, 0.06, n)
        c_target = st["trait_c"] - 0.45 * st["E"] + 0.2 * team_support[team]
        st["C"] += 0.3 * (c_target - st["C"]) + rng.normal(0, 0.06, n)
        support = team_support[team] - 0.8 * vac_share[team] - 0.2 * st["E"]

        st["weeks_in"] += occ
        prev_expected = np.where(occ, expected, 0)

        if t >= 0:
            r = t
            rec["person"][r] = np.where(occ, person, -1)
            rec["active"][r], rec["new"][r], rec["high"][r] = active, new, high
            rec["trauma"][r], rec["crit"][r] = trauma, crit
            rec["hours"][r], rec["ot"][r], rec["outside"][r] = hours, ot, outside
            rec["types"][r] = _case_type_masks(st["spec_mask"].astype(np.int64), active, outside, rng)
            rec["E"][r], rec["S"][r], rec["C"][r] = st["E"], st["S"], st["C"]
            rec["support"][r], rec["ratio"][r] = support, st["r_ema"]

            burned = _sigmoid((st["E"] - BURNED_THRESHOLD) / 0.1)
            hazard = h_nb + (h_b - h_nb) * burned
            leave = occ & (rng.random(n) < hazard)
            leavers = np.flatnonzero(leave)
            if leavers.size:
                p_reason = np.where(burned[leavers, None] > 0.5, REASON_P_BURNED, REASON_P_OTHER)
                u = rng.random(leavers.size)
                reasons = (u[:, None] > p_reason.cumsum(axis=1)).sum(axis=1)
                lo = org["vacancy_weeks"][kind[leavers], 0]
                hi = org["vacancy_weeks"][kind[leavers], 1]
                gap = rng.integers(lo, hi + 1)
                for who, why in zip(person[leavers].tolist(), reasons.tolist()):
                    end_week[who] = t
                    end_reason[who] = min(why, len(END_REASONS) - 1)
                hire_week[leavers] = t + 1 + gap
                person[leavers] = -1

    people_arr = {k: np.concatenate(v) for k, v in people.items()}
    end_w = np.full(n_people, -1, dtype=np.int64)
    end_r = np.full(n_people, -1, dtype=np.int64)
    for who, w in end_week.items():
        end_w[who] = w
        end_r[who] = end_reason[who]
    people_arr["end_week"], people_arr["end_reason"] = end_w, end_r
    return {"rec": rec, "people": people_arr, "n_people": n_people}


def _case_type_masks(spec: np.ndarray, active: np.ndarray, outside: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Bit mask of the case types seen this week (bit i = the kind's i-th type)."""
    full = (1 << N_TYPES) - 1
    m = spec.size
    draw = (rng.random((m, N_TYPES)) < 0.7).astype(np.int64) << np.arange(N_TYPES)
    draw = draw.sum(axis=1)
    inside = active - outside > 0
    in_part = draw & spec
    in_part = np.where(inside & (in_part == 0), spec & -spec, np.where(inside, in_part, 0))
    out_part = draw & ~spec & full
    # When some cases are outside the specialty, name at least one such type.
    prio = rng.random((m, N_TYPES)) * ((((full & ~spec)[:, None]) >> np.arange(N_TYPES)) & 1)
    one_out = np.where(prio.max(axis=1) > 0, 1 << prio.argmax(axis=1), 0)
    out_part = np.where(outside > 0, np.where(out_part == 0, one_out, out_part), 0)
    return in_part | out_part


# --------------------------------------------------------------------------- frames

def _mask_strings(kind_idx: np.ndarray, masks: np.ndarray) -> np.ndarray:
    table = np.empty(len(KIND_IDS) * (1 << N_TYPES), dtype=object)
    for k, kind in enumerate(KIND_IDS):
        names = KINDS[kind]["specialties"]
        for mask in range(1 << N_TYPES):
            table[k * (1 << N_TYPES) + mask] = ";".join(
                names[i] for i in range(N_TYPES) if mask >> i & 1)
    return table[kind_idx * (1 << N_TYPES) + masks]


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D")


def _roster_frame(org: dict, sim: dict, week_starts: np.ndarray) -> pd.DataFrame:
    p = sim["people"]
    n_people = sim["n_people"]
    width = max(4, len(str(n_people)))
    ids = np.array([f"H{i + 1:0{width}d}" for i in range(n_people)], dtype=object)
    pos = p["pos"]
    team = org["team"][pos]
    kind = org["kind"][pos]
    role_idx = org["role"][pos]
    roles = np.array(org["roles"], dtype=object)[role_idx]

    first = week_starts[0]
    start = first + 7 * p["start_week"]
    initial = p["start_week"] < 0
    # Long-serving staff started on an arbitrary weekday before the period.
    back = np.rint(p["tenure_years"] * 365.25).astype(np.int64)
    start = np.where(initial, first - back, start).astype("datetime64[D]")
    left = p["end_week"] >= 0
    # Leavers' last day is the Friday of their last worked week.
    end = (first + 7 * np.maximum(p["end_week"], 0) + 4).astype("datetime64[D]")

    salary_base = np.array([SALARY[r] for r in org["roles"]])[role_idx]
    salary = (np.rint(salary_base * p["salary_factor"] / 100) * 100).astype(np.int64)
    std = org["standard"][pos].astype(float)
    std = np.where(p["blank_std"], np.nan, std)

    first_names = np.array(FIRST_NAMES, dtype=object)
    last_names = np.array(LAST_NAMES, dtype=object)
    names = first_names[p["name"] // len(LAST_NAMES)] + " " + last_names[p["name"] % len(LAST_NAMES)]

    spec = _mask_strings(kind, p["spec_mask"].astype(np.int64))
    return pd.DataFrame({
        "helper_id": ids,
        "name": names,
        "team": np.array(org["team_names"], dtype=object)[team],
        "role": roles,
        "site": np.array(SITES, dtype=object)[org["team_site"][team]],
        "fte": p["fte"],
        "start_date": _iso(start),
        "end_date": np.where(left, _iso(end).astype(object), np.nan),
        "end_reason": np.where(left, np.array(END_REASONS, dtype=object)[np.maximum(p["end_reason"], 0)],
                               np.nan),
        "annual_salary": salary,
        "specialties": spec,
        "caseload_standard": std,
        "team_kind": np.array(KIND_IDS, dtype=object)[kind],
    }, columns=ROSTER_COLUMNS)


def _employed_cells(sim: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(week, position, person) of every employed helper-week, ordered by person then week."""
    person = sim["rec"]["person"]
    w, pos = np.nonzero(person >= 0)
    who = person[w, pos]
    order = np.lexsort((w, who))
    return w[order], pos[order], who[order]


def _caseload_frame(org: dict, sim: dict, week_starts: np.ndarray,
                    ids: np.ndarray) -> pd.DataFrame:
    rec = sim["rec"]
    w, pos, who = _employed_cells(sim)
    col = lambda k: rec[k][w, pos]  # noqa: E731
    return pd.DataFrame({
        "helper_id": ids[who],
        "week_start": _iso(week_starts[w]),
        "active_cases": col("active"),
        "new_cases": col("new"),
        "high_acuity_cases": col("high"),
        "trauma_exposures": col("trauma"),
        "critical_incidents": col("crit"),
        "hours_worked": col("hours"),
        "overtime_hours": col("ot"),
        "case_types": _mask_strings(org["kind"][pos], col("types")),
        "cases_outside_specialty": col("outside"),
    }, columns=CASELOAD_COLUMNS)


def _likert(latent: np.ndarray, mu, load, sd: float, lo: int, hi: int,
            rng: np.random.Generator) -> np.ndarray:
    """Round a noisy linear read-out of a latent state onto an integer scale."""
    x = mu + load * latent + rng.normal(0, sd, latent.shape)
    # "+ 0.0" turns the -0.0 that rint gives for small negatives into 0.0,
    # which would otherwise be written as "-0".
    return np.clip(np.rint(x), lo, hi) + 0.0


def _surveys_frame(sim: dict, week_starts: np.ndarray, ids: np.ndarray,
                   rng: np.random.Generator) -> pd.DataFrame:
    rec, p = sim["rec"], sim["people"]
    w, pos, who = _employed_cells(sim)
    m = w.size
    E, S, C = rec["E"][w, pos], rec["S"][w, pos], rec["C"][w, pos]
    support, ratio = rec["support"][w, pos], rec["ratio"][w, pos]

    # Check-in habit is personal; burned-out helpers skip more (the silence is
    # itself a signal the risk model may use).
    habit = rng.normal(0, 0.5, sim["n_people"])[who]
    p_miss = np.clip(0.12 + 0.06 * habit + 0.12 * _sigmoid(4 * (E - BURNED_THRESHOLD)), 0.02, 0.8)
    checked_in = rng.random(m) >= p_miss
    weeks_in = w - np.maximum(p["start_week"][who], 0)
    cbi_due = (weeks_in + p["cbi_off"][who]) % _DEFAULTS.checkin_schedule["cbi"] == 0
    pq_due = (weeks_in + p["pq_off"][who]) % _DEFAULTS.checkin_schedule["proqol5"] == 0
    # The longer questionnaires are sometimes put off even when the pulse is done.
    do_cbi = checked_in & cbi_due & (rng.random(m) < 0.9)
    do_pq = checked_in & pq_due & (rng.random(m) < 0.88)

    # Helpers check in on workdays; a leaver's last check-in precedes their Friday exit.
    day = rng.choice(5, size=m, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    last_week = p["end_week"][who] == w
    day = np.where(last_week, np.minimum(day, 3), day)
    minute = rng.integers(8 * 60, 19 * 60, m)
    base = (week_starts[w].astype("datetime64[m]") + day.astype("timedelta64[D]")
            + minute.astype("timedelta64[m]"))

    blocks = []

    def block(sel, instrument, items, values, offset_min):
        blocks.append((np.flatnonzero(sel), instrument, items, values, offset_min))

    # sib_1: 1 "no symptoms" ... 5 "completely burned out".
    sel = checked_in
    block(sel, "sib", SIB_ITEMS, _likert(E[sel], 2.35, 1.25, 0.55, 1, 5, rng)[:, None], 0)

    sel = checked_in
    k = sel.sum()
    pulse = np.column_stack([
        6 - _likert(E[sel], 2.7, 1.1, 0.7, 1, 5, rng),           # energy left (high = good)
        _likert(E[sel], 2.9, 1.1, 0.7, 1, 5, rng),               # emotionally drained
        6 - _likert(1.6 * (ratio[sel] - 1) + 0.4 * E[sel], 2.6, 1.2, 0.7, 1, 5, rng),  # workload manageable
        _likert(S[sel], 2.7, 1.1, 0.7, 1, 5, rng),               # hardships stay with you
        _likert(support[sel], 3.4, 0.9, 0.7, 1, 5, rng),         # felt supported
        _likert(C[sel], 3.7, 1.0, 0.7, 1, 5, rng),               # satisfaction from helping
    ]) if k else np.empty((0, 6))
    block(sel, "pulse", PULSE_ITEMS, pulse, 1)

    sel = do_cbi
    k = int(sel.sum())
    mix_client = 0.6 * E[sel] + 0.5 * S[sel]
    cbi = np.column_stack(
        [_likert(E[sel], 1.9, 1.1, 0.7, 0, 4, rng) for _ in range(6)]
        + [_likert(E[sel] + 0.3 * (ratio[sel] - 1), 1.8, 1.1, 0.7, 0, 4, rng) for _ in range(6)]
        # w7 "enough energy for family and friends" is answered the other way round.
        + [4 - _likert(E[sel], 1.9, 1.0, 0.7, 0, 4, rng)]
        + [_likert(mix_client, 1.3, 1.0, 0.7, 0, 4, rng) for _ in range(6)]
    ) * 25 if k else np.empty((0, 19))
    if k:
        # About 2 % of forms come back with one item skipped.
        skip = np.flatnonzero(rng.random(k) < 0.02)
        cbi[skip, rng.integers(0, 19, skip.size)] = np.nan
    block(sel, "cbi", CBI_ITEMS, cbi, 3)

    sel = do_pq
    k = int(sel.sum())
    pq = np.empty((k, 30))
    lat = {"BO": E[sel], "STS": S[sel], "CS": C[sel]}
    mu = {"BO": 2.55, "STS": 2.15, "CS": 3.75}
    item_shift = rng.normal(0, 0.2, 30)
    for i in range(1, 31):
        sub = "BO" if i in PROQOL_BO else "CS" if i in PROQOL_CS else "STS"
        ans = _likert(lat[sub], mu[sub] + item_shift[i - 1], 1.0, 0.75, 1, 5, rng)
        # Positively worded burnout items (the reverse-scored ones): a burned-out
        # helper answers them low; scoring reverses them back (6 - x).
        pq[:, i - 1] = 6 - ans if i in PROQOL_REVERSED else ans
    block(sel, "proqol5", PROQOL_ITEMS, pq, 6)

    return _assemble_wide(blocks, base, ids[who])


def _assemble_wide(blocks: list, base: np.ndarray, helper_of_cell: np.ndarray) -> pd.DataFrame:
    """One wide frame ordered by helper, then time, then instrument within a check-in.

    Cells are already ordered by helper then week, so (cell, block rank) is the
    sort key.  Each block is written straight into its sorted rows of a single
    float matrix: at 5,000 x 104 that is ~1M rows, and building per-instrument
    frames, concatenating and sorting them with pandas took several seconds.
    """
    keys = np.concatenate([idx * len(blocks) + rank for rank, (idx, *_rest) in enumerate(blocks)])
    order = np.argsort(keys, kind="stable")
    dest = np.empty_like(order)
    dest[order] = np.arange(order.size)
    # Column-major: the frame keeps it as one block whose columns are
    # contiguous, so per-column reads (the CSV writer, importers) stay cheap.
    items = np.full((order.size, len(ITEM_COLUMNS)), np.nan, order="F")
    col_of = {c: i for i, c in enumerate(ITEM_COLUMNS)}
    cell = np.empty(order.size, dtype=np.int64)
    instrument = np.empty(order.size, dtype=object)
    stamp = np.empty(order.size, dtype="datetime64[m]")
    start = 0
    for idx, name, cols, values, offset_min in blocks:
        rows = dest[start:start + idx.size]
        start += idx.size
        if idx.size:
            items[rows[:, None], np.array([col_of[c] for c in cols])[None, :]] = values
        cell[rows] = idx
        instrument[rows] = name
        stamp[rows] = base[idx] + np.timedelta64(offset_min, "m")
    frame = pd.DataFrame(items, columns=ITEM_COLUMNS, copy=False)
    frame.insert(0, "instrument", instrument)
    frame.insert(0, "submitted_at", np.datetime_as_string(stamp, unit="s"))
    frame.insert(0, "helper_id", helper_of_cell[cell])
    return frame
