"""Plotly figure builders: plain functions, DataFrame in, Figure out.

Every builder takes data that privacy.py has already aggregated and
suppressed, drops anything hidden (NaN) instead of drawing it, and returns a
figure with a readable title and axis labels with units.  Empty input gives a
figure that says "Not enough responses to show" rather than an empty frame.

Labels, ranges and band edges come from the measure registry
(``burnout.domain.measures``); nothing here writes them again.  Colours are
colour-blind safe: the Okabe-Ito palette for categories, the band colours only
for bands, and one single-hue sequential scale (pale = less strain, dark = more)
for every heatmap, so no cell reads as a band's green or red.  Nothing here imports streamlit.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from burnout.domain import measures

EMPTY_TEXT = "Not enough responses to show"

# Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000",
    "grey": "#999999",
}
SEQUENCE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "sky_blue",
                                   "reddish_purple", "yellow", "black")]
# The band colours mean a band and nothing else (green = low risk); every other series
# uses the blues, grey or black, so a green or red bar is never read as good or bad.
BAND_COLOURS = {"low": OKABE_ITO["bluish_green"], "moderate": OKABE_ITO["orange"],
                "high": OKABE_ITO["vermillion"], "severe": OKABE_ITO["reddish_purple"]}
# Pale to dark blue: a hue no band uses, so a heatmap never borrows a band's meaning;
# darker always means worse (the scale is turned for measures where higher is better).
HEATMAP_SCALE = [[0.0, "#C6DBEF"], [0.5, "#4292C6"], [1.0, "#08306B"]]   # light blue, never the grey of "no score"
HIDDEN_GREY = "#D9D9D9"      # cells and weeks with nothing to show: one neutral grey
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


def _measure(measure: str) -> measures.Measure | None:
    return measures.get(measure) if measures.known(measure) else None


def _range(measure: str) -> tuple[float, float] | None:
    """The axis range of ``measure`` as drawn (shares are drawn as percentages)."""
    m = _measure(measure)
    if m is None or m.range is None:
        return None
    scale = 100 if m.percent else 1
    return (m.range[0] * scale, m.range[1] * scale)


def _bands(measure: str) -> list[tuple[str, float, float]]:
    """(label, from, to) of the bands shaded behind ``measure``.  A measure where
    higher is better (compassion satisfaction) is left unshaded: its "high" band is
    good news and must not take the colour that means concern elsewhere."""
    m = _measure(measure)
    if m is None or not m.higher_is_worse:
        return []
    scale = 100 if m.percent else 1
    return [(label, lo * scale, hi * scale) for label, lo, hi in m.regions()]


def _short(measure: str) -> str:
    """The measure's name without its bracket, for titles and colour bars."""
    return measures.label(measure).split(" (")[0]


# What fits on one line of a 390 px phone screen (the narrowest the dashboard is used on);
# longer titles are broken into lines instead of being cut off.
TITLE_CHARS = 40
SUBTITLE_CHARS = 54
AXIS_CHARS = 32
PHONE_PLOT_WIDTH = 330       # px available for a legend on a phone
TITLE_SIZE = 15


def wrap(text: str | None, width: int) -> str | None:
    """Break ``text`` into lines of at most ``width`` characters (at spaces) joined by ``<br>``.

    A text with a part in brackets breaks before the bracket first, so units stay together.
    """
    if not text:
        return text
    lines: list[str] = []
    for para in str(text).split("<br>"):
        if len(para) > width and " (" in para and para.rindex(" (") <= width:
            head, tail = para[:para.rindex(" (")], para[para.rindex(" (") + 1:]
            lines.extend(wrap(head, width).split("<br>") + wrap(tail, width).split("<br>"))
            continue
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "<br>".join(lines)


def _lines(text: str | None) -> int:
    return 0 if not text else str(text).count("<br>") + 1


def legend_rows(fig: go.Figure, width: int = PHONE_PLOT_WIDTH) -> int:
    """How many rows the horizontal legend takes on a phone (0 when no legend is drawn)."""
    if fig.layout.showlegend is False:
        return 0
    shown = [t for t in fig.data if t.showlegend is True
             or (t.showlegend is None and t.type not in ("heatmap", "histogram2d", "contour", "pie"))]
    names = [t.name for t in shown if t.name]
    if not names or (len(shown) < 2 and fig.layout.showlegend is not True):
        return 0
    rows, used = 1, 0
    for n in names:
        w = 60 + 7.5 * len(str(n))
        if used and used + w > width:
            rows, used = rows + 1, 0
        used += w
    return rows


_URL = re.compile(r"(?i)(://|\bwww\.)")
ZWJ = "\u200d"


def chart_text(value):
    """Names, teams, sites and notes as plain text in a chart: plotly reads a
    subset of HTML in every label and hover text (``<a href>`` becomes a live
    link, ``<span style>`` restyles), so ``& < >`` are written as entities and a
    URL is broken with a zero-width joiner so nothing reads as an address.
    Anything that is not text is returned as it is."""
    if not isinstance(value, str):
        return value
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _URL.sub(lambda m: m.group(0)[:-1] + ZWJ + m.group(0)[-1], out)


def _title_text(text):
    # titles are built here and may hold the line breaks ``wrap`` inserts
    return chart_text(text).replace("&lt;br&gt;", "<br>") if isinstance(text, str) else text


