"""The organisation's frames every view reads, loaded once per change of data.

:class:`OrgData` holds the roster, caseload, scores, the weekly risk history
and latest risk, the week the data run up to, the settings in force and the
leaving model (fitted Cox model or the documented defaults, with the risk ->
burnout link).  :func:`people_frame` turns it into one row per active helper
with the recent values every roll-up counts.
"""
from __future__ import annotations

import bisect
import collections
import dataclasses
import hashlib
import threading
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from burnout import disclosure, leaving, materialise, privacy, risk
from burnout.domain import measures
from burnout.domain.settings import Settings
from burnout.domain.time import now
from burnout.store import frames, helper_weeks, prepared
from burnout.store import settings as saved_settings
from burnout.store.schema import deleted_scope

# Measures the HR roll-ups and the people frame average per person (labels: the registry's).
ROLLUP_MEASURES = measures.labels(("burned_out", "pulse_strain", "work_burnout", "secondary_traumatic_stress",
                                   "risk_score", "caseload_ratio"))
# The risk bands, in order, and the share-of-people column of each.
BANDS = tuple(b.label for b in measures.RISK_BANDS)
BAND_COLUMNS = tuple(f"band_{b}" for b in BANDS)
# Columns shown as percentages in display tables.
PERCENT = (*measures.percent_measures(), *BAND_COLUMNS)
# The answers windows the HR review offers (weeks); the release gate audits them together.
WINDOWS = disclosure.WINDOWS
# Measures a lead or HR reviewer can follow week by week, with their titles.
TREND_MEASURES = {m: measures.title(m) for m in ("pulse_strain", "risk_score", "burned_out", "work_burnout")}
# Of those, the ones HR follows in 4-week blocks aligned with the windows, not week by week:
# the CBI is asked every 4 weeks, so one week holds a quarter of a team's answers and its
# weekly cells (and, with them, its recent figures) would be hidden for nearly every team.
BLOCK_MEASURES = frozenset({"work_burnout"})
SELF_REPORT_COMPONENTS = tuple(f"c_{n}" for n in risk.SELF_REPORT)


@dataclasses.dataclass(frozen=True)
class OrgData:
    """Frames every view needs (see ``docs/ARCHITECTURE.md`` for their columns)."""

    roster: pd.DataFrame
    caseload: pd.DataFrame
    scores: pd.DataFrame
    history: pd.DataFrame
    latest: pd.DataFrame
    as_of: pd.Timestamp | None
    settings: Settings
    # None for one team's data (a lead's pages): the leaving model is the organisation's.
    leaving_model: leaving.LeavingModel | None
    # The review's read (load_review_data): scores hold every submission of this many weeks up
    # to as_of and each helper's weekly means before; None: every submission.
    answers_weeks: int | None = None
    # The review's read (load_review_data): the database, its helper weeks' state, the week
    # and every change counter it was read at, so a later read patches only what changed.
    read_at: tuple | None = None
    # A patched read (see load_review_data): the ``read_at`` of the read it patched, the
    # helpers whose rows it read again and those rows (``scores`` and ``history`` frames by
    # name, in this read's dtypes); every other helper's rows are that read's.
    patched: tuple | None = None

    @property
    def burnout_link(self) -> dict:
        return (self.leaving_model.link if self.leaving_model is not None else None) or {}

    @property
    def min_n(self) -> int:
        """The minimum group size in force (the Settings object already clamps it)."""
        return self.settings.min_group_size

    def with_settings(self, settings: Settings) -> "OrgData":
        """The same frames under other settings (a review's session-only assumptions)."""
        return dataclasses.replace(self, settings=settings)

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if type(value) is _Spliced:        # a patched read's scores or history, spliced when first read
            return value.frame()
        return value


MAX_SPLICES = 64


