"""The HR review as a PDF (fpdf2): renders a :class:`views.review.Review`, counts nothing.

Title, dates, scope, privacy note, assumptions, how the risk model was checked,
every section's table and its charts as PNG via kaleido — or, when Chromium is
not available, the tables alone with a note saying so.

Text is set in DejaVu Sans (a Unicode TrueType font shipped with matplotlib,
or the system's copy), so names in any script DejaVu covers print as written;
when a Noto font for other scripts (CJK, Arabic, ...) is installed it is used
as a fallback for the characters DejaVu lacks.
"""
from __future__ import annotations

import functools
import glob
import io
import math
import os
import threading
import warnings

import numpy as np
import pandas as pd

from burnout import charts, privacy
from burnout.views.review import Review

FONT = "DejaVu"
# What one character of the small table font (bold: the headings) and a cell's padding take on the page.
PDF_MM_PER_CHAR = 1.6
PDF_MM_PER_BOLD_CHAR = 2.0
PDF_CELL_PADDING_MM = 2.5
# Where a Unicode font may be found, in order: matplotlib's copy (a declared
# dependency), then the operating system's.
_DEJAVU_DIRS = ("{mpl}/fonts/ttf", "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
                "/usr/local/share/fonts")
# Fonts for scripts DejaVu lacks, used only for those characters when installed.
_FALLBACK_PATTERNS = ("/usr/share/fonts/**/NotoSansCJK*-Regular.tt[fc]", "/usr/share/fonts/**/NotoSansSC-Regular.*tf",
                      "/usr/share/fonts/**/DroidSansFallbackFull.ttf", "/usr/share/fonts/**/NotoSansArabic-Regular.ttf",
                      "/usr/share/fonts/**/NotoSansHebrew-Regular.ttf",
                      "/usr/share/fonts/**/NotoSansDevanagari-Regular.ttf",
                      "/usr/share/fonts/**/NotoSansThai-Regular.ttf")


@functools.lru_cache(maxsize=1)
def font_files() -> tuple[str, str]:
    """Paths of DejaVu Sans regular and bold; RuntimeError naming what is missing."""
    try:
        # matplotlib is imported only to find its font folder
        import matplotlib

        mpl = matplotlib.get_data_path()
    except ImportError:
        mpl = ""
    for d in _DEJAVU_DIRS:
        d = d.format(mpl=mpl)
        regular, bold = os.path.join(d, "DejaVuSans.ttf"), os.path.join(d, "DejaVuSans-Bold.ttf")
        if os.path.isfile(regular) and os.path.isfile(bold):
            return regular, bold
    raise RuntimeError("The PDF export needs the DejaVu Sans font: install matplotlib (it ships the font) "
                       "or the system package fonts-dejavu-core.")


@functools.lru_cache(maxsize=1)
def fallback_files() -> tuple[str, ...]:
    found = []
    for pattern in _FALLBACK_PATTERNS:
        hits = sorted(glob.glob(pattern, recursive=True))
        if hits:
            found.append(hits[0])
    return tuple(found)


_kaleido_lock = threading.Lock()
_kaleido_state = {"started": False, "failed": None}


def _ensure_kaleido() -> bool:
    """Start kaleido's sync server once per process; False when Chromium is unavailable."""
    with _kaleido_lock:
        if _kaleido_state["started"]:
            return True
        if _kaleido_state["failed"] is not None:
            return False
        try:
            # kaleido drives a headless Chromium: imported only when a PDF with charts is made
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            _kaleido_state["started"] = True
            return True
        except Exception as exc:  # no browser, or kaleido missing: table-only PDF
            _kaleido_state["failed"] = repr(exc)
            return False


def figure_png(fig, width: int = 900, height: int | None = None) -> bytes | None:
    """PNG bytes of a figure via kaleido, or None when it cannot be drawn here."""
    if not _ensure_kaleido():
        return None
    try:
        # plotly.io loads kaleido's bridge: only needed once a chart is drawn
        import plotly.io as pio

        with warnings.catch_warnings():
            # plotly passes its own kaleido options, which the shared render server ignores
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return pio.to_image(fig, format="png", width=width, height=height or int(fig.layout.height or 400),
                                scale=2)
    except Exception as exc:
        _kaleido_state["failed"] = repr(exc)
        return None