def _text_array(values):
    if isinstance(values, str):
        return chart_text(values)
    if isinstance(values, (list, tuple)):
        return type(values)(_text_array(v) for v in values) if isinstance(values, list) else \
            tuple(_text_array(v) for v in values)
    if isinstance(values, np.ndarray) and values.dtype == object:
        return np.vectorize(_text_array, otypes=[object])(values) if values.size else values
    return values


def safe_figure(fig: go.Figure) -> go.Figure:
    """Every label of every trace (categories, text, hover text, trace names) and
    every annotation as plain text (:func:`chart_text`).  Each chart goes through
    here once (from :func:`_layout`), so data never reaches plotly's HTML."""
    for tr in fig.data:
        for attr in ("x", "y", "text", "hovertext", "name", "labels", "ids"):
            if attr in tr and tr[attr] is not None:
                tr[attr] = _text_array(tr[attr])
    for ann in fig.layout.annotations or ():
        if isinstance(ann.text, str):
            ann.text = _title_text(ann.text)
    return fig


TEMPLATE = "plotly_white"


def _white(fig: go.Figure) -> None:
    """Give ``fig`` the registered plotly_white template as it is.  ``update_layout(template=...)``
    copies and validates the whole template again (about 80 ms a figure, most of a chart's
    cost); a registered template is valid already, and plotly applies its default template
    the same way (``BaseFigure._initialize_layout_template``)."""
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = pio.templates[TEMPLATE]
    finally:
        layout._validate = fig._validate


def _merged(old: dict, new: Mapping) -> dict:
    out = dict(old)
    for k, v in new.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _set_layout(fig: go.Figure, **props) -> None:
    """``fig.update_layout(**props)`` (nested values merged into what is set already) without
    its parsing of every property path: about 20 ms a call, a third of a chart's cost."""
    layout = fig.layout
    for key, value in props.items():
        if isinstance(value, Mapping) and layout[key] is not None:
            value = _merged(layout[key].to_plotly_json(), value)
        layout[key] = value


def _layout(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None,
            height: int = 380, subtitle: str | None = None, bottom: int = 10, extra_top: int = 0) -> go.Figure:
    """Title (wrapped to fit a phone), optional subtitle, the legend in a row under them
    (never over the x-axis title), axis titles with automargin so nothing is cut off.

    ``height`` is the height of the plot and its axes; the room the title and legend
    need is added on top; ``extra_top`` reserves room for panel titles above the first panel.
    """
    safe_figure(fig)
    title = _title_text(wrap(title, TITLE_CHARS))
    subtitle = _title_text(wrap(subtitle, SUBTITLE_CHARS))
    head = 10 + 21 * _lines(title) + (4 + 16 * _lines(subtitle) if subtitle else 0)
    rows = legend_rows(fig)
    top = head + (8 + 22 * rows if rows else 0) + 14 + extra_top
    total = int(height - 95 + top)
    t = {"text": title, "x": 0.0, "xanchor": "left", "xref": "container", "yref": "container",
         # plotly anchors a multi-line title by its first line and grows it upwards: move it down
         "y": 1 - (8 + 1.3 * TITLE_SIZE * (_lines(title) - 1)) / total, "yanchor": "top",
         "font": {"size": TITLE_SIZE}, "pad": {"l": 4}}
    if subtitle:
        t["subtitle"] = {"text": subtitle, "font": {"size": 12}}
    _white(fig)
    _set_layout(fig, title=t, font=FONT, height=total,
                      margin=dict(l=10, r=10, t=top, b=bottom, autoexpand=True),
                      # from the figure's left edge, as the title: the whole width, not what the y labels leave
                      legend=dict(orientation="h", yref="container", y=1 - (head + 4) / total, yanchor="top",
                                  xref="container", xanchor="left", x=0.0, font=dict(size=12)))
    if x_title is not None:
        fig.update_xaxes(title_text=_title_text(wrap(x_title, AXIS_CHARS)))
    if y_title is not None:
        fig.update_yaxes(title_text=_title_text(wrap(y_title, AXIS_CHARS)))
    _fit_margins(fig, bottom)
    return fig


# --------------------------------------------------------------------------- margins

# Advance widths of Arial/Helvetica in em, rounded up: a label is measured here
# instead of by plotly in the browser (see _fit_margins).
_NARROW = set("fijlrtI!.,:;'|()[]{}- /\\")
_WIDE = set("mwMW@%…—")
AXIS_TITLE_SIZE = 16         # plotly's axis title font: 1.2 x the 13 px of FONT
AXIS_TITLE_LINE = 21         # px a line of an axis title takes
Y_LABEL_CHARS = 20           # category names on an axis: two lines of this at most,
Y_LABEL_PX = 140             # and as wide as this
PHONE_FIGURE_WIDTH = 358     # a chart's width in the main column of a 390 px phone
TITLE_STANDOFF = 15          # px between tick labels and axis title (the plotly_white template's)


def text_px(text, size: float) -> float:
    """The width in px of ``text`` (its widest ``<br>`` line) in Arial at ``size`` px, rounded up."""
    widest = 0.0
    for line in str(text).split("<br>"):
        line = re.sub(r"&(amp|lt|gt);", "x", line).replace(ZWJ, "")
        em = sum(0.34 if c in _NARROW else 0.95 if c in _WIDE else 0.75 if c.isupper()
                 else 0.58 if c.isascii() else 1.0 for c in line)
        widest = max(widest, em)
    return widest * size + 2