class _Spliced:
    """A patched read's ``scores`` or ``history`` (each a million rows or more at L), spliced
    when first read: a lead's page and the audit after a check-in read only the patch's own
    rows (``OrgData.patched``), and splicing every check-in's rows into the whole frames at
    once cost 0.2-0.5 s of each such update, most of it page faults of the copy.  Check-ins
    in a row make a chain of these, spliced into the frame they started from in one go when
    someone reads it (the latest read of each helper wins): one copy, whatever the chain."""

    __slots__ = ("_base", "_new", "_ids", "_key", "_frame", "_lock", "like", "depth")

    def __init__(self, base, new: pd.DataFrame, ids: frozenset, key) -> None:
        if type(base) is _Spliced:
            with base._lock:
                base = base if base._frame is None else base._frame
        chained = type(base) is _Spliced
        # the first link's order of helpers is the frame's (a patch keeps every helper's place)
        self._base, self._new, self._ids = base, new, ids
        self._key = base._key if chained else key
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()
        # no rows, the frame's columns and dtypes: what a later patch types its rows as
        self.like: pd.DataFrame = base.like if chained else base.iloc[:0]
        self.depth = base.depth + 1 if chained else 1
        if self.depth >= MAX_SPLICES:       # the rows a chain holds stay a few MB
            self.frame()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            if self._frame is None:
                layers = [(self._new, self._ids)]
                base = self._base
                while type(base) is _Spliced:      # another thread may splice it meanwhile
                    with base._lock:
                        if base._frame is not None:
                            base = base._frame
                            break
                        layers.append((base._new, base._ids))
                        base = base._base
                ids: set = set()
                parts = []
                for new, own in layers:             # the latest first: its rows win
                    if ids:
                        new = new[~new["helper_id"].isin(ids).to_numpy()]
                    parts.append(new)
                    ids |= own
                new = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
                self._frame = _spliced(base, new, ids, self._key)     # the chain's first key
                self._base = self._new = None      # the chain's frames are let go
            return self._frame

    def __reduce__(self):           # pickled (a copy of the read) as the frame it stands for
        return (_as_is, (self.frame(),))


