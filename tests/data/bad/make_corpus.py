"""Write the hostile-file corpus and its MANIFEST.csv (run from anywhere:
``python tests/data/bad/make_corpus.py``).  The files are committed; this
script says how each was made, so a reviewer can read the attack in code.

MANIFEST.csv: file, kind (roster | surveys | caseload | mapping), expect
(refused | ok), row and column the refusal must name (empty: the file as a
whole), words the message must contain, and the attack in one line.
"""
from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent

ROSTER_HEAD = "helper_id,name,team,role,site,fte,start_date,end_date,end_reason,annual_salary\n"
ROSTER_ROWS = ["H1,Ana Ruiz,CW-A,caseworker,North,1,2023-01-09,,,52000",
               "H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000",
               "H3,Cy Diallo,AMH-B,counsellor,South,1,2021-03-15,,,61000"]
SURVEY_HEAD = "helper_id,submitted_at,instrument,sib_1,pulse_1,pulse_2,pulse_3,pulse_4,pulse_5,pulse_6,comment\n"
SURVEY_ROWS = ["H1,2026-03-02T09:00:00,sib,3,,,,,,,", "H1,2026-03-02T09:00:00,pulse,,2,4,2,3,4,4,",
               "H3,2026-03-03T10:30:00,sib,1,,,,,,,"]
CASE_HEAD = ("helper_id,week_start,active_cases,new_cases,high_acuity_cases,trauma_exposures,"
             "critical_incidents,hours_worked,overtime_hours\n")
CASE_ROWS = ["H1,2026-03-02,20,3,5,2,0,44,4", "H1,2026-03-09,22,4,6,1,1,46,6", "H3,2026-03-02,28,2,3,0,0,38,0"]
EVENT_HEAD = "helper_id,date,case_id,new_case,high_acuity,trauma_exposure,critical_incident,hours\n"

entries: list[dict] = []


def add(name: str, data: bytes | str, kind: str, expect: str, row="", column="", words="", attack=""):
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    entries.append({"file": name, "kind": kind, "expect": expect, "row": row, "column": column,
                    "words": words, "attack": attack})


def roster(second: str | None = None, first: str | None = None) -> str:
    rows = list(ROSTER_ROWS)
    if first is not None:
        rows[0] = first
    if second is not None:
        rows[1] = second
    return ROSTER_HEAD + "\n".join(rows) + "\n"


def surveys(second: str) -> str:
    return SURVEY_HEAD + "\n".join([SURVEY_ROWS[0], second, SURVEY_ROWS[2]]) + "\n"


def caseload(second: str) -> str:
    return CASE_HEAD + "\n".join([CASE_ROWS[0], second, CASE_ROWS[2]]) + "\n"