def _axis_values(fig: go.Figure, letter: str) -> tuple[list, bool]:
    """The values the traces put on the ``letter`` axis, and whether they are dates."""
    out, dates = [], False
    for tr in fig.data:
        vals = tr[letter] if letter in tr else None
        if vals is None:
            continue
        arr = np.asarray(vals)
        if arr.dtype.kind == "M":
            dates = True
            continue
        out.extend(arr.astype(object).ravel().tolist())
    out = [v for v in out if v is not None and not (isinstance(v, float) and np.isnan(v))]
    first = out[0] if out else None
    dates = dates or isinstance(first, (pd.Timestamp, np.datetime64, dt.date)) or \
        (isinstance(first, str) and re.fullmatch(r"\d{4}-\d\d-\d\d.*", first) is not None)
    return out, dates


def _number_labels(values: list, axis) -> list[str]:
    """The longest tick labels plotly can print on a numeric axis spanning ``values``."""
    nums = [float(v) for v in values if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)]
    lo, hi = (min(nums), max(nums)) if nums else (0.0, 1.0)
    if axis.range is not None and None not in axis.range:
        lo, hi = min(lo, *axis.range), max(hi, *axis.range)
    if axis.rangemode == "tozero":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo or abs(hi) or 1.0
    decimals = 2 if span < 2 else 1 if span < 10 else 0
    big = max(abs(lo), abs(hi)) + (0 if axis.range is not None else 0.1 * span)  # an automatic range is padded
    sep = "," if axis.separatethousands else ""
    text = f"{big:{sep}.{decimals}f}"
    return [("-" if lo < 0 else "") + (axis.tickprefix or "") + text + (axis.ticksuffix or "")]


def _tick_labels(fig: go.Figure, letter: str, axis) -> tuple[list[str], bool]:
    """The longest tick labels the ``letter`` axis can print, and whether they are
    category names (which are shortened, see :func:`_short_labels`)."""
    values, dates = _axis_values(fig, letter)
    if axis.type == "date" or (dates and axis.type in (None, "-")):
        # "%d %b" is one line; plotly's own date labels put the year on a second line
        return (["00 Mmm"] if axis.tickformat == "%d %b" else ["Mmm 00<br>0000"]), False
    if axis.type == "category" or any(isinstance(v, str) for v in values):
        if axis.tickmode == "array" and axis.ticktext:
            return [str(v) for v in axis.ticktext], True     # a chart's own tick text, as printed
        return [str(v) for v in dict.fromkeys(values)] or [""], True
    return _number_labels(values, axis), False


def _short_labels(labels: list[str], size: float, max_lines: int = 2) -> list[str]:
    """Category names as printed on an axis: a long name on ``max_lines`` lines of at most
    ``Y_LABEL_CHARS`` characters and ``Y_LABEL_PX`` pixels, cut with "…" beyond that
    (the hover text keeps it whole), so the plot keeps most of a phone's width."""
    def cut(line: str) -> str:
        if len(line) <= Y_LABEL_CHARS and text_px(line, size) <= Y_LABEL_PX:
            return line
        while len(line) > 1 and (len(line) >= Y_LABEL_CHARS or text_px(line + "…", size) > Y_LABEL_PX):
            line = line[:-1]
        return line.rstrip(" &;") + "…"
    out = []
    for v in labels:
        lines = (wrap(v, Y_LABEL_CHARS) or "").split("<br>")
        if len(lines) > max_lines:
            lines = lines[:max_lines - 1] + [cut(lines[max_lines - 1] + "…" * Y_LABEL_CHARS)]
        out.append("<br>".join(cut(ln) for ln in lines))
    return out


def _fit_margins(fig: go.Figure, bottom: int) -> None:
    """Left, right and bottom margins that hold the tick labels and axis titles,
    worked out here from the labels' text so plotly.js draws each chart once.  With
    ``automargin`` plotly measures the labels after drawing and lays the whole chart
    out again (two or three passes: most of a chart's drawing time in the browser).
    Long category names are cut (on one line beside the y axis, two under the x
    axis), and the x-axis title is wrapped to the plot's width on a phone.  Figures with several axes, and an x axis of names
    that plotly may turn when they crowd, keep ``automargin``."""
    layout = fig.layout
    axes = [k for k in layout.to_plotly_json() if re.fullmatch(r"[xy]axis\d+", k)]
    if axes or any(tr.xaxis not in (None, "x") or tr.yaxis not in (None, "y")
                   for tr in fig.data if "xaxis" in tr):
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
        return
    margin = {"l": 10, "r": 10, "b": bottom}
    shown, names_x = {}, False
    for letter, axis in (("x", layout.xaxis), ("y", layout.yaxis)):
        axis.automargin = False
        if axis.visible is False:
            continue
        labels, names = _tick_labels(fig, letter, axis)
        size = axis.tickfont.size if axis.tickfont and axis.tickfont.size else FONT["size"]
        if names:
            # one line beside the y axis: on a phone a row of bars or cells may be 20 px high
            short = _short_labels(labels, size, 2 if letter == "x" else 1)
            if short != labels:
                axis.update(tickmode="array", ticktext=short,
                            tickvals=axis.tickvals if axis.ticktext else labels)
                labels = short
            if letter == "x" and axis.tickangle not in (0, 0.0) and sum(len(v) + 2 for v in labels) > 24:
                axis.automargin = True       # plotly may turn them: only it knows how far
                continue
        shown[letter] = (labels, size, 5 if axis.ticks == "outside" else 0)
        if letter == "x":
            names_x = names
    if "x" in shown:
        labels, size, _ = shown["x"]
        # the last label is centred on its tick, which may sit at the plot's right edge
        margin["r"] = max(10, int(np.ceil(max(text_px(v, size) for v in labels) / 2)) + 2)
    if "y" in shown:
        labels, size, ticks = shown["y"]
        ya = layout.yaxis
        title = _lines(ya.title.text) if ya.title and ya.title.text else 0
        depth = max(text_px(v, size) for v in labels) + ticks + 4
        margin["l"] = int(np.ceil(depth + (TITLE_STANDOFF + AXIS_TITLE_LINE * title if title else 0) + 8))
    if "x" in shown:
        labels, size, ticks = shown["x"]
        xa = layout.xaxis
        depth = max(_lines(v) for v in labels) * 1.3 * size + ticks + 4
        if xa.tickangle is None and not names_x:
            # plotly turns crowded date and number labels by 30 degrees on a narrow plot
            depth = max(depth, max(text_px(v, size) for v in labels) / 2 + 1.3 * size + ticks + 4)
        title = 0
        if xa.title and xa.title.text:
            # centred under the plot: on a phone the plot is what the y labels leave of the width
            room = PHONE_FIGURE_WIDTH - margin["l"] - margin["r"]
            text = xa.title.text.replace("<br>", " ")
            chars = AXIS_CHARS
            while chars > 12 and max(text_px(ln, AXIS_TITLE_SIZE) for ln in wrap(text, chars).split("<br>")) > room:
                chars -= 2
            xa.title.text = wrap(text, chars)
            title = _lines(xa.title.text)
            # plotly centres a title of several lines on its standoff: move it down by the extra lines
            xa.title.standoff = TITLE_STANDOFF + (title - 1) * AXIS_TITLE_LINE
        need = depth + (TITLE_STANDOFF + AXIS_TITLE_LINE * title if title else 0) + 8
        margin["b"] = int(np.ceil(max(need, bottom)))
    _set_layout(fig, margin=margin)


