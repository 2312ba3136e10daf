"""Import of roster, surveys and caseload files (DESIGN §6): round trips,
every rejection case, encodings, idempotence, event roll-up, form mappings."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from burnout import ingest
from burnout.errors import InputError
from burnout.store import frames
from burnout.store import schema as s
from conftest import run_cli

ROSTER = """helper_id,name,team,role,site,fte,start_date,end_date,end_reason,annual_salary,specialties,caseload_standard
H1,Ana Ruiz,CW-A,child welfare caseworker,North,1.0,2023-01-09,,,52000,foster care;adolescents,17
H2,Bo Chen,CW-A,child welfare caseworker,North,0.8,2022-05-02,2026-06-30,resigned - workload,51000,child protection,
H3,Cy Diallo,AMH-B,mental health counsellor,South,1,2021-03-15,,,61000,,
"""
CASELOAD = """helper_id,week_start,active_cases,new_cases,high_acuity_cases,trauma_exposures,critical_incidents,hours_worked,overtime_hours
H1,2026-03-02,20,3,5,2,0,44,4
H1,2026-03-09,22,4,6,1,1,46,6
H3,2026-03-02,28,2,3,0,0,38,0
"""
SURVEYS = """helper_id,submitted_at,instrument,sib_1,pulse_1,pulse_2,pulse_3,pulse_4,pulse_5,pulse_6
H1,2026-03-02T09:00:00,sib,3,,,,,,
H1,2026-03-02T09:00:00,pulse,,2,4,2,3,4,4
H3,2026-03-03T10:30:00,sib,1,,,,,,
"""


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (s.helpers, s.teams, s.submissions, s.answers, s.scores, s.caseload_weeks)}


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def import_ok(engine, tmp_path, **texts):
    paths = {k: write(tmp_path, f"{k}.csv", v) for k, v in texts.items()}
    return ingest.import_files(engine, **paths)


def rejected(engine, tmp_path, **texts) -> InputError:
    before = counts(engine)
    with pytest.raises(InputError) as info:
        import_ok(engine, tmp_path, **texts)
    assert counts(engine) == before, "a rejected import must store nothing"
    return info.value


# ------------------------------------------------------------------ round trips

def test_demo_files_round_trip(engine, demo_files):
    summary = ingest.import_files(engine, **demo_files)
    assert "new" in summary.describe()

    roster_in = pd.read_csv(demo_files["roster"], dtype=str, keep_default_na=False)
    roster_db = frames.roster(engine)
    assert sorted(roster_db["helper_id"]) == sorted(roster_in["helper_id"])
    merged = roster_in.merge(roster_db, on="helper_id", suffixes=("_in", "_db"))
    for col in ("name", "team", "role", "site", "team_kind", "specialties", "end_reason"):
        assert (merged[f"{col}_in"].replace("", np.nan).fillna("") == merged[f"{col}_db"].fillna("")).all(), col
    assert np.allclose(merged["fte_in"].astype(float), merged["fte_db"])
    assert (pd.to_datetime(merged["start_date_in"]) == merged["start_date_db"]).all()
    given = merged["caseload_standard_in"] != ""
    assert np.allclose(merged.loc[given, "caseload_standard_in"].astype(float),
                       merged.loc[given, "caseload_standard_given"])

    cl_in = pd.read_csv(demo_files["caseload"], parse_dates=["week_start"])
    cl_db = frames.caseload(engine)
    key = ["helper_id", "week_start"]
    a = cl_in.sort_values(key).reset_index(drop=True)
    b = cl_db.sort_values(key).reset_index(drop=True)[a.columns]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)

    sv_in = pd.read_csv(demo_files["surveys"], parse_dates=["submitted_at"])
    sv_db = frames.answers(engine)
    key = ["helper_id", "instrument", "submitted_at"]
    a = sv_in.sort_values(key).reset_index(drop=True)
    b = sv_db.sort_values(key).reset_index(drop=True).reindex(columns=a.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)

    # every stored submission has its scores
    c = counts(engine)
    assert c["scores"] == c["submissions"] == len(sv_in)


def test_reimport_changes_nothing(engine, demo_files):
    ingest.import_files(engine, **demo_files)
    before = counts(engine)
    again = ingest.import_files(engine, **demo_files)
    assert counts(engine) == before
    assert again.counts["surveys"]["new"] == 0
    assert again.counts["roster"] == {"rows": before["helpers"], "new": 0, "updated": 0}
    assert again.counts["caseload"]["new"] == again.counts["caseload"]["updated"] == 0


def test_corrected_caseload_row_is_updated_not_duplicated(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER, caseload=CASELOAD)
    import_ok(engine, tmp_path, caseload=CASELOAD.replace("H1,2026-03-09,22", "H1,2026-03-09,25"))
    cl = frames.caseload(engine)
    assert len(cl) == 3
    assert cl.set_index(["helper_id", "week_start"]).loc[("H1", pd.Timestamp("2026-03-09")), "active_cases"] == 25


def test_caseload_standard_fallbacks(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    r = frames.roster(engine).set_index("helper_id")
    assert r.loc["H1", "caseload_standard"] == 17          # from the file
    assert r.loc["H2", "caseload_standard"] == 17          # settings default for the role
    assert r.loc["H3", "caseload_standard"] == 30          # settings default for the role


# ------------------------------------------------------------------ rejections

@pytest.mark.parametrize("kind,text,row,column,words", [
    ("roster", ROSTER.replace("North,0.8", "North,abc"), 3, "fte", "not a number"),
    # day/month order that nothing in the column settles (15/03/2021 would settle it)
    ("roster", ROSTER.replace("2021-03-15", "03/04/2021"), 4, "start_date", "ISO 8601"),
    ("roster", ROSTER.replace("2021-03-15", "2021-13-45"), 4, "start_date", "ISO 8601"),
    ("roster", ROSTER.replace("H3,", "H1,"), None, "helper_id", "more than once"),
    ("roster", ROSTER.replace(",site,", ",place,"), 1, "site", "required column"),
    ("roster", ROSTER.replace("CW-A,child welfare caseworker,North,1.0", "CW-A,,North,1.0"), 2, "role", "empty"),
    ("roster", ROSTER.replace("2026-06-30", "2020-01-01"), 3, "end_date", "before start_date"),
])
def test_roster_rejections(engine, tmp_path, kind, text, row, column, words):
    err = rejected(engine, tmp_path, **{kind: text})
    assert err.file == "roster.csv"
    if row is not None:
        assert err.row == row
    assert err.column == column
    assert words in str(err)
    assert "roster.csv" in str(err)


def test_survey_out_of_scale_names_row_and_column(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace("H3,2026-03-03T10:30:00,sib,1", "H3,2026-03-03T10:30:00,sib,6"))
    assert (err.file, err.row, err.column) == ("surveys.csv", 4, "sib_1")
    assert "outside the scale" in str(err)


def test_survey_non_numeric_answer(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace(",2,4,2,3,4,4", ",2,lots,2,3,4,4"))
    assert (err.row, err.column) == (3, "pulse_2")


def test_survey_unknown_helper(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace("H3,", "H404,"))
    assert (err.row, err.column) == (4, "helper_id")
    assert "H404" in str(err)


def test_survey_duplicate_rows(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS + "H3,2026-03-03T10:30:00,sib,2,,,,,,\n")
    assert err.row == 4 and "duplicate" in str(err) and "5" in str(err)


def test_survey_unknown_instrument_and_missing_column(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace(",sib,1,", ",mbi,1,"))
    assert (err.row, err.column) == (4, "instrument")
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace("submitted_at", "when"))
    assert err.column == "submitted_at" and err.row == 1


def test_survey_unknown_item_column_points_to_mapping(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, surveys=SURVEYS.replace("sib_1", "How burned out are you?"))
    assert err.column == "How burned out are you?" and "mapping" in str(err)


def test_caseload_rejections(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, caseload=CASELOAD.replace("H1,2026-03-09,22,4,6", "H1,2026-03-09,22,4,-6"))
    assert (err.row, err.column) == (3, "high_acuity_cases")
    err = rejected(engine, tmp_path, caseload=CASELOAD.replace("H3,2026-03-02,28,2,3", "H3,2026-03-02,2,2,3"))
    assert err.row == 4 and "more than active_cases" in str(err)
    err = rejected(engine, tmp_path, caseload=CASELOAD + "H1,2026-03-04,1,1,1,1,1,1,1\n")
    assert "duplicate" in str(err)  # 2026-03-04 is in the week of Monday 2026-03-02


@pytest.mark.parametrize("content,words", [(b"", "empty"), (b"  \n", "empty"),
                                           (ROSTER.splitlines()[0].encode() + b"\n", "no data rows")])
def test_empty_files(engine, tmp_path, content, words):
    p = write(tmp_path, "roster.csv", content)
    with pytest.raises(InputError, match=words):
        ingest.import_files(engine, roster=p)
    assert counts(engine)["helpers"] == 0


def test_invalid_surveys_store_no_roster_either(engine, tmp_path):
    """One import call is one transaction: a bad survey file keeps the roster out too."""
    rejected(engine, tmp_path, roster=ROSTER, surveys=SURVEYS.replace("sib,1", "sib,9"))
    assert counts(engine)["helpers"] == 0


def test_cli_exit_codes(tmp_path, sqlite_url):
    r = write(tmp_path, "roster.csv", ROSTER)
    bad = write(tmp_path, "bad.csv", SURVEYS.replace("sib,1", "sib,9"))
    env = {"BURNOUT_DATABASE_URL": sqlite_url}
    ok = run_cli("import", "--roster", str(r), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "3 helpers (3 new" in ok.stdout
    fail = run_cli("import", "--surveys", str(bad), env=env)
    assert fail.returncode == 2
    assert "bad.csv" in fail.stderr and "row 4" in fail.stderr and "'sib_1'" in fail.stderr


# ------------------------------------------------------------------ encodings and formats

def test_latin1_semicolon_bom_and_xlsx_read_the_same(engine, tmp_path):
    text = ROSTER.replace("Ana Ruiz", "Ana Muñoz Pérez")
    expected = ingest.validate_roster(ingest.read_table(text.encode("utf-8"), "r.csv"))
    variants = {
        "utf8-bom": ("\ufeff" + text).encode("utf-8"),
        "latin1": text.encode("latin-1"),
        "utf16": text.encode("utf-16"),
    }
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    variants["cp1252-semicolon"] = table.to_csv(sep=";", index=False).encode("cp1252")
    variants["tab"] = table.to_csv(sep="\t", index=False).encode("utf-8")
    buf = io.BytesIO()
    table.to_excel(buf, index=False)
    variants["xlsx"] = buf.getvalue()
    for name, raw in variants.items():
        got = ingest.validate_roster(ingest.read_table(raw, name), name)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                      check_dtype=False, obj=name)
    assert "Ana Muñoz Pérez" in set(expected["name"])


def test_semicolon_file_with_decimal_commas_is_read(engine, tmp_path):
    # "0,8" next to a ";" separator is a European decimal: read as 0.8.  In a
    # comma-separated file the same (quoted) cell stays an error with a hint.
    table = pd.read_csv(io.StringIO(ROSTER), dtype=str, keep_default_na=False)
    table.loc[1, "fte"] = "0,8"
    import_ok(engine, tmp_path, roster=table.to_csv(sep=";", index=False))
    assert frames.roster(engine).set_index("helper_id").loc["H2", "fte"] == 0.8
    err = rejected(engine, tmp_path, roster=table.to_csv(index=False).replace("0,8", "0,7"))
    assert (err.row, err.column) == (3, "fte") and "decimal comma" in str(err)


def test_unquoted_separator_inside_a_value_is_rejected(engine, tmp_path):
    err = rejected(engine, tmp_path, roster=ROSTER.replace(",", ";"))
    assert err.row == 2 and "fields" in str(err)


def test_long_survey_format(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    long = "helper_id,submitted_at,instrument,item_id,value\n" \
           "H1,2026-03-02T09:00:00,sib,sib_1,4\n" \
           "H3,2026-03-02,cbi,cbi_p1,Often\nH3,2026-03-02,cbi,cbi_p2,Always\nH3,2026-03-02,cbi,cbi_p3,seldom\n"
    import_ok(engine, tmp_path, surveys=long)
    sc = frames.scores(engine).set_index("helper_id")
    assert sc.loc["H1", "sib_level"] == 4 and bool(sc.loc["H1", "burned_out"])
    assert sc.loc["H3", "personal_burnout"] == pytest.approx((75 + 100 + 25) / 3)


# ------------------------------------------------------------------ events

def test_event_rows_roll_up_to_weeks(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    events = """helper_id,date,case_id,new_case,high_acuity,trauma_exposure,critical_incident,hours,case_type,outside_specialty
H1,2026-03-02,C1,yes,no,1,0,20,foster care,0
H1,2026-03-04,C1,no,no,0,0,12,foster care,0
H1,2026-03-05,C2,no,yes,1,1,14,substance use,1
H1,2026-03-09,C2,no,yes,0,0,8,substance use,1
H3,2026-03-08,C9,1,0,0,0,7.5,,0
"""
    import_ok(engine, tmp_path, caseload=events)
    cl = frames.caseload(engine).set_index(["helper_id", "week_start"])
    w1 = cl.loc[("H1", pd.Timestamp("2026-03-02"))]
    assert w1["active_cases"] == 2 and w1["new_cases"] == 1 and w1["high_acuity_cases"] == 1
    assert w1["trauma_exposures"] == 2 and w1["critical_incidents"] == 1
    assert w1["hours_worked"] == 46 and w1["overtime_hours"] == 6
    assert w1["cases_outside_specialty"] == 1 and w1["case_types"] == "foster care;substance use"
    w2 = cl.loc[("H1", pd.Timestamp("2026-03-09"))]
    assert w2["active_cases"] == 1 and w2["overtime_hours"] == 0
    assert cl.loc[("H3", pd.Timestamp("2026-03-02")), "active_cases"] == 1   # Sunday belongs to Monday's week
    assert len(cl) == 3


def test_event_rows_reject_bad_flags(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, caseload="helper_id,date,case_id,high_acuity\nH1,2026-03-02,C1,maybe\n")
    assert (err.row, err.column) == (2, "high_acuity")


# ------------------------------------------------------------------ form-tool exports

# Headers are made up for the tests, not the instruments' official wording.
FORM = """Timestamp,Staff number,Q1 - Running on empty lately?,Q2 - Body worn down this week?,Q3 - Heart out of gas?,Comments
2026-03-02 09:00:00,H1,Often,Always,Sometimes,=HYPERLINK("x")
2026-03-09 09:05:00,H3,Never/almost never,Seldom,Never,
"""
FORM_MAPPING = """instrument: cbi
columns:
  Timestamp: submitted_at
  Staff number: helper_id
  Q1 - Running on empty lately?: cbi_p1
  Q2 - Body worn down this week?: cbi_p2
  Q3 - Heart out of gas?: cbi_p3