def _as_is(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _unspliced(data: OrgData, name: str):
    """``data``'s ``name`` frame as held: a :class:`_Spliced` not spliced yet stays one."""
    value = object.__getattribute__(data, name)
    return value if type(value) is not _Spliced or value._frame is None else value._frame


def _like(value) -> pd.DataFrame:
    return value.like if type(value) is _Spliced else value.iloc[:0]


def merged_settings(engine: Engine, override: Mapping | None = None) -> Settings:
    """Saved settings with ``override`` on top (nested maps merged key by key; InputError when invalid)."""
    return saved_settings.load(engine).merged(override)


def default_as_of(scores: pd.DataFrame, caseload: pd.DataFrame, settings: Settings,
                  today=None) -> pd.Timestamp | None:
    """The week the figures run up to when nobody names one: the latest week with
    plausible data (``materialise.data_horizon``), and never later than the
    calendar's current week."""
    return capped_as_of(materialise.data_horizon(scores, caseload, settings, today), today)


def capped_as_of(horizon, today=None) -> pd.Timestamp | None:
    """The data's horizon, never later than the calendar's current week."""
    if horizon is None:
        return None
    day = pd.Timestamp(today if today is not None else now()).normalize()
    return min(pd.Timestamp(horizon), day - pd.Timedelta(days=day.weekday()))


def _monday(day) -> pd.Timestamp:
    day = pd.Timestamp(day).normalize()
    return day - pd.Timedelta(days=day.weekday())


def computed_risk(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame, as_of,
                  settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The risk history (without driver texts) and latest risk computed from the frames:
    what the helper-week table holds, for settings or weeks it was not built for."""
    history = risk.compute_risk(roster, caseload, scores, as_of=as_of, drivers=False, settings=settings)
    latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, settings=settings)
    return history, latest


def load_data(engine: Engine, as_of=None, settings: Settings | None = None, team: str | None = None,
              with_model: bool = True) -> OrgData:
    """Roster, caseload, scores, risk history and latest risk up to ``as_of``
    (default: :func:`default_as_of` of the organisation), and the leaving model.

    The risk comes from the materialised helper weeks (``burnout.materialise``),
    which hold exactly what ``risk.compute_risk`` gives; it is computed from the
    frames only for settings other than the saved ones (a review's session-only
    assumptions) or a week after the data.  ``team``: only that team's helpers
    (a lead's pages), without the organisation's leaving model; ``with_model=False``: without
    it either (the dashboard caches it on its own, ui/common.leaving_model)."""
    saved = saved_settings.load(engine)
    settings = settings or saved
    horizon = helper_weeks.horizon_of(materialise.ensure(engine))
    if as_of is None:
        as_of = capped_as_of(horizon)
    if team is not None:
        roster = frames.roster(engine, settings, team_ids=[team])
        ids = list(roster["helper_id"])
        caseload, scores = frames.caseload(engine, helper_ids=ids), frames.scores(engine, helper_ids=ids)
    else:
        roster, ids = frames.roster(engine, settings), None
        caseload, scores = frames.caseload(engine), frames.scores(engine)
    as_of_week = _monday(as_of) if as_of is not None else None
    stored = (settings == saved and as_of_week is not None and horizon is not None
              and as_of_week <= _monday(horizon))
    if stored:
        history = helper_weeks.read(engine, ids, up_to=as_of_week, drivers=False)
        if pd.Timestamp(as_of) == horizon:
            latest = helper_weeks.read(engine, ids, latest=True)
        else:      # a week before the data's last (named, or the calendar's): latest_risk's own grid
            latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, settings=settings)
    else:
        history, latest = computed_risk(roster, caseload, scores, as_of, settings)
    if as_of_week is not None:
        scores = scores[scores["week_start"] <= as_of_week]
        caseload = caseload[caseload["week_start"] <= as_of_week]
    # The same rule as the ``risk`` command: fitted Cox model or documented defaults, and
    # the risk -> burnout link (leaving.leaving_model never raises; it records why).
    model = None if team is not None or not with_model else \
        leaving.leaving_model(roster, history, scores, as_of=as_of_week, settings=settings)
    return OrgData(roster=roster, caseload=caseload, scores=scores, history=history, latest=latest,
                   as_of=as_of_week, settings=settings, leaving_model=model)


# The longest answers window the HR review offers (ui/org_review.py): the review's read keeps
# every submission of these weeks (the windows' means count submissions, not weeks).
REVIEW_WEEKS = 12
# The score columns the HR review and the organisation audit show: the roll-ups' and the weekly measures'.
REVIEW_SCORES = tuple(dict.fromkeys(c for c in (*ROLLUP_MEASURES, *TREND_MEASURES) if c in frames.SCORE_COLUMNS))


def load_review_data(engine: Engine, with_model: bool = True, since: OrgData | None = None) -> OrgData:
    """The organisation's frames as the HR review and the leads' organisation audit read
    them: only what they show, and what the release gate needs.

    Scores (:data:`REVIEW_SCORES` only, read by ``frames.scores_by_week``): every submission
    of the last :data:`REVIEW_WEEKS` weeks (the answers windows), and before them each
    helper's weekly means (the weekly tables, participation); the weekly risk only where it
    rests on the helper's own answers (``series_for``); the latest risk; no caseload (no
    review figure reads it).  Every figure built from them equals the one built from
    :func:`load_data`.  Falls back to :func:`load_data` where the stored helper weeks do not
    hold the figures (no data, the calendar's week before the data's last) or some
    submissions have no stored week.  ``with_model``: with the leaving model
    (:func:`leaving_model_for`, which reads what it needs itself).

    ``since``: an earlier result of this read (its ``counters``); None: the whole read kept in
    the database (:func:`store_read`) when there is one for this week, settings and helper
    weeks.  When only teams' counters moved since (check-ins, consent choices, a small
    import: ``materialise.refresh`` bumps the teams of the helpers it recomputed), only those
    teams' helpers are read again and put in place of their rows: the frames equal a fresh
    read's exactly (tests/test_review_patch.py, tests/test_review_read_store.py).  Anything
    else (a rebuild, a new week, changed settings, a roster change adding or moving people
    out of the changed teams, a change no team counter names) reads everything."""
    stored = _stored_week(engine)
    if stored is None:
        return load_data(engine, with_model=with_model)
    counters, state, week = stored
    settings = saved_settings.load(engine)
    read_at = (str(engine.url), state.get("horizon"), state.get("first"), state.get("settings"),
               week.isoformat(), tuple(sorted(counters.items())))
    if since is None:
        since = stored_read(engine, read_at)
    data = _patched(engine, since, read_at, settings) if since is not None else None
    if data is None:
        own = [c for c in SELF_REPORT_COMPONENTS if c in helper_weeks.COLUMNS]
        data = OrgData(roster=frames.roster(engine, settings),
                       caseload=pd.DataFrame(columns=frames.CASELOAD_COLUMNS),
                       scores=frames.scores_by_week(engine, REVIEW_SCORES, week,
                                                    week - pd.Timedelta(weeks=REVIEW_WEEKS - 1)),
                       history=helper_weeks.risk_series(engine, week, own),
                       latest=helper_weeks.read(engine, None, latest=True), as_of=week,
                       settings=settings, leaving_model=None, answers_weeks=REVIEW_WEEKS, read_at=read_at)
    return dataclasses.replace(data, leaving_model=leaving_model_for(engine, data)) if with_model else data


# The review's last whole read, kept in the database (store/prepared.py) for every process: a
# process's first read starts from it and reads again only the teams whose counters moved
# since, instead of the whole organisation (about 11 s at 10,000 helpers, 0.5 s from the
# kept read).  Kept by the import and ``rebuild`` (release_store.prepare) and by a page
# process after a whole read of its own (ui/common._org_frames): a read patched from it
# stores nothing, so each change costs no more than it did.
STORED_READ = "review_read"


def _read_key(read_at: tuple) -> str:
    """What a kept read must share with a read for it to be patched (:func:`_patched`): the
    helper weeks' state, the settings and the week; the counters may differ.  Not the
    database's URL: the read is kept in the database it describes (and in a copy of it, with
    the counters it is compared with), whatever URL a process reaches it by."""
    return repr(read_at[1:-1])


def stored_read(engine: Engine, read_at: tuple) -> OrgData | None:
    """The whole read kept by :func:`store_read` that a read at ``read_at`` can patch, else None.
    What was worked out from it and kept with it goes where this process keeps what it works
    out between reads (:func:`kept_between_reads`), so a read patched from it patches those too."""
    got = prepared.load(engine, STORED_READ, _read_key(read_at), tuple)
    if got is None or len(got) != 2 or not isinstance(got[0], OrgData) or not isinstance(got[1], dict):
        return None
    data = dataclasses.replace(got[0], read_at=(read_at[0], *got[0].read_at[1:]))
    with _KEPT_LOCK:
        for name, out in got[1].items():
            _KEPT[(read_at[0], *name)] = (data.read_at, out)
    return data


def _kept_of(data: OrgData) -> dict:
    """What this process has worked out from ``data`` and keeps (:func:`kept_between_reads`), by name."""
    with _KEPT_LOCK:
        return {slot[1:]: out for slot, (at, out) in _KEPT.items() if at == data.read_at}


def kept_from(data: OrgData) -> frozenset:
    """The names of what this process has worked out from ``data`` and keeps."""
    return frozenset(_kept_of(data))


def store_read(engine: Engine, data: OrgData) -> bool:
    """Keep ``data`` for the other processes when it is a whole review read (not patched from
    another, which is kept already), with what this process has worked out from it so far
    (:func:`kept_between_reads`: the week rows, the people frame); True when stored."""
    if data.read_at is None or data.patched is not None:
        return False
    kept = _kept_of(data)
    return prepared.save(engine, STORED_READ, _read_key(data.read_at),
                         (dataclasses.replace(data, leaving_model=None), kept))


def _stored_week(engine: Engine) -> tuple[dict, dict, pd.Timestamp] | None:
    """The counters, the state and the week of the stored helper weeks when they hold the
    default week's figures (see :func:`load_review_data`), else None."""
    materialise.ensure(engine)
    # the counters before the state and the frames: a change landing in between is read
    # again next time, never missed
    counters = helper_weeks.all_versions(engine)
    state = helper_weeks.state(engine)
    horizon = helper_weeks.horizon_of(state)
    as_of = capped_as_of(horizon)
    if horizon is None or as_of != horizon or frames.unweeked_submissions(engine):
        return None
    return counters, state, _monday(as_of)