# Layout defaults of kinds of plot no chart here draws (maps, 3-D, polar, ternary).
_OTHER_PLOTS = ("geo", "mapbox", "map", "polar", "scene", "ternary", "smith")


def lean(spec: dict) -> dict:
    """``spec`` (a figure's dict) with its template cut to what it draws: the defaults of
    its own trace types, without those of the other 40-odd types and of other kinds of
    plot.  Drawn the same; the template was 7 of the 8-11 KB each chart sends to the
    browser, where plotly.js reads it again on every draw."""
    tpl = spec.get("layout", {}).get("template")
    if tpl:
        types = {t.get("type", "scatter") for t in spec.get("data", ())}
        spec["layout"]["template"] = {
            "data": {k: v for k, v in tpl.get("data", {}).items() if k in types},
            "layout": {k: v for k, v in tpl.get("layout", {}).items() if k not in _OTHER_PLOTS}}
    return spec


class FrozenFigure(go.Figure):
    """A finished figure whose plotly dict is taken once (:func:`freeze`).

    ``st.plotly_chart`` serialises a figure through ``to_dict``, which deep-copies the
    whole figure with its template on every draw; a page that caches its figures and
    draws them on every rerun hands back the dict taken once instead.  Read-only by
    contract: a cached page shares it between sessions, and a change made after
    freezing would not be drawn."""

    def __init__(self, *args, **kwargs):     # unpickling and copies come this way
        super().__init__(*args, **kwargs)
        self._frozen = lean(go.Figure.to_dict(self))

    def to_dict(self) -> dict:
        spec = self._frozen
        # plotly.io.to_json pops each trace's "uid": new trace dicts keep the taken one whole
        return {"data": [dict(t) for t in spec["data"]], "layout": spec["layout"]}


def freeze(fig: go.Figure) -> FrozenFigure:
    """``fig`` as a :class:`FrozenFigure`, in place (building it again would validate
    every property a second time, which costs as much as drawing it)."""
    spec = lean(fig.to_dict())
    fig.__class__ = FrozenFigure
    fig._frozen = spec
    return fig


