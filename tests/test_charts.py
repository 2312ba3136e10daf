"""Chart builders: pure DataFrame -> Figure, no Streamlit; hidden cells never drawn."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from burnout import charts, privacy, selfservice

WEEKS = pd.date_range("2026-09-07", periods=6, freq="7D")
SECRET = 77.7   # a value only suppressed cells carry: it must never reach a figure


def fig_json(fig: go.Figure) -> str:
    return fig.to_json()


def assert_labelled(fig: go.Figure, x=True, y=True):
    assert fig.layout.title.text
    if x:
        assert fig.layout.xaxis.title.text
    if y:
        assert fig.layout.yaxis.title.text


def assert_empty(fig: go.Figure):
    assert isinstance(fig, go.Figure) and len(fig.data) == 0
    assert any(charts.EMPTY_TEXT in (a.text or "") or "No " in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.title.text


def test_palette_bands_okabe_ito_and_one_sequential_heatmap_scale():
    assert charts.BAND_COLOURS["high"] == "#D55E00" and charts.BAND_COLOURS["low"] == "#009E73"
    # single-hue, not a band colour: a pale cell never reads as "green = low risk"
    assert [c for _, c in charts.HEATMAP_SCALE] == ["#C6DBEF", "#4292C6", "#08306B"]


def test_risk_distribution_by_team_skips_suppressed_rows():
    shares = pd.DataFrame({"team": ["A", "B", "C"], "n": [8, np.nan, 6],
                           "band_low": [0.5, np.nan, 0.25], "band_moderate": [0.25, np.nan, 0.5],
                           "band_high": [0.25, np.nan, 0.25]})
    fig = charts.risk_distribution(shares, "team")
    assert {t.type for t in fig.data} == {"bar"} and len(fig.data) == 3
    assert fig.layout.barmode == "stack"
    assert list(fig.data[0].y) == ["A", "C"]
    assert_labelled(fig)
    one = charts.risk_distribution(shares.iloc[[0]], None)
    assert one.data[0].type == "bar" and list(one.data[0].x) == ["low", "moderate", "high"]
    assert_empty(charts.risk_distribution(shares.iloc[[1]], "team"))
    assert_empty(charts.risk_distribution(pd.DataFrame(), "team"))


def test_team_trend_only_weeks_with_enough_people_and_band_shading():
    weekly = pd.DataFrame({"week_start": WEEKS, "mean": [40, 42, SECRET, 45, np.nan, 50.0],
                           "n": [6, 7, 3, 5, np.nan, 9], "status": ["shown"] * 6})
    fig = charts.team_trend(weekly, "pulse_strain", min_n=5)
    assert fig.data[0].type == "scatter"
    assert list(fig.data[0].y) == [40, 42, 45, 50]
    assert SECRET not in list(fig.data[0].y)
    assert len(fig.layout.shapes) == 3          # low / moderate / high bands
    assert "0-100" in fig.layout.yaxis.title.text
    assert_labelled(fig)
    assert_empty(charts.team_trend(weekly.iloc[[2]], "pulse_strain"))
    assert_empty(charts.team_trend(pd.DataFrame(columns=["week_start", "mean", "n"])))


def test_heatmap_blanks_and_annotates_hidden_cells():
    cells = pd.DataFrame({"group": ["x", "x", "y", "y"], "week_start": [WEEKS[0], WEEKS[1]] * 2,
                          "value": [30.0, 35.0, SECRET, SECRET],
                          "status": ["shown", "shown", "primary", "complementary"]})
    fig = charts.heatmap(cells, "group", measure="pulse_strain")
    hm = fig.data[-1]
    assert hm.type == "heatmap" and hm.colorscale[0][1] == "#C6DBEF"   # light blue, distinct from the grey of "no score"
    assert list(hm.z[1]) == [None, None]
    assert list(hm.text[1]) == ["×", "×"]
    assert str(SECRET) not in fig_json(fig)
    assert_labelled(fig)
    assert "× hidden: fewer than 5 people" in fig.layout.title.subtitle.text.replace("<br>", " ")
    assert_empty(charts.heatmap(cells.iloc[0:0], "group"))


def test_heatmap_missing_weeks_are_neutral_grey_without_hover():
    """A sharing helper's week without a score looks like any other empty cell: the
    grey underlay, no mark, no hover text — the chart never says "did not answer"."""
    cells = pd.DataFrame({"helper": ["Ana", "Ana", "Ben"], "week_start": [WEEKS[0], WEEKS[1], WEEKS[1]],
                          "value": [30.0, 35.0, 60.0], "status": "shown"})
    fig = charts.heatmap(cells, "helper")
    under, hm = fig.data
    assert under.hoverinfo == "skip" and not under.showscale
    assert {c[1] for c in under.colorscale} == {charts.HIDDEN_GREY}
    assert list(hm.z[1]) == [None, 60.0] and list(hm.text[1]) == ["", ""]
    assert hm.hoverongaps is False
    text = fig_json(fig).lower()
    assert "no answer" not in text and "did not" not in text and "skipped" not in text


def test_heatmap_is_readable_on_a_phone():
    """Fixed height per row, last N weeks on request, short date ticks, the colour
    scale as a horizontal bar under the chart (not beside it, where it takes the width)."""
    rows = [{"helper": f"Helper {i}", "week_start": w, "value": 40.0 + i, "status": "shown"}
            for i in range(6) for w in pd.date_range("2026-01-05", periods=26, freq="7D")]
    cells = pd.DataFrame(rows)
    fig = charts.heatmap(cells, "helper", last_weeks=12)
    hm = fig.data[-1]
    assert len(hm.x) == 12 and pd.Timestamp(hm.x[-1]) == pd.Timestamp("2026-06-29")
    assert hm.colorbar.orientation == "h"
    assert fig.layout.xaxis.tickformat == "%d %b"
    # room for the names and the axis title, worked out before drawing (test_chart_fit.py draws it)
    assert fig.layout.margin.l >= charts.text_px("Helper 0", 12) + charts.AXIS_TITLE_LINE
    six = fig.layout.height
    two = charts.heatmap(cells[cells["helper"].isin(["Helper 0", "Helper 1"])], "helper").layout.height
    assert six - two == 4 * 30                      # 30 px a row, whatever the number of weeks
    assert len(charts.heatmap(cells, "helper").data[-1].x) == 26


def test_pressure_scatter_aggregate_points():
    pts = pd.DataFrame({"label": ["A", "B", "C"], "caseload_ratio": [1.2, np.nan, 0.9],
                        "pulse_strain": [55.0, SECRET, 40.0], "n": [7, 3, 9]})
    fig = charts.pressure_scatter(pts, size_col="n")
    assert fig.data[0].type == "scatter" and list(fig.data[0].hovertext) == ["A", "C"]
    assert SECRET not in list(fig.data[0].y)
    assert "standard" in fig.layout.xaxis.title.text
    assert_labelled(fig)
    assert_empty(charts.pressure_scatter(pts.iloc[[1]]))


def test_pressure_scatter_prints_no_names_on_the_points():
    """Names are hover text only: printed labels overlap and are cut off at the edges."""
    pts = pd.DataFrame({"label": ["Hiroshi Delgado", "Nadia Lopez"], "caseload_ratio": [0.9, 1.14],
                        "pulse_strain": [50.0, 58.0]})
    fig = charts.pressure_scatter(pts)
    tr = fig.data[0]
    assert tr.mode == "markers" and "text" not in tr.mode and tr.text is None
    assert list(tr.hovertext) == ["Hiroshi Delgado", "Nadia Lopez"]
    assert "%{hovertext}" in tr.hovertemplate
    assert not any("Nadia" in (a.text or "") for a in fig.layout.annotations)


def test_drivers_and_participation():
    d = pd.DataFrame({"driver": ["Caseload above the role standard", "Overtime"], "share": [0.6, 0.2]})
    fig = charts.drivers_bar(d)
    assert fig.data[0].type == "bar" and fig.data[0].orientation == "h"
    assert list(fig.data[0].y)[-1] == "Caseload above the role standard"
    assert_labelled(fig)
    assert len(fig.layout.xaxis.title.text) <= charts.AXIS_CHARS
    assert_empty(charts.drivers_bar(d.iloc[0:0]))
    p = pd.DataFrame({"week_start": WEEKS[:3], "rate": [0.8, np.nan, 0.9]})
    fig = charts.participation(p)
    assert fig.data[0].type == "bar" and list(fig.data[0].y) == [80.0, 90.0]
    assert "%" in fig.layout.yaxis.title.text
    assert_empty(charts.participation(p.iloc[[1]]))


def test_participation_marks_hidden_weeks_and_names_the_denominator():
    p = pd.DataFrame({"week_start": WEEKS[:4], "rate": [0.8, np.nan, 0.9, np.nan],
                      "status": ["shown", "primary", "shown", "known"]})
    fig = charts.participation(p, min_n=5, y_label="% of helpers in the team who answered")
    shown, hidden = fig.data
    assert list(shown.y) == [80.0, 90.0]
    assert hidden.name == "hidden: fewer than 5 answered" and list(hidden.y) == [100, 100]
    assert [pd.Timestamp(x) for x in hidden.x] == [WEEKS[1], WEEKS[3]]
    assert list(shown.width) == list(hidden.width[:1]) * 2          # hidden weeks as wide as the others
    assert fig.layout.yaxis.title.text.replace("<br>", " ") == "% of helpers in the team who answered"
    assert "Hatched weeks are hidden" in fig.layout.title.subtitle.text.replace("<br>", " ")
    assert "who answered" in charts.participation(p).layout.yaxis.title.text.replace("<br>", " ")
    # counts only: nothing in the figure carries a name or an id
    assert "helper_id" not in fig_json(fig)


def test_turnover_impact_bars():
    teams = pd.DataFrame({"team": ["A", "B", "C"], "expected_leavers": [2.0, np.nan, 1.5],
                          "attributable_leavers": [0.4, np.nan, 0.2],
                          "expected_turnover_cost": [50_000.0, np.nan, 30_000.0],
                          "attributable_cost": [10_000.0, np.nan, 4_000.0]})
    fig = charts.turnover_impact(teams)
    assert [t.type for t in fig.data] == ["bar", "bar"] and list(fig.data[0].x) == ["A", "C"]
    cost = charts.turnover_impact(teams, metric="cost")
    assert cost.layout.yaxis.tickprefix == "$"
    assert_labelled(fig)
    assert_empty(charts.turnover_impact(teams.iloc[[1]]))


def test_what_if_waterfall_and_bars():
    result = {"expected_cost_before": 200_000.0, "expected_cost_after": 170_000.0, "intervention_cost": 10_000.0,
              "expected_leavers_before": 8.0, "expected_leavers_after": 7.0,
              "clients_affected_before": 300.0, "clients_affected_after": 260.0}
    fig = charts.what_if(result)
    wf = fig.data[0]
    assert wf.type == "waterfall" and list(wf.measure) == ["absolute", "relative", "relative", "total"]
    assert list(wf.y)[:3] == [200_000.0, -30_000.0, 10_000.0]
    assert fig.layout.yaxis.title.text
    bars = charts.what_if_bars(result)
    assert [t.type for t in bars.data] == ["bar"] * 4          # leavers and clients, now vs scenario
    # the two panel titles are short lines, so they cannot run into each other on a phone
    panel_titles = [a.text for a in bars.layout.annotations]
    assert len(panel_titles) == 2
    assert all(len(line) <= 16 for t in panel_titles for line in t.split("<br>"))
    assert_empty(charts.what_if(None))
    assert_empty(charts.what_if_bars({}))


def test_layout_wraps_long_titles_and_keeps_the_legend_above_the_plot():
    long = "Caseload pressure and burnout (helpers who share their results)"
    fig = charts.pressure_scatter(pd.DataFrame({"label": ["A"], "caseload_ratio": [1.0], "pulse_strain": [50.0]}),
                                  title=long)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= charts.TITLE_CHARS for line in lines)
    assert " ".join(lines) == long
    x_lines = fig.layout.xaxis.title.text.split("<br>")
    assert all(len(line) <= charts.AXIS_CHARS for line in x_lines)
    # the bottom margin holds the ticks and every line of the wrapped x-axis title
    assert fig.layout.margin.b >= charts.TITLE_STANDOFF + charts.AXIS_TITLE_LINE * len(x_lines)
    # a chart with a legend: the legend is a row in the top margin, never near the x-axis title
    teams = pd.DataFrame({"team": ["A", "B"], "expected_leavers": [2.0, 1.0], "attributable_leavers": [0.4, 0.2]})
    for f in (charts.turnover_impact(teams),
              charts.caseload_trend(pd.DataFrame({"week_start": WEEKS, "active_cases": [20] * 6,
                                                  "high_acuity_cases": [3] * 6}), 25)):
        lg = f.layout.legend
        assert lg.orientation == "h" and lg.yref == "container" and lg.yanchor == "top"
        top_px = (1 - lg.y) * f.layout.height
        assert top_px < f.layout.margin.t                       # starts inside the top margin
        assert f.layout.margin.t - top_px >= 22 * charts.legend_rows(f)


def test_caseload_standard_is_a_legend_line_not_a_label_over_the_bars():
    weekly = pd.DataFrame({"week_start": WEEKS, "active_cases": [30, 32, 28, 27, 31, 29]})
    fig = charts.caseload_trend(weekly, 25)
    assert not [a for a in fig.layout.annotations if "standard" in (a.text or "")]
    std = [t for t in fig.data if "standard" in (t.name or "").lower()]
    assert len(std) == 1 and set(std[0].y) == {25.0} and std[0].line.dash == "dash"
    assert std[0].name == "Role standard (25 cases)"


def test_band_shading_only_for_measures_with_bands():
    df = pd.DataFrame({"week_start": WEEKS[:3], "compassion_satisfaction": [40.0, 45.0, 48.0]})
    assert len(charts.individual_trend(df, "compassion_satisfaction").layout.shapes) == 0


def test_individual_trend():
    df = pd.DataFrame({"week_start": WEEKS[:4], "work_burnout": [40.0, np.nan, 55.0, 60.0]})
    fig = charts.individual_trend(df, "work_burnout")
    assert fig.data[0].type == "scatter" and list(fig.data[0].y) == [40.0, 55.0, 60.0]
    assert len(fig.layout.shapes) == 3
    assert_labelled(fig)
    assert_empty(charts.individual_trend(df.iloc[0:0], "work_burnout"))


def test_builders_on_suppressed_tables_never_carry_hidden_values():
    """End to end: suppress() output -> chart; the hidden team's value is nowhere in the figure."""
    rows = []
    k = 0
    for team, n, v in (("A", 8, 40.0), ("B", 2, SECRET), ("C", 6, 50.0), ("D", 9, 45.0)):
        for _ in range(n):
            k += 1
            rows.append({"team": team, "helper_id": f"p{k}", "pulse_strain": v, "caseload_ratio": 1.0})
    sup = privacy.suppress(pd.DataFrame(rows), "team", value_cols=["pulse_strain", "caseload_ratio"])
    table = sup.interior().table.rename(columns={"team": "label"})
    fig = charts.pressure_scatter(table)
    assert str(SECRET) not in fig_json(fig)
    assert "B" not in list(fig.data[0].hovertext)
    assert "C" not in list(fig.data[0].hovertext)      # complementary cell hidden too


