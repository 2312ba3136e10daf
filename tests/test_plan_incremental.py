"""The release gate's plan built incrementally (its audits read back from audit_cache
after each check-in) against a cold build: the same released and hidden cells, every
time — including a check-in that hides a shown group and one that releases a hidden one.

The cold reference is the audit as plan_for built it before the cache: one frame per
window, week and 4-week block, each through privacy.plan_groups."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from burnout import audit_cache, disclosure, privacy

MIN_N = 5
COLS = ["pulse_strain", "work_burnout", "risk_score"]
WEEKLY = ["pulse_strain"]
AS_OF = pd.Timestamp("2026-11-23")


def week_cols(m):
    return [disclosure.week_column(m, i) for i in range(disclosure.AUDIT_WEEKS)]


def people_frame(spec, rng, p_pulse=0.8, p_work=0.35):
    """``spec``: (team, role, site, count, consenting) -> a people frame with the last 12 weeks."""
    rows, k = [], 0
    for team, role, site, count, consents in spec:
        for i in range(count):
            k += 1
            rows.append({"helper_id": f"H{k:03d}", "team": team, "role": role, "site": site,
                         "consent_lead_view": i < consents})
    people = pd.DataFrame(rows)
    n = len(people)
    for m, p in (("pulse_strain", p_pulse), ("work_burnout", p_work)):
        answers = np.where(rng.random((n, disclosure.AUDIT_WEEKS)) < p, 50.0, np.nan)
        people[week_cols(m)] = answers
        people[m] = np.nanmean(np.where(np.isnan(answers), np.nan, answers), axis=1) \
            if (~np.isnan(answers)).any() else np.nan
    people["risk_score"] = np.where(rng.random(n) < 0.9, 40.0, np.nan)
    people.attrs.update(window=4, as_of=AS_OF)
    return people


def reference(reader, people, min_n=MIN_N):
    """The cold build, frame by frame (as plan_for was before audit_cache)."""
    base = people[["helper_id", *privacy.GROUP_DIMS]]

    def present(m, weeks):
        cols = [disclosure.week_column(m, i) for i in weeks]
        return people[cols].notna().any(axis=1).map({True: 1.0, False: np.nan})

    def plan(values, cols):
        frame = pd.concat([base, pd.DataFrame(values, index=people.index)], axis=1)
        return privacy.plan_groups(frame, cols, min_n, known=reader.known)

    blocked = [m for m in COLS if m in ("work_burnout",)]
    windows = {w: plan({c: present(c, range(w)) if c != "risk_score" else people[c] for c in COLS}, COLS)
               for w in disclosure.WINDOWS}
    weeks = [plan({m: present(m, range(i, i + 1)) for m in WEEKLY}, WEEKLY) for i in range(disclosure.AUDIT_WEEKS)]
    blocks = [plan({m: present(m, range(k, k + 4)) for m in blocked}, blocked) for k in range(0, 12, 4)]
    roster = plan({disclosure.EVERYONE: np.ones(len(people))}, [disclosure.EVERYONE])
    return windows, weeks, blocks, roster


def build(people, reader):
    return disclosure.plan_for(reader, people, COLS, MIN_N, weekly=WEEKLY)


def conditions(people):
    """Every single group, and some unions of teams (a narrowed view's conditions)."""
    out = [{}]
    for d in privacy.GROUP_DIMS:
        out += [{d: v} for v in sorted(people[d].unique())]
    teams = sorted(people["team"].unique())
    out += [{"team": list(p)} for p in itertools.combinations(teams[:6], 2)]
    out += [{"team": t, "role": r} for t in teams[:6] for r in sorted(people["role"].unique())[:4]]
    return out


def verdicts(p, people):
    """Everything a plan releases: each column's statuses and its verdict on every condition."""
    return {c: (dict(s), [p.allows(c, cond) for cond in conditions(people)]) for c, s in p.status.items()}


def same(joint, ref, people):
    windows, weeks, blocks, roster = ref
    assert set(joint.windows) == set(windows)
    for w in windows:
        assert verdicts(joint.windows[w], people) == verdicts(windows[w], people), f"window {w}"
    assert len(joint.weeks) == len(weeks) and len(joint.blocks) == len(blocks)
    for i, (a, b) in enumerate(zip(joint.weeks, weeks)):
        assert verdicts(a, people) == verdicts(b, people), f"week {i}"
    for k, (a, b) in enumerate(zip(joint.blocks, blocks)):
        assert verdicts(a, people) == verdicts(b, people), f"block {k}"
    assert verdicts(joint.roster, people) == verdicts(roster, people)


def check_in(people, helper, measure="pulse_strain"):
    out = people.copy()
    out.attrs = dict(people.attrs)
    out.loc[out["helper_id"] == helper, disclosure.week_column(measure, 0)] = 60.0
    return out


def new_week(people):
    """The week turns: every week's answers move one index back, the new week is empty."""
    out = people.copy()
    out.attrs = dict(people.attrs, as_of=people.attrs["as_of"] + pd.Timedelta(weeks=1))
    for m in ("pulse_strain", "work_burnout"):
        cols = week_cols(m)
        out[cols[1:]] = people[cols[:-1]].to_numpy()
        out[cols[0]] = np.nan
    return out


@pytest.fixture(autouse=True)
def cold_cache():
    audit_cache.clear()
    disclosure._PLANS.clear()
    yield
    audit_cache.clear()
    disclosure._PLANS.clear()


def counting(monkeypatch):
    calls = []
    real = privacy.audit_atoms

    def audit(keys, every, unknown, min_n, dims=privacy.GROUP_DIMS):
        calls.append(int(every.sum()))
        return real(keys, every, unknown, min_n, dims)
    monkeypatch.setattr(privacy, "audit_atoms", audit)
    return calls


def test_check_ins_that_hide_and_release_a_group_match_a_cold_build(monkeypatch):
    rng = np.random.default_rng(7)
    # week 0 is the current week: nobody has answered it yet
    spec = [("A", "nurse", "S", 6, 0), ("B", "nurse", "S", 5, 0), ("C", "social worker", "T", 7, 0),
            ("D", "social worker", "T", 5, 0), ("E", "counsellor", "T", 6, 3)]
    people = people_frame(spec, rng)
    people[disclosure.week_column("pulse_strain", 0)] = np.nan
    ids = people.groupby("team")["helper_id"].apply(list).to_dict()
    reader = disclosure.Reader.hr(people)
    calls = counting(monkeypatch)
    build(people, reader)
    cold_audits = len(calls)

    def week0(plan, team):
        return plan.weeks[0].status_of("pulse_strain", (("team", team),))

    # five of A (6 people) and six of C (7) check in this week
    for h in ids["A"][:5] + ids["C"][:6]:
        people = check_in(people, h)
        del calls[:]
        plan = build(people, reader)
        # only what the check-in touched is audited again: the current week (its "n" and
        # pulse), at most the windows' columns and nothing of weeks 1 to 11, the blocks or
        # the roster
        assert len(calls) <= 2 + 3 * (1 + len(COLS)), len(calls)
        same(plan, reference(reader, people), people)
    assert week0(plan, "A") == privacy.SHOWN and week0(plan, "C") == privacy.SHOWN
    # one check-in in team B (one person, site S): A = site S - B would no longer hide B's
    # one answer, so a shown group is now hidden
    people = check_in(people, ids["B"][0])
    plan = build(people, reader)
    same(plan, reference(reader, people), people)
    assert week0(plan, "B") == privacy.PRIMARY
    hidden_now = [g for g, s in plan.weeks[0].status["pulse_strain"].items()
                  if s == privacy.COMPLEMENTARY]
    assert hidden_now, "a shown group of the week should now be hidden to protect B"
    # three more of B (4 of its 5): still too few
    for h in ids["B"][1:4]:
        people = check_in(people, h)
        same(build(people, reader), reference(reader, people), people)
    people = check_in(people, ids["B"][3])     # the same person again: nothing changes
    people = check_in(people, ids["A"][5])
    plan = build(people, reader)
    same(plan, reference(reader, people), people)
    assert week0(plan, "B") == privacy.PRIMARY
    # B's fifth check-in: B may be shown, and the groups hidden to protect it are released
    people = check_in(people, ids["B"][4])
    plan = build(people, reader)
    same(plan, reference(reader, people), people)
    assert week0(plan, "B") == privacy.SHOWN
    assert all(plan.weeks[0].status["pulse_strain"][g] == privacy.SHOWN for g in hidden_now)
    # the week turns: the audits move with their weeks, none is recomputed but the new week's
    del calls[:]
    people = new_week(people)
    plan = build(people, reader)
    assert len(calls) < cold_audits / 2, (len(calls), cold_audits)
    same(plan, reference(reader, people), people)
    # and a cold build of the same data is the same plan
    audit_cache.clear()
    disclosure._PLANS.clear()
    same(build(people, reader), reference(reader, people), people)


def test_random_check_ins_and_weeks_match_a_cold_build():
    rng = np.random.default_rng(11)
    spec = [(f"T{t}", r, s, int(rng.integers(1, 8)), int(rng.integers(0, 3)))
            for t, (r, s) in enumerate(itertools.product(["nurse", "social worker", "counsellor"], ["S", "T"]))]
    spec += [("T9", "nurse", "S", 3, 0), ("T10", "peer", "U", 1, 0)]
    people = people_frame(spec, rng, p_pulse=0.5)
    readers = [disclosure.Reader.hr(people), disclosure.Reader(disclosure.HR)]
    for step in range(14):
        if step == 7:
            people = new_week(people)
        helper = people["helper_id"].iloc[int(rng.integers(len(people)))]
        people = check_in(people, helper, "pulse_strain" if step % 3 else "work_burnout")
        for reader in readers:
            same(build(people, reader), reference(reader, people), people)


def test_the_cache_is_bounded_and_still_exact(monkeypatch):
    monkeypatch.setattr(audit_cache, "AUDIT_CACHE_SIZE", 7)
    monkeypatch.setattr(audit_cache, "PLAN_CACHE_SIZE", 3)
    rng = np.random.default_rng(3)
    people = people_frame([("A", "nurse", "S", 6, 1), ("B", "nurse", "T", 5, 0), ("C", "sw", "T", 2, 0)], rng)
    reader = disclosure.Reader.hr(people)
    for h in people["helper_id"].iloc[:4]:
        people = check_in(people, h)
        same(build(people, reader), reference(reader, people), people)
        assert len(audit_cache._AUDITS) <= 7 and len(audit_cache._PLANS) <= 3


def test_an_exhausted_search_is_never_served_from_the_cache(monkeypatch):
    # 50 one-person cells next to two teams of 6 (tests/test_gate.py attack 3): with no
    # budget the search cannot finish and more is hidden; a plan cached with the full
    # budget must not be given instead, nor the reverse
    spec = [("S-Alpha", "nurse", "Seaside", 6, 0), ("S-Bravo", "social worker", "Seaside", 6, 0),
            ("X1", "odd-1", "Seaside", 1, 0), ("X2", "odd-2", "Seaside", 1, 0), ("Inland", "counsellor", "Inland", 6, 0)]
    spec += [(f"T{i}", f"r{i}", f"site{i}", 1, 0) for i in range(50)]
    people = people_frame(spec, np.random.default_rng(5), p_pulse=1.0, p_work=1.0)
    reader = disclosure.Reader.hr(people)
    full = build(people, reader)
    monkeypatch.setattr(privacy, "SEARCH_BUDGET", 0)
    closed = build(people, reader)
    same(closed, reference(reader, people), people)
    shown = [s == privacy.SHOWN for s in full.weeks[0].status["pulse_strain"].values()]
    shown_closed = [s == privacy.SHOWN for s in closed.weeks[0].status["pulse_strain"].values()]
    assert sum(shown_closed) < sum(shown)
    monkeypatch.undo()
    same(build(people, reader), reference(reader, people), people)


def test_a_plan_read_back_in_another_process_seeds_the_cache_under_the_keys_it_was_audited_under(monkeypatch):
    """release_store.seed: a process puts the column audits of a plan made elsewhere (pickled,
    as the database keeps it) in its cache.  Each lands under exactly the key a cold audit of
    the same counts is kept under, so the plan of the same state computes no audit, the plan
    after check-ins and a new week computes only what they changed, and both equal a cold build;
    a plan whose search had another budget seeds nothing."""
    import pickle

    rng = np.random.default_rng(17)
    spec = [(f"T{t}", r, s, int(rng.integers(1, 8)), int(rng.integers(0, 3)))
            for t, (r, s) in enumerate(itertools.product(["nurse", "social worker", "counsellor"], ["S", "T"]))]
    spec += [("T9", "nurse", "S", 3, 0), ("T10", "peer", "U", 1, 0)]
    people = people_frame(spec, rng, p_pulse=0.5)
    reader = disclosure.Reader.hr(people)
    made = build(people, reader)
    cached = {k: a for k, (_, a) in audit_cache._AUDITS.items()}
    back = pickle.loads(pickle.dumps(made))
    seeded = {k: a for p in back.audits for k, a in audit_cache.entries_of(p, privacy.SEARCH_BUDGET)}
    assert seeded.keys() == cached.keys()
    for k, a in cached.items():
        b = seeded[k]
        assert b.status == a.status
        for part in ("atoms", "everyone"):
            x, y = getattr(a, part), getattr(b, part)
            assert (x is None) == (y is None)
            if x is not None:
                assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
        assert (a.probe is None and b.probe is None) or np.array_equal(a.probe, b.probe)
    # another process: nothing cached, then the stored plan's audits
    audit_cache.clear()
    disclosure._PLANS.clear()
    calls = counting(monkeypatch)
    assert audit_cache.seed(back.audits, privacy.SEARCH_BUDGET) == len(cached)
    plan = build(people, reader)
    assert calls == []
    # the very audits read back (with any verdict asked of them since), not copies
    assert all(a is b for a, b in zip(plan.audits, back.audits)) and len(plan.audits) == len(back.audits)
    same(plan, reference(reader, people), people)
    # two people who had not answered this week yet
    quiet = {m: list(people.loc[people[disclosure.week_column(m, 0)].isna(), "helper_id"])
             for m in ("pulse_strain", "work_burnout")}
    later = check_in(check_in(people, quiet["pulse_strain"][0]), quiet["work_burnout"][-1], "work_burnout")
    del calls[:]
    plan = build(later, reader)
    assert 0 < len(calls) <= 2 * (1 + len(COLS)) + 3, len(calls)
    # the weeks the check-ins left alone keep the audits read back
    assert sum(a is b for a, b in zip(plan.weeks, back.weeks)) == len(back.weeks) - 1
    same(plan, reference(reader, later), later)
    later = new_week(later)
    del calls[:]
    plan = build(later, reader)
    assert len(calls) < len(cached) / 2, (len(calls), len(cached))
    same(plan, reference(reader, later), later)
    # a search that ran out hides more: a plan made with another budget seeds nothing
    audit_cache.clear()
    assert audit_cache.seed(back.audits, privacy.SEARCH_BUDGET + 1) == 0 and not audit_cache._AUDITS
