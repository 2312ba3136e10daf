"""The leaving model is fitted on completed weeks, the roster and the settings, and reused
while none of them changes: a check-in (dated in the current week) does not refit it, and
the figures equal those of a fresh fit; the helper's prediction still uses their new answers."""
from __future__ import annotations

import collections
import datetime as dt

import pandas as pd
import pytest

from burnout import checkin, cli, ingest, leaving, materialise, selfservice, turnover
from burnout.demo import write_demo
from burnout.domain.time import now
from burnout.store import frames, get_engine
from burnout.store import helper_weeks as hw
from burnout.store import settings as saved_settings
from burnout.views import data as D
from burnout.views import weights as W
from test_helper_weeks import _caseload_csv, _copy, same_model

# The data run up to last week (completed): the first check-in of this week moves the
# horizon, as on a Monday morning.
LAST_MONDAY = now().date() - dt.timedelta(days=now().weekday() + 7)


@pytest.fixture(scope="module")
def org_files(tmp_path_factory):
    # two years and enough leavers that the organisation's own Cox model is fitted
    return write_demo(tmp_path_factory.mktemp("lv"), helpers=120, weeks=104, seed=5, end_date=LAST_MONDAY)


@pytest.fixture(scope="module")
def org_db(tmp_path_factory, org_files):
    path = tmp_path_factory.mktemp("lvdb") / "base.db"
    ingest.import_files(get_engine(f"sqlite:///{path}"), **org_files)
    return path


@pytest.fixture
def fits(monkeypatch):
    """Each fit of the leaving model (counted), starting from an empty cache."""
    calls = []
    real = leaving.leaving_model
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    monkeypatch.setattr(D, "_FITS", collections.OrderedDict())
    return calls


def review_model(eng):
    data = D.load_review_data(eng, with_model=False)
    return data, D.leaving_model_for(eng, data)


def fresh_fit(eng, fits) -> leaving.LeavingModel:
    """The full read's own fit (load_data fits from every frame), not counted."""
    n = len(fits)
    model = D.load_data(eng).leaving_model
    del fits[n:]
    return model


def _checkin(eng, hid, value: int, hours: int = 0) -> None:
    """A check-in ``hours`` before now, but never before this week's Monday: in Monday's first
    hour "an hour ago" is last week, a completed one, and the model is refitted (as it should)."""
    at = now().replace(microsecond=0)
    monday = at.replace(hour=0, minute=0, second=0) - dt.timedelta(days=at.weekday())
    answers = {"pulse": {f"pulse_{i}": value for i in range(1, 7)}, "sib": {"sib_1": value}}
    checkin.save_checkin(eng, hid, answers, submitted_at=max(monday, at - dt.timedelta(hours=hours)))
    materialise.settle(eng)


def _p_leave(model, data, hid) -> float:
    active = D.active_roster(data.roster, data.as_of)
    impact = turnover.helper_impact_under(model, active, data.latest, data.settings)
    return float(impact.set_index("helper_id").loc[hid, "p_leave_12m"])


def test_a_check_in_does_not_refit_and_the_figures_equal_a_fresh_fit(org_db, tmp_path, fits):
    eng = _copy(org_db, tmp_path)
    data1, m1 = review_model(eng)
    assert len(fits) == 1 and m1.fitted                 # the organisation's own Cox model
    hid, other = data1.roster.query("end_date != end_date")["helper_id"].iloc[:2]
    _checkin(eng, hid, 5)                               # the week's first check-in: the horizon moves
    data2, m2 = review_model(eng)
    assert data2.as_of > data1.as_of
    assert len(fits) == 1 and m2 is m1                  # not refitted
    same_model(m2, fresh_fit(eng, fits))                # and what a fresh fit gives
    # the helper's own prediction uses the new answers
    r1 = data1.latest.set_index("helper_id").loc[hid, "risk_score"]
    r2 = data2.latest.set_index("helper_id").loc[hid, "risk_score"]
    assert r2 != r1 and _p_leave(m2, data2, hid) != _p_leave(m1, data1, hid)
    _checkin(eng, other, 1, hours=1)                    # a second check-in of the week
    data3, m3 = review_model(eng)
    assert len(fits) == 1 and m3 is m1
    same_model(m3, fresh_fit(eng, fits))


def test_a_leaver_refits(org_db, org_files, tmp_path, fits):
    eng = _copy(org_db, tmp_path)
    data, m1 = review_model(eng)
    roster = pd.read_csv(org_files["roster"])
    row = roster[roster["end_date"].isna()].iloc[[0]].copy()
    row["end_date"] = (LAST_MONDAY - dt.timedelta(weeks=3)).isoformat()
    row["end_reason"] = "new job"
    row.to_csv(tmp_path / "leaver.csv", index=False)
    ingest.import_files(eng, roster=tmp_path / "leaver.csv")
    _, m2 = review_model(eng)
    assert len(fits) == 2 and m2 is not m1
    assert m2.calibration.n_leavers == m1.calibration.n_leavers + 1
    same_model(m2, fresh_fit(eng, fits))