def test_charts_module_does_not_import_streamlit():
    import subprocess
    import sys

    modules = ("burnout.charts", "burnout.privacy", "burnout.views.data", "burnout.views.review",
               "burnout.views.team", "burnout.views.helper", "burnout.views.tables", "burnout.export.xlsx",
               "burnout.export.pdf", "burnout.export.csv", "burnout.store.notes")
    code = f"import sys, {', '.join(modules)}; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_group_scatter_can_print_short_names_for_exports():
    pts = pd.DataFrame({"label": ["ADD-Harbour", "A very long team name indeed"], "caseload_ratio": [0.9, 1.2],
                        "burned_out": [0.4, 0.5], "n": [10, 12]})
    plain = charts.pressure_scatter(pts, y="burned_out", size_col="n")
    assert plain.data[0].mode == "markers" and plain.data[0].text is None
    named = charts.pressure_scatter(pts, y="burned_out", size_col="n", label_points=True)
    assert named.data[0].mode == "markers+text"
    assert list(named.data[0].text) == ["ADD-Harbour", "A very long tea…"]
    assert list(named.data[0].hovertext) == list(pts["label"])      # the full name on hover


def _series_colours(fig: go.Figure) -> set[str]:
    """Every colour a trace paints with (markers, lines, waterfall parts), upper-cased."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("color", "fillcolor", "fgcolor") and isinstance(v, str):
                    found.add(v.upper())
                elif k in ("color", "colorscale") and isinstance(v, list):
                    found.update(str(c).upper() for c in v if isinstance(c, str))
                    found.update(str(c[1]).upper() for c in v if isinstance(c, (list, tuple)) and len(c) == 2)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk([t.to_plotly_json() for t in fig.data])
    return found


def test_band_colours_only_for_bands_and_every_chart_has_its_key():
    """Green means the low band, red the high band, nowhere else: a lead must never read a
    green bar or line as good news that is only a series colour."""
    band = {c.upper() for c in charts.BAND_COLOURS.values()}
    result = {"expected_cost_before": 200_000.0, "expected_cost_after": 170_000.0, "intervention_cost": 10_000.0,
              "expected_leavers_before": 8.0, "expected_leavers_after": 7.0,
              "clients_affected_before": 300.0, "clients_affected_after": 260.0}
    teams = pd.DataFrame({"team": ["A", "C"], "expected_leavers": [2.0, 1.5], "attributable_leavers": [0.4, 0.2]})
    weekly = pd.DataFrame({"week_start": WEEKS[:4], "active_cases": [20, 22, 25, 24],
                           "high_acuity_cases": [2, 3, 4, 3], "trauma_exposures": [1, 0, 2, 1],
                           "pulse_strain": [40.0, 55.0, 60.0, 52.0], "caseload_standard": [20] * 4})
    when = pd.to_datetime(["2026-01-05", "2026-03-02"])
    own = pd.DataFrame({"instrument": "cbi", "submitted_at": when, "personal_burnout": [75.0, 100.0],
                        "work_burnout": [60.0, 80.0], "client_burnout": [30.0, 40.0]})
    not_bands = {
        "drivers": charts.drivers_bar(pd.DataFrame({"driver": ["Caseload", "Overtime"], "share": [0.6, 0.2]})),
        "turnover": charts.turnover_impact(teams),
        "what-if": charts.what_if(result),
        "what-if bars": charts.what_if_bars(result),
        "caseload": charts.caseload_trend(weekly, 20.0),
        "participation": charts.participation(pd.DataFrame({"week_start": WEEKS[:2], "rate": [0.8, 0.9]})),
        "team trend": charts.team_trend(pd.DataFrame({"week_start": WEEKS[:3], "mean": [40.0, 50, 45],
                                                      "n": [6, 7, 6]})),
        "my scores": selfservice.trend_figure(own, "cbi"),
        "my caseload": selfservice.caseload_figure(weekly),
    }
    for name, fig in not_bands.items():
        assert not _series_colours(fig) & band, name
    # the bands keep their colours, named in a legend or on the axis
    shares = pd.DataFrame({"team": ["A", "C"], "n": [8, 6], "band_low": [0.5, 0.25],
                           "band_moderate": [0.25, 0.5], "band_high": [0.25, 0.25]})
    stacked = charts.risk_distribution(shares, "team")
    assert [(t.name, t.marker.color) for t in stacked.data] == [(b, charts.BAND_COLOURS[b])
                                                                 for b in ("low", "moderate", "high")]
    assert stacked.layout.showlegend is not False
    one = charts.risk_distribution(shares.iloc[[0]], None)
    assert list(one.data[0].x) == ["low", "moderate", "high"]
    # the strain heatmap: one sequential scale with its colour bar titled
    cells = pd.DataFrame({"group": ["A", "A", "B"], "week_start": [WEEKS[0], WEEKS[1], WEEKS[0]],
                          "value": [40.0, 60.0, 55.0], "n": [6, 6, 7], "status": ["shown"] * 3})
    heat = charts.heatmap(cells, "group", measure="pulse_strain").data[-1]
    assert [c for _, c in heat.colorscale] == [c for _, c in charts.HEATMAP_SCALE] and heat.showscale is not False
    assert heat.colorbar.title.text