def _pdf_cell(v, column) -> str:
    """A table cell as text: money and large counts with thousands separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, str) and v.startswith("fewer than "):
        return "<" + v[len("fewer than "):]          # the legend under each table says what the marks mean
    if v == privacy.hidden_label(privacy.COMPLEMENTARY):
        return "hidden"
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        x = float(v)
        if "($)" in str(column) or abs(x) >= 10_000:
            return f"{x:,.0f}"
        return f"{int(x)}" if x.is_integer() else f"{x:g}"
    return str(v)


def _has_hidden(df: pd.DataFrame) -> bool:
    marks = {privacy.hidden_label(privacy.COMPLEMENTARY)}
    return bool(df.astype(str).apply(lambda c: c.isin(marks) | c.str.startswith("fewer than ")).any().any())


def _pdf_widths(columns: list, cells: list[list[str]]) -> tuple:
    """Relative column widths wide enough for each column's longest word, so a
    team name never breaks mid-word; long sentences wrap at spaces."""
    out = []
    for head, col in zip(columns, cells):
        texts = [str(head), *col]
        word = max((len(w) for t in texts for w in t.split()), default=1)
        out.append(max(1.4 * word, min(max((len(t) for t in col), default=1), 18), 3))
    return tuple(out)


def _column_blocks(df: pd.DataFrame, width_mm: float) -> list[tuple[pd.DataFrame, tuple | None]]:
    """A table as blocks of columns that fit ``width_mm``, each repeating the first (the
    row labels), with the blocks' column widths (None: one block, laid out as usual): a table by team with one column per team (drivers at a large
    organisation: 67 columns) cannot fit a page's width, and fpdf2 refuses a column
    narrower than one character.  A column needs its longest word at the small table
    font (the heading's in bold) plus the cell's padding, so no word breaks."""
    def longest(texts) -> int:
        return max((len(w) for t in texts for w in str(t).split()), default=1)

    need = [max(PDF_MM_PER_BOLD_CHAR * longest([c]),
                PDF_MM_PER_CHAR * longest(_pdf_cell(v, c) for v in df[c].astype(object))) + PDF_CELL_PADDING_MM
            for c in df.columns]
    if sum(need) <= width_mm:
        return [(df, None)]
    mm = dict(zip(df.columns, need))
    key, blocks, block, used = df.columns[0], [], [], need[0]
    for col in df.columns[1:]:
        if block and used + mm[col] > width_mm:
            blocks.append(block)
            block, used = [], need[0]
        block.append(col)
        used += mm[col]
    blocks.append(block)
    return [(df[[key, *b]], tuple(mm[c] for c in (key, *b))) for b in blocks]


def _weekly_compact(disp: pd.DataFrame, min_n: int, weeks: int = 12) -> pd.DataFrame:
    """The last ``weeks`` weeks of a sub-group x week display table as one row per group."""
    if disp.empty:
        return disp
    wk_col = "Week starting"
    group_col = [c for c in disp.columns if c not in (wk_col, "People")][0]
    value_col = [c for c in disp.columns if c not in (wk_col, "People", group_col)][0]
    last = sorted(disp[wk_col].unique())[-weeks:]
    d = disp[disp[wk_col].isin(last)]
    wide = d.pivot_table(index=group_col, columns=wk_col, values=value_col, aggfunc="first").reset_index()
    wide.columns = [group_col] + [c[5:] for c in wide.columns[1:]]
    order = [g for g in dict.fromkeys(disp[group_col]) if g in set(wide[group_col])]
    short = {privacy.hidden_label(privacy.PRIMARY, min_n): f"<{min_n}",
             privacy.hidden_label(privacy.COMPLEMENTARY, min_n): "hidden"}
    out = wide.set_index(group_col).loc[order].reset_index().fillna("")
    return out.map(lambda v: short.get(v, v) if isinstance(v, str) else v)


def _new_pdf():
    # fpdf2 is needed only for this export; the pages load without it
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    regular, bold = font_files()
    pdf.add_font(FONT, "", regular)
    pdf.add_font(FONT, "B", bold)
    fallbacks = []
    for i, path in enumerate(fallback_files()):
        name = f"Fallback{i}"
        pdf.add_font(name, "", path)
        fallbacks.append(name)
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks, exact_match=False)
    return pdf


def to_pdf(review: Review, charts_in_pdf: bool = True) -> bytes:
    """The review as PDF bytes."""
    from fpdf.fonts import FontFace   # see _new_pdf

    pdf = _new_pdf()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(review.title)
    pdf.set_author("Helper wellbeing monitor")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text, size=13):
        pdf.set_font(FONT, "B", size)
        pdf.multi_cell(width, 7, str(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)

    def para(text, size=9):
        pdf.set_font(FONT, "", size)
        pdf.multi_cell(width, 4.8, str(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def table(df: pd.DataFrame, col_widths=None):
        parts = _column_blocks(df, width)
        for i, (part, widths) in enumerate(parts):
            if len(parts) > 1:
                para(f"Part {i + 1} of {len(parts)} of a table too wide for the page "
                     "(every part repeats its first column).", size=7.5)
            _table(part, widths or col_widths)

    def _table(df: pd.DataFrame, col_widths=None):
        df = df.astype(object)
        cells = [[_pdf_cell(v, c) for v in df[c]] for c in df.columns]
        if col_widths is None:
            col_widths = _pdf_widths(list(df.columns), cells)
        pdf.set_font(FONT, "", 7.5 if df.shape[1] > 5 else 8.5)
        with pdf.table(width=width, col_widths=col_widths, text_align="LEFT", line_height=4.2,
                       headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 245)),
                       first_row_as_headings=True) as t:
            t.row([str(c) for c in df.columns])
            for row in zip(*cells):
                t.row(list(row))
        pdf.ln(3)

    def image(name: str, height: int | None = None) -> bool:
        png = figure_png(review.figures[name], height=height)
        if png:
            pdf.image(io.BytesIO(png), w=width)
            pdf.ln(2)
        return bool(png)

    pdf.set_font(FONT, "B", 17)
    pdf.multi_cell(width, 9, review.title, new_x="LMARGIN", new_y="NEXT")
    for k, v in review.about():
        pdf.set_font(FONT, "B", 9)
        pdf.cell(52, 5, k)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(width - 52, 5, str(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    para("This review is about workloads and systems, not about individual people. It shows group "
         "figures only; nobody's individual answers are in it.")

    # Page 1: the summary that travels to the board; details follow, assumptions last.
    sm = review.summary
    if sm is not None:
        heading("Summary")
        table(sm.headline, col_widths=(2, 3))
        if len(sm.top_teams):
            heading("Where burnout costs most", 10)
            table(sm.top_teams)
        if len(sm.levers):
            heading("What-if: each lever alone, then together", 10)
            table(sm.levers)
            if sm.best_lever:
                para("Best single lever: " + sm.best_lever)
        if len(sm.clients):
            heading("People who would lose their helper, by kind of team", 10)
            table(sm.clients)
            if sm.clients_note:
                para(sm.clients_note, size=8)
        para("Participation: " + sm.participation, size=8.5)
        para(sm.hidden, size=8.5)
        para("Assumptions and how the model was checked are in the appendix at the end.", size=8)
        pdf.add_page()

    images_ok = charts_in_pdf and _ensure_kaleido()
    if charts_in_pdf and not images_ok:
        para("Charts are not included: the chart renderer (Chromium via kaleido) is not available on this "
             "machine. Every number behind the charts is in the tables below.")

    drawn = set()
    min_n = review.min_n
    for sec in review.sections:
        heading(sec.title)
        if sec.text:
            para(sec.text)
        for name in sec.figures if images_ok else ():     # not drawn: not asked for (Review.figures draws on demand)
            fig = review.figures.get(name)
            if fig is not None and name not in drawn and not charts.is_empty_figure(fig):
                if image(name, height=380 if name == "trend" else None):
                    drawn.add(name)
        disp = sec.display
        if sec.key == "weekly":
            disp = _weekly_compact(disp, min_n)
            para(f"The last 12 weeks, one column per week. <{min_n}: fewer than {min_n} people; "
                 "hidden: hidden to protect a small group. Every week is in the XLSX export.")
        table(disp)
        if sec.key != "weekly" and _has_hidden(disp):
            para(f"<{min_n}: fewer than {min_n} people. hidden: hidden so that a smaller "
                 "group cannot be worked out from the other figures.", size=7.5)
    if review.evidence:
        heading("What losing a helper means for clients")
        for ev in review.evidence:
            para(f"{ev.label}: {ev.text}")
    heading("Privacy", 11)
    para(review.privacy_note)

    pdf.add_page()
    heading("Appendix: assumptions")
    table(review.assumptions, col_widths=(2, 1))
    cal = review.calibration
    heading(cal.title, 11)
    for line in cal.lines:
        para(line)
    table(cal.display, col_widths=(1, 2))
    return bytes(pdf.output())
