"""Charts drawn by plotly.js in Chromium at a phone's width and a desktop column's:
no label, tick or title is cut off at the figure's edges, no axis title runs into
its tick labels and no name beside the y axis runs into the next.  The margins are worked out in Python (charts._fit_margins) instead
of by plotly's automargin, which draws each chart two or three times; this is the
check that the estimate holds for long names."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly
import plotly.io as pio
import pytest

from browser import CHROMIUM_ARGS, require_chromium
from burnout import charts

pytestmark = pytest.mark.browser
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
WEEKS = pd.date_range("2025-11-03", periods=30, freq="7D")
LONG = ["Community Outreach and Crisis Response (North)", "WWWWWWWWWWWWWWWW Mobile Team",
        "Night line", "Émilie-Françoise Ødegård-Ångström"]


def figures() -> dict:
    rng = np.random.default_rng(3)
    teams = pd.DataFrame({"team": LONG, "band_low": [0.5, 0.2, 0.3, 0.6], "band_moderate": [0.3, 0.5, 0.4, 0.2],
                          "band_high": [0.2, 0.3, 0.3, 0.2], "n": [9, 12, 7, 8],
                          "expected_leavers": [2.1, 1.4, 3.3, 0.7], "attributable_leavers": [0.6, 0.2, 1.1, 0.1],
                          "expected_turnover_cost": [123456.0, 98765.0, 1234567.0, 4567.0],
                          "attributable_cost": [23456.0, 8765.0, 234567.0, 567.0]})
    cells = pd.DataFrame([{"helper": name, "week_start": w, "value": float(rng.uniform(20, 90)),
                           "status": "shown" if rng.random() > 0.2 else "hidden"}
                          for name in LONG for w in WEEKS])
    weekly = pd.DataFrame({"week_start": WEEKS, "mean": rng.uniform(30, 70, len(WEEKS)), "n": 8,
                           "rate": np.where(np.arange(len(WEEKS)) % 7 == 3, np.nan, rng.uniform(0.4, 1, len(WEEKS)))})
    return {
        "bands": charts.risk_distribution(teams.iloc[:1], None, title="Share in each risk band"),
        "bands_by_team": charts.risk_distribution(teams, "team"),
        "trend": charts.team_trend(weekly, "pulse_strain"),
        "trend_sat": charts.team_trend(weekly.assign(mean=weekly["mean"] / 2), "proqol_cs"),
        "heatmap": charts.heatmap(cells, "helper", last_weeks=12),
        "heatmap_all": charts.heatmap(cells, "helper"),
        "scatter": charts.pressure_scatter(pd.DataFrame({"label": LONG, "caseload_ratio": [0.8, 1.1, 1.6, 2.4],
                                                         "pulse_strain": [35.0, 50.0, 65.0, 80.0]})),
        "participation": charts.participation(weekly, min_n=5),
        "drivers": charts.drivers_bar(pd.DataFrame({"driver": ["Caseload above the role standard",
                                                               "Little say in how the work is done", "Sleep"],
                                                    "share": [0.42, 0.31, 0.1]})),
        "turnover_cost": charts.turnover_impact(teams, "cost"),
        "turnover_leavers": charts.turnover_impact(teams),
        "caseload": charts.caseload_trend(pd.DataFrame({"week_start": WEEKS[:10], "active_cases": [22] * 10,
                                                        "high_acuity_cases": [4] * 10}), 25),
        "what_if": charts.what_if({"expected_cost_before": 1_234_567.0, "expected_cost_after": 987_654.0,
                                   "intervention_cost": 50_000.0}),
        "what_if_bars": charts.what_if_bars({"expected_leavers_before": 8.6, "expected_leavers_after": 6.1,
                                             "clients_affected_before": 430.0, "clients_affected_after": 305.0}),
        "empty": charts.empty_figure("Nothing yet"),
    }


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    chromium = require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pg = b.new_page(viewport={"width": 1400, "height": 900})
        pg.set_content("<html><body style='margin:0'></body></html>")
        pg.add_script_tag(path=str(PLOTLY_JS))
        yield pg
        b.close()


# every text of the drawn chart against the figure's box, and each axis title against its tick labels
MEASURE = """async ([spec, width]) => {
  const d = document.createElement('div'); d.style.width = width + 'px'; document.body.appendChild(d);
  await Plotly.newPlot(d, spec.data, Object.assign(spec.layout, {width: width}), {responsive: false});
  const box = d.querySelector('.main-svg').getBoundingClientRect();
  const out = [];
  const rect = el => { const r = el.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  for (const t of d.querySelectorAll('.main-svg text')) {
    const r = rect(t);
    if (!t.textContent.trim() || r.r - r.l === 0) continue;
    if (r.l < box.left - 1 || r.r > box.right + 1 || r.t < box.top - 1 || r.b > box.bottom + 1)
      out.push(`cut off: "${t.textContent}" ${JSON.stringify(r)} in ${JSON.stringify(rect(d.querySelector('.main-svg')))}`);
  }
  // category names beside the y axis: each clear of the next
  const ys = [...d.querySelectorAll('.ytick text')].map(rect).sort((p, q) => p.t - q.t);
  for (let i = 1; i < ys.length; i++)
    if (ys[i].t < ys[i - 1].b - 1) out.push(`y tick labels overlap at ${ys[i].t}`);
  for (const a of ['x', 'y']) {
    const title = d.querySelector(`.g-${a}title text`);
    if (!title) continue;
    const tr = rect(title);
    for (const t of d.querySelectorAll(`.${a}tick text`)) {
      const r = rect(t);
      if (r.l < tr.r && tr.l < r.r && r.t < tr.b && tr.t < r.b)
        out.push(`${a} title "${title.textContent}" over tick "${t.textContent}"`);
    }
  }
  Plotly.purge(d); d.remove();
  return out;
}"""


@pytest.mark.parametrize("width", [358, 660])
def test_no_chart_text_is_cut_off_or_overlaps_at_phone_and_desktop_widths(page, width):
    problems = {}
    for name, fig in figures().items():
        found = page.evaluate(MEASURE, [json.loads(pio.to_json(fig)), width])
        if found:
            problems[name] = found
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


# every drawn text, with the lines plotly made of it
DRAWN = """async ([spec, width]) => {
  const d = document.createElement('div'); d.style.width = width + 'px'; document.body.appendChild(d);
  await Plotly.newPlot(d, spec.data, Object.assign(spec.layout, {width: width}), {responsive: false});
  const out = [...d.querySelectorAll('.main-svg text')].map(t => ({
    text: t.textContent, lines: t.querySelectorAll('tspan.line').length || 1,
    x: !!t.closest('.xtick, .x2tick')}));
  Plotly.purge(d); d.remove();
  return out;
}"""


def test_the_what_if_charts_break_their_own_labels_into_lines_and_print_no_markup(page):
    """The what-if charts' column names are ours and break onto two lines; they were
    printed as "Saved by<br>the scenario" because every trace label is written as plain
    text (charts.safe_figure).  No drawn text anywhere shows markup."""
    figs = figures()
    drawn = {name: page.evaluate(DRAWN, [json.loads(pio.to_json(fig)), 358]) for name, fig in figs.items()}
    markup = {name: [t["text"] for t in texts if "<" in t["text"] or "&lt;" in t["text"] or "&amp;" in t["text"]]
              for name, texts in drawn.items()}
    assert not any(markup.values()), markup
    ticks = {t["text"]: t["lines"] for t in drawn["what_if"] if t["x"]}
    assert ticks == {"Cost now": 1, "Saved by thescenario": 2, "Cost of thescenario": 2, "Net costafter": 2}, ticks
    bars = [(t["text"], t["lines"]) for t in drawn["what_if_bars"] if t["x"]]
    assert bars == [("Now", 1), ("With thescenario", 2)] * 2, bars
    # the hover text names each column whole, on one line
    assert list(figs["what_if"].data[0].x) == ["Cost now", "Saved by the scenario", "Cost of the scenario",
                                               "Net cost after"]


def test_single_axis_charts_leave_automargin_off():
    """The charts of the team page are laid out once by plotly (no automargin pass);
    an x axis of names that plotly may turn keeps automargin."""
    figs = figures()
    for name in ("bands", "trend", "heatmap", "scatter", "participation", "drivers", "bands_by_team"):
        assert figs[name].layout.xaxis.automargin is False and figs[name].layout.yaxis.automargin is False, name
    assert figs["turnover_cost"].layout.xaxis.automargin is True
    assert figs["turnover_cost"].layout.yaxis.automargin is False
