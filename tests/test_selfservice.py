"""Self-service core: own-data export, consent, deletion, own charts, admin helpers."""
from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from burnout import checkin, selfservice
from burnout.errors import InputError
from burnout import privacy
from burnout.domain.settings import validate
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.store import schema as s

ROSTER = (b"helper_id,name,team,role,site,fte,start_date,team_kind\n"
          b"H1,Ana Example,CW-North,child welfare caseworker,Main,1,2024-01-08,child_welfare\n"
          b"H2,Ben Example,CW-North,child welfare caseworker,Main,1,2024-01-08,child_welfare\n")
CASELOAD = (b"helper_id,week_start,active_cases,new_cases,high_acuity_cases,trauma_exposures,"
            b"critical_incidents,hours_worked,overtime_hours\n"
            b"H1,2026-03-02,19,2,4,3,0,44,4\n"
            b"H1,2026-03-09,21,3,5,2,1,46,6\n"
            b"H2,2026-03-02,11,1,1,0,0,38,0\n")
MON = dt.datetime(2026, 3, 2, 9, 30)
PULSE = {"pulse_1": 2, "pulse_2": 4, "pulse_3": 2, "pulse_4": 3, "pulse_5": 3, "pulse_6": 4}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    from burnout.ingest import import_files
    from burnout.store import get_engine

    path = tmp_path_factory.mktemp("selfservice") / "template.db"
    eng = get_engine(f"sqlite:///{path}")
    import_files(eng, roster=ROSTER, caseload=CASELOAD, names={"roster": "r.csv", "caseload": "c.csv"},
                 actor="test")
    checkin.save_checkin(eng, "H1", {"pulse": PULSE, "sib": {"sib_1": 3}},
                         comment="=HYPERLINK(\"http://x\",\"click\")", submitted_at=MON)
    checkin.save_checkin(eng, "H1", {"pulse": PULSE}, comment="@SUM(A1)", submitted_at=MON + dt.timedelta(weeks=1))
    checkin.save_checkin(eng, "H2", {"pulse": PULSE, "sib": {"sib_1": 1}}, comment="Ben's private note",
                         submitted_at=MON)
    return path


@pytest.fixture
def db(template_db, tmp_path):
    from burnout.store.engine import make_engine

    path = tmp_path / "db.sqlite"
    src, dst = sqlite3.connect(template_db), sqlite3.connect(path)
    src.backup(dst)
    src.close(), dst.close()
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


def audit_rows(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(s.audit_log), conn)


# --------------------------------------------------------------------------- export

def test_export_holds_all_own_data_and_nothing_else(db):
    raw = selfservice.export_own_data(db, "H1", actor="demo-helper1")
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "H2" not in text and "Ben" not in text and "private note" not in text
    df = pd.read_csv(io.StringIO(text), dtype=str)
    assert set(df["helper_id"]) == {"H1"}
    kinds = df["record_type"].value_counts().to_dict()
    assert {k: v for k, v in kinds.items() if k != "audit_log"} == {"profile": 1, "submission": 3,
                                                                     "caseload_week": 2}
    assert kinds["audit_log"] >= 2                   # the two saved check-ins at least
    subs = df[df["record_type"] == "submission"]
    assert set(subs["instrument"]) == {"pulse", "sib"}
    assert subs["pulse_strain"].dropna().astype(float).round(1).tolist() == [75.0, 75.0]
    assert "high" in set(subs["pulse_strain_band"].dropna())
    assert subs["pulse_2"].dropna().astype(float).tolist() == [4.0, 4.0]
    assert df[df["record_type"] == "caseload_week"]["active_cases"].astype(float).tolist() == [19.0, 21.0]
    assert df.loc[df["record_type"] == "profile", "consent_lead_view"].item() == "no"
    # formulas are neutralised
    comments = subs["comment"].dropna().tolist()
    assert "'=HYPERLINK(\"http://x\",\"click\")" in comments and "'@SUM(A1)" in comments
    assert not any(str(c).startswith(("=", "+", "-", "@")) for c in df.astype(str).to_numpy().ravel())
    # the export itself is recorded
    a = audit_rows(db)
    assert ((a["action"] == "own_data_exported") & (a["subject_helper_id"] == "H1")).any()


