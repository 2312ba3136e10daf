"""Instrument definitions (DESIGN §4, reference/instruments.md) and wording files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # pytest puts tests/ on the path, not the repo
    sys.path.insert(0, str(REPO))

from burnout.instruments import INSTRUMENTS  # noqa: E402
from burnout.errors import InputError  # noqa: E402
from burnout.instruments import (  # noqa: E402
    all_instruments, display_text, load, load_wording_file, normalise_label, with_client_word,
)
from conftest import run_cli  # noqa: E402

PROQOL_IDS = [f"proqol_{i}" for i in range(1, 31)]
CBI_IDS = ([f"cbi_p{i}" for i in range(1, 7)] + [f"cbi_w{i}" for i in range(1, 8)]
           + [f"cbi_c{i}" for i in range(1, 7)])


def _ids(numbers, prefix="proqol_"):
    return tuple(f"{prefix}{n}" for n in numbers)


# --------------------------------------------------------------------------- definitions

def test_all_instruments_in_declared_order():
    assert [i.id for i in all_instruments()] == list(INSTRUMENTS)


def test_unknown_instrument_is_input_error():
    with pytest.raises(InputError, match="unknown instrument 'mbi'"):
        load("mbi")


@pytest.mark.parametrize("name, ids", [
    ("proqol5", PROQOL_IDS),
    ("cbi", CBI_IDS),
    ("sib", ["sib_1"]),
    ("pulse", [f"pulse_{i}" for i in range(1, 7)]),
])
def test_item_ids_exactly_as_design(name, ids):
    assert list(load(name).item_ids) == ids


def test_proqol_subscales_and_reversal_per_manual():
    inst = load("proqol5")
    subs = {s.column: s for s in inst.subscales}
    assert subs["compassion_satisfaction"].items == _ids([3, 6, 12, 16, 18, 20, 22, 24, 27, 30])
    assert subs["burnout"].items == _ids([1, 4, 8, 10, 15, 17, 19, 21, 26, 29])
    assert subs["secondary_traumatic_stress"].items == _ids([2, 5, 7, 9, 11, 13, 14, 23, 25, 28])
    assert set(inst.reversed_items) == set(_ids([1, 4, 15, 17, 29]))
    assert subs["burnout"].reverse == _ids([1, 4, 15, 17, 29])
    assert subs["compassion_satisfaction"].reverse == subs["secondary_traumatic_stress"].reverse == ()
    for s in subs.values():
        assert (s.method, s.prorate, s.min_answered, s.range) == ("sum", True, 8, (10, 50))
        assert [(b.label, b.up_to, b.below) for b in s.bands] == [
            ("low", 22, None), ("moderate", None, 42), ("high", None, None)]
    scale = inst.scales["frequency"]
    assert scale.options == (("Never", 1), ("Rarely", 2), ("Sometimes", 3), ("Often", 4),
                             ("Very Often", 5))
    assert inst.recall == "the last 30 days"


def test_cbi_scales_items_and_rules():
    inst = load("cbi")
    subs = {s.column: s for s in inst.subscales}
    assert subs["personal_burnout"].items == tuple(CBI_IDS[:6])
    assert subs["work_burnout"].items == tuple(CBI_IDS[6:13])
    assert subs["client_burnout"].items == tuple(CBI_IDS[13:])
    assert inst.reversed_items == ("cbi_w7",) and subs["work_burnout"].reverse == ("cbi_w7",)
    assert [subs[c].min_answered for c in ("personal_burnout", "work_burnout", "client_burnout")] \
        == [3, 4, 3]
    assert all(s.method == "mean" for s in subs.values())
    assert [(b.label, b.below) for b in subs["work_burnout"].bands] == [
        ("low", 50), ("moderate", 75), ("high", 100), ("severe", None)]
    assert inst.scales["frequency"].options == (
        ("Always", 100), ("Often", 75), ("Sometimes", 50), ("Seldom", 25), ("Never/almost never", 0))
    assert inst.scales["degree"].options == (
        ("To a very high degree", 100), ("To a high degree", 75), ("Somewhat", 50),
        ("To a low degree", 25), ("To a very low degree", 0))
    # Which scale each item uses: instruments.md §2 (C1, C3).
    degree = {"cbi_w1", "cbi_w2", "cbi_w3", "cbi_c1", "cbi_c2", "cbi_c3", "cbi_c4"}
    for item in inst.items:
        assert item.scale == ("degree" if item.id in degree else "frequency"), item.id
        assert item.client_word == item.id.startswith("cbi_c")


def test_sib_and_pulse_definitions():
    sib = load("sib")
    (sub,) = sib.subscales
    assert sub.column == "sib_level" and [(f.column, f.at_least) for f in sub.flags] == [
        ("burned_out", 3)]
    pulse = load("pulse")
    assert not pulse.validated and pulse.label == "screening pulse, not a validated measure"
    assert "not a validated measure" in pulse.credit
    subs = {s.column: s for s in pulse.subscales}
    assert subs["pulse_strain"].items == ("pulse_1", "pulse_2", "pulse_3")
    assert subs["pulse_strain"].reverse == ("pulse_1", "pulse_3")
    assert subs["pulse_strain"].min_answered == 2
    assert subs["pulse_support"].reverse == ()
    assert set(pulse.reversed_items) == {"pulse_1", "pulse_3", "pulse_5", "pulse_6"}
    assert all(i.text for i in pulse.items)


@pytest.mark.parametrize("name, columns", [
    ("proqol5", ("compassion_satisfaction", "burnout", "secondary_traumatic_stress",
                 "compassion_satisfaction_band", "burnout_band", "secondary_traumatic_stress_band")),
    ("cbi", ("personal_burnout", "work_burnout", "client_burnout",
             "personal_burnout_band", "work_burnout_band", "client_burnout_band")),
    ("sib", ("sib_level", "burned_out")),
    ("pulse", ("pulse_strain", "pulse_trauma_load", "pulse_support", "pulse_strain_band")),
])
def test_score_columns(name, columns):
    assert load(name).score_columns == columns


@pytest.mark.parametrize("inst", all_instruments(), ids=lambda i: i.id)
def test_every_definition_is_complete(inst):
    for field in ("title", "description", "recall", "scoring", "missing_rule", "citation", "credit"):
        assert getattr(inst, field).strip(), field
    assert inst.licence["terms"]
    keys = [i.key for i in inst.items]
    assert len(set(keys)) == len(keys)
    assert all(k.replace("_", "").isalnum() and k == k.lower() for k in keys)
    if inst.id != "pulse":
        # Licensed wording is supplied by the organisation, never shipped.
        assert not inst.wording_shipped and all(i.text is None for i in inst.items)
        assert "text:" not in (REPO / "burnout" / "instruments" / f"{inst.id}.yaml").read_text()


def test_licence_and_credit_lines():
    proqol = load("proqol5")
    assert "Center for Victims of Torture" in proqol.credit and "www.proqol.org" in proqol.credit
    terms = " ".join(proqol.licence["terms"])
    assert "not sold" in terms and "adapted from the ProQOL" in terms
    assert proqol.credit_adapted.startswith("Adapted from the ProQOL")
    cbi = load("cbi")
    for part in ("Kristensen", "2005", "Work & Stress", "19(3)", "192-207"):
        assert part in cbi.citation
    assert "Free to use" in cbi.credit
    sib = load("sib")
    for part in ("Dolan", "2015", "30(5)", "582-587"):
        assert part in sib.citation
    assert "non-proprietary" in sib.credit and "3 or more" in sib.credit


def test_normalise_label():
    assert normalise_label("  Never /  Almost\tnever ") == "never/almost never"
    assert normalise_label("VERY\u00a0OFTEN") == "very often"


def test_cbi_labels_accept_never_variants():
    lookup = load("cbi").answer_lookup
    for label in ("Never", "Almost never", "never/almost never", "Never / almost never"):
        assert lookup[normalise_label(label)] == 0


# --------------------------------------------------------------------------- display text

def test_display_text_without_wording_shows_key_and_note():
    t = display_text("proqol5", "proqol_3")
    assert t.text == "Satisfaction from helping" and not t.has_wording and t.note


def test_display_text_with_wording_and_client_word():
    wording = {"cbi_c1": "Sample text: working with clients this month?", "cbi_p1": "Client tired?"}
    t = display_text("cbi", "cbi_c1", wording, client_word="family")
    assert t == ("Sample text: working with families this month?", True, None)
    # Only the client-related items take the team's word.
    assert display_text("cbi", "cbi_p1", wording, client_word="patient").text == "Client tired?"
    assert display_text("cbi", "cbi_c1", None, client_word="student").text == \
        "Hard to work with students"


def test_display_text_pulse_has_own_wording():
    t = display_text("pulse", "pulse_2")
    assert t.has_wording and t.text.endswith(".") and t.note is None


@pytest.mark.parametrize("word, text, expected", [
    ("patient", "Clients and a client's file", "Patients and a patient's file"),
    ("family", "clients", "families"),
    ("caller", "Client", "Caller"),
    ("client", "clients", "clients"),
    (None, "clients", "clients"),
    ("student", "clientele", "clientele"),
])
def test_with_client_word(word, text, expected):
    assert with_client_word(text, word) == expected


# --------------------------------------------------------------------------- wording files

def _write_csv(path: Path, rows, header="item_id,text", bom=False) -> Path:
    lines = [header] + [f'{i},"{t}"' for i, t in rows]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _cbi_rows():
    return [(i, f"Wording of {i} – “quoted”") for i in CBI_IDS]


@pytest.mark.parametrize("bom", [False, True])
def test_wording_csv_complete(tmp_path, bom):
    items, credit = load_wording_file("cbi", _write_csv(tmp_path / "w.csv", _cbi_rows(), bom=bom))
    assert list(items) == CBI_IDS
    assert items["cbi_p1"] == "Wording of cbi_p1 – “quoted”"
    assert credit == load("cbi").credit


def test_wording_csv_semicolon_and_extra_columns(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("Item_ID;text;note\n" + "".join(f"{i};Text {i};x\n" for i in CBI_IDS),
                    encoding="utf-8")
    items, _ = load_wording_file("cbi", path)
    assert items["cbi_w7"] == "Text cbi_w7"


def test_wording_missing_item_named(tmp_path):
    rows = [r for r in _cbi_rows() if r[0] != "cbi_w3"]
    with pytest.raises(InputError, match="cbi_w3") as err:
        load_wording_file("cbi", _write_csv(tmp_path / "w.csv", rows))
    assert err.value.file.endswith("w.csv")


def test_wording_unknown_item_names_row(tmp_path):
    rows = _cbi_rows()
    rows.insert(4, ("cbi_p7", "extra"))
    with pytest.raises(InputError, match="cbi_p7") as err:
        load_wording_file("cbi", _write_csv(tmp_path / "w.csv", rows))
    assert (err.value.row, err.value.column) == (6, "item_id")
    assert "row 6" in str(err.value) and "w.csv" in str(err.value)


def test_wording_empty_text_and_duplicates(tmp_path):
    rows = _cbi_rows()
    rows[2] = ("cbi_p3", "   ")
    with pytest.raises(InputError) as err:
        load_wording_file("cbi", _write_csv(tmp_path / "w.csv", rows))
    assert (err.value.row, err.value.column) == (4, "text")
    rows = _cbi_rows() + [("cbi_p1", "again")]
    with pytest.raises(InputError, match="twice") as err:
        load_wording_file("cbi", _write_csv(tmp_path / "w.csv", rows))
    assert err.value.row == 21


def test_wording_missing_column(tmp_path):
    with pytest.raises(InputError) as err:
        load_wording_file("sib", _write_csv(tmp_path / "w.csv", [("sib_1", "x")], header="id,text"))
    assert err.value.column == "item_id"


def test_wording_not_utf8(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("item_id,text\nsib_1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_wording_file("sib", path)


def test_wording_yaml(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("".join(f'{i}: "Official text {i}"\n' for i in PROQOL_IDS), encoding="utf-8")
    items, credit = load_wording_file("proqol5", path)
    assert len(items) == 30 and "Center for Victims of Torture" in credit
    path.write_text("".join(f'{i}: "Official text {i}"\n' for i in PROQOL_IDS[:-1])
                    + 'proqol_31: "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="proqol_31") as err:
        load_wording_file("proqol5", path)
    assert err.value.row == 30
    path.write_text("".join(f'{i}: "Official text {i}"\n' for i in PROQOL_IDS[:-1]), encoding="utf-8")
    with pytest.raises(InputError, match="proqol_30"):
        load_wording_file("proqol5", path)


def test_core_never_imports_streamlit():
    code = ("import sys, burnout.scoring, burnout.instruments; "
            "sys.exit('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_wording_cli_stores_wording_prints_credit_and_rejects_gaps(tmp_path):
    from sqlalchemy import create_engine, text

    from burnout.store import get_engine

    url = f"sqlite:///{tmp_path / 'w.db'}"
    get_engine(url)          # an existing, migrated database, as after first start

    def cli(path):
        # the command in this process (a new Python process spends seconds on imports)
        return run_cli("wording", "--instrument", "proqol5", "--file", str(path), cwd=REPO,
                       env={"BURNOUT_DATABASE_URL": url})

    path = tmp_path / "w.yaml"
    path.write_text("".join(f'{i}: "Official text {i}"\n' for i in PROQOL_IDS[:-1]), encoding="utf-8")
    done = cli(path)
    assert done.returncode == 2 and "proqol_30" in done.stderr and "w.yaml" in done.stderr
    with create_engine(url).connect() as conn:
        assert conn.execute(text("select count(*) from instrument_wording")).scalar_one() == 0
    path.write_text("".join(f'{i}: "Official text {i}"\n' for i in PROQOL_IDS), encoding="utf-8")
    done = cli(path)
    assert done.returncode == 0, done.stderr
    assert "Center for Victims of Torture" in done.stdout and "proqol.org" in done.stdout.lower()
    with create_engine(url).connect() as conn:
        stored = dict(conn.execute(text("select item_id, text from instrument_wording "
                                        "where instrument = 'proqol5'")).all())
    assert len(stored) == 30 and stored["proqol_17"] == "Official text proqol_17"