def empty_figure(title: str, message: str = EMPTY_TEXT) -> go.Figure:
    """A figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=16, color=OKABE_ITO["black"]))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=260)


def is_empty_figure(fig: go.Figure) -> bool:
    return len(fig.data) == 0 and any(a.text == EMPTY_TEXT or "enough" in (a.text or "")
                                      for a in fig.layout.annotations)


def _band_shading(fig: go.Figure, measure: str, vertical: bool = False, label_at: str = "top left") -> None:
    for label, lo, hi in _bands(measure):
        colour = BAND_COLOURS.get(label, OKABE_ITO["grey"])
        if vertical:
            fig.add_vrect(x0=lo, x1=hi, fillcolor=colour, opacity=0.10, line_width=0, layer="below")
        else:
            fig.add_hrect(y0=lo, y1=hi, fillcolor=colour, opacity=0.10, line_width=0, layer="below",
                          annotation_text=label, annotation_position=label_at,
                          annotation_font=dict(size=11, color=OKABE_ITO["black"]))


def _shown(df: pd.DataFrame, cols: Sequence[str], min_n: int | None = None) -> pd.DataFrame:
    """Rows whose ``cols`` are all present (hidden cells are NaN) and, with ``min_n``, n >= min_n."""
    if df is None or df.empty or not set(cols) <= set(df.columns):
        return pd.DataFrame(columns=list(cols))
    keep = df[list(cols)].notna().all(axis=1)
    if "status" in df:
        keep &= df["status"].fillna("shown").eq("shown")
    if min_n is not None and "n" in df:
        keep &= pd.to_numeric(df["n"], errors="coerce").fillna(0) >= min_n
    return df[keep.to_numpy()]


# --------------------------------------------------------------------------- risk distribution

def risk_distribution(shares: pd.DataFrame, group_col: str | None = "team",
                      bands: Sequence[str] = ("low", "moderate", "high"), title: str | None = None
                      ) -> go.Figure:
    """Share of helpers in each risk band: stacked bars per group, or one bar per band.

    ``shares``: ``group_col`` (optional), ``band_<name>`` columns with shares 0-1
    (NaN where suppressed) and optionally ``n``.
    """
    title = title or "Burnout risk bands" + (f" by {group_col}" if group_col else "")
    cols = [f"band_{b}" for b in bands]
    data = _shown(shares, cols) if shares is not None and set(cols) <= set(shares.columns) else None
    if data is None or data.empty:
        return empty_figure(title)
    fig = go.Figure()
    if group_col and group_col in data and len(data) > 1:
        labels = data[group_col].astype(str).tolist()
        for b in bands:
            fig.add_trace(go.Bar(y=labels, x=(data[f"band_{b}"] * 100).round(1), name=b, orientation="h",
                                 marker_color=BAND_COLOURS.get(b), hovertemplate="%{y}: %{x:.0f}%<extra>" + b
                                 + "</extra>"))
        fig.update_layout(barmode="stack", legend_traceorder="normal")
        fig.update_yaxes(autorange="reversed")
        return _layout(fig, title, "Share of helpers (%)", group_col.capitalize(),
                       height=max(300, 60 + 36 * len(labels)))
    row = data.iloc[0]
    fig.add_trace(go.Bar(x=list(bands), y=[round(float(row[f"band_{b}"]) * 100, 1) for b in bands],
                         marker_color=[BAND_COLOURS.get(b) for b in bands], name="share",
                         hovertemplate="%{x}: %{y:.0f}%<extra></extra>"))
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, title, "Risk band", "Share of helpers (%)")


# --------------------------------------------------------------------------- trends

def team_trend(weekly: pd.DataFrame, measure: str = "pulse_strain", min_n: int = 5, title: str | None = None,
               y_label: str | None = None) -> go.Figure:
    """Weekly mean of a score with its bands shaded; only weeks with at least
    ``min_n`` distinct respondents (and not hidden) are drawn.

    ``weekly``: ``week_start, mean`` and ``n`` (``status`` optional).
    """
    title = title or f"Team trend: {_short(measure).lower()}"
    data = _shown(weekly, ["week_start", "mean"], min_n) if weekly is not None else None
    if data is None or data.empty:
        return empty_figure(title)
    data = data.sort_values("week_start")
    fig = go.Figure(go.Scatter(x=pd.to_datetime(data["week_start"]), y=data["mean"].astype(float).round(1),
                               mode="lines+markers", name="weekly mean", line=dict(color=OKABE_ITO["blue"], width=3),
                               customdata=pd.to_numeric(data["n"], errors="coerce") if "n" in data else None,
                               hovertemplate="Week of %{x|%d %b %Y}: %{y:.1f}"
                               + ("<br>%{customdata} people" if "n" in data else "") + "<extra></extra>"))
    _band_shading(fig, measure)
    rng = _range(measure)
    if rng:
        fig.update_yaxes(range=list(rng))
    return _layout(fig, title, "Week starting", y_label or measures.label(measure))


def individual_trend(df: pd.DataFrame, measure: str, title: str | None = None, x_col: str = "week_start"
                     ) -> go.Figure:
    """One helper's scores over time with the instrument's bands shaded (helper_detail)."""
    title = title or measures.label(measure)
    if df is None or df.empty or measure not in df or x_col not in df:
        return empty_figure(title, "No answers for this measure yet")
    data = df[[x_col, measure]].dropna().sort_values(x_col)
    if data.empty:
        return empty_figure(title, "No answers for this measure yet")
    y = data[measure].astype(float)
    if measure == "burned_out":
        y = y * 100
    fig = go.Figure(go.Scatter(x=pd.to_datetime(data[x_col]), y=y.round(1), mode="lines+markers",
                               name=measures.label(measure), line=dict(color=OKABE_ITO["blue"], width=3),
                               hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra></extra>"))
    _band_shading(fig, measure)
    rng = _range(measure)
    if rng:
        fig.update_yaxes(range=list(rng))
    return _layout(fig, title, "Date", measures.label(measure))


# --------------------------------------------------------------------------- heatmap

def heatmap(cells: pd.DataFrame, row_col: str, value_col: str = "value", measure: str = "pulse_strain",
            title: str | None = None, row_title: str | None = None, status_col: str = "status",
            min_n: int = 5, last_weeks: int | None = None) -> go.Figure:
    """Rows (consenting helpers or sub-groups) x weeks.

    ``cells``: ``row_col, week_start, value_col`` and optionally ``status``
    (privacy status: anything other than "shown" is drawn blank and marked
    "×").  Every cell without a score to show is the same neutral grey with no
    hover text, so the chart never says why one row has no score in one week
    (in a helper row that would single out a week they did not answer).
    ``last_weeks`` keeps only the latest weeks (readable on a phone).

    Built to stay readable at 390 px: a fixed height per row, short date ticks,
    the colour scale as a thin bar under the chart instead of beside it.
    """
    title = title or f"{_short(measure)} by week"
    if cells is None or cells.empty or not cells[value_col].notna().any():
        return empty_figure(title)
    data = cells.copy()
    data["_w"] = pd.to_datetime(data["week_start"])
    if last_weeks:
        keep = sorted(data["_w"].unique())[-int(last_weeks):]
        data = data[data["_w"].isin(keep)]
    status = data[status_col] if status_col in data else pd.Series("shown", index=data.index)
    data["_z"] = data[value_col].where(status.eq("shown")).astype(float)
    data["_t"] = np.where(status.eq("shown"), "", "×")
    if measure == "burned_out":
        data["_z"] = data["_z"] * 100
    weeks = sorted(data["_w"].unique())
    rows = list(dict.fromkeys(data[row_col].astype(str)))
    data["_r"] = data[row_col].astype(str)
    z = data.pivot_table(index="_r", columns="_w", values="_z", aggfunc="first", dropna=False) \
        .reindex(index=rows, columns=weeks)
    t = data.pivot_table(index="_r", columns="_w", values="_t", aggfunc="first", dropna=False) \
        .reindex(index=rows, columns=weeks).fillna("")
    zvals = [[None if pd.isna(v) else round(float(v), 1) for v in r] for r in z.to_numpy()]
    rng = _range(measure)
    short = _short(measure)
    unit = f" ({rng[0]:g}-{rng[1]:g})" if rng else ""
    m = _measure(measure)
    better_high = m is not None and not m.higher_is_worse
    unit += " · darker = " + ("less" if better_high else "more")
    x = [pd.Timestamp(w).to_pydatetime() for w in weeks]
    # Underlay: every cell neutral grey, so a cell with nothing to show looks the same
    # whatever the reason (no hover on it), and the space around the cells stays white.
    fig = go.Figure(go.Heatmap(z=[[0] * len(weeks) for _ in rows], x=x, y=rows, showscale=False,
                               colorscale=[[0, HIDDEN_GREY], [1, HIDDEN_GREY]], hoverinfo="skip",
                               xgap=1, ygap=1, name="no score"))
    fig.add_trace(go.Heatmap(
        z=zvals, x=x, y=rows, text=t.to_numpy().tolist(),
        texttemplate="%{text}", textfont=dict(size=11, color=OKABE_ITO["black"]), colorscale=HEATMAP_SCALE,
        reversescale=better_high, zmin=rng[0] if rng else None, zmax=rng[1] if rng else None, hoverongaps=False, xgap=1, ygap=1,
        colorbar=dict(orientation="h", yref="container", y=0, ypad=4, yanchor="bottom", xref="container",
                      x=0, xpad=10, xanchor="left", lenmode="pixels", len=200, thickness=10,
                      ticklabeloverflow="allow",
                      title=dict(text=short + unit, side="bottom", font=dict(size=12)), tickfont=dict(size=11)),
        name=short, hovertemplate="%{y}, week of %{x|%d %b %Y}: %{z:.0f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False, tickfont=dict(size=12))
    fig.update_xaxes(tickformat="%d %b", nticks=5, ticks="outside", showgrid=False, tickangle=0, zeroline=False)
    notes = ["Grey: no score to show for that week"]
    if (t.to_numpy() != "").any():
        notes.append(f"× hidden: fewer than {min_n} people, or to protect a small group")
    _layout(fig, title, "Week starting", row_title or row_col.replace("_", " ").capitalize(),
            height=95 + 120 + 30 * len(rows), subtitle=". ".join(notes) + ".", bottom=120)
    fig.update_traces(colorbar_y=4 / fig.layout.height, selector=dict(showscale=None))
    return fig


# --------------------------------------------------------------------------- scatter

def pressure_scatter(points: pd.DataFrame, x: str = "caseload_ratio", y: str = "pulse_strain",
                     label_col: str | None = "label", title: str | None = None, x_label: str | None = None,
                     y_label: str | None = None, size_col: str | None = None, subtitle: str | None = None,
                     label_points: bool = False) -> go.Figure:
    """Caseload pressure against a burnout measure, for aggregates (one point per
    team or sub-group) or for consenting helpers only.  A dashed line marks the
    role's standard caseload (ratio 1.0).

    Names are hover text only, never printed on the points (they overlap and
    are cut off at the edges); the page shows the same points as a table.
    ``label_points`` prints short group names (teams, roles) beside the points,
    for the few points of a group chart and for exports, where nothing hovers.
    """
    title = title or "Caseload pressure and burnout"
    data = _shown(points, [x, y]) if points is not None and {x, y} <= set(points.columns) else None
    if data is None or data.empty:
        return empty_figure(title)
    yv = data[y].astype(float) * (100 if y == "burned_out" else 1)
    labels = data[label_col].astype(str).tolist() if label_col and label_col in data else None
    size = None
    if size_col and size_col in data:
        n = pd.to_numeric(data[size_col], errors="coerce").fillna(1)
        size = (8 + 22 * np.sqrt(n / max(n.max(), 1))).round(1)
    short = [t if len(t) <= 16 else t[:15] + "…" for t in labels] if label_points and labels else None
    fig = go.Figure(go.Scatter(
        x=data[x].astype(float).round(2), y=yv.round(1), mode="markers+text" if short else "markers",
        hovertext=labels, text=short, textposition="top center", textfont=dict(size=11),
        cliponaxis=False,
        marker=dict(color=OKABE_ITO["blue"], size=size if size is not None else 12, opacity=0.85,
                    line=dict(width=1, color="white")),
        hovertemplate=("%{hovertext}: " if labels is not None else "")
        + "%{x:.2f} x standard, %{y:.1f}<extra></extra>"))
    fig.add_vline(x=1.0, line_dash="dash", line_color=OKABE_ITO["grey"], annotation_text="at standard",
                  annotation_position="top", annotation_font=dict(size=11))
    _band_shading(fig, y, label_at="top right")
    if subtitle is None and labels is not None:
        subtitle = "Tap or hover over a dot to see whose it is; the table below lists them all."
    return _layout(fig, title, x_label or measures.label(x), y_label or measures.label(y), subtitle=subtitle)


# --------------------------------------------------------------------------- drivers, participation

def drivers_bar(drivers: pd.DataFrame, title: str = "Most common risk drivers") -> go.Figure:
    """``drivers``: ``driver, share`` (0-1): share of people for whom it is a top driver."""
    data = _shown(drivers, ["driver", "share"]) if drivers is not None and "share" in drivers else None
    if data is None or data.empty:
        return empty_figure(title, "No common drivers to show")
    data = data.sort_values("share", ascending=True)
    fig = go.Figure(go.Bar(x=(data["share"] * 100).round(1), y=data["driver"], orientation="h",
                           marker_color=OKABE_ITO["blue"],
                           hovertemplate="%{y}: a top driver for %{x:.0f}% of helpers<extra></extra>"))
    fig.update_xaxes(range=[0, 100])
    return _layout(fig, title, "Share of helpers (%)", "Driver",
                   height=max(260, 80 + 34 * len(data)), subtitle="Share of helpers for whom it is a top driver")


def participation(weekly: pd.DataFrame, title: str = "Check-in participation", min_n: int | None = None,
                  y_label: str = "% of helpers on the roster who answered") -> go.Figure:
    """Share of the team who checked in each week (counts only, never who).

    ``weekly``: ``week_start, rate`` (0-1; NaN where hidden) and optionally
    ``respondents, eligible, status``.  Hidden weeks are drawn as grey hatched
    bars named in the legend ("hidden: fewer than N answered"), so a gap never
    reads as "nobody answered".
    """
    data = _shown(weekly, ["week_start", "rate"]) if weekly is not None and "rate" in weekly else None
    if data is None or data.empty:
        return empty_figure(title)
    data = data.sort_values("week_start")
    week = 0.8 * 7 * 24 * 3600 * 1000       # bar width in ms: the same for shown and hidden weeks
    fig = go.Figure(go.Bar(x=pd.to_datetime(data["week_start"]), y=(data["rate"] * 100).round(1),
                           width=[week] * len(data), marker_color=OKABE_ITO["sky_blue"], name="answered",
                           hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f}% answered<extra></extra>"))
    hidden = weekly[~weekly.index.isin(data.index)] if weekly is not None else weekly.iloc[0:0]
    few = f"fewer than {min_n} answered" if min_n else "too few answered to show"
    if len(hidden):
        fig.add_trace(go.Bar(x=pd.to_datetime(hidden["week_start"]), y=[100] * len(hidden), width=[week] * len(hidden),
                             name=f"hidden: {few}", marker=dict(color=HIDDEN_GREY, pattern_shape="/",
                                                                 pattern_fgcolor=OKABE_ITO["grey"]),
                             hovertemplate="Week of %{x|%d %b %Y}: hidden (" + few
                             + ", or to protect a small group)<extra></extra>"))
        fig.update_layout(showlegend=True, barmode="overlay")
    fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(tickformat="%d %b", nticks=6)
    sub = "Counts only, never who." + (f" Hatched weeks are hidden: {few}, or to protect a small group."
                                        if len(hidden) else "")
    return _layout(fig, title, "Week starting", y_label, subtitle=sub)


# --------------------------------------------------------------------------- turnover

def turnover_impact(teams: pd.DataFrame, metric: str = "leavers", title: str | None = None,
                    group_col: str = "team") -> go.Figure:
    """Expected leavers (or cost) per team next to the part attributable to burnout.

    ``teams``: ``team, expected_leavers, attributable_leavers`` (or
    ``expected_turnover_cost, attributable_cost``); NaN rows (suppressed) are left out.
    """
    if metric == "cost":
        cols = ("expected_turnover_cost", "attributable_cost")
        names = ("Expected turnover cost", "Attributable to burnout")
        axis, title = "Cost per year", title or "Expected turnover cost per year by team"
    else:
        cols = ("expected_leavers", "attributable_leavers")
        names = ("Expected leavers", "Attributable to burnout")
        axis, title = "Helpers leaving per year", title or "Expected leavers per year by team"
    data = _shown(teams, [group_col, *cols]) if teams is not None and set(cols) <= set(teams.columns) else None
    if data is None or data.empty:
        return empty_figure(title)
    fig = go.Figure()
    for col, name, colour in zip(cols, names, (OKABE_ITO["sky_blue"], OKABE_ITO["blue"])):
        fig.add_trace(go.Bar(x=data[group_col].astype(str), y=data[col].astype(float).round(2), name=name,
                             marker_color=colour,
                             hovertemplate="%{x}: %{y:,.1f}<extra>" + name + "</extra>"))
    fig.update_layout(barmode="group")
    if metric == "cost":
        fig.update_yaxes(tickprefix="$", separatethousands=True)
    return _layout(fig, title, group_col.capitalize(), axis)


def _broken_ticks(names: list[str]) -> dict:
    """Axis settings that print our own category ``names`` on two short lines.  The line
    break lives in the axis's tick text, not in the data: :func:`safe_figure` writes every
    trace label as plain text, so a ``<br>`` there would be printed as it is."""
    return dict(tickmode="array", tickvals=names, ticktext=[wrap(n, 12) for n in names])


def what_if(result: Mapping | None, title: str = "What-if scenario: turnover cost per year") -> go.Figure:
    """Waterfall from today's expected turnover cost to the cost under the scenario,
    with the intervention's cost added, so the net effect reads left to right."""
    keys = ("expected_cost_before", "expected_cost_after")
    if not result or any(result.get(k) is None for k in keys):
        return empty_figure(title)
    before = float(result["expected_cost_before"])
    after = float(result["expected_cost_after"])
    k = float(result.get("intervention_cost") or 0)
    x = ["Cost now", "Saved by the scenario"]
    y = [before, after - before]
    measure = ["absolute", "relative"]
    if k:
        x.append("Cost of the scenario")
        y.append(k)
        measure.append("relative")
    x.append("Net cost after")
    y.append(0)
    measure.append("total")
    fig = go.Figure(go.Waterfall(
        x=x, y=[round(v, 2) for v in y], measure=measure,
        increasing=dict(marker=dict(color=OKABE_ITO["grey"])),
        decreasing=dict(marker=dict(color=OKABE_ITO["sky_blue"])),
        totals=dict(marker=dict(color=OKABE_ITO["blue"])),
        connector=dict(line=dict(color=OKABE_ITO["grey"])),
        hovertemplate="%{x}: $%{y:,.0f}<extra></extra>"))
    fig.update_yaxes(tickprefix="$", separatethousands=True)
    fig.update_xaxes(tickangle=0, **_broken_ticks(x))
    return _layout(fig, title, None, "Cost per year")