def test_export_holds_consent_history_views_and_deletion_requests(db):
    """All own data: who looked at my results (role, when, what), my sharing choices
    over time, my deletion requests — and whole-number ids."""
    from burnout import auth, privacy

    auth.create_user(db, "lead1", "lead1-quiet-harbour", "lead", team="CW-North", actor="admin")
    auth.create_user(db, "ana", "ana-quiet-harbour", "helper", helper_id="H1", actor="admin")
    selfservice.set_consent(db, "H1", True, actor="ana")
    privacy.audit_view(db, "lead1", "H1", "helper detail: scores, risk, drivers and caseload")
    privacy.audit_view(db, "lead1", "H2", "helper detail: scores, risk, drivers and caseload")
    selfservice.set_consent(db, "H1", False, actor="ana")
    rid = selfservice.request_deletion(db, "H1", actor="ana")

    text = selfservice.export_own_data(db, "H1", actor="ana").decode("utf-8-sig")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    log = df[df["record_type"] == "audit_log"]
    assert log["action"].tolist().count("consent_given") == 1
    assert log["action"].tolist().count("consent_withdrawn") == 1
    assert log["action"].tolist().index("consent_given") < log["action"].tolist().index("consent_withdrawn")
    views = log[log["action"] == "view_individual"]
    assert len(views) == 1                                   # the view of H2 is not mine
    v = views.iloc[0]
    assert v["by"] == "lead1" and v["by_role"] == "lead" and v["date"]
    assert "helper detail" in v["detail"]
    assert set(log.loc[log["action"].str.startswith("consent"), "by_role"]) == {"you"}
    req = df[df["record_type"] == "deletion_request"]
    assert req["request_id"].tolist() == [str(rid)] and req["status"].tolist() == ["open"]
    # ids are whole numbers, never 5775.0
    for col in ("submission_id", "request_id", "audit_id"):
        assert not df[col].str.contains(r"\.", regex=True).any(), col
    assert df.loc[df["record_type"] == "submission", "submission_id"].str.fullmatch(r"\d+").all()
    # nothing about the other helper
    assert "H2" not in text and "Ben" not in text


def test_export_neutralises_formulas_in_logged_text(db):
    selfservice.set_consent(db, "H1", True, actor="=cmd|' /C calc'!A0")
    text = selfservice.export_own_data(db, "H1", actor="demo-helper1").decode("utf-8-sig")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert not any(c.startswith(("=", "+", "-", "@")) for c in df.to_numpy().ravel())
    assert "'=cmd|' /C calc'!A0" in df["by"].tolist()


def test_export_of_unknown_helper_is_an_error(db):
    with pytest.raises(InputError):
        selfservice.export_own_data(db, "NOPE")


def test_neutralise_formulas():
    df = pd.DataFrame({"a": ["=1+1", "+x", "-y", "@z", "ok", "\tq", None], "b": [1, -2, 3, 4, 5, 6, 7]})
    out = privacy.neutralise_formulas(df)
    assert out["a"].tolist()[:6] == ["'=1+1", "'+x", "'-y", "'@z", "ok", "'\tq"]
    assert out["b"].tolist() == [1, -2, 3, 4, 5, 6, 7]      # numbers stay numbers


# --------------------------------------------------------------------------- consent

def test_consent_is_off_by_default_and_audited(db):
    assert selfservice.get_consent(db, "H1") is False
    assert selfservice.set_consent(db, "H1", True, actor="demo-helper1") is True
    assert selfservice.get_consent(db, "H1") is True
    assert selfservice.get_consent(db, "H2") is False
    selfservice.set_consent(db, "H1", False, actor="demo-helper1")
    assert selfservice.get_consent(db, "H1") is False
    a = audit_rows(db)
    mine = a[a["subject_helper_id"] == "H1"]
    assert mine["action"].tolist()[-2:] == ["consent_given", "consent_withdrawn"]
    assert set(mine["actor"]) >= {"demo-helper1"}
    with pytest.raises(InputError):
        selfservice.set_consent(db, "NOPE", True, actor="x")


