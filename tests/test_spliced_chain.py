"""A patched read's big frames are spliced when first read (views.data._Spliced): whatever
the chain of patches and whoever reads which link first, and from however many threads at
once, every link reads as the frames spliced one patch after the other would."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from burnout.views import data as D

HELPERS = [f"h{i:02d}" for i in range(12)]


def _rows(helpers, rng, weeks: int = 4) -> pd.DataFrame:
    """Each helper's rows together, in helper order, as the review's read holds them."""
    out = [pd.DataFrame({"helper_id": h, "week_start": pd.date_range("2026-01-05", periods=n, freq="7D"),
                         "value": rng.integers(0, 100, n).astype(float)})
           for h in helpers for n in [int(rng.integers(0, weeks + 1))]]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame({"helper_id": pd.Series(dtype=object),
                                                                      "week_start": pd.Series(dtype="M8[ns]"),
                                                                      "value": pd.Series(dtype=float)})


def _chain(seed: int, links: int, max_splices: int | None = None):
    """A base frame and ``links`` patches of one to three helpers each: every link of the
    chain, and the frames spliced eagerly after each patch."""
    rng = np.random.default_rng(seed)
    base = _rows(HELPERS, rng)
    eager, chain, held = [], [], base
    frame = base
    for _ in range(links):
        ids = frozenset(rng.choice(HELPERS, size=int(rng.integers(1, 4)), replace=False).tolist())
        new = _rows(sorted(ids), rng)
        frame = D._spliced(frame, new, set(ids), None)
        eager.append(frame)
        held = D._Spliced(held, new, ids, None)
        chain.append(held)
    return chain, eager


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), links=st.integers(1, 9), order=st.randoms(use_true_random=False))
def test_any_link_read_in_any_order_equals_splicing_patch_after_patch(seed, links, order):
    chain, eager = _chain(seed, links)
    at = list(range(links))
    order.shuffle(at)
    for i in at:
        pd.testing.assert_frame_equal(chain[i].frame(), eager[i], check_exact=True)
    for link, frame in zip(chain, eager):          # read again: the same frame, nothing spliced anew
        assert link.frame() is link.frame()
        pd.testing.assert_frame_equal(link.frame(), frame, check_exact=True)


def test_links_read_from_many_threads_at_once_equal_splicing_patch_after_patch():
    for seed in range(20):
        chain, eager = _chain(seed, 8)
        start = threading.Barrier(len(chain))
        got: dict[int, pd.DataFrame] = {}
        errors: list[BaseException] = []

        def read(i: int) -> None:
            try:
                start.wait()
                got[i] = chain[i].frame()
            except BaseException as exc:       # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=read, args=(i,)) for i in range(len(chain))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for i, frame in enumerate(eager):
            pd.testing.assert_frame_equal(got[i], frame, check_exact=True)


def test_a_link_made_on_a_read_link_starts_a_new_chain(monkeypatch):
    monkeypatch.setattr(D, "MAX_SPLICES", 4)
    chain, eager = _chain(5, 3)
    chain[1].frame()                       # someone read the second link whole
    rng = np.random.default_rng(6)
    new = _rows(["h03"], rng)
    link = D._Spliced(chain[1], new, frozenset({"h03"}), None)
    assert link.depth == 1                 # on the frame read, not on the chain before it
    pd.testing.assert_frame_equal(link.frame(), D._spliced(eager[1], new, {"h03"}, None), check_exact=True)
    # a chain as long as MAX_SPLICES is spliced as it is made: the rows it holds stay bounded
    assert chain[2].depth == 3 and chain[2]._frame is None
    held = D._Spliced(chain[2], _rows(["h07"], rng), frozenset({"h07"}), None)
    assert held.depth == 4 and held._base is None and held._frame is not None
    assert D._Spliced(held, _rows(["h07"], rng), frozenset({"h07"}), None).depth == 1


def test_a_link_pickles_as_the_frame_it_stands_for():
    import pickle

    chain, eager = _chain(9, 4)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(chain[-1])), eager[-1], check_exact=True)
