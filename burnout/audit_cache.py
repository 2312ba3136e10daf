"""The release gate's audits, cached on exactly what each one depends on.

A column's audit (``privacy.audit_atoms``: which groups of one value column may be
shown, and the row space of the shown ones) depends only on the atoms (the people
sharing one team, role and site) that someone answered in, how many answered in each,
and how many of them the reader does not know one by one — never on the answers, and
on no one else.  So each audit is kept under that key:

- a check-in in the current week changes the counts of one atom in the current week's
  audit, the current 4-week block's and (when the helper had not answered in them yet)
  the windows' audits; every older week and block, and the roster, are read back;
- a new week moves every week's index but not its counts: the audits move with them;
- the roster audit changes only when the roster (or who the reader knows) does.

The cache is the process's, shared by every session, and bounded (least recently used
dropped first).  Nothing is approximated: a hit returns the audit a cold build would
compute from the same counts (``tests/test_plan_incremental.py`` builds a plan after a
sequence of check-ins and compares it with a cold build).  The search budget is part of
the key, so a search that ran out (and hid more, fail closed) is never served for a
larger budget, nor the reverse.  Nothing here imports streamlit.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Mapping

import numpy as np

from burnout import privacy

# A column audit holds its atoms, their sizes and three probes per atom: about 100 kB at
# 5,000 helpers.  One reader's joint plan has about 60 (3 windows, 12 weeks, 3 blocks and
# the roster, each with "n" and its measures), many of them shared.
AUDIT_CACHE_SIZE = 1024
PLAN_CACHE_SIZE = 256

_AUDITS: "OrderedDict[tuple, tuple[int, privacy.ColumnAudit]]" = OrderedDict()
_PLANS: "OrderedDict[tuple, tuple[int, privacy.Plan]]" = OrderedDict()
_SERIAL = itertools.count(1)
stats = {"audits": 0, "audit_hits": 0}


def clear() -> None:
    _AUDITS.clear()
    _PLANS.clear()


def audit_key(atoms: privacy.Atoms, every: np.ndarray, unknown: np.ndarray, min_n: int) -> tuple:
    """Everything a column's audit depends on: the atoms someone answered in (as text),
    their people and unknown people, the minimum group, the dimensions and the search's
    budget (an exhausted search hides more)."""
    on = np.flatnonzero(every)
    return (min_n, atoms.dims, privacy.SEARCH_BUDGET,
            tuple(atoms.names[i] for i in on.tolist()), every[on].astype(np.int64).tobytes(),
            unknown[on].astype(np.int64).tobytes())


def column_audit(atoms: privacy.Atoms, every: np.ndarray, unknown: np.ndarray,
                 min_n: int) -> tuple[int, privacy.ColumnAudit]:
    """``(serial, audit)``: the serial names this audit for as long as it is cached."""
    key = audit_key(atoms, every, unknown, min_n)
    hit = _AUDITS.get(key)
    stats["audits"] += 1
    if hit is not None:
        stats["audit_hits"] += 1
        _AUDITS.move_to_end(key)
        return hit
    hit = _AUDITS[key] = (next(_SERIAL), privacy.audit_atoms(atoms.keys, every, unknown, min_n, atoms.dims))
    while len(_AUDITS) > AUDIT_CACHE_SIZE:
        _AUDITS.popitem(last=False)
    return hit


def plan(atoms: privacy.Atoms, columns: Mapping[str, np.ndarray], min_n: int) -> tuple[int, privacy.Plan]:
    """``(serial, plan)`` of ``columns`` (``privacy.Atoms.columns``), every column's audit
    from the cache.  The plan itself is kept too (under its columns' audits), so the
    verdicts it has given (``Plan.allows``) are not asked again."""
    audits = [(c, *column_audit(atoms, every, unknown, min_n)) for c, every, unknown in atoms.columns(columns)]
    key = (min_n, atoms.dims, tuple((c, serial) for c, serial, _ in audits))
    hit = _PLANS.get(key)
    if hit is not None:
        _PLANS.move_to_end(key)
        return hit
    hit = _PLANS[key] = (next(_SERIAL), privacy.assemble(atoms.dims, min_n, [(c, a) for c, _, a in audits]))
    while len(_PLANS) > PLAN_CACHE_SIZE:
        _PLANS.popitem(last=False)
    return hit


def entries_of(plan: privacy.Plan, budget: int, named: dict | None = None) -> list[tuple[tuple, privacy.ColumnAudit]]:
    """The column audits ``plan`` was assembled from (``privacy.assemble``), each under the key
    :func:`column_audit` keeps it (:func:`audit_key`), for a plan whose search had ``budget``.
    A plan keeps each audit's parts whole: the atoms someone answered in with their people
    (``everyone``) and those with unknown people (``atoms``, a subset in the same order), from
    which the key's names and counts are exactly those the audit was computed from."""
    out = []
    # ``named``: each atoms array's rows as tuples, by the array's identity (the array is held
    # with them): the plans' columns share 27 arrays among 68 at 10,000 helpers
    named = {} if named is None else named
    for column, status in plan.status.items():
        everyone = plan._everyone.get(column)
        if everyone is None:          # nobody answered: no atoms
            out.append(((plan.min_n, plan.dims, budget, (), b"", b""), privacy.ColumnAudit(status)))
            continue
        every_cols, every_sizes = everyone
        cols, sizes = plan._atoms[column]
        if id(every_cols) not in named:
            # each atom's row as a tuple, made by zip: one tuple per row from lists was most of
            # seeding a fresh process (155,000 atoms at 10,000 helpers: 0.33 -> 0.04 s, shared)
            names = tuple(zip(*every_cols.T.tolist())) if len(every_cols) else ()
            named[id(every_cols)] = (every_cols, names, dict(zip(names, range(len(names)))))
        names, at = named[id(every_cols)][1:]
        unknown = np.zeros(len(names), dtype=np.int64)
        if len(cols):
            pos = np.array([at.get(n, -1) for n in zip(*cols.T.tolist())], dtype=np.int64)
            on = pos >= 0
            unknown[pos[on]] = np.asarray(sizes, dtype=np.int64)[on]
        out.append(((plan.min_n, plan.dims, budget, names, every_sizes.astype(np.int64).tobytes(), unknown.tobytes()),
                    privacy.ColumnAudit(status, plan._atoms[column], plan._probe[column], everyone)))
    return out


def seed(plans, budget: int) -> int:
    """Keep the column audits of ``plans`` (made in another process, with search ``budget``)
    as if computed here: a plan of this state, or of a state a few check-ins away, then
    computes only the audits whose counts differ.  Each plan is kept too, under its audits'
    serials (:func:`plan`), so a plan of the same audits is that very object, with the
    verdicts asked of it since (views.tables keeps a week's verdicts under its audits'
    identity).  Nothing is kept for another budget (an exhausted search hides more).
    Returns how many audits were new to the cache."""
    if budget != privacy.SEARCH_BUDGET:
        return 0
    added = 0
    named: dict = {}
    for p in plans:
        parts = []
        for column, (key, audit) in zip(p.status, entries_of(p, budget, named)):
            hit = _AUDITS.get(key)
            if hit is None:
                hit = _AUDITS[key] = (next(_SERIAL), audit)
                added += 1
            parts.append((column, hit[0]))
        _PLANS.setdefault((p.min_n, p.dims, tuple(parts)), (next(_SERIAL), p))
    while len(_AUDITS) > AUDIT_CACHE_SIZE:
        _AUDITS.popitem(last=False)
    while len(_PLANS) > PLAN_CACHE_SIZE:
        _PLANS.popitem(last=False)
    return added
