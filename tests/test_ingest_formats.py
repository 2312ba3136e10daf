"""Real exports read without hints: form-tool layouts and timestamps, answers
written as number + label, decimal commas, roster mappings and extra columns,
workbook sheets; every problem of a file reported at once; plausibility limits."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from burnout import ingest
from burnout.errors import InputError
from burnout.ingest import ImportLimits
from burnout.store import frames, get_engine
from conftest import run_cli

FORMS = Path(__file__).parent / "data" / "forms"
ROSTER = """helper_id,name,team,role,site,fte,start_date
H1,Ana Ruiz,CW-A,child welfare caseworker,North,1.0,2023-01-09
H3,Cy Diallo,AMH-B,mental health counsellor,South,1,2021-03-15
"""
KNOWN = {"H1", "H3"}
SURVEY_HEAD = "helper_id,submitted_at,instrument,sib_1,pulse_1,pulse_2,pulse_3,pulse_4,pulse_5,pulse_6\n"


def roster_engine(engine):
    ingest.import_files(engine, roster=ROSTER.encode(), names={"roster": "roster.csv"})
    return engine


@pytest.mark.parametrize("tool,first", [
    ("google_forms", "2026-01-12 09:10:03"),
    ("google_sheets_us", "2026-01-12 09:10:03"),
    ("microsoft_forms", "2026-01-12 09:10:00"),
    ("surveymonkey", "2026-01-12 09:10:03"),
    ("qualtrics", "2026-01-12 09:10:03"),
    ("redcap", "2026-01-12 09:10:00"),
])
def test_form_tool_exports_import_without_hints(engine, tool, first):
    roster_engine(engine)
    summary = ingest.import_files(engine, surveys=FORMS / f"{tool}.csv", mapping=FORMS / f"{tool}.yaml")
    assert summary.counts["surveys"] == {"rows": 3, "new": 3, "answers": 9, "already_stored": 0,
                                         "different": 0}
    ans = frames.answers(engine).sort_values(["submitted_at", "helper_id"]).reset_index(drop=True)
    assert ans.loc[0, "submitted_at"] == pd.Timestamp(first)
    assert ans.loc[0, "helper_id"] == "H1"
    assert ans.loc[1, "submitted_at"].strftime("%H:%M") == "13:45"     # PM read as such
    assert ans.loc[2, "submitted_at"].date() == dt.date(2026, 1, 19)
    assert (ans.loc[0, ["cbi_p1", "cbi_p2", "cbi_p3"]].tolist() == [75, 100, 50])


def test_google_forms_zone_is_stored_in_utc():
    df = ingest.read_table(FORMS / "google_forms.csv")
    mapped, labels = ingest.apply_mapping(df, ingest.load_mapping(FORMS / "google_forms.yaml"), "g.csv")
    subs, _ = ingest.validate_surveys(mapped, "g.csv", labels)
    assert subs["submitted_at"].iloc[2] == pd.Timestamp("2026-01-19 08:02:55")   # GMT+1


def test_qualtrics_extra_header_rows_are_skipped_and_rows_keep_their_numbers(engine):
    roster_engine(engine)
    text = (FORMS / "qualtrics.csv").read_text().replace(",H3,Seldom", ",H3,Seldomly")
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=text.encode(), mapping=FORMS / "qualtrics.yaml",
                            names={"surveys": "q.csv"})
    assert (info.value.row, info.value.column) == (5, "Q1")


def test_ambiguous_day_month_column_is_refused_then_declared(engine):
    roster_engine(engine)
    text = "When,Who,Burnout?\n03/04/2026 10:00,H1,2\n04/05/2026 11:00,H3,3\n"
    mapping = b"instrument: sib\ncolumns:\n  When: submitted_at\n  Who: helper_id\n  Burnout?: sib_1\n"
    with pytest.raises(InputError) as info:
        ingest.import_files(engine, surveys=text.encode(), mapping=mapping,
                            names={"surveys": "s.csv", "mapping": "m.yaml"})
    err = info.value
    assert err.column == "When" and "dayfirst: true" in str(err) and "date_format" in str(err)
    for extra, month in ((b"dayfirst: true\n", 4), (b'date_format: "%m/%d/%Y %H:%M"\n', 3)):
        prepared = ingest.prepare(surveys=text.encode(), mapping=mapping + extra, known_helpers=KNOWN,
                                  names={"surveys": "s.csv", "mapping": "m.yaml"})
        assert prepared["surveys"][1]["submitted_at"].iloc[0].month == month


def test_one_day_above_12_settles_the_whole_column():
    text = SURVEY_HEAD + "H1,03/04/2026,sib,2,,,,,,\nH3,25/04/2026,sib,3,,,,,,\n"
    subs, _ = ingest.prepare(surveys=text.encode(), known_helpers=KNOWN)["surveys"][1:]
    assert subs["submitted_at"].tolist() == [pd.Timestamp("2026-04-03"), pd.Timestamp("2026-04-25")]
    text = SURVEY_HEAD + "H1,25/04/2026,sib,2,,,,,,\nH3,04/25/2026,sib,3,,,,,,\n"
    with pytest.raises(InputError, match="mixes day/month and month/day"):
        ingest.prepare(surveys=text.encode(), known_helpers=KNOWN)


@pytest.mark.parametrize("cell,value", [("5 - Very Often", 5), ("Very Often (5)", 5), ("Often (4)", 4),
                                        ("4 = Often", 4), ("2: Rarely", 2), ("never", 1)])
def test_answers_with_number_and_label(cell, value):
    text = f"helper_id,submitted_at,instrument,proqol_1\nH1,2026-03-02,proqol5,{cell}\n"
    _, ans = ingest.prepare(surveys=text.encode(), known_helpers=KNOWN)["surveys"][1:]
    assert ans["value"].tolist() == [value]


def test_number_and_label_that_disagree_are_refused_by_cell():
    text = "helper_id,submitted_at,instrument,proqol_1,proqol_2\nH1,2026-03-02,proqol5,Often (5),3\n"
    with pytest.raises(InputError) as info:
        ingest.prepare(surveys=text.encode(), known_helpers=KNOWN, names={"surveys": "s.csv"})
    assert (info.value.row, info.value.column) == (2, "proqol_1") and "disagree" in str(info.value)


def test_every_problem_of_a_survey_file_at_once():
    """A date error, two answer errors and an unknown helper: four problems, one refusal."""
    text = (SURVEY_HEAD + "H1,2026-13-45,sib,2,,,,,,\n"
            "H1,2026-11-04T16:40:00,pulse,,2,x,7,2,2,2\n"
            "H9,2026-11-05T16:39:00,sib,3,,,,,,\n")
    with pytest.raises(InputError) as info:
        ingest.prepare(surveys=text.encode(), known_helpers={"H1"}, names={"surveys": "s.csv"})
    err = info.value
    assert [p.split(":")[0] for p in err.problems] == [
        "row 2, column 'submitted_at'", "row 3, column 'pulse_2'", "row 3, column 'pulse_3'",
        "row 4, column 'helper_id'"]
    assert "4 problems in all" in str(err)
    assert "'2026-13-45' is not a date" in err.problems[0] and "'H9' is not in the roster" in err.problems[3]


def test_many_problems_are_all_kept_but_the_message_is_capped():
    rows = "".join(f"H1,2026-03-{d:02d},sib,9,,,,,,\n" for d in range(1, 29))
    text = SURVEY_HEAD + rows + "H1,2026-04-01,sib,x,,,,,,\n"
    with pytest.raises(InputError) as info:
        ingest.prepare(surveys=text.encode(), known_helpers={"H1"})
    assert len(info.value.problems) == 29
    assert "29 problems in all" in str(info.value) and "and 9 more" in str(info.value)
    assert str(info.value).count("\n  row") == ingest.MAX_PROBLEMS


def test_roster_and_caseload_problems_of_every_kind_at_once():
    roster = ROSTER + "H4,Di,CW-A,,North,abc,2099-01-01\nH1,Ed,CW-A,x,North,2,2020-01-01\n"
    with pytest.raises(InputError) as info:
        ingest.prepare(roster=roster.encode(), names={"roster": "r.csv"})
    got = {(p.split(":")[0]) for p in info.value.problems}
    assert got >= {"row 4, column 'role'", "row 4, column 'fte'", "row 4, column 'start_date'",
                   "row 5, column 'fte'", "row 2, column 'helper_id'"}


def test_semicolon_file_with_decimal_commas():
    text = ("helper_id;week_start;active_cases;new_cases;high_acuity_cases;trauma_exposures;"
            "critical_incidents;hours_worked;overtime_hours\nH1;2026-03-02;20;3;5;2;0;41,5;1,5\n")
    weeks = ingest.prepare(caseload=text.encode(), known_helpers=KNOWN)["caseload"][1]
    assert weeks.loc[0, "hours_worked"] == 41.5 and weeks.loc[0, "overtime_hours"] == 1.5


# ------------------------------------------------------------------ rosters

HR_EXPORT = """Employee ID,Full name,Department,Job title,Location,FTE,Hire date,Cost centre,Manager
E-001,Ana Ruiz,CW-A,child welfare caseworker,North,1,09/01/2023,CC12,Kim
E-002,Bo Chen,CW-A,child welfare caseworker,North,0.8,15/05/2022,CC12,Kim
"""
ROSTER_MAPPING = """columns:
  Employee ID: helper_id
  Full name: name
  Department: team
  Job title: role
  Location: site
  FTE: fte
  Hire date: start_date