def workbook(sheets: dict[str, str]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, text in sheets.items():
        ws = wb.create_sheet(title)
        for line in text.strip().splitlines():
            ws.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A valid-looking workbook whose one sheet inflates to ~80 MB of rows
    (under 100 KB on disk)."""
    buf = io.BytesIO()
    ok = io.BytesIO(workbook({"Roster": ROSTER_HEAD + "\n".join(ROSTER_ROWS)}))
    with zipfile.ZipFile(ok) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename.endswith("sheet1.xml"):
                with dst.open(info.filename, "w", force_zip64=True) as out:
                    out.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                              b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                    row = b'<row><c t="inlineStr"><is><t>H</t></is></c></row>'
                    chunk = row * 20000
                    for _ in range(80_000_000 // len(chunk)):
                        out.write(chunk)
                    out.write(b"</sheetData></worksheet>")
            else:
                dst.writestr(info, src.read(info.filename))
    return buf.getvalue()


def main() -> None:
    for p in HERE.iterdir():
        if p.name not in ("make_corpus.py",) and p.is_file():
            p.unlink()
    r = random.Random(7)
    # ---------------------------------------------------------------- roster: numbers
    add("r_inf_fte.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,inf,2022-05-02,,,51000"),
        "roster", "refused", 3, "fte", "finite", "an infinite fte")
    add("r_nan_fte.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,NaN,2022-05-02,,,51000"),
        "roster", "refused", 3, "fte", "finite", "NaN typed as a number")
    add("r_1e300_salary.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,1e300"),
        "roster", "refused", 3, "annual_salary", "too large", "a number near the float limit")
    add("r_negative_salary.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,-5"),
        "roster", "refused", 3, "annual_salary", "", "a negative salary")
    add("r_fte_zero.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0,2022-05-02,,,51000"),
        "roster", "refused", 3, "fte", "above 0", "zero fte")
    add("r_hex_number.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0x1,2022-05-02,,,51000"),
        "roster", "refused", 3, "fte", "not a number", "a hexadecimal literal")
    # ---------------------------------------------------------------- roster: dates
    add("r_2099_start.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2099-05-02,,,51000"),
        "roster", "refused", 3, "start_date", "future", "a start date in 2099")
    add("r_1900_start.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,1900-05-02,,,51000"),
        "roster", "refused", 3, "start_date", "before", "a start date in 1900")
    add("r_year_9999.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,9999-12-31,,,51000"),
        "roster", "refused", 3, "start_date", "", "a date beyond what pandas can hold")
    add("r_end_before_start.csv",
        roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,2021-01-01,moved,51000"),
        "roster", "refused", 3, "end_date", "before start_date", "an end date before the start date")
    add("r_bad_date.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2022-02-30,,,51000"),
        "roster", "refused", 3, "start_date", "not a date", "30 February")
    # ---------------------------------------------------------------- roster: text
    add("r_long_id.csv", roster(second="H" + "2" * 199 + ",Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "helper_id", "at most 80", "a 200-character helper id")
    add("r_long_name.csv", roster(second="H2," + "B" * 300 + ",CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "name", "at most 200", "a 300-character name")
    add("r_long_role.csv", roster(second="H2,Bo Chen,CW-A," + "r" * 150 + ",North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "role", "at most 120", "a 150-character role")
    add("r_100kb_name.csv", roster(second="H2," + "B" * 100_000 + ",CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "name", "at most 200", "a 100 KB cell")
    add("r_nul_name.csv", roster(second="H2,Bo\x00Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "name", "NUL", "a NUL byte in a name (PostgreSQL refuses it raw)")
    add("r_bell_name.csv", roster(second="H2,Bo\x07Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "name", "U+0007", "a C0 control character in a name")
    add("r_escape_team.csv", roster(second="H2,Bo Chen,CW\x1b[31mA,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "team", "U+001B", "a terminal escape sequence in a team")
    add("r_c1_role.csv", roster(second="H2,Bo Chen,CW-A,case\x85worker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "role", "U+0085", "a C1 control character in a role")
    add("r_zero_width_id.csv", roster(second="H\u200b2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "helper_id", "U+200B", "a zero-width space making a look-alike id")
    add("r_bidi_id.csv", roster(second="H\u202e2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 3, "helper_id", "U+202E", "a right-to-left override in an id")
    add("r_tab_in_id.csv", roster(second='"H\t2",Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000'),
        "roster", "refused", 3, "helper_id", "U+0009", "a tab inside a quoted id")
    add("r_newline_in_name.csv", roster(second='H2,"Bo\nChen",CW-A,caseworker,North,0.8,2022-05-02,,,51000'),
        "roster", "refused", 3, "name", "U+000A", "a line break inside a quoted name")
    add("r_formula_names.csv",
        roster(first='H1,"=HYPERLINK(""http://x"",""y"")",CW-A,caseworker,North,1,2023-01-09,,,52000',
               second="H2,+Bo -Chen,CW-A,@caseworker,North,0.8,2022-05-02,,-moved,51000"),
        "roster", "ok", "", "", "", "formula-looking names: stored as given (exports neutralise them)")
    add("r_unicode_names_ok.csv", roster(second="H2,Zoë Ñúñez-Øst 李,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "ok", "", "", "", "accents and CJK in names are fine")
    add("r_dup_helper.csv", roster(second="H1,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000"),
        "roster", "refused", 2, "helper_id", "more than once", "one helper id twice")
    # ---------------------------------------------------------------- roster: file structure
    add("r_empty.csv", b"", "roster", "refused", "", "", "empty", "an empty file")
    add("r_whitespace.csv", b" \n\n\t\n", "roster", "refused", "", "", "empty", "only whitespace")
    add("r_header_only.csv", ROSTER_HEAD, "roster", "refused", "", "", "no data rows", "a header and nothing else")
    add("r_binary.csv", bytes(r.getrandbits(8) for _ in range(4096)), "roster", "refused", "", "",
        "", "random binary bytes named .csv")
    add("r_png.csv", b"\x89PNG\r\n\x1a\n" + bytes(r.getrandbits(8) for _ in range(2048)), "roster",
        "refused", "", "", "", "an image renamed to .csv")
    add("r_utf16.csv", roster().encode("utf-16"), "roster", "ok", "", "", "", "UTF-16 with BOM (Excel 'Unicode text')")
    add("r_bom.csv", "\ufeff" + roster(), "roster", "ok", "", "", "", "a UTF-8 byte-order mark before the header")
    add("r_crlf_latin1.csv", roster(second="H2,Bö Chén,CW-A,caseworker,North,0.8,2022-05-02,,,51000")
        .replace("\n", "\r\n").encode("cp1252"), "roster", "ok", "", "", "", "Windows line ends, cp1252")
    add("r_ragged_long.csv", roster(second="H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000,extra,more"),
        "roster", "refused", 3, "", "fields", "a row longer than the header")
    add("r_ragged_short.csv", roster(second="H2,Bo Chen,CW-A,caseworker"), "roster", "refused", 3, "fte",
        "empty", "a row cut short")
    add("r_dup_header.csv", roster().replace("site,fte", "site,helper_id", 1), "roster", "refused", 1,
        "helper_id", "twice", "a header naming helper_id twice")
    add("r_unbalanced_quote.csv", roster(second='H2,"Bo Chen,CW-A,caseworker,North,0.8,2022-05-02,,,51000'),
        "roster", "refused", 3, "", "never closed", "an opening quote that never closes")
    add("r_blank_lines.csv", "\n\n" + roster().replace("\nH2", "\n\n,,,,,,,,,\nH2"), "roster", "ok",
        "", "", "", "blank lines and comma-only lines")
    add("r_two_sheets.xlsx", workbook({"2025": roster(), "2026": roster()}), "roster", "refused", "", "",
        "choose the sheet", "a workbook with two roster sheets (never silently the first)")
    add("r_xlsx_ok.xlsx", workbook({"Read me": "notes\nnothing here", "Roster": roster()}), "roster", "ok",
        "", "", "", "a workbook whose only roster-shaped sheet is taken")
    add("r_zip_bomb.xlsx", zip_bomb(), "roster", "refused", "", "", "unpack", "an XLSX zip bomb (80 MB inflated)")
    add("r_declared_rows.xlsx", declared_rows(3_000_000), "roster", "refused", "", "", "3,000,000 rows",
        "a sheet declaring 3,000,000 rows (refused before it is parsed)")
    add("r_xml_laughs.xlsx", xml_laughs(), "roster", "refused", "", "", "cannot read the spreadsheet",
        "XML entity expansion inside a sheet (refused by the XML parser, never expanded)")
    add("r_not_a_workbook.xlsx", _plain_zip(), "roster", "refused", "", "", "not an XLSX", "a zip that is no workbook")
    add("r_truncated.xlsx", workbook({"Roster": roster()})[:600], "roster", "refused", "", "", "",
        "a workbook cut off in the middle")
    # ---------------------------------------------------------------- surveys
    add("s_off_scale.csv", surveys("H1,2026-03-02T09:00:00,pulse,,2,4,9,3,4,4,"), "surveys", "refused", 3,
        "pulse_3", "outside the scale", "an answer off the scale")
    add("s_inf_answer.csv", surveys("H1,2026-03-02T09:00:00,pulse,,2,4,inf,3,4,4,"), "surveys", "refused", 3,
        "pulse_3", "outside the scale", "an infinite answer")
    add("s_2099.csv", surveys("H1,2099-03-02T09:00:00,pulse,,2,4,2,3,4,4,"), "surveys", "refused", 3,
        "submitted_at", "future", "a survey answered in 2099")
    add("s_1900.csv", surveys("H1,1900-03-02T09:00:00,pulse,,2,4,2,3,4,4,"), "surveys", "refused", 3,
        "submitted_at", "before", "a survey answered in 1900")
    add("s_unknown_helper.csv", surveys("H404,2026-03-02T09:00:00,pulse,,2,4,2,3,4,4,"), "surveys", "refused",
        3, "helper_id", "not in the roster", "a helper not in the roster")
    add("s_nul_comment.csv", surveys("H1,2026-03-02T09:00:00,pulse,,2,4,2,3,4,4,fine\x00thanks"), "surveys",
        "refused", 3, "comment", "NUL", "a NUL byte in a free-text comment")
    add("s_formula_comment.csv", surveys('H1,2026-03-02T09:00:00,pulse,,2,4,2,3,4,4,"=cmd|\' /C calc\'!A0"'),
        "surveys", "ok", "", "", "", "a DDE formula in a comment: stored as given")
    add("s_duplicate.csv", surveys(SURVEY_ROWS[0]), "surveys", "refused", 2, "instrument", "duplicate",
        "the same submission twice")
    add("s_other_instrument.csv", surveys("H1,2026-03-04T09:00:00,sib,2,2,,,,,,"), "surveys", "refused", 3,
        "pulse_1", "instrument is different", "a pulse answer in a sib row")
    add("s_mixed_orders.csv", SURVEY_HEAD + "H1,25/03/2026,sib,3,,,,,,,\nH3,03/25/2026,sib,1,,,,,,,\n",
        "surveys", "refused", 2, "submitted_at", "mixes", "day-first and month-first dates in one column")
    add("s_ambiguous.csv", SURVEY_HEAD + "H1,03/04/2026,sib,3,,,,,,,\nH3,04/05/2026,sib,1,,,,,,,\n",
        "surveys", "refused", 2, "submitted_at", "dayfirst", "dates that could be either order")
    add("s_disagreeing_label.csv", SURVEY_HEAD.replace("sib_1", "sib_1,proqol_1") .replace(",comment", "")
        + "H1,2026-03-02,proqol5,,Often (5),,,,,,\n", "surveys", "refused", 2, "proqol_1", "disagree",
        "a number and a label that disagree")
    add("s_no_answers.csv", surveys("H1,2026-03-02T09:00:00,pulse,,,,,,,,"), "surveys", "refused", 3, "",
        "no answers", "a row with no answers")
    # ---------------------------------------------------------------- caseload
    add("c_1000_hours.csv", caseload("H1,2026-03-09,22,4,6,1,1,1000,6"), "caseload", "refused", 3,
        "hours_worked", "168", "1,000 hours in one week")
    add("c_overtime.csv", caseload("H1,2026-03-09,22,4,6,1,1,40,60"), "caseload", "refused", 3,
        "overtime_hours", "more than hours_worked", "overtime above the hours worked")
    add("c_negative.csv", caseload("H1,2026-03-09,-22,4,6,1,1,40,6"), "caseload", "refused", 3,
        "active_cases", "0 or more", "a negative caseload")
    add("c_5000_cases.csv", caseload("H1,2026-03-09,5000,4,6,1,1,40,6"), "caseload", "refused", 3,
        "active_cases", "1,000", "5,000 active cases")
    add("c_500_traumas.csv", caseload("H1,2026-03-09,22,4,6,500,1,40,6"), "caseload", "refused", 3,
        "trauma_exposures", "in one week", "500 trauma exposures in a week")
    add("c_2099.csv", caseload("H1,2099-03-09,22,4,6,1,1,40,6"), "caseload", "refused", 3, "week_start",
        "future", "a caseload week in 2099")
    add("c_1900.csv", caseload("H1,1900-03-05,22,4,6,1,1,40,6"), "caseload", "refused", 3, "week_start",
        "before", "a caseload week in 1900")
    add("c_1e300.csv", caseload("H1,2026-03-09,22,4,6,1,1e300,40,6"), "caseload", "refused", 3,
        "critical_incidents", "too large", "1e300 critical incidents")
    add("c_unknown_column.csv", CASE_HEAD.replace("\n", ",salary\n") + CASE_ROWS[0] + ",1\n", "caseload",
        "refused", 1, "salary", "unknown column", "a column the caseload file does not have")
    add("c_events_duplicate.csv", EVENT_HEAD + "H1,2026-03-02,C1,1,0,1,0,8\nH1,2026-03-02,C1,1,0,1,0,8\n",
        "caseload", "refused", 2, "date", "duplicate", "the same event twice")
    add("c_events_flag.csv", EVENT_HEAD + "H1,2026-03-02,C1,maybe,0,1,0,8\n", "caseload", "refused", 2,
        "new_case", "yes/no", "a yes/no flag that is neither")
    add("c_events_week_hours.csv", EVENT_HEAD + "".join(f"H1,2026-03-0{d},C{d},0,0,0,0,24\n" for d in range(2, 9))
        + "H1,2026-03-08,C9,0,0,0,0,2\n",
        "caseload", "refused", 2, "hours", "168", "events adding up to more hours than a week has")
    # ---------------------------------------------------------------- mapping files
    laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        laughs += f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    add("m_billion_laughs.yaml", "columns:\n  Timestamp: submitted_at\n" + laughs, "mapping", "refused", "", "",
        "aliases", "YAML 'billion laughs': nested aliases expanding to 10^9 items")
    add("m_anchor.yaml", "instrument: sib\ncolumns: &c\n  When: submitted_at\n", "mapping", "refused", "", "",
        "anchors", "a single YAML anchor")
    add("m_python_tag.yaml", "instrument: !!python/object/apply:os.system [\"echo hi\"]\ncolumns: {}\n",
        "mapping", "refused", "", "", "YAML", "a YAML tag that would run code in an unsafe loader")
    add("m_huge.yaml", "instrument: sib\ncolumns:\n" + "".join(f"  Q{i}: sib_1\n" for i in range(20000)),
        "mapping", "refused", "", "", "KB", "a 300 KB mapping file")
    add("m_deep.yaml", "columns: " + "[" * 50000 + "]" * 50000 + "\n", "mapping", "refused", "", "", "levels deep",
        "50,000 nested brackets (would exhaust the parser's stack)")
    add("m_list.yaml", "- a\n- b\n", "mapping", "refused", "", "", "columns", "a YAML list instead of a mapping")
    add("m_unknown_target.yaml", "instrument: sib\ncolumns:\n  When: submitted_at\n  Who: helper_id\n"
        "  Burnout?: rm -rf\n", "mapping", "refused", "", "Burnout?", "not a known item id",
        "a column mapped to something that is no item")
    with open(HERE / "MANIFEST.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["file", "kind", "expect", "row", "column", "words", "attack"])
        w.writeheader()
        w.writerows(entries)
    print(f"{len(entries)} files")


def declared_rows(rows: int) -> bytes:
    """A small workbook whose sheet declares ``rows`` rows in its <dimension>."""
    raw = workbook({"Roster": roster()})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b'<dimension ref="A1:J4"', f'<dimension ref="A1:J{rows}"'.encode())
            dst.writestr(info, data)
    return out.getvalue()


def xml_laughs() -> bytes:
    """A workbook whose sheet XML defines nested entities (XML "billion laughs")."""
    raw = workbook({"Roster": roster()})
    dtd = '<!DOCTYPE worksheet [<!ENTITY a "lollollollollollollollollollol">'
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        dtd += f'<!ENTITY {chr(ord("a") + i)} "{("&" + prev + ";") * 10}">'
    dtd += "]>"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b"<worksheet", dtd.encode() + b"<worksheet", 1)
                data = data.replace(b"<t>H1</t>", b"<t>&i;</t>", 1)
            dst.writestr(info, data)
    return out.getvalue()


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return buf.getvalue()


if __name__ == "__main__":
    main()
