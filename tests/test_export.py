"""The writers: the review as XLSX and PDF (also through the CLI), and the one CSV writer.
They render a Review and count nothing; they obey the same privacy rules."""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from burnout import cli
from burnout.errors import InputError
from burnout.export import csv as csv_export
from burnout.export import pdf as pdf_export
from burnout.export.pdf import _pdf_cell, _pdf_widths, to_pdf
from burnout.export.xlsx import to_xlsx
from burnout.store import frames
from burnout.views.review import build_review

from conftest import chromium_path, run_cli
from helpers import pdf_text, small_org, xlsx_cells

MIN_N = 5


@pytest.fixture(scope="module")
def review(demo_db):
    return build_review(demo_db["engine"], "org")


@pytest.fixture(scope="module")
def people_names(demo_db):
    r = frames.roster(demo_db["engine"])
    return set(r["helper_id"]), set(r["name"])


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(pdf_export, "_ensure_kaleido", lambda: False)


# --------------------------------------------------------------------------- XLSX

def test_xlsx_obeys_privacy_and_neutralises_formulas(review, people_names):
    first = review.sections[0]
    display = first.display.copy()
    display.iloc[0, 0] = "=HYPERLINK(\"http://x\")"
    changed = dataclasses.replace(review, sections=(dataclasses.replace(first, display=display),
                                                    *review.sections[1:]))
    cells = xlsx_cells(to_xlsx(changed))
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


def test_xlsx_prints_the_review_s_own_figures(review):
    """A writer renders: every section's table is in the workbook cell for cell."""
    cells = xlsx_cells(to_xlsx(review))
    turnover = next(rows for name, rows in cells.items() if name.startswith("Turnover impact"))
    header = [str(c) for c in review.section("turnover").display.columns]
    at = next(i for i, row in enumerate(turnover) if row[:len(header)] == header)
    body = [row[:len(header)] for row in turnover[at + 1:]]
    expected = review.section("turnover").display.astype(object).where(
        review.section("turnover").display.notna(), None).values.tolist()
    assert body == expected


# --------------------------------------------------------------------------- PDF

def test_pdf_without_chromium_is_table_only_with_a_note(review, people_names, no_chromium):
    data = to_pdf(review)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Helper wellbeing review" in text
    assert "Charts are not included" in text
    assert "Groups under 5 people are not shown" in text
    assert "Relative risk of leaving when burned out" in text
    assert "fewer than 5" in text
    ids, names = people_names
    assert not any(n in text for n in names) and not any(re.search(rf"\b{i}\b", text) for i in ids)


def test_exports_include_the_model_check(review, no_chromium):
    cells = xlsx_cells(to_xlsx(review))
    about = [v for row in cells["About"] for v in row if isinstance(v, str)]
    assert "How the risk model was checked" in about
    assert review.calibration.lines[0] in about
    assert "Helpers who left (counted)" in about
    text = pdf_text(to_pdf(review))
    assert "How the risk model was checked" in text and "Probability of leaving" in text
    assert "Helpers who left (counted)" in text


def test_pdf_cells_use_short_marks_thousands_separators_and_whole_words():
    assert _pdf_cell(5_625_000.0, "Burnout-attributable cost per year ($)") == "5,625,000"
    assert _pdf_cell(12.5, "Expected leavers per year") == "12.5"
    assert _pdf_cell("fewer than 5", "People") == "<5"
    assert _pdf_cell("hidden to protect a small group", "People") == "hidden"
    widths = _pdf_widths(["Team", "People"], [["ADD-Harbour", "HSW-Parkway"], ["10", "hidden"]])
    assert widths[0] >= 1.4 * len("ADD-Harbour") and widths[0] > widths[1]


UNICODE = {"team": {"HSW-Central": "Łódź — Nguyễn", "CW-OldTown": "Ελληνικά", "CL-Central": "Кириллица"},
           "site": {"Harbour House": "Łódź", "Riverside Hub": "Nguyễn"},
           "role": {"crisis line worker": "Кириллица"}}