"""


def test_form_export_through_yaml_mapping(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.yaml", FORM_MAPPING)
    form = write(tmp_path, "form.csv", FORM)
    ingest.import_files(engine, surveys=form, mapping=mapping)
    sc = frames.scores(engine).set_index("helper_id")
    assert sc.loc["H1", "personal_burnout"] == pytest.approx(75)
    assert sc.loc["H3", "personal_burnout"] == pytest.approx(25 / 3)


def test_form_export_through_csv_mapping_with_custom_labels(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.csv", "source,target\n,sib\nWhen,submitted_at\nWho,helper_id\n"
                                         "Burnout?,sib_1\nlabel:Completely burned out,5\nlabel:Fine,1\n")
    form = write(tmp_path, "form.csv", "When,Who,Burnout?\n2026-03-02,H1,Completely burned out\n2026-03-02,H3,fine\n")
    ingest.import_files(engine, surveys=form, mapping=mapping)
    sc = frames.scores(engine).set_index("helper_id")
    assert sc.loc["H1", "sib_level"] == 5 and sc.loc["H3", "sib_level"] == 1


def test_mapping_naming_a_missing_column_is_rejected(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.yaml", "instrument: sib\ncolumns:\n  Nope: sib_1\n")
    form = write(tmp_path, "form.csv", FORM)
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=form, mapping=mapping)
    assert info.value.column == "Nope"




def test_form_export_errors_name_the_exports_own_header(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.yaml", FORM_MAPPING)
    form = write(tmp_path, "form.csv", FORM.replace("Seldom,Never,", "Seldom,Nevr,"))
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=form, mapping=mapping)
    err = info.value
    assert (err.file, err.row, err.column) == ("form.csv", 3, "Q3 - Heart out of gas?")
    assert "'Nevr'" in str(err) and "cbi_p3" in str(err)   # the item id only as a hint
    form = write(tmp_path, "form.csv", FORM.replace(",H3,", ",H404,"))
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=form, mapping=mapping)
    assert (info.value.row, info.value.column) == (3, "Staff number")
    assert counts(engine)["submissions"] == 0


def test_mapping_to_an_unknown_item_id_says_so(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.yaml", FORM_MAPPING.replace(": cbi_p3", ": cbi_p99"))
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=write(tmp_path, "form.csv", FORM), mapping=mapping)
    err = info.value
    assert err.file == "map.yaml" and err.column == "Q3 - Heart out of gas?"
    assert "'cbi_p99'" in str(err) and "not a known item id" in str(err)
    assert "needs a mapping file" not in str(err)


@pytest.mark.parametrize("labels", ["labels: {Often: lots}", "labels: [Often]"])
def test_mapping_with_a_non_numeric_label_is_rejected(engine, tmp_path, labels):
    import_ok(engine, tmp_path, roster=ROSTER)
    mapping = write(tmp_path, "map.yaml", FORM_MAPPING + labels + "\n")
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=write(tmp_path, "form.csv", FORM), mapping=mapping)
    assert info.value.file == "map.yaml" and info.value.column == "labels"
    assert counts(engine)["submissions"] == 0


# ------------------------------------------------------------------ re-imports that lack columns

ROSTER_REQUIRED_ONLY = """helper_id,name,team,role,site,fte,start_date
H1,Ana Ruiz,CW-A,child welfare caseworker,North,1.0,2023-01-09
H2,Bo Chen,CW-A,child welfare caseworker,North,0.6,2022-05-02
H3,Cy Diallo,AMH-B,mental health counsellor,South,1,2021-03-15
"""


def test_roster_reimport_without_optional_columns_keeps_stored_values(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    before = frames.roster(engine).set_index("helper_id")
    summary = import_ok(engine, tmp_path, roster=ROSTER_REQUIRED_ONLY)
    after = frames.roster(engine).set_index("helper_id")
    assert summary.counts["roster"] == {"rows": 3, "new": 0, "updated": 1}   # only H2's fte
    assert after.loc["H2", "fte"] == 0.6
    # the leaver stays a leaver; salary, specialties and the given standard stay
    assert after.loc["H2", "end_date"] == pd.Timestamp("2026-06-30")
    assert after.loc["H2", "end_reason"] == "resigned - workload"
    for col in ("end_date", "end_reason", "annual_salary", "specialties", "caseload_standard_given"):
        pd.testing.assert_series_equal(after[col], before[col], obj=col)
    assert "end_date" in summary.describe() and summary.warnings
    # a file that has the column but leaves the cell empty does clear it
    import_ok(engine, tmp_path, roster=ROSTER.replace("2026-06-30,resigned - workload", ","))
    assert pd.isna(frames.roster(engine).set_index("helper_id").loc["H2", "end_date"])


def test_new_helper_in_a_roster_without_optional_columns(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    import_ok(engine, tmp_path, roster=ROSTER_REQUIRED_ONLY + "H4,Di Ek,CW-A,child welfare caseworker,North,1,2026-01-05\n")
    r = frames.roster(engine).set_index("helper_id")
    assert pd.isna(r.loc["H4", "end_date"]) and pd.isna(r.loc["H4", "annual_salary"])
    assert r.loc["H2", "end_date"] == pd.Timestamp("2026-06-30")


def test_caseload_reimport_without_optional_columns_keeps_them(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    full = CASELOAD.replace("overtime_hours\n", "overtime_hours,case_types,cases_outside_specialty\n")
    full = full.replace(",44,4\n", ",44,4,foster care;kinship,2\n").replace(",46,6\n", ",46,6,foster care,1\n") \
        .replace(",38,0\n", ",38,0,,0\n")
    import_ok(engine, tmp_path, caseload=full)
    summary = import_ok(engine, tmp_path, caseload=CASELOAD.replace("H1,2026-03-09,22", "H1,2026-03-09,23"))
    assert summary.counts["caseload"]["updated"] == 1
    cl = frames.caseload(engine).set_index(["helper_id", "week_start"])
    w = cl.loc[("H1", pd.Timestamp("2026-03-09"))]
    assert w["active_cases"] == 23
    assert w["case_types"] == "foster care" and w["cases_outside_specialty"] == 1
    assert cl.loc[("H1", pd.Timestamp("2026-03-02")), "case_types"] == "foster care;kinship"


def test_caseload_for_a_helper_not_in_the_roster(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, caseload=CASELOAD.replace("H3,2026-03-02", "H9,2026-03-02"))
    assert (err.file, err.row, err.column) == ("caseload.csv", 4, "helper_id")
    assert "'H9'" in str(err) and "roster" in str(err)


# ------------------------------------------------------------------ survey re-imports

def test_reimport_with_other_answers_keeps_stored_and_says_so(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER, surveys=SURVEYS)
    stored = frames.answers(engine)
    changed = SURVEYS.replace("H1,2026-03-02T09:00:00,sib,3", "H1,2026-03-02T09:00:00,sib,4") \
        .replace(",2,4,2,3,4,4", ",2,4,2,3,4,")
    summary = import_ok(engine, tmp_path, surveys=changed)
    pd.testing.assert_frame_equal(frames.answers(engine), stored)
    assert summary.counts["surveys"]["different"] == 2
    text = summary.describe()
    assert "2 submission(s) already stored with different answers; kept the stored answers" in text
    assert "helper H1 sib 2026-03-02 09:00" in text and "helper H1 pulse 2026-03-02 09:00" in text
    again = import_ok(engine, tmp_path, surveys=SURVEYS)
    assert again.counts["surveys"]["different"] == 0 and not again.warnings


# ------------------------------------------------------------------ row numbers and empty rows

def test_blank_lines_do_not_shift_row_numbers(engine, tmp_path):
    lines = ROSTER.replace("North,0.8", "North,abc").splitlines()
    text = "\n".join(lines[:2] + ["", ""] + lines[2:]) + "\n"
    err = rejected(engine, tmp_path, roster=text)
    assert (err.row, err.column) == (5, "fte")        # line 5 of the file, as a spreadsheet shows it
    err = rejected(engine, tmp_path, roster="\n" + text)
    assert err.row == 6


def test_fully_empty_rows_are_ignored(engine, tmp_path):
    text = ROSTER.replace("\nH2,", "\n,,,,,,,,,,,\n   \nH2,").replace("\nH3,", "\n\nH3,") + ",,,,,,,,,,,\n,,,,,,,,,,,\n"
    summary = import_ok(engine, tmp_path, roster=text)
    assert summary.counts["roster"]["new"] == 3
    err = rejected(engine, tmp_path, roster=text.replace("South,1,", "South,x,"))
    assert (err.row, err.column) == (7, "fte")


def test_blank_xlsx_rows_are_ignored_and_do_not_shift_rows(engine, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    table = pd.read_csv(io.StringIO(ROSTER), dtype=str, keep_default_na=False)
    ws.append(list(table.columns))
    for i, rec in enumerate(table.itertuples(index=False)):
        ws.append(list(rec))
        ws.append([None] * len(table.columns))     # a blank row after each helper
    ws.cell(row=6, column=6).value = "lots"         # H3's fte, on spreadsheet row 6
    buf = io.BytesIO()
    wb.save(buf)
    p = write(tmp_path, "roster.xlsx", buf.getvalue())
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, roster=p)
    assert (info.value.file, info.value.row, info.value.column) == ("roster.xlsx", 6, "fte")
    ws.cell(row=6, column=6).value = 1
    buf = io.BytesIO()
    wb.save(buf)
    p.write_bytes(buf.getvalue())
    assert ingest.import_files(engine, roster=p).counts["roster"]["new"] == 3


def test_xlsx_with_real_date_and_number_cells(engine, tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["helper_id", "name", "team", "role", "site", "fte", "start_date", "end_date",
               "annual_salary", "caseload_standard"])
    ws.append(["H1", "Ana Ruiz", "CW-A", "child welfare caseworker", "North", 1, dt.date(2023, 1, 9),
               None, 52000, 17])
    ws.append(["H2", "Bo Chen", "CW-A", "child welfare caseworker", "North", 0.8,
               dt.datetime(2022, 5, 2), dt.datetime(2026, 6, 30), 51000.5, None])
    for row in ws.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in row:
            cell.number_format = "dd/mm/yyyy"   # shown day-first, stored as a real date
    buf = io.BytesIO()
    wb.save(buf)
    ingest.import_files(engine, roster=write(tmp_path, "roster.xlsx", buf.getvalue()))
    r = frames.roster(engine).set_index("helper_id")
    assert r.loc["H1", "start_date"] == pd.Timestamp("2023-01-09")
    assert r.loc["H2", "end_date"] == pd.Timestamp("2026-06-30")
    assert r.loc["H1", "fte"] == 1 and r.loc["H2", "fte"] == 0.8
    assert r.loc["H2", "annual_salary"] == 51000.5 and r.loc["H1", "caseload_standard_given"] == 17


# ------------------------------------------------------------------ error wording

def test_wrong_type_is_reported_once_and_other_rows_still_checked(engine, tmp_path):
    text = ROSTER.replace("North,0.8", "North,abc").replace("South,1,", "South,7,")
    err = rejected(engine, tmp_path, roster=text)
    assert err.problems == ["row 3, column 'fte': 'abc' is not a number",
                            "row 4, column 'fte': 7 is outside the range: fte must be above 0 and at most 1.5"]


def test_empty_required_cell_reads_plainly(engine, tmp_path):
    err = rejected(engine, tmp_path, roster=ROSTER.replace("CW-A,child welfare caseworker,North,1.0",
                                                           "CW-A,,North,1.0"))
    assert str(err).endswith("row 2, column 'role': empty, but a value is required")
    assert "None" not in str(err) and "nan" not in str(err)
    import_ok(engine, tmp_path, roster=ROSTER)
    err = rejected(engine, tmp_path, caseload="helper_id,date,case_id\nH1,2026-03-02,\n")
    assert (err.row, err.column) == (2, "case_id") and "empty, but a value is required" in str(err)


# ------------------------------------------------------------------ files that cannot be read

def test_missing_or_unreadable_inputs_are_input_errors(engine, tmp_path):
    with pytest.raises(InputError, match="file not found") as info:
        ingest.import_files(engine, roster=tmp_path / "nope.csv")
    assert info.value.file == "nope.csv"
    with pytest.raises(InputError, match="folder") as info:
        ingest.import_files(engine, roster=tmp_path)
    import_ok(engine, tmp_path, roster=ROSTER)
    form = write(tmp_path, "form.csv", FORM)
    with pytest.raises(InputError, match="file not found") as info:
        ingest.import_files(engine, surveys=form, mapping=tmp_path / "nonexist.yaml")
    assert info.value.file == "nonexist.yaml"
    with pytest.raises(InputError, match="with the surveys file"):
        ingest.import_files(engine, roster=tmp_path / "roster.csv", mapping=tmp_path / "map.yaml")


def test_cli_turns_unreadable_inputs_into_exit_code_2(tmp_path, sqlite_url):
    env = {"BURNOUT_DATABASE_URL": sqlite_url}
    roster = write(tmp_path, "roster.csv", ROSTER)
    form = write(tmp_path, "form.csv", FORM)
    bad_labels = write(tmp_path, "map.yaml", FORM_MAPPING + "labels: {Often: lots}\n")
    cases = [
        (["--roster", str(tmp_path)], "folder"),
        (["--roster", str(tmp_path / "nope.csv")], "nope.csv"),
        (["--roster", str(roster), "--surveys", str(form), "--mapping", str(tmp_path / "nonexist.yaml")],
         "nonexist.yaml"),
        (["--roster", str(roster), "--surveys", str(form), "--mapping", str(bad_labels)], "'lots'"),
        (["--roster", str(roster), "--mapping", str(bad_labels)], "--surveys"),
    ]
    for args, words in cases:
        r = run_cli("import", *args, env=env)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and words in r.stderr, (args, r.stderr)
    assert run_cli("import", "--roster", str(roster), env=env).returncode == 0


# ------------------------------------------------------------------ event files

EVENTS = """helper_id,date,case_id,new_case,high_acuity,trauma_exposure,critical_incident,hours
H1,2026-03-02,C1,1,0,1,0,8
H1,2026-03-03,C2,0,1,0,0,8
H3,2026-03-03,C7,0,0,0,0,6
H1,2026-03-04,C1,0,0,1,0,8
H3,2026-03-04,C8,1,0,0,0,6
H1,2026-03-05,C3,1,0,0,1,9
"""


def test_exact_duplicate_event_rows_are_rejected(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    lines = EVENTS.splitlines()
    err = rejected(engine, tmp_path, caseload="\n".join(lines + [lines[2]]) + "\n")
    assert (err.file, err.row) == ("caseload.csv", 3) and "duplicate" in str(err) and "8" in str(err)
    # the same event written another way is still the same event
    err = rejected(engine, tmp_path, caseload=EVENTS + "H1,2026-03-03T00:00,C2,no,yes,0,0,8.0\n")
    assert err.row == 3 and "duplicate" in str(err)
    # two contacts with one client on one day at different times are two events
    ok = EVENTS + "H1,2026-03-03T15:00,C2,0,1,0,0,8\n"
    import_ok(engine, tmp_path, caseload=ok.replace("H1,2026-03-03,C2", "H1,2026-03-03T09:00,C2"))
    cl = frames.caseload(engine).set_index(["helper_id", "week_start"])
    assert cl.loc[("H1", pd.Timestamp("2026-03-02")), "hours_worked"] == 41


def test_event_file_unknown_helper_names_the_file_row(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    text = EVENTS + "H9,2026-03-05,C5,0,0,0,0,3\n"     # file row 8
    err = rejected(engine, tmp_path, caseload=text)
    assert (err.row, err.column) == (8, "helper_id") and "'H9'" in str(err)
    lines = text.splitlines()
    err = rejected(engine, tmp_path, caseload="\n".join(lines[:3] + [""] + lines[3:]) + "\n")
    assert err.row == 9


def test_event_file_without_optional_columns_leaves_stored_figures(engine, tmp_path):
    import_ok(engine, tmp_path, roster=ROSTER)
    weekly = CASELOAD.replace("overtime_hours\n", "overtime_hours,case_types,cases_outside_specialty\n") \
        .replace(",44,4\n", ",44,4,foster care,2\n").replace(",46,6\n", ",46,6,,0\n").replace(",38,0\n", ",38,0,,0\n")
    import_ok(engine, tmp_path, caseload=weekly)
    # Monday to Sunday: the file covers the whole week, so it replaces the stored one
    import_ok(engine, tmp_path, caseload=EVENTS.replace("2026-03-05,C3", "2026-03-08,C3"))
    w = frames.caseload(engine).set_index(["helper_id", "week_start"]).loc[("H1", pd.Timestamp("2026-03-02"))]
    assert w["active_cases"] == 3 and w["hours_worked"] == 33   # replaced from the events ...
    assert w["case_types"] == "foster care" and w["cases_outside_specialty"] == 2   # ... but not these


MONTH_1 = """helper_id,date,case_id,hours
H1,2026-03-02,C1,8
H1,2026-03-04,C2,8
H1,2026-03-10,C1,7
H1,2026-03-11,C3,7
"""
MONTH_2 = """helper_id,date,case_id,hours
H1,2026-03-12,C4,6
H1,2026-03-16,C1,8
H1,2026-03-22,C2,8
"""


def test_event_week_split_across_files_is_never_silently_replaced(engine, tmp_path):
    """MONTH_1 ends on Wednesday 2026-03-11 and MONTH_2 starts the next day:
    both cover the week of 2026-03-09 only in part."""
    import_ok(engine, tmp_path, roster=ROSTER)
    first = import_ok(engine, tmp_path, caseload=MONTH_1)
    assert first.counts["caseload"]["new"] == 2 and not first.warnings   # a new partial week is stored
    week = ("H1", pd.Timestamp("2026-03-09"))
    second = import_ok(engine, tmp_path, caseload=MONTH_2)
    cl = frames.caseload(engine).set_index(["helper_id", "week_start"])
    assert cl.loc[week, "active_cases"] == 2 and cl.loc[week, "hours_worked"] == 14   # kept as stored
    assert cl.loc[("H1", pd.Timestamp("2026-03-16")), "active_cases"] == 2            # a whole week: new
    assert second.counts["caseload"] == {"rows": 2, "new": 1, "updated": 0, "kept": 1}
    assert "H1 week of 2026-03-09" in second.describe() and "kept the stored figures" in second.describe()
    # the same file again: still nothing replaced, still said
    assert import_ok(engine, tmp_path, caseload=MONTH_2).counts["caseload"]["kept"] == 1
    # a file covering the whole week replaces it, as any corrected file does
    whole = MONTH_1.splitlines()[0] + "\n" + "\n".join(MONTH_1.splitlines()[3:] + MONTH_2.splitlines()[1:]) + "\n"
    whole = whole.replace("2026-03-10,C1,7", "2026-03-09,C1,7")
    fixed = import_ok(engine, tmp_path, caseload=whole)
    assert fixed.counts["caseload"]["updated"] == 1 and not fixed.warnings
    cl = frames.caseload(engine).set_index(["helper_id", "week_start"])
    assert cl.loc[week, "active_cases"] == 3 and cl.loc[week, "hours_worked"] == 20
