"""Giving freed memory back to the system between the stages of a large job.

pandas and numpy free their scratch arrays, but glibc's allocator keeps much of the
freed heap mapped (a Python process's RSS only grows), so each stage of an import
peaked on top of the garbage of the stages before it: at M, 321 MiB after reading
and checking the surveys file, 231 MiB once the freed pages were returned.
"""
from __future__ import annotations

import ctypes
import ctypes.util

_trim = None
try:      # glibc only; elsewhere (musl, macOS, Windows) give_back does nothing
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
    _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
except (OSError, AttributeError, TypeError):
    _trim = None


def give_back() -> bool:
    """Return the allocator's free pages to the system; True when it could (glibc).
    Costs a scan of the heap (~0.1 s after a large stage), so call it between stages."""
    if _trim is None:
        return False
    _trim(0)
    return True