"""


def test_roster_mapping_and_ignored_columns(engine, tmp_path):
    summary = ingest.import_files(engine, roster=HR_EXPORT.encode(), roster_mapping=ROSTER_MAPPING.encode(),
                                  names={"roster": "hr.csv", "roster_mapping": "roster_map.yaml"})
    r = frames.roster(engine).set_index("helper_id")
    assert r.loc["E-002", "start_date"] == pd.Timestamp("2022-05-15") and r.loc["E-001", "team"] == "CW-A"
    assert "Cost centre" in summary.describe() and "Manager" in summary.describe()
    # errors name the export's own header
    bad = HR_EXPORT.replace(",0.8,", ",lots,")
    with pytest.raises(InputError) as info:
        ingest.prepare(roster=bad.encode(), roster_mapping=ROSTER_MAPPING.encode(), names={"roster": "hr.csv"})
    assert (info.value.row, info.value.column) == (3, "FTE")
    # the CLI takes the same mapping
    (tmp_path / "hr.csv").write_text(HR_EXPORT)
    (tmp_path / "map.yaml").write_text(ROSTER_MAPPING)
    r = run_cli("import", "--roster", str(tmp_path / "hr.csv"), "--roster-mapping", str(tmp_path / "map.yaml"),
                env={"BURNOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"})
    assert r.returncode == 0, r.stderr
    assert "2 helpers (2 new" in r.stdout and "Cost centre" in r.stdout


def test_roster_with_extra_columns_is_read_and_the_summary_names_them(engine):
    text = ROSTER.replace("start_date\n", "start_date,badge colour\n").replace("2023-01-09\n", "2023-01-09,red\n") \
        .replace("2021-03-15\n", "2021-03-15,\n")
    summary = ingest.import_files(engine, roster=text.encode(), names={"roster": "r.csv"})
    assert summary.counts["roster"]["new"] == 2 and "badge colour" in summary.describe()


# ------------------------------------------------------------------ sheets

def _workbook(sheets: dict[str, str]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, text in sheets.items():
        ws = wb.create_sheet(title)
        for line in text.strip().splitlines():
            ws.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_workbook_sheets_are_chosen_never_guessed():
    notes = "note\nthis workbook holds the roster"
    book = _workbook({"Read me": notes, "Roster": ROSTER})
    assert len(ingest.read_table(book, "r.xlsx", expect=ingest.ROSTER_REQUIRED)) == 2   # the one that fits
    two = _workbook({"2025": ROSTER, "2026": ROSTER.replace("Ana", "Anna")})
    with pytest.raises(InputError) as info:
        ingest.prepare(roster=two, names={"roster": "r.xlsx"})
    assert "2025" in str(info.value) and "2026" in str(info.value)
    got = ingest.prepare(roster=two, names={"roster": "r.xlsx"}, sheets={"roster": "2026"})
    assert "Anna Ruiz" in set(got["roster"][1]["name"])
    got = ingest.prepare(roster=two, names={"roster": "r.xlsx"}, sheet="2025")
    assert "Ana Ruiz" in set(got["roster"][1]["name"])
    with pytest.raises(InputError, match="no sheet 'Nope'"):
        ingest.read_table(two, "r.xlsx", sheet="Nope")
    assert ingest.sheet_names(two) == ["2025", "2026"]


# ------------------------------------------------------------------ plausibility

CASE_HEAD = ("helper_id,week_start,active_cases,new_cases,high_acuity_cases,trauma_exposures,"
             "critical_incidents,hours_worked,overtime_hours\n")


@pytest.mark.parametrize("line,column,words", [
    ("H1,2026-03-02,20,3,5,2,0,1000,4", "hours_worked", "168 hours"),
    ("H1,2026-03-02,20,3,5,2,0,40,44", "overtime_hours", "more than hours_worked"),
    ("H1,2026-03-02,5000,3,5,2,0,40,4", "active_cases", "1,000 cases"),
    ("H1,2026-03-02,20,3,5,500,0,40,4", "trauma_exposures", "import_max_events_per_week"),
    ("H1,2099-03-02,20,3,5,2,0,40,4", "week_start", "too far in the future"),
    ("H1,1900-03-05,20,3,5,2,0,40,4", "week_start", "before the organisation's start"),
    ("H1,2026-03-02,inf,3,5,2,0,40,4", "active_cases", "finite"),
    ("H1,2026-03-02,20,3,5,2,0,nan,4", "hours_worked", "finite"),
    ("H1,2026-03-02,20,3,5,2,0,1e300,4", "hours_worked", "too large"),
    ("H1,2026-03-02,1_000,3,5,2,0,40,4", "active_cases", "not a number"),
])
def test_caseload_plausibility(line, column, words):
    with pytest.raises(InputError) as info:
        ingest.prepare(caseload=(CASE_HEAD + line + "\n").encode(), known_helpers=KNOWN,
                       names={"caseload": "c.csv"})
    assert (info.value.file, info.value.row, info.value.column) == ("c.csv", 2, column)
    assert words in str(info.value)


def test_limits_are_configurable():
    limits = ImportLimits.from_settings({"import_max_active_cases": "50", "organisation_start": "2026-01-01",
                                         "import_future_days": 0, "import_max_events_per_week": 3,
                                         "roster_start_lead_days": 10})
    assert (limits.max_active_cases, limits.organisation_start, limits.future_days,
            limits.max_events_per_week, limits.roster_start_lead_days) == (50, dt.date(2026, 1, 1), 0, 3, 10)
    line = CASE_HEAD + "H1,2025-12-29,60,3,5,2,0,40,4\n"
    with pytest.raises(InputError) as info:
        ingest.prepare(caseload=line.encode(), known_helpers=KNOWN, limits=limits)
    assert {p.split(":")[0] for p in info.value.problems} == {"row 2, column 'active_cases'",
                                                            "row 2, column 'week_start'"}
    assert ImportLimits.from_settings({}) == ImportLimits()


def test_event_weeks_are_checked_after_the_roll_up():
    events = "helper_id,date,case_id,hours\n" + "".join(f"H1,2026-03-0{d},C{d},24\n" for d in range(2, 9))
    events += "H1,2026-03-08,C9,2\n"
    with pytest.raises(InputError) as info:
        ingest.prepare(caseload=events.encode(), known_helpers=KNOWN, names={"caseload": "e.csv"})
    err = info.value
    assert (err.row, err.column) == (2, "hours") and "week of 2026-03-02" in str(err) and "168" in str(err)


@pytest.mark.parametrize("cell,words", [("H" + "x" * 200, "at most 80 fit"), ("H\x001", "NUL"),
                                        ("H\u200b1", "U+200B"), ("H\x1b1", "U+001B")])
def test_identifiers_must_fit_and_be_visible(cell, words):
    text = ROSTER.replace("H3,", f"{cell},")
    with pytest.raises(InputError) as info:
        ingest.prepare(roster=text.encode(), names={"roster": "r.csv"})
    assert (info.value.row, info.value.column) == (3, "helper_id") and words in str(info.value)


def test_formula_looking_names_are_stored_as_given(engine):
    text = ROSTER.replace("Ana Ruiz", "=HYPERLINK(\"x\")").replace("Cy Diallo", "@Cy -Diallo")
    ingest.import_files(engine, roster=text.encode(), names={"roster": "r.csv"})
    assert set(frames.roster(engine)["name"]) == {'=HYPERLINK("x")', "@Cy -Diallo"}


def test_roster_start_dates_far_ahead_are_refused():
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    late = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    ingest.prepare(roster=ROSTER.replace("2023-01-09", soon).encode())
    with pytest.raises(InputError) as info:
        ingest.prepare(roster=ROSTER.replace("2023-01-09", late).encode())
    assert (info.value.row, info.value.column) == (2, "start_date") and "roster_start_lead_days" in str(info.value)


def test_cli_sheet_option(tmp_path):
    book = tmp_path / "roster.xlsx"
    book.write_bytes(_workbook({"2025": ROSTER, "2026": ROSTER.replace("Ana", "Anna")}))
    env = {"BURNOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    refused = run_cli("import", "--roster", str(book), env=env)
    assert refused.returncode == 2 and "2025" in refused.stderr and "--sheet" in refused.stderr
    ok = run_cli("import", "--roster", str(book), "--sheet", "2026", env=env)
    assert ok.returncode == 0, ok.stderr


def test_microsoft_forms_workbook_with_real_date_cells(engine):
    roster_engine(engine)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "Start time", "Completion time", "Email", "Name", "Staff number",
               "Question A (placeholder)", "Question B (placeholder)", "Question C (placeholder)"])
    ws.append([1, dt.datetime(2026, 1, 12, 9, 8, 12), dt.datetime(2026, 1, 12, 9, 10), "anonymous", None, "H1",
               "Often", "Always", "Sometimes"])
    for cell in ws["C"][1:]:
        cell.number_format = "m/d/yy h:mm"     # how Forms shows it; the cell holds a real date
    buf = io.BytesIO()
    wb.save(buf)
    ingest.import_files(engine, surveys=buf.getvalue(), mapping=FORMS / "microsoft_forms.yaml",
                        names={"surveys": "forms.xlsx"})
    assert frames.answers(engine)["submitted_at"].tolist() == [pd.Timestamp("2026-01-12 09:10")]


TOOLS = ["google_forms", "google_sheets_us", "microsoft_forms", "surveymonkey", "qualtrics", "redcap"]


@pytest.mark.postgres
def test_form_tool_exports_store_the_same_on_postgresql(pg_url, engine):
    stored = []
    for eng in (engine, get_engine(pg_url)):
        roster_engine(eng)
        for tool in TOOLS:
            ingest.import_files(eng, surveys=FORMS / f"{tool}.csv", mapping=FORMS / f"{tool}.yaml",
                                names={"surveys": f"{tool}.csv"})
        stored.append(frames.answers(eng).sort_values(["helper_id", "submitted_at"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(stored[0], stored[1], check_dtype=False)
    assert len(stored[0]) == 7     # the six exports hold the same answers, to the second or minute
