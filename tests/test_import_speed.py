"""The import's faster paths give what the plain ones gave (benchmarks/results/import.txt
has the timings and memory): counting lines without a list of them, lines handed to the
csv module without a StringIO copy, trimming on a column's distinct texts, the wide file's
filled cells picked by category code, answers parsed by (instrument, text) numbers, and
the answers put in primary-key order before they are written."""
from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd

from burnout import ingest
from burnout.ingest import read, schemas, validate
from burnout.ingest.cells import answer_value
from burnout.ingest.schemas import item_scales
from burnout.store import frames, get_engine, writes
from burnout.store.writes import in_key_order

ALPHABET = ["a", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
            "\u2028", "\u2029", "\xa0", "é", ",", ";", '"']


def _random_texts(n: int, seed: int):
    rnd = random.Random(seed)
    for _ in range(n):
        yield "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 14)))


def test_lines_are_counted_and_leading_blank_lines_cut_as_splitlines_does():
    for text in _random_texts(6_000, 1):
        lines = text.splitlines(keepends=True)
        lead = 0
        while lead < len(lines) and not lines[lead].strip():
            lead += 1
        assert read._line_count(text) == len(lines), repr(text)
        assert read._cut_leading_blank_lines(text) == (lead, "".join(lines[lead:])), repr(text)


def test_lines_for_the_csv_module_are_the_lines_of_a_stringio():
    for text in _random_texts(3_000, 4):
        assert list(read._lines(text)) == list(io.StringIO(text)), repr(text)


def test_the_first_lines_are_the_first_of_splitlines_without_splitting_the_file():
    for n, text in enumerate(_random_texts(6_000, 3)):
        k = n % 5
        assert read._head_lines(text, k) == text.splitlines()[:k], (k, repr(text))
    assert read._head_lines("a\r\nb\rc\n\nd", 3) == ["a", "b", "c"]


def test_cells_are_trimmed_as_str_strip_trims_each_cell():
    """Trimming is done on a column's distinct texts: texts equal once trimmed
    become one, blank ones (any Unicode blank str.strip knows) become missing."""
    blanks = [" ", "\t", "\xa0", "\u3000", "\u2028", "\x0b", "\x1f", ""]
    rnd = np.random.default_rng(5)
    words = ["3", "x", "a b", ""]
    cells = [None if rnd.random() < 0.2 else
             rnd.choice(blanks) + rnd.choice(words) + rnd.choice(blanks) for _ in range(400)]
    got = read.as_text(read._strip_cells(pd.Series(cells, dtype=object)))
    want = [None if c is None or not c.strip() else c.strip() for c in cells]
    assert got.tolist() == want
    assert got.dropna().nunique() == len({w for w in want if w})

    # the same through the CSV reader (blanks a CSV can hold without looking binary)
    padded = [None if c is None else rnd.choice([" ", "\xa0", ""]) + c.strip() + rnd.choice([" ", "\xa0"])
              for c in cells]
    text = "a;b\n" + "\n".join(f"{c or ''};1" for c in padded) + "\n"
    df = read.read_table(text.encode("utf-8"), "t.csv")
    assert df["a"].tolist() == [None if c is None or not c.strip() else c.strip() for c in padded]
    assert df.index.tolist() == list(range(len(cells)))


def test_a_wide_file_gives_the_cells_pandas_melt_gives():
    scales = item_scales()
    items = [i for i in scales if scales[i][0] in ("sib", "pulse", "cbi")]
    rnd = np.random.default_rng(3)
    n = 300
    inst = rnd.choice(np.array(["sib", "pulse", "cbi", "nope", None], dtype=object), n)
    cells = np.where(rnd.random((n, len(items))) < 0.3, rnd.integers(1, 6, (n, len(items))).astype(str), None)
    df = pd.DataFrame(cells, columns=items, dtype=object)
    df.insert(0, "instrument", inst)
    df.insert(0, "_row", np.arange(n) + 2)
    text = {"instrument": object, "item_id": object, "value": object}     # categories as their texts
    got = validate._melt_answers(df, items, scales).astype(text)
    # the same from the categorical columns read_table(compact=True) gives
    compact = df.astype({c: "category" for c in items})
    assert validate._melt_answers(compact, items, scales).astype(text).equals(got)
    want = df.melt(id_vars=["_row", "instrument"], value_vars=items, var_name="item_id", value_name="value")
    want = want[want["value"].notna() & want["instrument"].notna()]
    # an item column left empty in every row of an instrument that is not its own is dropped
    # for that instrument: it has no cell to report
    key = ["_row", "item_id"]
    assert got.sort_values(key).reset_index(drop=True)[["_row", "instrument", "item_id", "value"]].equals(
        want.sort_values(key).reset_index(drop=True)[["_row", "instrument", "item_id", "value"]].astype(
            {"_row": got["_row"].dtype}))
    # row by row: one file row's cells together, as the answers table keys them
    assert got.groupby("instrument", sort=False)["_row"].apply(lambda r: r.is_monotonic_increasing).all()


