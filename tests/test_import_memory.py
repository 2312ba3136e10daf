"""The import's compact paths (issue #12 point 4, memory at a health system's size) give
what the plain-text paths give: answers carry instrument and item id as categories, are
checked and scored by category codes, and are scored and staged a chunk of submissions
at a time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from burnout import ingest, materialise
from burnout.errors import InputError
from burnout.ingest import schemas
from burnout.scoring import score_long
from burnout.store import frames, get_engine, staging, writes


def _random_answers(n: int, seed: int) -> pd.DataFrame:
    """Long answers as a file may bring them: items of every instrument, an unknown item,
    instruments that do not match the item, texts and numbers, blanks, unreadable texts."""
    rnd = np.random.default_rng(seed)
    items = list(schemas.item_scales()) + ["zzz_9"]
    texts = ["1", "2", "3", "4", "5", "0", "25", "50", "75", "100", "Often", "Very Often (5)", "Often (5)",
             "lots", None] + [f"junk {i}" for i in range(200)]     # > 127 texts: 2-byte category codes
    return pd.DataFrame({
        "instrument": rnd.choice(np.array(["proqol5", "cbi", "sib", "pulse"], dtype=object), n),
        "item_id": rnd.choice(np.array(items, dtype=object), n),
        "value": rnd.choice(np.array(texts, dtype=object), n, p=None),
    })


def _as_categories(df: pd.DataFrame, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    # categories in an order that is not the texts' sort order, as a file's header gives them
    out = df.copy()
    for c in only or ("instrument", "item_id", "value"):
        cats = list(dict.fromkeys(out[c].dropna()))[::-1]
        out[c] = pd.Categorical(out[c], categories=cats)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_answers_read_and_checked_by_category_as_by_text(seed):
    df = _random_answers(4000, seed)
    cat = _as_categories(df)
    plain = schemas.parse_answers(df["item_id"], df["value"], {})
    coded = schemas.parse_answers(cat["item_id"], cat["value"], {})
    assert [repr(v) for v in coded] == [repr(v) for v in plain]
    # only an instrument some rows have: the others' items are named as not theirs
    few = df.assign(instrument=np.where(df.index % 3 == 0, "cbi", "pulse"))
    for frame in (df, few):
        want = schemas.AnswerSchema._same_instrument(frame).to_numpy()
        got = schemas.AnswerSchema._same_instrument(_as_categories(frame, ("instrument", "item_id"))).to_numpy()
        assert (got == want).all() and (~want).any() and want.any()


def test_every_text_readable_gives_floats_and_many_texts_keep_their_numbers():
    values = pd.Series(pd.Categorical(["3"] * 5 + [str(v) for v in range(1, 6)] * 40))
    got = schemas.parse_answers(pd.Series(["sib_1"] * len(values)), values, {})
    assert got.dtype == float and got.tolist() == [3.0] * 5 + [1.0, 2.0, 3.0, 4.0, 5.0] * 40


def test_answers_put_in_key_order_by_category_rank_as_by_text():
    rnd = np.random.default_rng(5)
    items = np.array(["proqol_2", "proqol_10", "proqol_1", "pulse_3", "cbi_p1"], dtype=object)
    a = pd.DataFrame({"seq": rnd.integers(1, 50, 500), "item_id": rnd.choice(items, 500),
                      "value": rnd.random(500)}).drop_duplicates(["seq", "item_id"])
    plain = writes.in_key_order(a, "seq")
    coded = writes.in_key_order(a.assign(item_id=pd.Categorical(a["item_id"], categories=items)), "seq")
    assert coded.astype({"item_id": object}).equals(plain)
    assert list(zip(plain["seq"], plain["item_id"])) == sorted(zip(a["seq"], a["item_id"]))


def test_scores_from_categories_equal_scores_from_text(demo_files):
    subs, ans = ingest.prepare(roster=demo_files["roster"], surveys=demo_files["surveys"])["surveys"][1:]
    assert isinstance(ans["item_id"].dtype, pd.CategoricalDtype)
    long = ans.rename(columns={"submission": "submission_id"})
    plain = long.astype({"instrument": object, "item_id": object})
    pd.testing.assert_frame_equal(score_long(long), score_long(plain))
    # an item answered twice is named at the same row either way
    twice = pd.concat([long.iloc[:40], long.iloc[[7]]], ignore_index=True)
    errors = []
    for frame in (twice, twice.astype({"instrument": object, "item_id": object})):
        with pytest.raises(InputError) as err:
            score_long(frame)
        errors.append((err.value.row, err.value.column, str(err.value)))
    assert errors[0] == errors[1] and errors[0][:2] == (42, "item_id") and "twice" in errors[0][2]


def test_scored_and_staged_in_chunks_stores_what_one_chunk_stores(demo_files, tmp_path, monkeypatch):
    # the helper weeks are not what is compared: not built (most of an import's time here)
    monkeypatch.setattr(materialise, "after_import", lambda *args, **kwargs: None)
    stored = []
    for name, chunk in (("one", 10**9), ("chunks", 333)):
        monkeypatch.setattr(staging, "SCORE_CHUNK", chunk)
        eng = get_engine(f"sqlite:///{tmp_path / name}.db")
        ingest.import_files(eng, roster=demo_files["roster"], surveys=demo_files["surveys"])
        stored.append((frames.scores(eng).sort_values(["helper_id", "submitted_at", "instrument"])
                       .reset_index(drop=True), frames.answers(eng)))
    assert len(stored[0][0]) > 3 * 333       # several chunks, the last one short
    pd.testing.assert_frame_equal(stored[0][0], stored[1][0])
    pd.testing.assert_frame_equal(stored[0][1], stored[1][1])



def test_a_files_bytes_are_let_go_once_read(demo_files, engine, monkeypatch):
    """The import hands each file's bytes to the checks and keeps none itself: the surveys
    file's bytes are gone while its cells are checked, no file's bytes while the rows are
    staged (at L these were 180 + 80 MB under the checks' peak)."""
    from burnout.ingest import core
    freed: list[str] = []

    class Tracked(bytes):     # the import's own copy of a file, telling when it is let go
        def __del__(self):
            freed.append(self.kind)

    real_bytes, real_validate, real_stage = core.source_bytes, core.validate_surveys, staging.stage_submissions

    def source_bytes(source, name):
        raw, name = real_bytes(source, name)
        out = Tracked(raw)
        out.kind = name
        return out, name
    seen = {}

    def validate(*a, **k):
        seen["checks"] = sorted(freed)
        return real_validate(*a, **k)

    def stage(*a, **k):
        seen["staging"] = sorted(freed)
        return real_stage(*a, **k)
    monkeypatch.setattr(core, "source_bytes", source_bytes)
    monkeypatch.setattr(core, "validate_surveys", validate)
    monkeypatch.setattr(staging, "stage_submissions", stage)
    monkeypatch.setattr(materialise, "after_import", lambda *args, **kwargs: None)
    ingest.import_files(engine, roster=demo_files["roster"], surveys=demo_files["surveys"],
                        caseload=demo_files["caseload"])
    names = {k: demo_files[k].name for k in ("roster", "surveys", "caseload")}
    # the caseload file is read after the surveys' checks: its bytes are still held then
    assert seen["checks"] == sorted([names["roster"], names["surveys"]])
    assert seen["staging"] == sorted(names.values())


def test_freed_memory_is_given_back_on_glibc():
    import platform
    from burnout import memory
    assert memory.give_back() is (platform.libc_ver()[0] == "glibc")