def what_if_bars(result: Mapping | None, title: str = "What-if scenario: leavers and clients per year"
                 ) -> go.Figure:
    """Before and after bars for expected leavers and clients who would lose their helper.

    Panel titles are short and wrapped, so the two panels' titles never run into
    each other on a phone."""
    pairs = [("Expected leavers", "expected_leavers_before", "expected_leavers_after"),
             ("Clients losing their helper", "clients_affected_before", "clients_affected_after")]
    if not result or all(result.get(b) is None for _, b, _ in pairs):
        return empty_figure(title)
    present = [p for p in pairs if result.get(p[1]) is not None]
    fig = make_subplots(rows=1, cols=len(present), subplot_titles=[wrap(p[0], 14) for p in present],
                        horizontal_spacing=0.18)
    for col, (label, before, after) in enumerate(present, start=1):
        for name, key, colour in (("Now", before, OKABE_ITO["blue"]),
                                  ("With the scenario", after, OKABE_ITO["sky_blue"])):
            fig.add_trace(go.Bar(x=[name], y=[round(float(result[key] or 0), 2)], name=name, marker_color=colour,
                                 showlegend=False,
                                 hovertemplate=label + ", " + name.lower() + ": %{y:,.1f}<extra></extra>"),
                          row=1, col=col)
        fig.update_yaxes(title_text="Per year" if col == 1 else None, rangemode="tozero", row=1, col=col)
    fig.update_xaxes(tickangle=0, **_broken_ticks(["Now", "With the scenario"]))
    fig.update_annotations(font=dict(size=13))
    return _layout(fig, title, height=400, extra_top=36)


