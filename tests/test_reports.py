"""HR review, lead views, action notes and the PDF / XLSX exports (incl. the CLI)."""
from __future__ import annotations

import io
import re
import zlib

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from burnout import auth, privacy, reports, seed
from burnout.errors import InputError
from burnout.store import frames
from burnout.store.schema import audit_log

from conftest import chromium_path, run_cli

MIN_N = 5


@pytest.fixture(scope="module")
def review(demo_db):
    return reports.build_review(demo_db["engine"], "org")


@pytest.fixture(scope="module")
def people_names(demo_db):
    r = frames.roster(demo_db["engine"])
    return set(r["helper_id"]), set(r["name"])


def pdf_text(data: bytes) -> str:
    """Text drawn on the pages of an fpdf2 PDF (core fonts), without a PDF library."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = m.group(1)
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        for t in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", raw):
            out.append(re.sub(rb"\\(.)", rb"\1", t.group(1)).decode("latin-1"))
    return "\n".join(out)


def xlsx_cells(data: bytes) -> dict[str, list[list]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


# --------------------------------------------------------------------------- review structure and privacy

def test_review_has_every_part(review):
    keys = [s["key"] for s in review["sections"]]
    assert keys == ["by_team", "by_role", "by_site", "risk_bands", "weekly", "participation", "turnover", "what_if"]
    assert review["min_n"] == MIN_N and "under 5 people" in review["privacy_note"]
    assert {"risk_bands", "trend", "heatmap", "pressure", "participation", "turnover", "turnover_cost",
            "what_if"} <= set(review["figures"])
    assert "Relative risk of leaving when burned out" in set(review["assumptions"]["Assumption"])
    assert review["turnover"]["what_if"]["expected_cost_before"] > 0
    assert review["evidence"]


def test_no_published_aggregate_of_fewer_than_five_people(review, demo_db):
    """Every shown cell of every table counts 5+ distinct people — checked against the
    raw answers — and no hidden cell can be solved from the shown ones."""
    data = reports.load_data(demo_db["engine"])
    people = reports.people_frame(data)
    for name, sup in review["tables"].items():
        assert isinstance(sup, privacy.Suppressed)
        for col in ["n", *sup.value_cols]:
            assert privacy.recoverable(sup, col) == [], (name, col)
            shown = sup.status[col] == privacy.SHOWN
            vals = sup.table.loc[shown, col]
            if col == "n":
                assert (vals.dropna() >= MIN_N).all(), name
        if name.startswith("by_"):
            g = sup.group_cols[0]
            for i in range(len(sup.table)):
                key = sup.table.iloc[i][g]
                sel = people if key == privacy.TOTAL else people[people[g] == key]
                for col in sup.value_cols:
                    if sup.status.iloc[i][col] == privacy.SHOWN and pd.notna(sup.table.iloc[i][col]):
                        assert sel.loc[sel[col].notna(), "helper_id"].nunique() >= MIN_N, (name, key, col)
    t = review["turnover"]["table"]
    assert (t.loc[t["status"] == privacy.SHOWN, "helpers_with_risk"] >= MIN_N).all()
    assert t.loc[t["status"] != privacy.SHOWN, ["expected_leavers", "attributable_cost"]].isna().all().all()
    part = review["participation"]
    assert (part.loc[part["status"] == privacy.SHOWN, "respondents"] >= MIN_N).all()


def test_small_teams_are_hidden_with_a_complement(review, demo_db):
    sup = review["tables"]["by_team"]
    status = dict(zip(sup.table["team"], sup.status["n"]))
    small = [t for t, s in status.items() if s == privacy.PRIMARY]
    assert small, "the demo has a team under the minimum size"
    hidden = [t for t, s in status.items() if s != privacy.SHOWN and t != privacy.TOTAL]
    assert len(hidden) >= 2          # never one hidden team next to a published total


def test_narrowing_filter_is_protected(demo_db):
    eng = demo_db["engine"]
    site = frames.roster(eng)["site"].value_counts().index[0]
    rv = reports.build_review(eng, "org", where={"site": [site]})
    data = reports.load_data(eng)
    people = reports.people_frame(data)
    sup = rv["tables"]["by_team"]
    for team, st_ in zip(sup.table["team"], sup.status["n"]):
        if st_ != privacy.SHOWN or team == privacy.TOTAL:
            continue
        everyone = set(people.loc[people["team"] == team, "helper_id"])
        at_site = set(people.loc[(people["team"] == team) & (people["site"] == site), "helper_id"])
        assert len(at_site) >= MIN_N and len(everyone - at_site) in (0,) + tuple(range(MIN_N, 10_000))


def test_team_scope_and_unknown_team(demo_db):
    eng = demo_db["engine"]
    rv = reports.build_review(eng, f"team:{demo_db['lead_team']}")
    assert rv["scope_label"] == f"Team {demo_db['lead_team']}"
    assert [s["key"] for s in rv["sections"]][:2] == ["by_role", "by_site"]
    with pytest.raises(InputError, match="no team"):
        reports.build_review(eng, "team:NOPE")
    with pytest.raises(InputError):
        reports.write_report(eng, "somewhere", "pdf", "x.pdf")


def test_assumptions_override_changes_the_estimate(demo_db):
    eng = demo_db["engine"]
    base = reports.build_review(eng, "org")["turnover"]["table"]
    flat = reports.build_review(eng, "org", {"relative_risk": 1.0})["turnover"]["table"]
    total = lambda t: t.loc[t["team"] == privacy.TOTAL, "attributable_leavers"].item()  # noqa: E731
    assert total(base) > 0 and total(flat) == pytest.approx(0.0, abs=1e-9)
    rv = reports.build_review(eng, "org", scenario={"burnout_reduction_points": 10, "cap_caseload": False,
                                                    "intervention_cost": 10_000})
    wi = rv["turnover"]["what_if"]
    assert wi["roi"] == pytest.approx((wi["cost_saved"] - 10_000) / 10_000)


# --------------------------------------------------------------------------- exports

def test_xlsx_obeys_privacy_and_neutralises_formulas(review, people_names):
    review = dict(review)
    sections = [dict(s) for s in review["sections"]]
    sections[0]["display"] = sections[0]["display"].copy()
    sections[0]["display"].iloc[0, 0] = "=HYPERLINK(\"http://x\")"
    review["sections"] = sections
    cells = xlsx_cells(reports.to_xlsx(review))
    assert list(cells)[0] == "About"
    assert any("Wellbeing by team" in s for s in cells)
    flat = [v for rows in cells.values() for row in rows for v in row if v is not None]
    assert "fewer than 5" in flat
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@")) for v in flat)
    assert "'=HYPERLINK(\"http://x\")" in flat
    ids, names = people_names
    assert not any(isinstance(v, str) and (v in ids or v in names) for v in flat)
    # every number in a "People" column is 5 or more
    for rows in cells.values():
        for i, row in enumerate(rows):
            if "People" in row:
                col = row.index("People")
                for later in rows[i + 1:]:
                    v = later[col] if col < len(later) else None
                    if isinstance(v, (int, float)):
                        assert v >= MIN_N
    about = [r for r in cells["About"] if r and r[0]]
    assert any(r[0] == "Privacy" and "under 5 people" in r[1] for r in about)
    assert any(r[0] == "Relative risk of leaving when burned out" for r in about)


def test_pdf_without_chromium_is_table_only_with_a_note(review, people_names, monkeypatch):
    monkeypatch.setattr(reports, "_ensure_kaleido", lambda: False)
    data = reports.to_pdf(review)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Helper wellbeing review" in text
    assert "Charts are not included" in text
    assert "Groups under 5 people are not shown" in text
    assert "Relative risk of leaving when burned out" in text
    assert "fewer than 5" in text
    ids, names = people_names
    assert not any(n in text for n in names) and not any(re.search(rf"\b{i}\b", text) for i in ids)


def test_cli_report_xlsx(demo_db, tmp_path, people_names):
    out = tmp_path / "review.xlsx"
    res = run_cli("report", "--scope", "org", "--format", "xlsx", "--out", str(out),
                  env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    cells = xlsx_cells(out.read_bytes())
    flat = [v for rows in cells.values() for row in rows for v in row if v is not None]
    ids, names = people_names
    assert "fewer than 5" in flat and not any(isinstance(v, str) and v in names for v in flat)


@pytest.mark.skipif(chromium_path() is None, reason="needs Chromium for the charts")
def test_cli_report_pdf_with_charts(demo_db, tmp_path, people_names):
    out = tmp_path / "review.pdf"
    res = run_cli("report", "--scope", f"team:{demo_db['lead_team']}", "--format", "pdf", "--out", str(out),
                  env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"/Subtype /Image" in data
    text = pdf_text(data)
    assert f"Team {demo_db['lead_team']}" in text and "Groups under 5 people" in text
    ids, names = people_names
    assert not any(n in text for n in names)


def test_cli_report_unknown_team_exits_2(demo_db, tmp_path):
    res = run_cli("report", "--scope", "team:NOPE", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"),
                  env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 2 and "NOPE" in res.stderr
    assert not (tmp_path / "x.xlsx").exists()


# --------------------------------------------------------------------------- lead views

def _user(engine, name):
    return auth.authenticate(engine, name, seed.DEMO_PASSWORD)


def test_team_view_protects_private_helpers(demo_db):
    eng = demo_db["engine"]
    lead = _user(eng, "demo-lead")
    view = reports.team_view(eng, lead)
    roster = frames.roster(eng)
    team = roster[(roster["team"] == demo_db["lead_team"]) & roster["end_date"].isna()]
    consenting = set(team.loc[team["consent_lead_view"], "helper_id"])
    private = set(team["helper_id"]) - consenting
    if 0 < len(private) < MIN_N:
        assert view["ids"] == consenting            # figures over the consenting helpers only
    assert set(view["consenting"]["helper_id"]) == consenting
    assert set(view["heatmap_cells"].get("helper", pd.Series(dtype=object))) <= set(team.loc[team["consent_lead_view"], "name"])
    shown = view["weekly"][view["weekly"]["status"] == privacy.SHOWN]
    assert (shown["n"] >= MIN_N).all()
    with pytest.raises(PermissionError):
        reports.team_view(eng, lead, "CL-North")
    with pytest.raises(PermissionError):
        reports.team_view(eng, _user(eng, "demo-helper1"), demo_db["lead_team"])


def test_helper_view_only_for_consenting_own_team(demo_db):
    eng = demo_db["engine"]
    lead, hr = _user(eng, "demo-lead"), _user(eng, "demo-hr")
    roster = frames.roster(eng)
    team = roster[roster["team"] == demo_db["lead_team"]]
    yes = team.loc[team["consent_lead_view"], "helper_id"].iloc[0]
    no = team.loc[~team["consent_lead_view"], "helper_id"].iloc[0]
    other = roster.loc[roster["team"] != demo_db["lead_team"], "helper_id"].iloc[0]
    v = reports.helper_view(eng, lead, yes)
    assert v["helper_id"] == yes and len(v["weekly"]) > 0
    for hid, who in ((no, lead), (other, lead), (yes, hr)):
        with pytest.raises(PermissionError):
            reports.helper_view(eng, who, hid)


def test_team_drivers_need_a_group():
    people = pd.DataFrame({"helper_id": [f"p{i}" for i in range(6)], "risk_score": [50.0] * 6,
                           "c_caseload": [0.9, 0.8, 0.7, 0.2, 0.1, 0.6], "c_overtime": [0.1] * 6})
    d = reports.team_drivers(people, MIN_N)
    assert d.loc[d["driver"] == "Caseload above the role standard", "share"].item() == pytest.approx(4 / 6)
    assert reports.team_drivers(people.iloc[:4], MIN_N).empty
    assert reports.team_drivers(people, MIN_N, known={"p0", "p1", "p2"}).empty   # 3 private people


def test_action_notes_add_update_and_audit(engine):
    from burnout.store.schema import teams

    with engine.begin() as conn:
        conn.execute(teams.insert(), [{"team_id": "T1", "kind": None, "client_word": "client"},
                                      {"team_id": "T2", "kind": None, "client_word": "client"}])
    lead = {"username": "lead1", "role": "lead", "team_id": "T1"}
    nid = reports.save_action_note(engine, lead, "T1", "=cmd Too many new intakes", None, None)
    reports.save_action_note(engine, lead, "T1", "Too many new intakes", "Paused intakes", "2026-11-02", note_id=nid)
    notes = reports.action_notes(engine, "T1")
    assert len(notes) == 1 and notes.iloc[0]["we_did"] == "Paused intakes"
    assert str(notes.iloc[0]["done_on"])[:10] == "2026-11-02"
    with pytest.raises(InputError):
        reports.save_action_note(engine, lead, "T2", "x", note_id=nid)      # not a note of T2
    with pytest.raises(InputError):
        reports.save_action_note(engine, lead, "T1", "   ")
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert actions.count("action_note_added") == 1 and actions.count("action_note_updated") == 1


def test_for_screen_makes_mixed_columns_text():
    df = pd.DataFrame({"a": [5, "fewer than 5"], "b": [1.0, 2.0]})
    out = reports.for_screen(df)
    assert out["a"].tolist() == ["5", "fewer than 5"] and out["b"].tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------- how the risk model was checked

def test_review_says_how_the_risk_model_was_checked(review, demo_db, tmp_path):
    cal = review["calibration"]
    assert cal["title"] == "How the risk model was checked"
    assert cal["used"] == "defaults"                       # 40 helpers x 30 weeks: too little history
    first = cal["lines"][0]
    assert first.startswith("Probability of leaving: the documented defaults")
    assert "fitting needs at least 20 leavers and 100 helper-years" in first
    shown = dict(zip(cal["display"]["Figure"], cal["display"]["Value"]))
    assert shown["Probability of leaving from"].startswith("documented defaults")
    assert "Helpers who left (counted)" in shown and "Helper-years of history" in shown
    # the risk command prints the same account of the same model
    res = run_cli("risk", "--output", str(tmp_path / "risk.csv"), env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    # (the model now also states its base turnover and what the probabilities rest on)
    assert [ln for ln in res.stderr.splitlines()
            if ln.startswith(("Probability", "Base turnover", "Risk to burnout", "Leaving probabilities"))] == cal["lines"]


def test_exports_include_the_model_check(review, monkeypatch):
    cells = xlsx_cells(reports.to_xlsx(review))
    about = [v for row in cells["About"] for v in row if isinstance(v, str)]
    assert "How the risk model was checked" in about
    assert review["calibration"]["lines"][0] in about
    assert "Helpers who left (counted)" in about
    monkeypatch.setattr(reports, "_ensure_kaleido", lambda: False)
    text = pdf_text(reports.to_pdf(review))
    assert "How the risk model was checked" in text and "Probability of leaving" in text
    assert "Helpers who left (counted)" in text


def test_cli_and_review_use_the_same_fitted_model(demo_db, monkeypatch):
    from burnout import risk

    class Fitted(risk.CalibrationResult):
        def predict_p_leave(self, frame):
            return 0.05 + 0.004 * pd.to_numeric(frame["risk_score"], errors="coerce").fillna(50).to_numpy()

    stub = Fitted("fitted", "stub", n_leavers=40, helper_years=300.0, features=["risk_score"],
                  metrics={"concordance": 0.7, "auc": 0.72, "calibration_slope": 1.0,
                           "calibration_intercept": 0.0, "split_date": "2024-01-01"})
    monkeypatch.setattr(risk, "calibrate", lambda *a, **k: stub)
    eng = demo_db["engine"]
    table, model = risk.risk_report(eng, details=True)
    assert model.fitted
    rv = reports.build_review(eng, "org", scenario={"burnout_reduction_points": 0, "cap_caseload": False})
    t = rv["turnover"]["table"]
    total = t[t["team"] == privacy.TOTAL].iloc[0]
    assert total["status"] == privacy.SHOWN
    data = reports.load_data(eng)
    ids = set(reports.people_frame(data)["helper_id"])
    assert ids == set(table["helper_id"])
    assert total["expected_leavers"] == pytest.approx(table["p_leave_12m"].sum(), abs=0.01)
    assert rv["turnover"]["what_if"]["expected_leavers_before"] == pytest.approx(total["expected_leavers"])
    assert rv["calibration"]["used"] == "fitted"
    assert "the organisation's own model (Cox" in rv["calibration"]["lines"][0]


def test_pdf_cells_use_short_marks_thousands_separators_and_whole_words():
    from burnout.reports import _pdf_cell, _pdf_widths

    assert _pdf_cell(5_625_000.0, "Burnout-attributable cost per year ($)") == "5,625,000"
    assert _pdf_cell(12.5, "Expected leavers per year") == "12.5"
    assert _pdf_cell("fewer than 5", "People") == "<5"
    assert _pdf_cell("hidden to protect a small group", "People") == "hidden"
    widths = _pdf_widths(["Team", "People"], [["ADD-Harbour", "HSW-Parkway"], ["10", "hidden"]])
    assert widths[0] >= 1.4 * len("ADD-Harbour") and widths[0] > widths[1]