# --------------------------------------------------------------------------- deletion

def test_deletion_request_and_completion(db):
    assert selfservice.pending_deletions(db).empty
    rid = selfservice.request_deletion(db, "H1", actor="demo-helper1")
    assert selfservice.request_deletion(db, "H1", actor="demo-helper1") == rid   # no duplicate
    assert selfservice.open_deletion_request(db, "H1")["request_id"] == rid
    pending = selfservice.pending_deletions(db)
    assert pending[["request_id", "helper_id", "submissions"]].to_dict("records") == \
        [{"request_id": rid, "helper_id": "H1", "submissions": 3}]

    done = selfservice.complete_deletion(db, rid, actor="demo-admin")
    assert done == {"helper_id": "H1", "submissions": 3, "answers": 13}
    assert frames.submissions_frame(db, "H1").empty
    assert frames.scores(db, "H1").empty
    assert frames.answers(db, helper_id="H1").empty
    # others' data and operational caseload stay
    assert len(frames.submissions_frame(db, "H2")) == 2
    assert len(frames.caseload(db, "H1")) == 2
    assert "H1" in frames.helper_ids(db)
    assert selfservice.pending_deletions(db).empty
    assert selfservice.open_deletion_request(db, "H1") is None
    a = audit_rows(db)
    assert {"deletion_requested", "deletion_completed"} <= set(a.loc[a["subject_helper_id"] == "H1", "action"])
    with pytest.raises(InputError, match="already done"):
        selfservice.complete_deletion(db, rid, actor="demo-admin")
    with pytest.raises(InputError):
        selfservice.complete_deletion(db, 999, actor="demo-admin")


# --------------------------------------------------------------------------- own views and charts

def test_own_weekly_joins_scores_and_caseload(db):
    w = selfservice.own_weekly(frames.scores(db, "H1"), frames.caseload(db, "H1"), 17.0)
    assert w["week_start"].dt.strftime("%Y-%m-%d").tolist() == ["2026-03-02", "2026-03-09"]
    assert w["pulse_strain"].round(1).tolist() == [75.0, 75.0]
    assert w["sib_level"].tolist()[0] == 3 and pd.isna(w["sib_level"].tolist()[1])
    assert w["active_cases"].tolist() == [19.0, 21.0]
    assert (w["caseload_standard"] == 17.0).all()
    empty = selfservice.own_weekly(frames.scores(db, "NOPE"), frames.caseload(db, "NOPE"))
    assert empty.empty and "pulse_strain" in empty.columns


def _panel_of(fig, trace):
    """The y axis ("y", "y2", …) a trace is drawn on."""
    return trace.yaxis or "y"


def _shapes_on(fig, yaxis: str):
    return [sh for sh in fig.layout.shapes if (sh.yref or "y").split(" ")[0] == yaxis]


def test_trend_figure_has_bands_titles_and_safe_colours(db):
    sc = frames.scores(db, "H1")
    fig = selfservice.trend_figure(sc, "pulse")
    assert [t.name for t in fig.data] == ["Strain", "Trauma load", "Support"]
    assert "0–100" in fig.layout.title.text and fig.layout.yaxis.title.text == "Score (0–100)"
    assert any(ax.title.text == "Date of check-in" for ax in (fig.layout.xaxis, fig.layout.xaxis2))
    labels = [a.text for a in fig.layout.annotations]
    assert {"low", "moderate", "high"} <= set(labels)
    assert {t.line.color for t in fig.data} <= set(selfservice.OKABE_ITO.values())
    assert len({t.line.dash for t in fig.data}) == 3                      # not colour alone
    table = selfservice.trend_table(sc, "pulse")
    assert list(table.columns) == ["date", "Strain", "Strain band", "Trauma load", "Support"]
    sib = selfservice.trend_figure(sc, "sib")
    assert any("burnout" in a.text for a in sib.layout.annotations)
    cf = selfservice.caseload_figure(selfservice.own_weekly(sc, frames.caseload(db, "H1"), 17.0))
    assert {t.name for t in cf.data} >= {"Strain (0–100)", "Active cases"}
    assert "caseload" in cf.layout.title.text.lower()