def load_latest(engine: Engine) -> OrgData | None:
    """The roster, every helper's latest stored risk and the leaving model
    (:func:`leaving_model_for`) of the default week, as :func:`load_review_data` reads them,
    without the weekly frames (``scores``, ``history`` and ``caseload`` are empty): what one
    row per helper needs (the ``risk`` command).  None where the stored helper weeks do not
    hold the figures (:func:`load_review_data`'s fallback)."""
    stored = _stored_week(engine)
    if stored is None:
        return None
    settings = saved_settings.load(engine)
    empty = pd.DataFrame(columns=["helper_id", "week_start"])
    data = OrgData(roster=frames.roster(engine, settings), caseload=pd.DataFrame(columns=frames.CASELOAD_COLUMNS),
                   scores=empty, history=empty.copy(), latest=helper_weeks.read(engine, None, latest=True),
                   as_of=stored[2], settings=settings, leaving_model=None)
    return dataclasses.replace(data, leaving_model=leaving_model_for(engine, data))


# Counters whose move a patch accounts for: a team's (its helpers are read again), ``org``
# (bumped with every team's), ``past`` (the leaving model's own key) and deletions of
# caseload weeks (the review reads no caseload).  Any other (``all``, ``horizon``, deleted
# submissions) means a change no team names: everything is read again.
def _patchable(scope: str) -> bool:
    return scope.startswith("team:") or scope in ("org", helper_weeks.PAST, deleted_scope("caseload_weeks"))


