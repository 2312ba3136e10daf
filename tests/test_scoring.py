"""Scoring exactly per DESIGN §4 and the test vectors in reference/instruments.md."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # pytest puts tests/ on the path, not the repo
    sys.path.insert(0, str(REPO))

from burnout.errors import InputError  # noqa: E402
from burnout.instruments import load  # noqa: E402
from burnout.scoring import ALL_SCORE_COLUMNS, band, score, score_csv, score_long  # noqa: E402
from conftest import run_cli  # noqa: E402

PROQOL = load("proqol5")
CBI = load("cbi")
CS_ITEMS = [f"proqol_{i}" for i in (3, 6, 12, 16, 18, 20, 22, 24, 27, 30)]
BO_ITEMS = [f"proqol_{i}" for i in (1, 4, 8, 10, 15, 17, 19, 21, 26, 29)]
BO_REVERSED = [f"proqol_{i}" for i in (1, 4, 15, 17, 29)]
STS_ITEMS = [f"proqol_{i}" for i in (2, 5, 7, 9, 11, 13, 14, 23, 25, 28)]
PB = [f"cbi_p{i}" for i in range(1, 7)]
WB = [f"cbi_w{i}" for i in range(1, 8)]
CB = [f"cbi_c{i}" for i in range(1, 7)]
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def one(frame: pd.DataFrame, instrument: str) -> dict:
    return score(frame, instrument).iloc[0].to_dict()


# --------------------------------------------------------------------------- ProQOL 5 vectors

@pytest.mark.parametrize("value, expected", [
    (3, (30, 30, 30, "moderate", "moderate", "moderate")),
    (1, (10, 30, 10, "low", "moderate", "low")),     # a naive sum would give BO = 10
    (5, (50, 30, 50, "high", "moderate", "high")),
])
def test_proqol_all_same_answer(value, expected):
    out = score(pd.DataFrame([[value] * 30], columns=PROQOL.item_ids), "proqol5")
    assert list(out.columns) == list(PROQOL.score_columns)
    assert tuple(out.iloc[0]) == expected


def test_proqol_mixed_vector():
    row = {i: 2 for i in PROQOL.item_ids}
    row.update({i: 5 for i in CS_ITEMS})
    row.update({i: 4 for i in BO_REVERSED})
    out = one(pd.DataFrame([row]), "proqol5")
    assert (out["compassion_satisfaction"], out["burnout"], out["secondary_traumatic_stress"]) == (50, 20, 20)
    assert (out["compassion_satisfaction_band"], out["burnout_band"],
            out["secondary_traumatic_stress_band"]) == ("high", "low", "low")


def _bo_answers(scored: list[float]) -> dict:
    """Raw BO answers whose scored (after 6 - x reversal) values are ``scored``."""
    return {item: (6 - v if item in BO_REVERSED and not math.isnan(v) else v)
            for item, v in zip(BO_ITEMS, scored)}


def _values_summing_to(total: int, n: int) -> list[float]:
    base, extra = divmod(total, n)
    return [float(base + (k < extra)) for k in range(n)]


@pytest.mark.parametrize("total, expected", [(22, "low"), (23, "moderate"), (41, "moderate"),
                                             (42, "high"), (10, "low"), (50, "high")])
def test_proqol_band_edges_on_full_sums(total, expected):
    out = one(pd.DataFrame([_bo_answers(_values_summing_to(total, 10))]), "proqol5")
    assert out["burnout"] == total and out["burnout_band"] == expected
    cs = one(pd.DataFrame([dict(zip(CS_ITEMS, _values_summing_to(total, 10)))]), "proqol5")
    assert cs["compassion_satisfaction"] == total and cs["compassion_satisfaction_band"] == expected


@pytest.mark.parametrize("answered, total, expected_score, expected_band", [
    (9, 19, 190 / 9, "low"),          # 21.11
    (9, 20, 200 / 9, "moderate"),     # 22.22: above 22 although the answers sum lower
    (8, 17, 21.25, "low"),
    (8, 18, 22.5, "moderate"),
    (8, 33, 41.25, "moderate"),
    (9, 37, 370 / 9, "moderate"),     # 41.11
    (9, 38, 380 / 9, "high"),         # 42.22
    (8, 34, 42.5, "high"),
])
def test_proqol_band_edges_on_prorated_scores(answered, total, expected_score, expected_band):
    scored = _values_summing_to(total, answered) + [math.nan] * (10 - answered)
    out = one(pd.DataFrame([_bo_answers(scored)]), "proqol5")
    assert out["burnout"] == pytest.approx(expected_score, abs=1e-12)
    assert out["burnout_band"] == expected_band


@pytest.mark.parametrize("value, expected", [
    (22, "low"), (22.0001, "moderate"), (23, "moderate"), (41, "moderate"), (41.9, "moderate"),
    (41.9999, "moderate"), (42, "high"), (10, "low"), (50, "high"), (math.nan, None)])
def test_proqol_band_function(value, expected):
    got = band(pd.Series([value]), "proqol5", "burnout").iloc[0]
    assert got == expected if expected else pd.isna(got)


@pytest.mark.parametrize("column, items", [("compassion_satisfaction", CS_ITEMS),
                                           ("burnout", BO_ITEMS),
                                           ("secondary_traumatic_stress", STS_ITEMS)])
@pytest.mark.parametrize("missing", [0, 1, 2, 3, 10])
def test_proqol_missing_answer_rule(column, items, missing):
    scored = [4, 5, 3, 2, 4, 5, 1, 3, 4, 2]         # sum 33, as scored (after reversal)
    raw = {i: (6 - v if i in BO_REVERSED else v) for i, v in zip(items, scored)}
    for i in items[:missing]:
        raw[i] = None
    out = one(pd.DataFrame([raw]), "proqol5")
    kept = scored[missing:]
    if missing <= 2:    # prorated: mean of the answered items x 10
        assert out[column] == pytest.approx(np.mean(kept) * 10, abs=1e-12)
        assert out[f"{column}_band"] in ("low", "moderate", "high")
    else:               # 3 or more missing: not scored
        assert pd.isna(out[column]) and pd.isna(out[f"{column}_band"])
    if missing == 0:
        assert out[column] == 33


def test_proqol_whole_number_scores_are_exact():
    # 9 answers summing to 36 prorate to exactly 40 (no float noise at the edges).
    out = one(pd.DataFrame([dict(zip(CS_ITEMS[:9], [4.0] * 9))]), "proqol5")
    assert out["compassion_satisfaction"] == 40.0


def test_missing_item_columns_count_as_unanswered():
    frame = pd.DataFrame([[3] * 29], columns=PROQOL.item_ids[:-1])   # no proqol_30 (CS)
    out = one(frame, "proqol5")
    assert out["compassion_satisfaction"] == 30 and out["burnout"] == 30


def test_no_item_columns_at_all_is_an_error():
    with pytest.raises(InputError) as err:
        score(pd.DataFrame({"respondent_id": [1], "q1": [3]}), "proqol5", file="x.csv")
    assert "proqol_1" in str(err.value) and "proqol_30" in str(err.value)
    assert "x.csv" in str(err.value)


# --------------------------------------------------------------------------- CBI vectors

def test_cbi_personal_vector_with_labels():
    answers = dict(zip(PB, ["Always", "Often", "Sometimes", "Seldom", "Never", "Sometimes"]))
    out = one(pd.DataFrame([answers]), "cbi")
    assert out["personal_burnout"] == 50.0 and out["personal_burnout_band"] == "moderate"
    assert pd.isna(out["work_burnout"]) and pd.isna(out["client_burnout"])


@pytest.mark.parametrize("w7, expected", [("Always", 450 / 7), ("Never", 550 / 7),
                                          (100, 450 / 7), (0, 550 / 7)])
def test_cbi_work_vectors_reverse_w7(w7, expected):
    row = {w: ("To a high degree" if w in WB[:3] else "Often") for w in WB[:6]}
    row["cbi_w7"] = w7
    out = one(pd.DataFrame([row]), "cbi")
    assert out["work_burnout"] == expected
    assert round(out["work_burnout"], 1) == (64.3 if expected < 70 else 78.6)
    assert out["work_burnout_band"] == ("moderate" if expected < 75 else "high")


def test_cbi_work_four_answers_scores_68_75():
    out = one(pd.DataFrame([{"cbi_w1": 50, "cbi_w2": 50, "cbi_w4": 75, "cbi_w5": 100}]), "cbi")
    assert out["work_burnout"] == 68.75 and out["work_burnout_band"] == "moderate"


@pytest.mark.parametrize("items, answered, threshold", [(PB, 2, 3), (PB, 3, 3), (WB, 3, 4),
                                                        (WB, 4, 4), (CB, 2, 3), (CB, 3, 3)])
def test_cbi_missing_answer_rule(items, answered, threshold):
    column = {id(PB): "personal_burnout", id(WB): "work_burnout", id(CB): "client_burnout"}[id(items)]
    out = one(pd.DataFrame([{i: 75 for i in items[:answered]}]), "cbi")
    if answered < threshold:
        assert pd.isna(out[column]) and pd.isna(out[f"{column}_band"])
    else:
        assert out[column] == 75 and out[f"{column}_band"] == "high"


@pytest.mark.parametrize("value, expected", [
    (0, "low"), (49.99, "low"), (50, "moderate"), (74.99, "moderate"), (75, "high"),
    (99, "high"), (99.999, "high"), (100, "severe"), (math.nan, None)])
def test_cbi_band_function(value, expected):
    got = band(np.array([value]), "cbi", "client_burnout")[0]
    assert got == expected if expected else pd.isna(got)


@pytest.mark.parametrize("answers, expected_score, expected_band", [
    ([50] * 6, 50, "moderate"),
    ([25, 50, 50, 50, 50, 50], 275 / 6, "low"),
    ([75] * 6, 75, "high"),
    ([50, 75, 75, 75, 75, 75], 425 / 6, "moderate"),
    ([75, 100, 100, 100, 100, 100], 575 / 6, "high"),
    ([100] * 6, 100, "severe"),
])
def test_cbi_band_edges_from_answers(answers, expected_score, expected_band):
    out = one(pd.DataFrame([dict(zip(CB, answers))]), "cbi")
    assert out["client_burnout"] == expected_score and out["client_burnout_band"] == expected_band


@pytest.mark.parametrize("label, value", [
    ("Always", 100), ("  always ", 100), ("OFTEN", 75), ("sometimes", 50), ("Seldom", 25),
    ("Never", 0), ("Almost never", 0), ("Never/almost never", 0), (" never /  ALMOST never ", 0),
    ("To a very high degree", 100), ("to a high  degree", 75), ("Somewhat", 50),
    ("To a low degree", 25), ("TO A VERY LOW DEGREE", 0), ("75", 75), ("75.0", 75), (" 25 ", 25),
    (50, 50), (50.0, 50),
])
def test_cbi_labels_and_numeric_strings(label, value):
    out = one(pd.DataFrame([{i: label for i in PB}]), "cbi")
    assert out["personal_burnout"] == value


def test_proqol_labels_case_and_whitespace():
    row = {i: "Sometimes" for i in PROQOL.item_ids}
    row["proqol_3"], row["proqol_6"] = "  very   OFTEN", "never"
    row["proqol_12"], row["proqol_16"] = "3.0", 3
    out = one(pd.DataFrame([row]), "proqol5")
    assert out["compassion_satisfaction"] == 30 - 3 + 5 - 3 + 1


# --------------------------------------------------------------------------- single item, pulse

def test_sib_level_and_burned_out():
    out = score(pd.DataFrame({"sib_1": [1, 2, 3, 4, 5, None, "", "Completely burned out"],
                              "respondent_id": list("abcdefgh")}), "sib")
    assert list(out.columns) == ["sib_level", "burned_out"]
    assert out["burned_out"].dtype == "boolean"
    assert out["sib_level"].tolist()[:5] == [1, 2, 3, 4, 5]
    assert out["burned_out"].tolist() == [False, False, True, True, True, pd.NA, pd.NA, True]
    assert out["sib_level"].isna().tolist() == [False] * 5 + [True, True, False]


def test_pulse_scores():
    frame = pd.DataFrame({
        "pulse_1": [1, 5, 3, None, 2], "pulse_2": [5, 1, 3, 4, None], "pulse_3": [1, 5, 3, None, 3],
        "pulse_4": [5, 1, 3, 2, None], "pulse_5": [5, 1, 3, 4, 2], "pulse_6": [1, 5, 3, 4, 2]})
    out = score(frame, "pulse")
    assert list(out.columns) == ["pulse_strain", "pulse_trauma_load", "pulse_support",
                                 "pulse_strain_band"]
    # row 0: reversed 5, 5, 5 -> 100; row 1: 1, 1, 1 -> 0; row 3: only 1 of 3 answered.
    assert out["pulse_strain"].tolist()[:3] == [100, 0, 50]
    assert pd.isna(out["pulse_strain"][3]) and pd.isna(out["pulse_strain_band"][3])
    # row 4: 2 of 3 answered, reversed 4 and 3 -> mean 3.5 -> (3.5 - 1) / 4 x 100
    assert out["pulse_strain"][4] == 62.5
    assert out["pulse_strain_band"].fillna("-").tolist() == ["high", "low", "moderate", "-", "high"]
    assert out["pulse_trauma_load"].tolist()[:4] == [100, 0, 50, 25]
    assert out["pulse_support"].tolist() == [100, 0, 50, 75, 25]      # higher = more support


@pytest.mark.parametrize("values, expected", [([1, 4], 37.5), ([1, 5], 50.0), ([2, 5], 62.5)])
def test_pulse_band_edges_from_answers(values, expected):
    # pulse_2 (not reversed) and pulse_3 (reversed) only: mean of 2 items.
    out = one(pd.DataFrame([{"pulse_2": values[0], "pulse_3": 6 - values[1]}]), "pulse")
    assert out["pulse_strain"] == expected
    assert out["pulse_strain_band"] == {37.5: "low", 50.0: "moderate", 62.5: "high"}[expected]


@pytest.mark.parametrize("value, expected", [(39.99, "low"), (40, "moderate"), (59.99, "moderate"),
                                             (60, "high")])
def test_pulse_band_function(value, expected):
    assert band([value], "pulse", "pulse_strain")[0] == expected


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("instrument, column, bad", [
    ("proqol5", "proqol_7", 6), ("proqol5", "proqol_7", 0), ("proqol5", "proqol_7", "6"),
    ("proqol5", "proqol_7", 3.5), ("proqol5", "proqol_7", "abc"), ("proqol5", "proqol_7", True),
    ("proqol5", "proqol_7", "Always"),          # a CBI label, not a ProQOL one
    ("cbi", "cbi_w2", 30), ("cbi", "cbi_w2", "30"), ("cbi", "cbi_w2", "Very Often"),
    ("cbi", "cbi_w2", -25), ("sib", "sib_1", 0), ("sib", "sib_1", 6), ("pulse", "pulse_3", 9),
])
def test_off_scale_answer_names_row_and_column(instrument, column, bad):
    inst = load(instrument)
    good = inst.answer_values[1]
    frame = pd.DataFrame({column: [good, good, good, bad, good]}, dtype=object)
    with pytest.raises(InputError) as err:
        score(frame, instrument, file="answers.csv")
    e = err.value
    assert (e.row, e.column) == (5, column)              # position 3 -> spreadsheet row 5
    assert "row 5" in str(e) and repr(column) in str(e) and "answers.csv" in str(e)


def test_numeric_column_off_scale_is_never_clipped():
    frame = pd.DataFrame({i: [3.0, 3.0] for i in PROQOL.item_ids})
    frame.loc[1, "proqol_30"] = 5.5
    with pytest.raises(InputError, match="5.5") as err:
        score(frame, "proqol5")
    assert (err.value.row, err.value.column) == (3, "proqol_30")


def test_error_reports_first_bad_cell_and_lists_others():
    frame = pd.DataFrame({"cbi_p1": [50, "x", 50], "cbi_p2": [99, 50, 7]})
    with pytest.raises(InputError) as err:
        score(frame, "cbi")
    assert (err.value.row, err.value.column) == (2, "cbi_p2")
    assert "2 more bad cells" in str(err.value)
    assert len(err.value.problems) == 3


@pytest.mark.parametrize("blank", [None, np.nan, "", "  ", "NA", "n/a", pd.NA])
def test_blank_cells_are_missing_answers(blank):
    frame = pd.DataFrame({"sib_1": [blank, 4]}, dtype=object)
    out = score(frame, "sib")
    assert pd.isna(out["sib_level"][0]) and out["sib_level"][1] == 4


def test_index_and_extra_columns():
    frame = pd.DataFrame({"respondent_id": ["a", "b"], "note": ["x", "y"], "sib_1": [2, 5]},
                         index=pd.Index([10, 3], name="row"))
    out = score(frame, "sib")
    assert out.index.equals(frame.index) and out["sib_level"].tolist() == [2, 5]


def test_empty_frame_keeps_columns():
    out = score(pd.DataFrame({i: pd.Series(dtype=float) for i in CBI.item_ids}), "cbi")
    assert out.empty and list(out.columns) == list(CBI.score_columns)


def test_nullable_integer_columns():
    frame = pd.DataFrame({i: pd.array([3, None], dtype="Int64") for i in PROQOL.item_ids})
    out = score(frame, "proqol5")
    assert out["burnout"][0] == 30 and pd.isna(out["burnout"][1])


# --------------------------------------------------------------------------- properties

def _reference_score(row: dict, inst) -> dict:
    """A deliberately plain, row-by-row reading of DESIGN §4 to check the
    vectorised code against."""
    lo, hi = inst.answer_values[0], inst.answer_values[-1]
    out = {}
    for sub in inst.subscales:
        vals = [(lo + hi - row[i]) if i in sub.reverse else row[i]
                for i in sub.items if not math.isnan(row[i])]
        if len(vals) < sub.min_answered:
            out[sub.column] = math.nan
        elif sub.method == "sum":
            out[sub.column] = sum(vals) / len(vals) * len(sub.items)
        else:
            out[sub.column] = sum(vals) / len(vals)
    return out


def answer_frames(inst, max_rows=12, missing=0.25):
    values = list(inst.answer_values)
    cell = st.one_of(st.sampled_from(values), st.just(math.nan)) if missing else st.sampled_from(values)
    row = st.fixed_dictionaries({i: cell for i in inst.item_ids})
    return st.lists(row, min_size=1, max_size=max_rows).map(
        lambda rows: pd.DataFrame(rows, columns=inst.item_ids, dtype=float))


@FAST
@given(answer_frames(PROQOL))
def test_property_proqol_matches_plain_reading_and_stays_in_range(frame):
    out = score(frame, "proqol5")
    for pos, row in enumerate(frame.to_dict("records")):
        ref = _reference_score(row, PROQOL)
        for col, expected in ref.items():
            got = out[col].iloc[pos]
            assert (math.isnan(expected) and pd.isna(got)) or got == pytest.approx(expected)
    for col in ("compassion_satisfaction", "burnout", "secondary_traumatic_stress"):
        s = out[col].dropna()
        assert ((s >= 10) & (s <= 50)).all()
        assert (out[col].isna() == out[f"{col}_band"].isna()).all()


@FAST
@given(answer_frames(PROQOL))
def test_property_proqol_reversing_all_answers_mirrors_scores(frame):
    # x -> 6 - x turns every subscale s into 60 - s, BO included (its reversed
    # items swap roles), also for prorated scores.
    a, b = score(frame, "proqol5"), score(6 - frame, "proqol5")
    for col in ("compassion_satisfaction", "burnout", "secondary_traumatic_stress"):
        np.testing.assert_allclose(b[col].to_numpy(), 60 - a[col].to_numpy(), atol=1e-9)


@FAST
@given(answer_frames(CBI))
def test_property_cbi_mirror_range_and_reference(frame):
    a, b = score(frame, "cbi"), score(100 - frame, "cbi")
    for col in ("personal_burnout", "work_burnout", "client_burnout"):
        np.testing.assert_allclose(b[col].to_numpy(), 100 - a[col].to_numpy(), atol=1e-9)
        s = a[col].dropna()
        assert ((s >= 0) & (s <= 100)).all()
    for pos, row in enumerate(frame.to_dict("records")):
        for col, expected in _reference_score(row, CBI).items():
            got = a[col].iloc[pos]
            assert (math.isnan(expected) and pd.isna(got)) or got == pytest.approx(expected)


@FAST
@given(answer_frames(load("pulse")))
def test_property_pulse_in_range(frame):
    out = score(frame, "pulse")
    for col in ("pulse_strain", "pulse_trauma_load", "pulse_support"):
        s = out[col].dropna()
        assert ((s >= 0) & (s <= 100)).all()


@FAST
@given(st.sampled_from(["proqol5", "cbi", "sib", "pulse"]).flatmap(
    lambda name: st.tuples(st.just(name), answer_frames(load(name), max_rows=15), st.randoms())))
def test_property_permuting_rows_permutes_output(args):
    name, frame, rnd = args
    order = list(range(len(frame)))
    rnd.shuffle(order)
    permuted = frame.iloc[order]
    a, b = score(frame, name).iloc[order], score(permuted, name)
    assert b.index.equals(permuted.index)
    pd.testing.assert_frame_equal(a, b)


@FAST
@given(answer_frames(CBI, missing=0.1))
def test_property_labels_score_like_numbers(frame):
    freq = {v: lab for lab, v in CBI.scales["frequency"].options}
    degree = {v: lab for lab, v in CBI.scales["degree"].options}
    labelled = frame.apply(lambda c: c.map(
        lambda v: v if math.isnan(v) else (degree if CBI.item(c.name).scale == "degree" else freq)[v]))
    pd.testing.assert_frame_equal(score(frame, "cbi"), score(labelled, "cbi"))


# --------------------------------------------------------------------------- long format

def _long(rows):
    return pd.DataFrame(rows, columns=["submission_id", "instrument", "item_id", "value"])


def test_score_long_matches_wide_scoring():
    wide = pd.DataFrame([[3] * 30, [1] * 30], columns=PROQOL.item_ids)
    rows = [(sid, "proqol5", item, wide.loc[k, item])
            for k, sid in enumerate([101, 102]) for item in PROQOL.item_ids if item != "proqol_2"]
    rows += [(103, "cbi", "cbi_w1", "Often"), (103, "cbi", "cbi_w2", 50), (103, "cbi", "cbi_w4", "75"),
             (103, "cbi", "cbi_w5", 100), (104, "sib", "sib_1", 3), (105, "pulse", "pulse_4", 5)]
    out = score_long(_long(rows))
    assert list(out.columns) == ["submission_id", *ALL_SCORE_COLUMNS]
    assert out["submission_id"].tolist() == [101, 102, 103, 104, 105]
    expected = score(wide.drop(columns="proqol_2"), "proqol5")
    for col in PROQOL.score_columns:
        assert out[col].tolist()[:2] == expected[col].tolist()
    assert out["work_burnout"].tolist()[2] == 75.0       # 75, 50, 75, 100
    assert out["burned_out"].tolist() == [pd.NA, pd.NA, pd.NA, True, pd.NA]
    assert out["pulse_trauma_load"].tolist()[4] == 100
    assert out.loc[0:1, "personal_burnout"].isna().all() and pd.isna(out.loc[3, "burnout"])


def test_score_long_errors_name_row_and_column():
    with pytest.raises(InputError) as err:
        score_long(_long([(1, "cbi", "cbi_p1", 50), (1, "cbi", "cbi_p2", 30)]))
    assert (err.value.row, err.value.column) == (3, "value")
    with pytest.raises(InputError) as err:
        score_long(_long([(1, "cbi", "cbi_p1", 50), (1, "cbi", "proqol_1", 3)]))
    assert (err.value.row, err.value.column) == (3, "item_id")
    with pytest.raises(InputError) as err:
        score_long(_long([(1, "cbi", "cbi_p1", 50), (1, "cbi", "cbi_p1", 25)]))
    assert (err.value.row, err.value.column) == (3, "item_id") and "twice" in str(err.value)
    with pytest.raises(InputError) as err:
        score_long(_long([(1, "mbi", "x", 1)]))
    assert err.value.column == "instrument"
    with pytest.raises(InputError):
        score_long(pd.DataFrame({"submission_id": [1]}))


def test_score_long_empty():
    out = score_long(_long([]))
    assert out.empty and list(out.columns) == ["submission_id", *ALL_SCORE_COLUMNS]


# --------------------------------------------------------------------------- CSV and CLI

def _cli(*args, process: bool = False):
    """The command as a user runs it; in this process unless ``process`` (a new Python process
    spends seconds on imports, and these tests are about what the command does)."""
    return run_cli(*args, cwd=REPO, process=process)


def test_cli_round_trip_proqol(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    mixed = {i: 2 for i in PROQOL.item_ids} | {i: 5 for i in CS_ITEMS} | {i: 4 for i in BO_REVERSED}
    frame = pd.DataFrame([{i: 3 for i in PROQOL.item_ids}, mixed,
                          {i: (None if i in STS_ITEMS[:3] else 5) for i in PROQOL.item_ids}])
    frame.insert(0, "respondent_id", ["r1", "r2", "r3"])
    frame.to_csv(src, index=False)
    done = _cli("score", "--instrument", "proqol5", "--input", str(src), "--output", str(dst), process=True)
    assert done.returncode == 0, done.stderr
    lines = dst.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ("respondent_id,compassion_satisfaction,burnout,secondary_traumatic_stress,"
                        "compassion_satisfaction_band,burnout_band,secondary_traumatic_stress_band")
    assert lines[1:] == ["r1,30,30,30,moderate,moderate,moderate",
                         "r2,50,20,20,high,low,low",
                         "r3,50,30,,high,moderate,"]


def test_cli_bad_input_exits_2_naming_row_and_column(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("respondent_id,cbi_p1,cbi_p2,cbi_p3\na,50,50,50\nb,50,30,50\n", encoding="utf-8")
    done = _cli("score", "--instrument", "cbi", "--input", str(src), "--output",
                str(tmp_path / "out.csv"))
    assert done.returncode == 2
    assert "row 3" in done.stderr and "'cbi_p2'" in done.stderr and "in.csv" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_score_csv_cbi_precision_blank_lines_semicolon_bom(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    header = "respondent_id;" + ";".join(WB) + ";cbi_p1;cbi_p2"
    lines = [header,
             "a;Often;Often;Often;Often;Often;Often;Always;;",
             "",
             "b;50;50;;75;100;;;Always;Often",
             "c;To a high degree;;;;;;;;"]
    src.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    assert score_csv("cbi", src, dst) == 3
    out = dst.read_text(encoding="utf-8").splitlines()
    assert out[0] == ("respondent_id,personal_burnout,work_burnout,client_burnout,"
                      "personal_burnout_band,work_burnout_band,client_burnout_band")
    assert out[1:] == ["a,,64.28571428571429,,,moderate,",
                       "b,,68.75,,,moderate,",
                       "c,,,,,,"]
    src.write_bytes("\n".join(lines).replace("100", "30").encode("utf-8"))
    with pytest.raises(InputError) as err:
        score_csv("cbi", src, dst)
    assert (err.value.row, err.value.column) == (4, "cbi_w5")   # the blank line still counts


def test_score_csv_sib_booleans_and_latin1(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes("respondent_id,sib_1\nJosé,3\nb,\nc,2\n".encode("latin-1"))
    assert score_csv("sib", src, dst) == 3
    assert dst.read_text(encoding="utf-8").splitlines() == [
        "respondent_id,sib_level,burned_out", "José,3,true", "b,,", "c,2,false"]


def test_score_csv_needs_respondent_id(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,sib_1\n1,3\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        score_csv("sib", src, tmp_path / "out.csv")
    assert err.value.column == "respondent_id"


@pytest.mark.parametrize("instrument, header, column, guess", [
    ("proqol5", "proqol_07", "proqol_07", "proqol_7"),
    ("proqol5", "proqol_31", "proqol_31", None),
    ("cbi", "cbi_w8", "cbi_w8", None),
])
def test_cli_lookalike_item_column_is_an_error_not_ignored(tmp_path, instrument, header, column, guess):
    # A typo'd item id must not silently prorate a subscale from the rest.
    inst = load(instrument)
    items = [i for i in inst.item_ids if i != (guess or "")]
    src = tmp_path / "in.csv"
    value = inst.answer_values[1]
    src.write_text("respondent_id," + ",".join(items + [header]) + "\n"
                   + "r1," + ",".join(str(value) for _ in items + [header]) + "\n", encoding="utf-8")
    done = _cli("score", "--instrument", instrument, "--input", str(src), "--output",
                str(tmp_path / "out.csv"))
    assert done.returncode == 2
    assert f"'{column}'" in done.stderr and "row 1" in done.stderr
    assert (f"did you mean {guess}" in done.stderr) == bool(guess)
    assert not (tmp_path / "out.csv").exists()


def test_cli_keeps_ids_as_text_accepts_header_case_and_notes_absent_items(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    items = [i for i in PROQOL.item_ids if i != "proqol_2"]          # an STS item is absent
    src.write_text("Respondent_ID," + ",".join(i.upper() for i in items) + ",team\n"
                   + "007," + ",".join("3" for _ in items) + ",A\n", encoding="utf-8")
    done = _cli("score", "--instrument", "proqol5", "--input", str(src), "--output", str(dst))
    assert done.returncode == 0, done.stderr
    assert "proqol_2" in done.stderr and "unanswered" in done.stderr
    out = pd.read_csv(dst, dtype=str)
    assert out["respondent_id"].tolist() == ["007"]
    assert out["secondary_traumatic_stress"].tolist() == ["30"]      # 9 answers of 3, prorated
    assert "team" not in out.columns


def test_cli_empty_file_and_ragged_row_exit_2_naming_row(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("", encoding="utf-8")
    done = _cli("score", "--instrument", "sib", "--input", str(src), "--output", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "empty" in done.stderr
    src.write_text("respondent_id,sib_1\na,3\nb,2,4\n", encoding="utf-8")
    done = _cli("score", "--instrument", "sib", "--input", str(src), "--output", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "row 3" in done.stderr and "3 cells" in done.stderr


def test_cli_unwritable_output_exits_2(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("respondent_id,sib_1\na,3\n", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = _cli("score", "--instrument", "sib", "--input", str(src), "--output", str(blocker / "out.csv"))
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "Traceback" not in done.stderr


def test_prorated_score_is_never_shown_rounded_across_a_band_edge():
    from burnout.checkin import _fmt, band_of

    sub = next(s for s in PROQOL.subscales if s.column == "burnout")
    assert band_of(22.5, sub) == "moderate" and _fmt(22.5) == "22.5"
    assert band_of(22.0, sub) == "low" and _fmt(22.0) == "22"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_score_one_equals_the_file_path(data):
    """A check-in is scored by score_one; an import by score_long: the same numbers."""
    from burnout.instruments import load
    from burnout.scoring import score_long, score_one

    name = data.draw(st.sampled_from(["pulse", "sib", "cbi", "proqol5"]))
    inst = load(name)
    answers = {i: data.draw(st.sampled_from(list(inst.answer_values))) for i in inst.item_ids
               if data.draw(st.booleans())}
    if not answers:
        return
    long = pd.DataFrame({"submission_id": 1, "instrument": name, "item_id": list(answers),
                         "value": list(answers.values())})
    wide = score_long(long).iloc[0]
    for col, v in score_one(name, answers).items():
        w = wide[col]
        assert (v is None and pd.isna(w)) or v == pytest.approx(float(w))
