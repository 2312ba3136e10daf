"""Results prepared once when data arrive, kept in the database for every process.

Some results cover the whole organisation and cost a minute at 10,000 helpers: the
release audit every lead's page must respect (burnout/release_store.py) and the
leaving model (views.data.leaving_model_for).  Each process used to compute them on
its first page after a start or any change.  They are kept in ``prepared_results``
under a name, with the state they were made for: a key of everything they depend on
(the caller's) and this code (:func:`code_fingerprint`: an upgrade never reads what
an older release made).  A reader uses a row only when its state is the reader's
own; anything else (another state, a payload that does not read back) is None, and
the caller computes the result again: a stored result can make a page faster, never
change what it shows.

The payloads are pickles of the project's own objects, written and read only by
this code in the organisation's own database: whoever can write that database
can already change every figure.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import io
import logging
import pickle
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from burnout.domain.time import now
from burnout.store.retry import DATABASE_ERRORS
from burnout.store.schema import prepared_results

log = logging.getLogger(__name__)


@functools.cache
def code_fingerprint() -> str:
    """A hash of the package's source and instrument files and of the Python and numeric
    libraries' versions: the rules a stored result was made by."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.yaml")]):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(repr((sys.version_info[:2], np.__version__, pd.__version__)).encode())
    return h.hexdigest()


def state_of(name: str, key: str) -> str:
    """What a result ``name`` made for ``key`` by this code is stored under."""
    return hashlib.sha256(repr((name, key, code_fingerprint())).encode()).hexdigest()


def is_current(engine: Engine, name: str, key: str) -> bool:
    with engine.connect() as conn:
        state = conn.execute(select(prepared_results.c.state).where(prepared_results.c.name == name)).scalar()
    return state == state_of(name, key)


def load(engine: Engine, name: str, key: str, kind: type):
    """The stored result ``name`` when it was made for ``key`` by this code and reads back
    as a ``kind``, else None."""
    state = state_of(name, key)
    # the state alone first: a result made for another state (some megabytes) is never read
    with engine.connect() as conn:
        payload = conn.execute(select(prepared_results.c.payload).where(
            (prepared_results.c.name == name) & (prepared_results.c.state == state))).scalar()
    if payload is None:
        return None
    try:
        obj = _unpickled(payload)
    except Exception:       # a damaged row: computed again rather than failing the page
        log.warning("the stored %s could not be read; computing it again", name)
        return None
    return obj if isinstance(obj, kind) else None


def _unpickled(payload: bytes):
    """``pickle.loads(zlib.decompress(payload))``, decompressed as the unpickler reads (the
    kept review read is 176 MB of pickle at 10,000 helpers: not held beside the objects it
    makes, 164 MiB less at the peak, as fast), with the cyclic collector paused: it walked the
    objects of the kept review read again and again while they were being made, 0.7-1.2 s of
    a load that takes 0.56 s without it.  The new objects are live, not garbage; the collector
    runs again right after (unless someone else had paused it)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        stream = _Inflating(payload)
        reader = io.BufferedReader(stream, 1 << 16)
        obj = pickle.load(reader)
        # to the stream's end, where zlib checks its checksum: a damaged byte inside an array's
        # data would otherwise be read back as a wrong number, not as damage
        while reader.read(1 << 20):
            pass
        if not stream.whole:
            raise ValueError("the stored result ends before its stream does")
        return obj
    finally:
        if paused:
            gc.enable()


class _Inflating(io.RawIOBase):
    """``payload`` (a zlib stream) as a file of its decompressed bytes, a few MB at a time."""

    def __init__(self, payload: bytes) -> None:
        self._z = zlib.decompressobj()
        self._src = memoryview(payload)
        self._at = 0
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    @property
    def whole(self) -> bool:
        """Whether the stream was read to its end and its checksum matched."""
        return self._z.eof

    def readinto(self, b) -> int:
        while not len(self._out):
            if self._z.unconsumed_tail:
                data = self._z.unconsumed_tail
            elif self._at < len(self._src):
                data = self._src[self._at:self._at + (1 << 20)]
                self._at += len(data)
            else:
                return 0
            self._out = memoryview(self._z.decompress(data, 1 << 22))
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


class _Deflating:
    """A file that compresses what pickle writes to it as it comes: the stored form of
    ``zlib.compress(pickle.dumps(obj), 1)`` without the whole pickle in memory at once (the
    review read kept for the other processes pickles to a few hundred MB at L, and was
    stored while the process fitted the leaving model: its peak)."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(1)
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        view = memoryview(data)          # bytes, or a PickleBuffer of an array's data
        self._parts.append(self._z.compress(view))
        return view.nbytes

    def payload(self) -> bytes:
        self._parts.append(self._z.flush())
        return b"".join(self._parts)


class _Pickler(pickle.Pickler):
    """Pickles an array of text (object dtype, every cell a ``str``) as each distinct text once
    plus a code per cell.  Pickle writes every cell of an object array as an object of its own,
    and reading them back one by one was most of a fresh process's first lead page at 10,000
    helpers: the kept review read holds 1.9 M helper-id cells in its frames and its per-week
    rows (1.0 s to unpickle at 10,000 helpers, 0.55 s this way).  Other arrays, and text arrays with anything but
    ``str`` in them (None, NaN, numbers: told apart by type, not by value), pickle as before."""

    def reducer_override(self, obj):
        if type(obj) is not np.ndarray or obj.dtype != object or obj.size < _MIN_CODED:
            return NotImplemented
        order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
        flat = obj.ravel(order)
        # factorize compares by hash and ==, so 1 == 1.0 == True would be one text: only str
        codes, uniques = pd.factorize(flat)
        if (codes < 0).any() or not all(type(u) is str for u in uniques):
            return NotImplemented
        width = np.int32 if len(uniques) < 2 ** 31 else np.int64
        return _texts_from_codes, (list(uniques), codes.astype(width), obj.shape, order)


_MIN_CODED = 64     # below this the codes save nothing worth a factorize


def _texts_from_codes(uniques: list, codes: np.ndarray, shape: tuple, order: str) -> np.ndarray:
    """The object array :class:`_Pickler` coded: its cells are equal texts (shared objects)."""
    table = np.empty(len(uniques), dtype=object)
    table[:] = uniques
    return table.take(codes).reshape(shape, order=order)


def dumps(obj) -> bytes:
    """The stored form of ``obj``: its pickle (text arrays coded, :class:`_Pickler`), compressed as written."""
    sink = _Deflating()
    _Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return sink.payload()


def save(engine: Engine, name: str, key: str, obj) -> bool:
    """Store ``obj`` as the latest ``name``, made for ``key``.  A write that fails (a locked
    database, another process storing the same at once) only loses the storing."""
    payload = dumps(obj)
    try:
        with engine.begin() as conn:
            conn.execute(delete(prepared_results).where(prepared_results.c.name == name))
            conn.execute(prepared_results.insert().values(name=name, state=state_of(name, key),
                                                          made_at=now(), payload=payload))
    except DATABASE_ERRORS as exc:
        log.warning("%s was not stored: %s", name, exc)
        return False
    return True