def test_data_of_a_completed_week_refit(org_db, tmp_path, fits):
    """An import reaching back into completed weeks changes what the model learnt from."""
    eng = _copy(org_db, tmp_path)
    data, m1 = review_model(eng)
    hid = data.roster.query("end_date != end_date")["helper_id"].iloc[0]
    ingest.import_files(eng, caseload=_caseload_csv(tmp_path, [(hid, LAST_MONDAY - dt.timedelta(weeks=2), 60)],
                                                    "back.csv"))
    _, m2 = review_model(eng)
    assert len(fits) == 2
    same_model(m2, fresh_fit(eng, fits))


def test_a_settings_change_refits_and_consent_does_not(org_db, tmp_path, fits):
    eng = _copy(org_db, tmp_path)
    data, m1 = review_model(eng)
    hid = data.roster["helper_id"].iloc[0]
    selfservice.set_consent(eng, hid, True, actor=hid)
    assert review_model(eng)[1] is m1 and len(fits) == 1
    saved_settings.save(eng, {"relative_risk": 2.5}, actor="admin")
    _, m2 = review_model(eng)
    assert len(fits) == 2
    same_model(m2, fresh_fit(eng, fits))


def test_the_week_turning_refits_on_the_completed_week(org_db, tmp_path, fits, monkeypatch):
    eng = _copy(org_db, tmp_path)
    hid = frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[0]
    _checkin(eng, hid, 4)
    data, m1 = review_model(eng)
    assert leaving.training_end(None, data.as_of) < data.as_of        # this week is not learnt from yet
    monkeypatch.setattr(leaving, "now", lambda: now() + dt.timedelta(days=7))   # next week
    _, m2 = review_model(eng)
    assert len(fits) == 2 and m2 is not m1
    assert leaving.training_end(None, data.as_of) >= data.as_of
    same_model(m2, fresh_fit(eng, fits))


def test_the_fits_kept_are_bounded(org_db, tmp_path, fits, monkeypatch):
    eng = _copy(org_db, tmp_path)
    monkeypatch.setattr(D, "_FITS_MAX", 2)
    for rr in (2.1, 2.2, 2.3):
        saved_settings.save(eng, {"relative_risk": rr}, actor="admin")
        review_model(eng)
    assert len(D._FITS) == 2 and len(fits) == 3


def test_the_past_counter_moves_only_with_completed_weeks(org_db, tmp_path):
    eng = _copy(org_db, tmp_path)
    before = hw.versions(eng, [hw.PAST])
    _checkin(eng, frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[0], 3)
    assert hw.versions(eng, [hw.PAST]) == before
    materialise.rebuild(eng)
    assert hw.versions(eng, [hw.PAST]) != before


@pytest.mark.parametrize("clock, counts", [("22:00", False), ("23:30", True)])
def test_a_check_in_in_a_week_s_last_hour_counts_as_one_of_the_completed_week(org_db, tmp_path, monkeypatch,
                                                                              clock, counts):
    """An hour's margin (materialise._reaches_past): on Sunday after 23:00 by the storing
    process's clock, a check-in moves the leaving model's key, so a process whose clock runs a
    little ahead never keeps a fit that misses it; at 22:00 it is an ordinary one."""
    from burnout.domain.time import week_end

    eng = _copy(org_db, tmp_path)
    before = hw.versions(eng, [hw.PAST])
    hour, minute = map(int, clock.split(":"))
    sunday = dt.datetime.combine(week_end(now()), dt.time(hour, minute))
    monkeypatch.setattr(materialise, "now", lambda: sunday)
    _checkin(eng, frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[0], 3)
    assert (hw.versions(eng, [hw.PAST]) != before) is counts


# --------------------------------------------------------------------------- #
# The risk weights refitted on the organisation's own leavers (issue 13)
# --------------------------------------------------------------------------- #

def _admin_page(eng, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from burnout import auth
    from burnout.ui.common import now as ui_now
    from conftest import ROOT

    monkeypatch.setenv("BURNOUT_DATABASE_URL", str(eng.url))
    if not auth.authenticate(eng, "weights-admin", "a long pass phrase 4 weights"):
        auth.create_user(eng, "weights-admin", "a long pass phrase 4 weights", "admin")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "settings_admin.py"), default_timeout=60)
    at.session_state["user"] = auth.authenticate(eng, "weights-admin", "a long pass phrase 4 weights")
    at.session_state["last_seen"] = ui_now()
    return at.run()


def _shown(elements) -> list[str]:
    """Texts as read (the page escapes Markdown)."""
    return [str(x.value).replace("\\", "") for x in elements]