def test_trend_figure_shades_only_banded_scores(db):
    """Support (higher is better, no bands) is never drawn on the strain bands."""
    fig = selfservice.trend_figure(frames.scores(db, "H1"), "pulse")
    by_name = {t.name: _panel_of(fig, t) for t in fig.data}
    assert by_name["Support"] != by_name["Strain"] and by_name["Support"] == by_name["Trauma load"]
    assert len(_shapes_on(fig, by_name["Strain"])) == 3
    assert _shapes_on(fig, by_name["Support"]) == []


def test_trend_figure_never_colours_high_as_bad_for_higher_is_better():
    """ProQOL compassion satisfaction (higher is better) gets its own panel where
    "high" is the calm green, while burnout and STS share the strain colours."""
    import plotly  # noqa: F401  (figure building needs plotly only)

    when = pd.to_datetime(["2026-01-05", "2026-03-02"])
    sc = pd.DataFrame({"instrument": "proqol5", "submitted_at": when, "compassion_satisfaction": [45.0, 44.0],
                       "burnout": [30.0, 32.0], "secondary_traumatic_stress": [20.0, 24.0]})
    fig = selfservice.trend_figure(sc, "proqol5")
    panel = {t.name: _panel_of(fig, t) for t in fig.data}
    assert panel["Burnout"] == panel["Secondary traumatic stress"] != panel["Compassion satisfaction"]

    def fill_of(yaxis, label):
        shapes = _shapes_on(fig, yaxis)
        notes = [a for a in fig.layout.annotations if a.text == label and (a.yref or "").split(" ")[0] == yaxis]
        assert notes, label
        y = notes[0].y
        return next(sh.fillcolor for sh in shapes if min(sh.y0, sh.y1) <= y <= max(sh.y0, sh.y1))

    good, bad = selfservice.CONCERN_FILL[0], selfservice.CONCERN_FILL[2]
    assert fill_of(panel["Compassion satisfaction"], "high") == good
    assert fill_of(panel["Compassion satisfaction"], "low") == bad
    assert fill_of(panel["Burnout"], "high") == bad and fill_of(panel["Burnout"], "low") == good


def test_trend_figure_legend_on_top_and_band_labels_apart():
    """The legend is a row under the title (not under the x axis, over its title); the
    CBI "severe" point (100) is named with "high", not printed over it."""
    when = pd.to_datetime(["2026-01-05", "2026-03-02"])
    sc = pd.DataFrame({"instrument": "cbi", "submitted_at": when, "personal_burnout": [75.0, 100.0],
                       "work_burnout": [60.0, 80.0], "client_burnout": [30.0, 40.0]})
    fig = selfservice.trend_figure(sc, "cbi")
    lg = fig.layout.legend
    assert lg.orientation == "h" and lg.yref == "container" and lg.y > 0.5
    assert (1 - lg.y) * fig.layout.height < fig.layout.margin.t
    labels = [a.text for a in fig.layout.annotations]
    assert "severe" not in labels and "high (100 = severe)" in labels
    ys = sorted(a.y for a in fig.layout.annotations if a.text in ("low", "moderate", "high (100 = severe)"))
    assert all(b - a >= 20 for a, b in zip(ys, ys[1:]))       # labels at least 20 points apart
    assert all(len(line) <= 40 for line in fig.layout.title.text.split("<br>"))


