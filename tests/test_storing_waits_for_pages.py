"""Storing a result for the other processes waits while this process builds a page
(ui/common._store_soon): the page someone clicked is not slowed by pickling beside it, and
nothing that waits for the storing from inside a page waits for ever."""
from __future__ import annotations

import contextlib
import threading
import time

import pytest

from burnout.ui import common


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    yield url
    common._wait_warm(url)
    with common._HELD_LOCK:
        common._STORING.pop(url, None)


def _recording(done: list):
    return lambda eng: done.append(time.monotonic())


@contextlib.contextmanager
def _long_page():
    """A page being built on another thread meanwhile, for longer than the test (a cold HR review)."""
    release = threading.Event()

    def page() -> None:
        with common._building():
            release.wait(10)
    builder = threading.Thread(target=page)
    builder.start()
    try:
        time.sleep(0.05)
        yield
    finally:
        release.set()
        builder.join()


def _until(done, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_store_due_while_a_page_is_built_starts_after_the_page(url):
    done: list[float] = []
    with common._building():
        common._store_soon(url, "a result", _recording(done))
        time.sleep(0.4)
        assert done == []           # pickling now would compete with the page
        built = time.monotonic()
    common._wait_warm(url)
    assert len(done) == 1 and done[0] >= built


def test_a_store_due_with_no_page_being_built_starts_at_once(url):
    done: list[float] = []
    due = time.monotonic()
    common._store_soon(url, "a result", _recording(done))
    _until(lambda: done)
    assert done and done[0] - due < 1.0


def test_a_page_that_waits_for_the_storing_is_not_left_waiting(url):
    done: list[float] = []
    with common._building():
        common._store_soon(url, "a result", _recording(done))
        started = time.monotonic()
        common._wait_warm(url)      # what org_audit does before auditing itself
        waited = time.monotonic() - started
    assert len(done) == 1
    assert waited < 2.0 < common.STORE_WAIT_SECONDS


def test_nested_builds_hold_the_store_until_the_outer_one_ends(url):
    done: list[float] = []
    with common._building():            # the team page ...
        with common._building():        # ... and the audit it asks for
            common._store_soon(url, "the audit", _recording(done))
        time.sleep(0.3)
        assert done == []
    common._wait_warm(url)
    assert len(done) == 1


def test_a_store_waits_at_most_store_wait_seconds(url, monkeypatch):
    monkeypatch.setattr(common, "STORE_WAIT_SECONDS", 0.3)
    done: list[float] = []
    with _long_page():
        due = time.monotonic()
        common._store_soon(url, "a result", _recording(done))
        _until(lambda: done)
        assert done and 0.25 <= done[0] - due < 2.0


def test_a_failed_build_still_lets_the_store_go(url):
    done: list[float] = []
    with pytest.raises(RuntimeError):
        with common._building():
            common._store_soon(url, "a result", _recording(done))
            raise RuntimeError("the page failed")
    common._wait_warm(url)
    assert len(done) == 1
    assert common._PAGES_BUILDING[0] == 0


def test_stores_queued_behind_one_another_wait_once_in_all(url, monkeypatch):
    """Check-ins keep coming while pages keep being built (a Monday morning): each store waits
    at most STORE_WAIT_SECONDS from when it was asked for, not that long after the one before
    it, so the stores queued (each holding what it stores) do not pile up."""
    monkeypatch.setattr(common, "STORE_WAIT_SECONDS", 0.5)
    done: list[float] = []
    with _long_page():
        due = time.monotonic()
        for _ in range(4):
            common._store_soon(url, "an audit", _recording(done))
        _until(lambda: len(done) == 4)
        assert len(done) == 4
        assert done[-1] - due < 1.5         # 2.0 s and more when each waited after the one before
        assert done == sorted(done)         # still one after the other