def _click(at, label):
    at = next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_fitted_weights_are_saved_change_the_stored_risk_and_the_label_follows(org_db, tmp_path, monkeypatch):
    from burnout import risk

    eng = _copy(org_db, tmp_path)
    before = D.load_data(eng)
    assert before.leaving_model.weights == "Risk score weights: from national defaults."
    at = _admin_page(eng, monkeypatch)
    assert "Risk score weights: from national defaults." in _shown(at.info)
    assert not [b for b in at.button if b.label == "Go back to the national weights"]
    at = _click(at, "Fit the weights on our own leavers")
    shown = " ".join(_shown(at.markdown))
    assert "Weights fitted on the organisation's own" in shown and "AUC 0." in shown
    at = _click(at, "Use the fitted weights")
    s = saved_settings.load(eng)
    fit = s.risk_weights_fit
    assert fit["leavers"] >= leaving.MIN_LEAVERS and 0.5 < fit["auc_national"] < 1 and 0.5 < fit["auc_fitted"] < 1
    assert dict(s.risk_weights) != risk.DEFAULT_WEIGHTS and min(s.risk_weights.values()) >= 0
    assert leaving.weights_basis(s) == "fitted on your organisation"
    assert any("fitted on your organisation saved" in x for x in _shown(at.success))
    assert any(f"fitted on your organisation ({fit['leavers']} own leavers" in x for x in _shown(at.info))
    assert any(f"AUC {fit['auc_national']:.3f} -> {fit['auc_fitted']:.3f}" in x for x in _shown(at.caption))
    # the saved settings' fingerprint rebuilds the stored weeks: the risk follows the weights
    after = D.load_data(eng)
    risk_of = lambda d: d.latest.set_index("helper_id")["risk_score"]   # noqa: E731
    moved = (risk_of(after) - risk_of(before)).abs()
    assert moved.max() > 1 and after.latest["risk_score"].notna().sum() == before.latest["risk_score"].notna().sum()
    expect = risk.combine(after.latest, dict(s.risk_weights))
    assert (after.latest["risk_score"] - expect).abs().max() < 1e-6
    # the fit reads the pressures, not the score they make: refitting under the saved weights
    # gives the same weights (it never feeds on its own output)
    again = W.fit(eng)
    assert again.leavers == fit["leavers"]
    assert max(abs(again.weights[n] - s.risk_weights[n]) for n in risk.NAMES) < 1e-6
    # ... and the label is said wherever the basis is (the review's calibration lines, its table, the CLI)
    assert after.leaving_model.describe()[-1].startswith("Risk score weights: fitted on your organisation (")
    table = after.leaving_model.table().set_index("Figure")["Value"]
    assert table["Risk score weights"].startswith("fitted on your organisation")
    # back to the national weights
    at = _click(at, "Go back to the national weights")
    s = saved_settings.load(eng)
    assert s.risk_weights is None and s.risk_weights_fit is None
    assert "Risk score weights: from national defaults." in _shown(at.info)


def test_fewer_than_20_own_leavers_keep_the_national_weights_with_the_reason(writable_db, monkeypatch, capsys):
    eng = writable_db["engine"]
    at = _admin_page(eng, monkeypatch)
    at = _click(at, "Fit the weights on our own leavers")
    shown = " ".join(_shown(at.markdown))
    assert "are needed to fit the weights, so the national defaults are used" in shown
    assert not [b for b in at.button if b.label == "Use the fitted weights"]
    assert saved_settings.load(eng).risk_weights is None
    # the command says the same and saves nothing
    assert cli.main(["fit-weights"]) == 0
    out = capsys.readouterr().out
    assert "so the national defaults are used" in out and "Nothing saved." in out
    assert saved_settings.load(eng).risk_weights is None


def test_the_weights_label_says_what_the_weights_rest_on():
    from burnout.domain.settings import Settings

    s = Settings()
    assert leaving.weights_basis(s) == "from national defaults"
    typed = s.merged({"risk_weights": {"burnout": 0.3}})
    assert leaving.weights_basis(typed) == "set by your organisation"       # typed, not fitted: never "fitted"
    fitted = typed.merged({"risk_weights_fit": {"leavers": 31, "as_of": "01 Nov 2026"}})
    assert leaving.weights_text(fitted) == ("Risk score weights: fitted on your organisation "
                                            "(31 own leavers up to 01 Nov 2026).")
    # a fit record left behind without weights does not make the national weights "fitted"
    assert leaving.weights_basis(s.merged({"risk_weights_fit": {"leavers": 31}})) == "from national defaults"


def test_fewer_leavers_than_needed_keep_the_national_weights(org_db, tmp_path, monkeypatch, capsys):
    from burnout import risk

    eng = _copy(org_db, tmp_path)
    history = hw.read(eng, None, drivers=False)
    roster = frames.roster(eng)
    end = pd.Timestamp(history["week_start"].max())
    full = leaving.fit_risk_weights(roster, history, end)
    assert full.fitted and full.leavers >= 20
    few = leaving.fit_risk_weights(roster, history, end, min_leavers=full.leavers + 1)
    assert not few.fitted and few.weights == risk.DEFAULT_WEIGHTS
    assert few.reason.startswith(f"{full.leavers} leavers in the organisation's own records; {full.leavers + 1} "
                                 "are needed")
    with pytest.raises(ValueError):
        W.save_fitted(eng, few, "admin")
    # the command's dry run shows the fit and saves nothing
    monkeypatch.setenv("BURNOUT_DATABASE_URL", str(eng.url))
    assert cli.main(["fit-weights", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"Weights fitted on the organisation's own {full.leavers} leavers" in out and "Nothing saved." in out
    assert saved_settings.load(eng).risk_weights is None