def test_caseload_figure_standard_in_legend_and_legend_on_top(db):
    w = selfservice.own_weekly(frames.scores(db, "H1"), frames.caseload(db, "H1"), 17.0)
    fig = selfservice.caseload_figure(w)
    assert not [a for a in fig.layout.annotations if "standard" in (a.text or "")]
    assert any(t.name == "Role standard (17 cases)" for t in fig.data)
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y > 0.5


# --------------------------------------------------------------------------- admin helpers

def test_suggest_mapping_uses_names_synonyms_and_wording():
    headers = ["Timestamp", "Staff number", "1. I had energy left at the end of my working days.",
               "pulse_2", "Anything else?", "Favourite colour"]
    wording = {"pulse_1": "I had energy left at the end of my working days."}
    guess = selfservice.suggest_mapping(headers, "pulse", wording)
    assert guess == {"Timestamp": "submitted_at", "Staff number": "helper_id",
                     "1. I had energy left at the end of my working days.": "pulse_1",
                     "pulse_2": "pulse_2", "Anything else?": "comment", "Favourite colour": None}


def test_mapping_spec_round_trips_through_ingest():
    from burnout import ingest

    spec = selfservice.mapping_spec("sib", {"When": "submitted_at", "Who": "helper_id", "Q": "sib_1",
                                            "Other": None})
    assert spec == {"instrument": "sib", "columns": {"When": "submitted_at", "Who": "helper_id", "Q": "sib_1"}}
    assert ingest.load_mapping(selfservice.mapping_yaml(spec), "m.yaml") == spec
    export = pd.DataFrame({"When": ["2026-03-02T10:00"], "Who": ["H1"], "Q": ["Completely burned out"],
                           "Other": ["x"]}).astype("string")
    mapped, labels = ingest.apply_mapping(export, spec, "export.csv")
    subs, ans = ingest.validate_surveys(mapped, "export.csv", labels)
    assert ans["value"].tolist() == [5.0]
    with pytest.raises(InputError) as err:
        selfservice.mapping_spec("sib", {"A": "helper_id", "B": "helper_id", "C": "cbi_p1"})
    assert len(err.value.problems) >= 3


@pytest.mark.parametrize("key, value, expected", [
    ("min_group_size", 5, 5), ("min_group_size", "7", 7), ("checkin_schedule", {"cbi": 2.0}, {"cbi": 2}),
    ("cost_per_departure", {"nurse": 90000, "case manager": None}, {"nurse": 90000.0}),
    ("base_turnover", {"crisis_line": 0.3}, {"crisis_line": 0.3}),
    ("resources", [{"title": "EAP", "detail": "call"}, {"title": None, "detail": None}],
     [{"title": "EAP", "detail": "call"}]),
])
def test_validate_setting_accepts(key, value, expected):
    got = validate(key, value)
    assert ([dict(x) for x in got] if isinstance(got, tuple) else got) == expected


@pytest.mark.parametrize("key, value", [
    ("min_group_size", 2), ("min_group_size", 3), ("min_group_size", 0), ("min_group_size", 4.5),
    ("min_comment_group", 1), ("min_comment_group", 9), ("relative_risk", float("nan")),
    ("base_turnover", {"crisis_line": 1.5}), ("caseload_standards", {"nurse": 0}),
    ("checkin_schedule", {"mbi": 1}), ("checkin_schedule", {"pulse": 0}),
    ("resources", [{"title": "", "detail": "no title"}]), ("nonsense", 1),
])
def test_validate_setting_rejects(key, value):
    with pytest.raises(InputError):
        validate(key, value)


def test_save_settings_is_all_or_nothing(db):
    with pytest.raises(InputError):
        saved_settings.save(db, {"session_minutes": 30, "min_group_size": 2}, actor="admin")
    assert saved_settings.load(db).session_minutes == 60
    saved_settings.save(db, {"min_group_size": 6, "session_minutes": 30}, actor="admin")
    st = saved_settings.load(db)
    assert st.min_group_size == 6 and st.session_minutes == 30