def _patched(engine: Engine, held: OrgData, read_at: tuple, settings: Settings) -> OrgData | None:
    """``held`` with the rows of the teams whose counters moved since it was read replaced by
    theirs now; None when only a full read gives the frames (see :func:`load_review_data`)."""
    if held.read_at is None or held.read_at[:-1] != read_at[:-1] or held.settings != settings:
        return None
    then, now_ = dict(held.read_at[-1]), dict(read_at[-1])
    moved = {s for s in then.keys() | now_.keys() if then.get(s, 0) != now_.get(s, 0)}
    held_scores, held_history = _unspliced(held, "scores"), _unspliced(held, "history")
    if not moved:
        return dataclasses.replace(held, leaving_model=None, read_at=read_at, scores=held_scores,
                                   history=held_history,
                                   patched=(held.read_at, frozenset(), {"scores": _like(held_scores),
                                                                        "history": _like(held_history)}))
    teams = sorted(s[len("team:"):] for s in moved if s.startswith("team:"))
    if not teams or not all(_patchable(s) for s in moved):
        return None
    old_roster = held.roster
    roster = frames.roster(engine, settings, team_ids=teams)
    ids = set(roster["helper_id"])
    if len(ids) > helper_weeks.MAX_IDS or ids != set(old_roster.loc[old_roster["team"].isin(teams), "helper_id"]):
        return None      # people joined or left these teams: their order and medians are the full read's
    week = held.as_of
    own = [c for c in SELF_REPORT_COMPONENTS if c in helper_weeks.COLUMNS]
    scores = frames.scores_by_week(engine, REVIEW_SCORES, week, week - pd.Timedelta(weeks=REVIEW_WEEKS - 1),
                                   helper_ids=ids)
    history = helper_weeks.risk_series(engine, week, own, helper_ids=ids)
    latest = helper_weeks.read(engine, ids, latest=True)
    # the roster and the weekly risk come in the database's order of helper ids (its collation:
    # the roster's), the scores and latest rows in pandas' order of them
    order = dict(zip(old_roster["helper_id"].to_numpy(), range(len(old_roster))))
    rank = order.__getitem__
    same = None
    history, scores = (_typed_as(_like(held_history), history), _typed_as(_like(held_scores), scores))
    ids = frozenset(ids)
    return dataclasses.replace(
        held, leaving_model=None, read_at=read_at,
        patched=(held.read_at, ids, {"scores": scores, "history": history}),
        roster=_spliced(old_roster, roster, ids, rank), history=_Spliced(held_history, history, ids, rank),
        scores=_Spliced(held_scores, scores, ids, same), latest=_spliced(held.latest, latest, ids, same))