def caseload_trend(weekly: pd.DataFrame, standard: float | None = None,
                   title: str = "Active cases per week") -> go.Figure:
    """One helper's active cases per week (operational data) against the role's
    standard caseload, with high-acuity cases as a second series.  The standard
    is a dashed line named in the legend, not a label drawn over the bars."""
    if weekly is None or weekly.empty or "active_cases" not in weekly or not weekly["active_cases"].notna().any():
        return empty_figure(title, "No caseload figures yet")
    data = weekly.sort_values("week_start")
    x = pd.to_datetime(data["week_start"])
    fig = go.Figure(go.Bar(x=x, y=data["active_cases"], name="Active cases",
                           marker_color=OKABE_ITO["blue"],
                           hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f} cases<extra></extra>"))
    if "high_acuity_cases" in data and data["high_acuity_cases"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=data["high_acuity_cases"],
                                 name="High-acuity cases", mode="lines+markers",
                                 line=dict(color=OKABE_ITO["sky_blue"], dash="dot", width=3),
                                 marker=dict(symbol="diamond", size=8),
                                 hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f} high-acuity<extra></extra>"))
    if standard is not None and not pd.isna(standard):
        fig.add_trace(standard_line(x, float(standard)))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, title, "Week starting", "Cases (count)")


def standard_line(x, standard: float, name: str | None = None) -> go.Scatter:
    """The role's standard caseload as a dashed line across ``x``, named in the legend."""
    x = pd.Series(pd.to_datetime(pd.Series(x))).sort_values()
    pad = pd.Timedelta(days=3)
    return go.Scatter(x=[x.iloc[0] - pad, x.iloc[-1] + pad], y=[standard, standard], mode="lines",
                      name=name or f"Role standard ({standard:g} cases)",
                      line=dict(color=OKABE_ITO["black"], dash="dash", width=2),
                      hovertemplate=f"Role standard: {standard:g} cases<extra></extra>")