def test_answers_are_parsed_as_each_cell_alone_would_be():
    scales = item_scales()
    rnd = np.random.default_rng(8)
    items = rnd.choice(np.array(list(scales)[:40] + ["nope", None], dtype=object), 500)
    texts = ["1", "2", "5", "9", "x", "Often", "often (4)", "Never", "2,5", "", None]
    values = pd.Series(rnd.choice(np.array(texts, dtype=object), 500), dtype=object)
    got = schemas.parse_answers(pd.Series(items, dtype=object), values, {"x": 3.0})
    for item, text, v in zip(items, values, got):
        if item not in scales:
            assert v != v      # NaN: the item check reports an unknown item
            continue
        _, allowed, lookup = scales[item]
        want = answer_value(str(text), allowed, {**lookup, "x": 3.0})
        assert (v == want) if not isinstance(want, float) else v == want or (v != v and want != want), \
            (item, text, v, want)


def test_answers_are_written_in_the_order_of_the_tables_key():
    a = pd.DataFrame({"seq": [2, 1, 2, 1, 10, 2], "instrument": "proqol5",
                      "item_id": ["proqol_2", "proqol_10", "proqol_10", "proqol_1", "proqol_3", "proqol_1"],
                      "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    out = in_key_order(a, "seq")
    # as the database compares text: "proqol_10" before "proqol_2"
    assert list(zip(out["seq"], out["item_id"])) == sorted(zip(a["seq"], a["item_id"]))
    assert sorted(out["value"]) == sorted(a["value"])
    assert in_key_order(a.iloc[:0], "seq").empty


def _seq_by_key_merge(rows: pd.DataFrame, subs: pd.DataFrame, ans: pd.DataFrame) -> pd.DataFrame:
    """The answers' seq as it was found: a merge on the three key columns of every answer
    (each answer's keys are its submission's row of ``subs``)."""
    a = ans.copy()
    for k in writes.KEY:
        a[k] = subs[k].to_numpy()[ans["submission"].to_numpy()]
    a["submitted_at"] = pd.to_datetime(a["submitted_at"])
    a = a.merge(rows[["seq", *writes.KEY]], on=writes.KEY, how="inner")[["seq", "instrument", "item_id", "value"]]
    return in_key_order(a, "seq")


def test_answers_find_their_new_submission_by_its_row_as_by_the_key(demo_files, tmp_path):
    """Wide and long files (a long file's answers of one submission scattered over the file),
    with part of the submissions already stored: the same new submissions and answers."""
    eng = get_engine(f"sqlite:///{tmp_path / 'seq.db'}")
    wide = pd.read_csv(demo_files["surveys"], dtype=object)
    ingest.import_files(eng, roster=demo_files["roster"])
    wide.iloc[::3].to_csv(tmp_path / "third.csv", index=False)
    ingest.import_files(eng, surveys=tmp_path / "third.csv")
    keys = ["helper_id", "submitted_at", "instrument"]
    long = (wide.melt(id_vars=keys, var_name="item_id", value_name="value").dropna(subset=["value"])
            .sample(frac=1.0, random_state=3))
    known = frames.helper_ids(eng)
    for form, df in (("wide", wide), ("long", long.reset_index(drop=True))):
        subs, ans = validate.validate_surveys(df, f"{form}.csv", known_helpers=known)
        with eng.connect() as conn:
            rows, got = writes.new_submissions(conn, subs, ans, source="import")
        assert 0 < len(rows) < len(subs), form
        # compared as text: the answers carry instrument and item id as categories
        plain = {"instrument": object, "item_id": object}
        pd.testing.assert_frame_equal(got.astype(plain), _seq_by_key_merge(rows, subs, ans).astype(plain),
                                      obj=form)