def _typed_as(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return new[list(old.columns)].astype(old.dtypes.to_dict())


def _spliced(old: pd.DataFrame, new: pd.DataFrame, ids: set, key) -> pd.DataFrame:
    """``old`` (each helper's rows together, helpers in the order of ``key``: a helper id's
    sort key, None for the id itself) with the rows of ``ids`` replaced by ``new`` (their
    rows now, each helper's in the order read), in ``old``'s dtypes: the runs of rows kept
    are copied once, never sorted again, and each changed helper's rows go where their old
    rows were (or where their key falls), found by bisection (a handful of rows looked at
    per helper, not every row's helper compared with the next)."""
    new = _typed_as(old, new)
    new_keys = [h if key is None else key(h) for h in new["helper_id"].to_numpy()]
    sort = sorted(range(len(new)), key=new_keys.__getitem__)
    new, new_keys = new.iloc[sort], [new_keys[i] for i in sort]
    helper = old["helper_id"].to_numpy()
    pieces, done = [], 0
    for h in sorted(ids, key=key):
        k = h if key is None else key(h)
        lo = bisect.bisect_left(helper, k, done, key=key)
        hi = bisect.bisect_right(helper, k, lo, key=key)
        a, b = bisect.bisect_left(new_keys, k), bisect.bisect_right(new_keys, k)
        pieces += [old.iloc[done:lo], new.iloc[a:b]]
        done = max(done, hi)
    pieces.append(old.iloc[done:])
    pieces = [p for p in pieces if len(p)]
    return pd.concat(pieces, ignore_index=True) if pieces else old.iloc[:0].reset_index(drop=True)


# Fitted leaving models, shared by every session of the process and bounded: an entry is a
# few fitted objects, and one organisation needs one per completed week.
# the name the fitted model is kept under for every process (store/prepared.py)
LEAVING_MODEL = "leaving_model"
_FITS: "collections.OrderedDict[tuple, leaving.LeavingModel]" = collections.OrderedDict()
_FITS_MAX = 4
_FITS_LOCK = threading.Lock()


def leaving_fit_key(engine: Engine, data: OrgData) -> tuple:
    """Everything the leaving model is fitted on, as a key: the weeks up to
    ``leaving.training_end`` (the stored rows of completed weeks: the ``past`` counter,
    bumped whenever one changes), the roster (leavers, dates, kinds of team), the
    settings.  A check-in is dated in the current week and changes none of them."""
    end = leaving.training_end(None, data.as_of)
    roster = data.roster[[c for c in frames.ROSTER_COLUMNS if c in data.roster]]
    digest = hashlib.sha1(pd.util.hash_pandas_object(roster, index=False).to_numpy().tobytes())
    digest.update(repr(data.settings).encode())
    return (str(engine.url), None if end is None else end.isoformat(),
            helper_weeks.versions(engine, [helper_weeks.PAST]), digest.hexdigest())


def leaving_model_for(engine: Engine, data: OrgData) -> leaving.LeavingModel:
    """The organisation's leaving model (``leaving.leaving_model``) at ``data.as_of`` under the
    saved settings, from what it reads: the risk history and the single-item ratings up to
    its training end.  Fitted once per :func:`leaving_fit_key` and reused until a completed
    week, the roster or the settings change (``leaving.training_end`` says why); the
    predictions for each helper still come from their latest risk."""
    key = leaving_fit_key(engine, data)
    with _FITS_LOCK:
        if key in _FITS:
            _FITS.move_to_end(key)
            return _FITS[key]
    # another process may have fitted it already: read, not refit (the import does not fit it)
    stored_key = repr(key[1:])
    model = prepared.load(engine, LEAVING_MODEL, stored_key, leaving.LeavingModel)
    if model is None:
        end = leaving.training_end(None, data.as_of)
        history = helper_weeks.read(engine, None, up_to=end, only=leaving.HISTORY_COLUMNS)
        model = leaving.leaving_model(data.roster, history, frames.sib_ratings(engine, end),
                                      as_of=data.as_of, settings=data.settings)
        prepared.save(engine, LEAVING_MODEL, stored_key, model)
    with _FITS_LOCK:
        _FITS[key] = model
        while len(_FITS) > _FITS_MAX:
            _FITS.popitem(last=False)
    return model


def active_roster(roster: pd.DataFrame, as_of) -> pd.DataFrame:
    """Helpers employed in the week starting ``as_of`` (everyone without an end date when None)."""
    if as_of is None:
        return roster[roster["end_date"].isna()]
    day = pd.Timestamp(as_of)
    start_ok = roster["start_date"].isna() | (roster["start_date"] <= day + pd.Timedelta(days=6))
    return roster[start_ok & (roster["end_date"].isna() | (roster["end_date"] > day))]


def people_frame(data: OrgData, weeks: int = 4) -> pd.DataFrame:
    """One row per active helper: team, role, site and recent values of each roll-up measure
    over the last ``weeks`` weeks (NaN where the helper gave no answers in them), and each
    week's value of the measures over answers for every window a reader can choose
    (``disclosure.week_column``; the gate audits them all together).  ``attrs``: the
    ``window`` (``weeks``) and the latest week (``as_of``)."""
    roster = active_roster(data.roster, data.as_of)
    scores = data.scores
    score_cols = [c for c in ROLLUP_MEASURES if c in scores.columns]
    per = privacy.helper_window(scores, roster, score_cols, as_of=data.as_of, weeks=weeks)
    out = roster[["helper_id", "name", "team", "team_kind", "role", "site", "consent_lead_view"]].merge(
        per[["helper_id", *score_cols]], on="helper_id", how="left")
    out = out.merge(_window_weeks(scores, score_cols, data.as_of, max(weeks, disclosure.AUDIT_WEEKS)),
                    on="helper_id", how="left")
    latest = data.latest
    risk_cols = ["helper_id", "risk_score", "risk_band", "caseload_ratio", "active_cases"] + \
        [c for c in latest.columns if c.startswith("c_")]
    out = out.merge(latest[[c for c in risk_cols if c in latest.columns]], on="helper_id", how="left")
    # A risk built from caseload data alone rests on nobody's answers: such a helper is not a
    # respondent of the risk aggregates (same rule as burnout.alerts).
    own = [c for c in SELF_REPORT_COMPONENTS if c in out.columns]
    out["self_report"] = out[own].notna().any(axis=1) if own else False
    out.loc[~out["self_report"], "risk_score"] = np.nan
    out.loc[~out["self_report"], "risk_band"] = None
    for b, col in zip(BANDS, BAND_COLUMNS):
        out[col] = np.where(out["risk_band"].isna(), np.nan, (out["risk_band"] == b).astype(float))
    out.attrs["window"] = int(weeks)
    out.attrs["as_of"] = _last_week(scores, data.as_of)
    return out


# What is worked out from the organisation's review read, kept per database and name for the
# read it was made from: the next read that patched that read (``OrgData.patched``) updates
# it instead of working it out whole (org_people, views.tables.org_week_rows).
_KEPT: dict[tuple, tuple] = {}
_KEPT_LOCK = threading.Lock()


def kept_between_reads(data: OrgData, name: tuple, whole: Callable[[], object],
                       patch: Callable[[object], object]):
    """``whole()`` for ``data``, kept under ``name``: the same read gets the kept result, a read
    that patched the kept one's read gets ``patch(kept)`` (None: worked out whole), any
    other read ``whole()``.  A read without ``read_at`` (not the review's read) is never kept."""
    at = data.read_at
    if at is None:
        return whole()
    slot = (at[0], *name)
    with _KEPT_LOCK:
        held = _KEPT.get(slot)
    if held is not None and held[0] == at:
        return held[1]
    out = None
    if held is not None and data.patched is not None and data.patched[0] == held[0]:
        out = patch(held[1])
    if out is None:
        if held is not None:      # an earlier read's (the week rows: hundreds of MB at L), no longer
            with _KEPT_LOCK:      # of use: let it go before working this one's out
                if _KEPT.get(slot) is held:
                    del _KEPT[slot]
        out = whole()
    with _KEPT_LOCK:
        _KEPT[slot] = (at, out)
    return out


def org_people(data: OrgData, weeks: int = 4) -> pd.DataFrame:
    """:func:`people_frame` of the organisation's review read, kept between reads: after a
    patched read only the changed helpers' rows are worked out again and put in place of
    theirs (they equal a whole computation: tests/test_review_patch.py).  A copy each call:
    callers may add columns to it."""
    return kept_between_reads(data, ("people", weeks), lambda: people_frame(data, weeks),
                              lambda held: _people_replaced(held, data, weeks)).copy()


def _people_replaced(people: pd.DataFrame, data: OrgData, weeks: int) -> pd.DataFrame | None:
    """``people`` with the rows of the helpers the patched ``data`` read again worked out
    anew; None when the set of active helpers among them or the columns changed."""
    _, ids, read = data.patched
    if not ids:
        return people
    mine = lambda f: f[f["helper_id"].isin(ids).to_numpy()]    # noqa: E731
    new = people_frame(dataclasses.replace(data, roster=mine(data.roster), scores=read["scores"],
                                           history=read["history"], latest=mine(data.latest)), weeks)
    at = pd.Index(people["helper_id"]).get_indexer(new["helper_id"])
    if list(new.columns) != list(people.columns) or (at < 0).any() or \
            len(new) != int(people["helper_id"].isin(ids).sum()) or (np.diff(at) < 0).any():
        return None
    out = people.copy()
    for col in people.columns:
        values = out[col].to_numpy(copy=True)
        values[at] = new[col].to_numpy()
        out[col] = pd.Series(values, index=out.index, dtype=people[col].dtype)
    out.attrs = dict(people.attrs)
    return out


def _last_week(scores: pd.DataFrame, as_of) -> pd.Timestamp | None:
    """The week ``disclosure.week_column(..., 0)`` holds."""
    if as_of is not None:
        return _monday(as_of)
    return pd.Timestamp(scores["week_start"].max()) if len(scores) else None


def _window_weeks(scores: pd.DataFrame, score_cols, as_of, weeks: int) -> pd.DataFrame:
    """One row per helper: their mean of each score in each of the last ``weeks`` weeks, as
    the columns ``disclosure.week_column(measure, i)`` (i = 0: the latest week), NaN where
    they gave none.  The recent roll-ups are built from these (:func:`recent_means`) and the
    release gate audits each week and 4-week block of them (``disclosure.plan_for``)."""
    cols = [disclosure.week_column(m, i) for m in score_cols for i in range(weeks)]
    if scores.empty or not score_cols:
        return pd.DataFrame(columns=["helper_id", *cols])
    last = _last_week(scores, as_of)
    s = scores[["helper_id", "week_start", *score_cols]]
    s = s[(s["week_start"] <= last) & (s["week_start"] > last - pd.Timedelta(weeks=weeks))].copy()
    for m in score_cols:
        s[m] = pd.to_numeric(s[m].astype("Float64") if s[m].dtype == bool else s[m], errors="coerce")
    s["i"] = ((last - s["week_start"]).dt.days // 7).astype(int)
    wide = s.groupby(["helper_id", "i"])[score_cols].mean().unstack("i")
    out = pd.DataFrame(index=wide.index)
    for m in score_cols:
        for i in range(weeks):
            out[disclosure.week_column(m, i)] = wide[(m, i)] if (m, i) in wide.columns else np.nan
    return out.reset_index()


def recent_means(people: pd.DataFrame, measure: str, by: str | None, weeks: int | None = None) -> dict:
    """The recent figure of ``measure`` for each value of ``by`` (and ``privacy.TOTAL``):
    the mean of every weekly answer the group's people gave in the last ``weeks`` weeks
    (default: the window ``people`` was built for, ``people.attrs["window"]``).

    Its sum is the sum of the group's weekly sums, so beside the weekly figures of the same
    weeks it says nothing they do not (a mean of each person's own mean first would leave
    a weighted mix of the few people who skipped a week)."""
    weeks = weeks or people.attrs.get("window")
    cols = [c for c in people.columns if disclosure.is_week_column(c, measure)
            and (weeks is None or disclosure.week_index(c) < weeks)]
    if not cols:
        return {}
    vals = people[cols].apply(pd.to_numeric, errors="coerce")
    total, count = vals.sum(axis=1, min_count=1), vals.notna().sum(axis=1)
    frame = pd.DataFrame({"total": total.fillna(0.0), "count": count})
    out = {privacy.TOTAL: _ratio(frame["total"].sum(), frame["count"].sum())}
    if by is not None:
        # each group's rows in their order, summed as a groupby's sub-frames would be (the very
        # same sums), without building a sub-frame per group (hundreds of teams)
        codes, keys = pd.factorize(people[by].to_numpy(), sort=True)
        order = np.argsort(codes, kind="stable")
        total, count = frame["total"].to_numpy()[order], frame["count"].to_numpy()[order]
        edges = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        for i, key in enumerate(keys):
            out[key] = _ratio(total[edges[i]:edges[i + 1]].sum(), count[edges[i]:edges[i + 1]].sum())
    return out


def _ratio(total: float, count: int) -> float:
    return float(total) / float(count) if count else np.nan


def series_for(data: OrgData, measure: str) -> pd.DataFrame:
    """Per helper-week values of ``measure`` from scores, or from the risk history."""
    if measure == "risk_score":
        h = data.history
        own = [c for c in SELF_REPORT_COMPONENTS if c in h.columns]
        if own:   # only weeks whose risk rests on the helper's own answers count as responses
            h = h[h[own].notna().any(axis=1)]
        return h[["helper_id", "week_start", "risk_score"]].dropna()
    s = data.scores[["helper_id", "week_start", measure]].copy()
    return s[s[measure].notna()]
