"""The domain layer: one typed settings object, one measure registry, one week rule."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from burnout.domain import measures, settings as S, time as T
from burnout.errors import InputError
from burnout.instruments import all_instruments


def test_min_group_size_is_never_below_five_saved_or_validated():
    # an older version accepted 3: the stricter rule applies when it is read back
    assert S.Settings.from_saved({"min_group_size": 3}).min_group_size == 5
    with pytest.raises(InputError, match="at least 5"):
        S.validate("min_group_size", 3)
    assert S.Settings.defaults().merged({"min_group_size": 8}).min_group_size == 8


def test_comment_threshold_never_below_ten_nor_below_the_group_size():
    assert S.Settings.from_saved({"min_comment_group": 4}).min_comment_group == 10
    assert S.Settings.defaults().merged({"min_group_size": 12}).min_comment_group == 12


def test_saved_maps_merge_key_by_key_and_unknown_keys_of_other_parts_are_ignored():
    st = S.Settings.from_saved({"checkin_schedule": {"pulse": 2}, "demo_data": True})
    assert dict(st.checkin_schedule) == {"pulse": 2, "sib": 1, "cbi": 4, "proqol5": 12}
    assert st.every_weeks("pulse") == 2


def test_invalid_saved_value_falls_back_to_its_default_with_a_log(caplog):
    st = S.Settings.from_saved({"relative_risk": "lots"})
    assert st.relative_risk == 2.0
    assert "relative_risk" in caplog.text


@pytest.mark.parametrize("key,value", [("relative_risk", float("inf")), ("base_turnover", {"x": 2}),
                                       ("session_minutes", 1), ("checkin_schedule", {"weekly": 1}),
                                       ("nonsense", 1)])
def test_merged_refuses_invalid_values(key, value):
    with pytest.raises(InputError):
        S.Settings.defaults().merged({key: value})


def test_resolve_reads_partial_mappings_as_overrides():
    st = S.resolve({"relative_risk": 1.5})
    assert st.relative_risk == 1.5 and st.default_base_turnover == 0.20
    assert S.resolve(st) is st


def test_measure_bands_are_the_yaml_bands():
    for inst in all_instruments():
        for sub in inst.subscales:
            m = measures.get(sub.column)
            assert m.bands == sub.bands and m.range == sub.range
            assert m.higher_is_worse == sub.higher_is_worse


def test_proqol_band_edges_follow_design_section_4():
    m = measures.get("burnout")
    assert list(m.band([22, 22.5, 41.9, 42])) == ["low", "moderate", "moderate", "high"]
    assert list(measures.get("work_burnout").band([49.9, 50, 75, 100])) == ["low", "moderate", "high", "severe"]


def test_week_start_is_monday_everywhere():
    assert T.week_start(dt.date(2026, 11, 29)) == dt.date(2026, 11, 23)      # a Sunday
    assert T.week_start("2026-11-23T23:59") == dt.date(2026, 11, 23)
    s = T.week_starts(pd.Series(["2026-11-29 10:00", None]))
    assert s.iloc[0] == pd.Timestamp("2026-11-23") and pd.isna(s.iloc[1])
    days = np.array([(dt.date(2026, 11, 29) - dt.date(1970, 1, 1)).days, -1])
    assert list(T.monday_day_numbers(days, -1)) == [days[0] - 6, -1]


def test_helpers_are_told_the_thresholds_actually_applied():
    note = S.Settings.from_saved({"min_group_size": 3, "min_comment_group": 12}).group_size_note()
    assert "groups of 5 or more" in note and "at least 12 people" in note


@pytest.mark.parametrize("column,edges", [("burnout", (22, 42)), ("work_burnout", (50, 75, 100)),
                                          ("pulse_strain", (40, 60))])
def test_band_edges_used_by_scoring_risk_and_charts_are_the_yamls(column, edges):
    """One rule: the YAML's band edges are what scoring applies, what the risk model
    anchors its pressures on and what every chart shades."""
    from burnout import charts, risk, scoring
    from burnout.instruments import load

    m = measures.get(column)
    sub = next(s for s in load(m.instrument).subscales if s.column == column)
    assert m.edges == edges == tuple(b.up_to if b.up_to is not None else b.below for b in sub.bands[:-1])
    # scoring: the same labels as the registry on both sides of each edge
    probe = [e + d for e in edges for d in (-0.5, 0.0, 0.5)]
    assert list(scoring.band(pd.Series(probe), m.instrument, column)) == list(m.band(probe))
    # risk: anchored on the same YAML — its published norms where it cites them (one scale across
    # instruments), else its own band edges — at the 0.40 and 0.65 pressures
    name = {v: k for k, v in risk.SELF_MEASURE.items()}[column]
    comp = next(c for c in risk.COMPONENTS if c.name == name)
    if m.norms:
        expected = (m.norm_anchor(measures.NORM_SHARES[0]), m.norm_anchor(measures.NORM_SHARES[1]))
    else:
        half = 0.5 if sub.method == "sum" else 0.0
        expected = (edges[0] + half, edges[1] - half)
    assert comp.xp[1:3] == pytest.approx(expected) and comp.fp[1:3] == (0.40, 0.65)
    edges = tuple(e for e in edges if e < m.range[1])          # CBI "severe" is the top of the scale itself
    # charts: the shaded regions of a trend end at the same edges
    fig = charts.team_trend(pd.DataFrame({"week_start": pd.to_datetime(["2026-01-05"]), "mean": [30.0], "n": [6]}),
                            column, 5)
    shaded = sorted({(s.y0, s.y1) for s in fig.layout.shapes if s.type == "rect"})
    assert [b for _, b in shaded][:-1] == list(edges)