def test_pdf_prints_names_in_any_script_as_written(tmp_path, no_chromium):
    eng = small_org(tmp_path, rename=UNICODE)
    team_pdf = to_pdf(build_review(eng, "team:Łódź — Nguyễn"))
    org = build_review(eng, "org")
    org_pdf = to_pdf(org)
    team_text, org_text = pdf_text(team_pdf), pdf_text(org_pdf)
    assert "Team Łódź — Nguyễn" in team_text
    for word in ("Łódź — Nguyễn", "Ελληνικά", "Кириллица", "Łódź", "Nguyễn"):
        assert word in org_text, word
    assert "?" not in "".join(re.findall(r"Team \S+", team_text))
    # a PDF reader made elsewhere reads the same words
    if shutil.which("pdftotext"):
        for data, words in ((team_pdf, ["Team Łódź — Nguyễn"]), (org_pdf, ["Ελληνικά", "Кириллица", "Nguyễn"])):
            out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
            read = " ".join(out.decode("utf-8").split())
            assert all(w in read for w in words), words
    flat = [v for rows in xlsx_cells(to_xlsx(org)).values() for row in rows for v in row]
    assert {"Łódź — Nguyễn", "Ελληνικά", "Кириллица"} <= set(flat)


# --------------------------------------------------------------------------- CLI

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
def test_cli_report_pdf_with_charts(demo_db, tmp_path, people_names, monkeypatch):
    out = tmp_path / "review.pdf"
    # the team's report is read as text, which its chart images do not carry: drawn table-only,
    # so the charts are drawn once, in the organisation's report below
    with monkeypatch.context() as tables_only:
        tables_only.setattr(pdf_export, "_ensure_kaleido", lambda: False)
        res = run_cli("report", "--scope", f"team:{demo_db['lead_team']}", "--format", "pdf", "--out", str(out),
                      env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    data = out.read_bytes()
    # The lead's team keeps 4 helpers' results private from a lead who sees the 6 others:
    # the HR report (which reaches managers) shows nothing of it, and says why.
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"Team {demo_db['lead_team']}" in text and "Groups under 5 people" in text
    assert "hidden to protect a small group" in text
    ids, names = people_names
    assert not any(n in text for n in names)
    org = tmp_path / "org.pdf"
    res = run_cli("report", "--scope", "org", "--format", "pdf", "--out", str(org),
                  env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    data = org.read_bytes()
    text = pdf_text(data)
    assert b"/Subtype /Image" in data and not any(n in text for n in names)


def test_cli_report_unknown_team_exits_2(demo_db, tmp_path):
    res = run_cli("report", "--scope", "team:NOPE", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"),
                  env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 2 and "NOPE" in res.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_write_report_refuses_a_bad_scope_or_format(demo_db, tmp_path):
    eng = demo_db["engine"]
    with pytest.raises(InputError):
        cli.write_report(eng, "somewhere", "pdf", tmp_path / "x.pdf")
    with pytest.raises(InputError, match="pdf or xlsx"):
        cli.write_report(eng, "org", "docx", tmp_path / "x.docx")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- CSV

def test_csv_neutralises_formulas_and_keeps_numbers_and_dates():
    df = pd.DataFrame({"name": ["=SUM(A1)", "Łódź", "@x", "-y", "plain"], "n": [1, -2, 3, 4, 5],
                       "week": pd.to_datetime(["2026-01-05"] * 5), "team": pd.Categorical(["+T"] * 5)})
    data = csv_export.to_csv(df)
    assert data.startswith(b"\xef\xbb\xbf")                 # Excel reads UTF-8 with a byte order mark
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "name,n,week,team"
    assert lines[1] == "'=SUM(A1),1,2026-01-05,'+T"
    assert lines[2] == "Łódź,-2,2026-01-05,'+T"              # numbers, even negative, are left alone
    assert "'@x" in text and "'-y" in text
    assert not csv_export.to_csv(df, bom=False).startswith(b"\xef\xbb\xbf")


def test_cli_risk_csv_is_written_by_the_one_writer(demo_db, tmp_path):
    out = tmp_path / "risk.csv"
    res = run_cli("risk", "--output", str(out), env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")              # a file for programs: no byte order mark
    table = pd.read_csv(out)
    assert list(table.columns)[:5] == ["helper_id", "team", "risk_score", "risk_band", "p_leave_12m"]


def test_pdf_prints_scripts_dejavu_lacks_through_an_installed_fallback_font(review, no_chromium):
    if not pdf_export.fallback_files():
        # .ci/run installs Debian's fonts-droid-fallback, so CI always runs this
        if os.environ.get("CI"):
            pytest.fail("a fallback font is required in CI (apt-get install fonts-droid-fallback)")
        pytest.skip("no fallback font (Noto CJK, Droid Sans Fallback) installed: apt-get install fonts-droid-fallback")
    renamed = dataclasses.replace(review, title="Helper wellbeing review: Team 東京")
    assert "Team 東京" in pdf_text(to_pdf(renamed))


def test_pdf_opens_with_a_one_page_summary_and_keeps_assumptions_for_the_appendix(review, no_chromium):
    sm = review.summary
    assert list(sm.levers["Lever"]) == ["Burnout prevalence 10 points lower only",
                                        "Caseloads capped at the role standard only", "Both together"]
    assert len(sm.top_teams) <= 3 and sm.participation and sm.hidden
    words = set(sm.clients["People served"]) - {"mixed"}            # each team's own word (hidden teams: "mixed")
    assert len(words) >= 2 and words <= {"families", "callers", "patients", "students", "clients", "residents"}
    if "students" in words and len(words) > 1:                       # students beside patients or families
        assert sm.clients_note and "Not comparable" in sm.clients_note
    text = pdf_text(to_pdf(review))
    summary, appendix = text.index("Summary"), text.index("Appendix: assumptions")
    assert summary < text.index("Where burnout costs most") < text.index("each lever alone") < appendix
    assert text.index("Relative risk of leaving when burned out") > appendix
    # the headline carries its Monte Carlo range (burnout.uncertainty), not a copy of the RR sensitivity
    assert re.search(r"Burnout-attributable turnover cost per year about \$[\d.]+k \(range \$[\d.]+k–\$[\d.]+k\)",
                     text), text[:2000]
    assert "Range (relative risk" not in text


def test_xlsx_summary_sheet_holds_the_headline_with_ranges(review):
    cells = xlsx_cells(to_xlsx(review))
    rows = {r[0]: r[1] for r in cells["Summary"] if r and r[0]}
    for fig in ("Expected leavers per year", "Expected turnover cost per year",
                "Burnout-attributable turnover cost per year", "People who would lose their helper per year"):
        assert re.fullmatch(r"about \$?[\d.,]+[kM]? \(range \$?[\d.,]+[kM]?–\$?[\d.,]+[kM]?\)", rows[fig]), rows[fig]
    assert rows["Probabilities of leaving"] in {"from national defaults", "fitted on your organisation",
                                                "calibrated to your organisation's turnover"}


def test_pdf_splits_a_table_too_wide_for_the_page_and_breaks_no_name(review, no_chromium):
    """A table by team with one column per team (what is driving risk, at a large
    organisation: 67 columns) once stopped the PDF with fpdf2's 'Not enough horizontal
    space to render a single character'."""
    teams = [f"Team-Northgate-{i:02d}" for i in range(66)]
    wide = pd.DataFrame({"Workplace factor": ["Caseload above the role standard", "Critical incidents"],
                         **{t: [0.1 * i, 0.2] for i, t in enumerate(teams)}})
    sec = dataclasses.replace(review.sections[0], key="wide", title="Wide table", display=wide, figures=())
    text = pdf_text(to_pdf(dataclasses.replace(review, sections=(sec,))))
    parts = re.findall(r"Part (\d+) of (\d+) of a table too wide", text)
    assert len(parts) > 1 and {n for _, n in parts} == {str(len(parts))}
    assert all(t in text for t in teams)                                # every name whole, once
    assert text.count("Workplace factor") >= len(parts)                # each part keeps the row labels
    blocks = pdf_export._column_blocks(wide, 190)
    assert [c for b, _ in blocks for c in b.columns[1:]] == teams      # every column, once, in order
    assert all(sum(w) <= 190 for _, w in blocks)
