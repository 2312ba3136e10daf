"""The HR review as a workbook: renders a :class:`views.review.Review`, counts nothing.

An About sheet (scope, dates, privacy note, assumptions, how the risk model was
checked, evidence) and one sheet per section.  Hidden cells read "fewer than N"
or "hidden to protect a small group" as in the review's display tables; text
that a spreadsheet could run as a formula is neutralised.
"""
from __future__ import annotations

import io
import math
import re

import numpy as np
import pandas as pd

from burnout import privacy
from burnout.views.review import Review


def _sheet_name(title: str, used: set) -> str:
    name = re.sub(r"[\[\]\*\?/\\:]", " ", title)[:31].strip() or "Sheet"
    base, i = name, 2
    while name in used:
        name = f"{base[:28]} {i}"
        i += 1
    used.add(name)
    return name


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if v is pd.NA:
        return None
    return privacy.neutralise_text(v) if isinstance(v, str) else v


def to_xlsx(review: Review, actions: pd.DataFrame | None = None) -> bytes:
    """The review as XLSX bytes; a team's report adds its action plan (``views.team.action_plan``)
    as a last sheet."""
    # openpyxl is needed only for this export; the pages load without it
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    used: set = set()
    ws.title = _sheet_name("About", used)
    ws.append([review.title])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in review.about():
        ws.append([k, _cell(v)])
    ws.append([])
    ws.append(["Assumptions"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for k, v in review.assumptions.itertuples(index=False):
        ws.append([_cell(k), _cell(v)])
    cal = review.calibration
    ws.append([])
    ws.append([cal.title])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for line in cal.lines:
        ws.append(["Summary", _cell(line)])
    for k, v in cal.display.itertuples(index=False):
        ws.append([_cell(k), _cell(v)])
    ws.append([])
    ws.append(["What losing a helper means for clients (evidence by kind of team)"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for ev in review.evidence:
        ws.append([_cell(ev.label), _cell(ev.text)])
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 100
    for row in ws.iter_rows():
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    sm = review.summary
    if sm is not None:
        # the headline with its ranges, as on the PDF's first page
        sh = wb.create_sheet(_sheet_name("Summary", used))
        sh.append(["Summary"])
        sh["A1"].font = Font(bold=True, size=12)
        for k, v in sm.headline.itertuples(index=False):
            sh.append([_cell(k), _cell(v)])
        if sm.best_lever:
            sh.append(["Best single lever", _cell(sm.best_lever)])
        sh.append(["Participation", _cell(sm.participation)])
        sh.append(["Hidden", _cell(sm.hidden)])
        sh.column_dimensions["A"].width = 48
        sh.column_dimensions["B"].width = 80
    for sec in review.sections:
        sh = wb.create_sheet(_sheet_name(sec.title, used))
        sh.append([sec.title])
        sh["A1"].font = Font(bold=True, size=12)
        sh.append([_cell(sec.text)])
        sh.append([_cell(review.privacy_note)])
        sh.append([])
        df = privacy.neutralise_formulas(sec.display.astype(object))
        sh.append([_cell(str(c)) for c in df.columns])
        for c in sh[sh.max_row]:
            c.font = Font(bold=True)
        for rec in df.itertuples(index=False):
            sh.append([_cell(v) for v in rec])
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in df.iloc[:, i - 1].tolist()[:200]]) + 2
            sh.column_dimensions[get_column_letter(i)].width = min(60, max(10, width))
    if actions is not None:
        sh = wb.create_sheet(_sheet_name("Action plan", used))
        sh.append(["Action plan"])
        sh["A1"].font = Font(bold=True, size=12)
        sh.append(["What the team raised, what was done, by whom and when; for each done action the team's "
                   "caseload and strain before and after. Strain is shown only for weeks the privacy rules "
                   "release."])
        sh.append([])
        sh.append([_cell(str(c)) for c in actions.columns])
        for c in sh[sh.max_row]:
            c.font = Font(bold=True)
        for rec in privacy.neutralise_formulas(actions.astype(object)).itertuples(index=False):
            sh.append([_cell(v) for v in rec])
        if actions.empty:
            sh.append(["No action notes yet."])
        for i, width in enumerate((10, 48, 48, 20, 12, 12, 40, 48), start=1):
            sh.column_dimensions[get_column_letter(i)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
