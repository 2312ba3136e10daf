"""Work done in worker processes, when data arrive at the size of a health system.

The rebuild of the helper weeks (``materialise``) and the leaving model's fit during the
import's preparing (``release_store``) are Python-bound: threads would take turns on one
core.  Their workers are *spawned* (the parent has threads and open connections that a
fork would copy) and each opens its own engine from the database URL.

A spawned worker runs the parent's main *script* again before its task: one without a
``__name__ == "__main__"`` guard would redo its work there (a rebuild would wait on its
own lock).  So workers are started only where nothing is run again (:func:`can_spawn`):
``python -m burnout``, ``python -m pytest`` and ``python -c``; the dashboard's server and
a user's script do the work in their own process.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy.engine import Engine

from burnout.store.engine import make_engine

# two cores' worth: the machines this runs on have two or more, and each worker holds a
# chunk's or the model's frames (hundreds of MiB at 10,000 helpers)
MAX_WORKERS = max(1, min(2, os.cpu_count() or 1))
# Below this many helpers on the roster, starting a worker (a second or two: Python and the
# libraries imported again) costs more than it saves.
MIN_HELPERS = 4_500

_ENGINES: dict[str, Engine] = {}


def can_spawn() -> bool:
    """Whether a spawned worker starts without running this process's main script again
    (see the module's docstring)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return spec.name == "__main__" or spec.name.endswith(".__main__")
    return getattr(main, "__file__", None) is None


def url_of(engine: Engine) -> str | None:
    """The URL a worker opens the same database with; None for a database only this
    process can see (SQLite in memory)."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    return engine.url.render_as_string(hide_password=False)


def engine_of(url: str) -> Engine:
    """A worker's engine for ``url``: one per process, not migrated (the parent did)."""
    return _ENGINES.get(url) or _ENGINES.setdefault(url, make_engine(url))


def pool(n: int) -> ProcessPoolExecutor:
    """``n`` spawned worker processes."""
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
