"""Readers that hand the analysis core plain DataFrames (docs/ARCHITECTURE.md).

Empty results keep their columns so callers never branch on missing columns.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Date, DateTime, String, case, func, null, select, tuple_, type_coerce
from sqlalchemy.engine import Engine

from burnout.domain.settings import Settings
from burnout.domain.time import today, week_starts
from burnout.store import settings as saved_settings
from burnout.store.schema import (
    CASELOAD_COLUMNS, SCORE_COLUMNS, answers as answers_t, caseload_weeks, helpers, instrument_wording,
    scores as scores_t, submissions, teams,
)

ROSTER_COLUMNS = ["helper_id", "name", "team", "team_kind", "role", "site", "fte", "start_date",
                  "end_date", "end_reason", "annual_salary", "specialties", "caseload_standard"]

def _read(conn, q) -> pd.DataFrame:
    """``pd.read_sql(q, conn)``; on SQLite from the driver's rows, without SQLAlchemy's
    result object and date parsing per row (half the time of reading the score frame:
    a helper-week rebuild reads every submission).  Date and time columns come back
    as ``datetime64``, parsed by column from the text SQLAlchemy stored; callers
    convert them with ``pd.to_datetime`` all the same (tests/test_materialise_speed.py
    compares both paths)."""
    if conn.dialect.name != "sqlite":
        return pd.read_sql(q, conn)
    res = conn.execute(q)
    try:
        names = list(res.keys())
        rows = res.cursor.fetchall()
    finally:
        res.close()
    df = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    for col in q.selected_columns:
        if isinstance(col.type, (Date, DateTime)) and df[col.name].dtype == object:
            df[col.name] = pd.to_datetime(df[col.name], format="ISO8601")
    return df


def helper_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(helpers.c.helper_id)).scalars())


def sharing_with_lead(engine: Engine, team: str) -> set[str]:
    """The team's helpers who share their results with its leads now (consent given, not
    left before today)."""
    q = select(helpers.c.helper_id).where(
        helpers.c.team_id == team, helpers.c.consent_lead_view.is_(True),
        helpers.c.end_date.is_(None) | (helpers.c.end_date >= today()))
    with engine.connect() as conn:
        return {str(h) for h in conn.execute(q).scalars()}


def roster(engine: Engine, settings: Settings | None = None, team_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The roster; ``team_ids``: only those teams (whole teams, so a team-median standard is the same)."""
    q = (select(helpers.c.helper_id, helpers.c.name, helpers.c.team_id.label("team"),
                teams.c.kind.label("team_kind"), helpers.c.role, helpers.c.site, helpers.c.fte,
                helpers.c.start_date, helpers.c.end_date, helpers.c.end_reason, helpers.c.annual_salary,
                helpers.c.specialties, helpers.c.caseload_standard, helpers.c.consent_lead_view)
         .join(teams, teams.c.team_id == helpers.c.team_id).order_by(helpers.c.helper_id))
    if team_ids is not None:
        q = q.where(helpers.c.team_id.in_(sorted(set(team_ids))))
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    for c in ("start_date", "end_date"):
        df[c] = pd.to_datetime(df[c])
    for c in ("fte", "annual_salary", "caseload_standard"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    df["consent_lead_view"] = df["consent_lead_view"].astype(bool)
    df["caseload_standard_given"] = df["caseload_standard"]
    df["caseload_standard"] = (settings or saved_settings.load(engine)).resolve_caseload_standard(df)
    return df


def caseload(engine: Engine, helper_id: str | None = None, helper_ids: Iterable[str] | None = None) -> pd.DataFrame:
    q = select(caseload_weeks).order_by(caseload_weeks.c.helper_id, caseload_weeks.c.week_start)
    if helper_id is not None:
        q = q.where(caseload_weeks.c.helper_id == helper_id)
    if helper_ids is not None:
        q = q.where(caseload_weeks.c.helper_id.in_(sorted(set(helper_ids))))
    with engine.connect() as conn:
        df = _read(conn, q)
    df["week_start"] = pd.to_datetime(df["week_start"])
    for c in CASELOAD_COLUMNS[2:]:
        if c != "case_types":
            df[c] = pd.to_numeric(df[c]).astype(float)
    return df[CASELOAD_COLUMNS]


def answers(engine: Engine, instrument: str | None = None, helper_id: str | None = None) -> pd.DataFrame:
    """Wide answers: submission_id, helper_id, instrument, submitted_at + item columns."""
    q = (select(submissions.c.submission_id, submissions.c.helper_id, submissions.c.instrument,
                submissions.c.submitted_at, answers_t.c.item_id, answers_t.c.value)
         .join(answers_t, answers_t.c.submission_id == submissions.c.submission_id))
    if instrument:
        q = q.where(submissions.c.instrument == instrument)
    if helper_id:
        q = q.where(submissions.c.helper_id == helper_id)
    with engine.connect() as conn:
        long = pd.read_sql(q, conn)
    keys = ["submission_id", "helper_id", "instrument", "submitted_at"]
    if long.empty:
        return pd.DataFrame(columns=keys)
    wide = long.pivot(index=keys, columns="item_id", values="value").reset_index()
    wide.columns.name = None
    wide["submitted_at"] = pd.to_datetime(wide["submitted_at"])
    return wide.sort_values("submission_id").reset_index(drop=True)


def scores(engine: Engine, helper_id: str | None = None, helper_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per scored submission with every score column and its week_start (Monday)."""
    q = (select(submissions.c.submission_id, submissions.c.helper_id, submissions.c.instrument,
                submissions.c.submitted_at, *[scores_t.c[c] for c in SCORE_COLUMNS])
         .join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
         .order_by(submissions.c.helper_id, submissions.c.submitted_at))
    if helper_id:
        q = q.where(submissions.c.helper_id == helper_id)
    if helper_ids is not None:
        q = q.where(submissions.c.helper_id.in_(sorted(set(helper_ids))))
    with engine.connect() as conn:
        df = _read(conn, q)
    df["submitted_at"] = pd.to_datetime(df["submitted_at"])
    df.insert(4, "week_start", week_starts(df["submitted_at"]).to_numpy())
    for c in SCORE_COLUMNS:
        if c != "burned_out":
            df[c] = pd.to_numeric(df[c]).astype(float)
    df["burned_out"] = df["burned_out"].astype("boolean")
    return df


def submissions_frame(engine: Engine, helper_id: str | None = None) -> pd.DataFrame:
    q = select(submissions).order_by(submissions.c.submitted_at)
    if helper_id:
        q = q.where(submissions.c.helper_id == helper_id)
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    df["submitted_at"] = pd.to_datetime(df["submitted_at"])
    return df


def wording(engine: Engine, instrument: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(instrument_wording.c.item_id, instrument_wording.c.text)
                            .where(instrument_wording.c.instrument == instrument))
        return {r.item_id: r.text for r in rows}


def teams_frame(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(teams).order_by(teams.c.team_id), conn)


def weekly_caseload_pressure(roster_df: pd.DataFrame, caseload_df: pd.DataFrame) -> pd.DataFrame:
    """caseload rows + ratio of active cases to the role standard (1.0 = at standard)."""
    df = caseload_df.merge(roster_df[["helper_id", "team", "role", "caseload_standard"]], on="helper_id",
                           how="left")
    df["caseload_ratio"] = df["active_cases"] / df["caseload_standard"].replace(0, np.nan)
    return df


def _as_score(column: str):
    """A score column as a number SQL can average (burned_out: 1.0 / 0.0, as pandas counts it)."""
    col = scores_t.c[column]
    if column == "burned_out":
        return case((col.is_(True), 1.0), (col.is_(False), 0.0), else_=null())
    return col


def unweeked_submissions(engine: Engine) -> int:
    """Scored submissions without a stored week (written by code older than migration 0007)."""
    q = (select(func.count()).select_from(submissions.join(scores_t, scores_t.c.submission_id
                                                           == submissions.c.submission_id))
         .where(submissions.c.week_start.is_(None)))
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def scores_by_week(engine: Engine, columns: Iterable[str], up_to, recent_from,
                   helper_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Scored answers up to the week ``up_to``, read by the stored week (``submissions.week_start``):
    one row per submission from the week ``recent_from`` on, and before it one row per helper
    and week holding the week's mean of each of ``columns``, taken by SQL.

    ``helper_id, week_start`` + ``columns`` as floats (burned_out 1.0 / 0.0).  A helper's week
    holding two or more answers of one column comes as its submissions instead, so each older
    row is one answer: figures that pool answers over several weeks (the 4-week blocks, see
    views.tables) weigh them as :func:`scores` does, and no engine's rounding of a mean enters.
    Submissions are in :func:`scores`' order (helper, time) within each helper's week, those of one
    moment (a check-in's instruments) by id: PostgreSQL orders ties as its plan falls, and a read
    of a few helpers (below) must give their rows in the order a read of everyone gives them.
    ``helper_ids``: only theirs (the review's frames patched after a change, views.data)."""
    columns = list(columns)
    up_to, recent_from = pd.Timestamp(up_to).date(), pd.Timestamp(recent_from).date()
    joined = submissions.join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
    week, helper = submissions.c.week_start, submissions.c.helper_id
    values = [_as_score(c) for c in columns]
    # the week as stored (text on SQLite): parsed once per column below, not once per row
    week_text = type_coerce(week, String).label("week_start")
    raw = (select(helper, week_text, *[v.label(c) for v, c in zip(values, columns)]).select_from(joined)
           .order_by(helper, submissions.c.submitted_at, submissions.c.submission_id))
    means = (select(helper, week_text, *[func.avg(v).label(c) for v, c in zip(values, columns)],
                    *[func.count(v).label(f"n_{i}") for i, v in enumerate(values)])
             .select_from(joined).where(week < recent_from).group_by(week, helper))
    if helper_ids is not None:
        ids = sorted(set(helper_ids))
        raw, means = raw.where(helper.in_(ids)), means.where(helper.in_(ids))
    with engine.connect() as conn:
        recent = pd.read_sql(raw.where((week >= recent_from) & (week <= up_to)), conn)
        weekly = pd.read_sql(means, conn)
        counts = weekly[[f"n_{i}" for i in range(len(columns))]].to_numpy()
        crowded = (counts > 1).any(axis=1) if len(columns) else np.zeros(len(weekly), dtype=bool)
        keys = sorted(set(zip(weekly.loc[crowded, "helper_id"], weekly.loc[crowded, "week_start"])))
        many = [pd.read_sql(raw.where(tuple_(helper, type_coerce(week, String)).in_(part)), conn)
                for part in (keys[i:i + 500] for i in range(0, len(keys), 500))]
    def typed(part: pd.DataFrame) -> pd.DataFrame:
        part = part[["helper_id", "week_start", *columns]].copy()
        part["week_start"] = pd.to_datetime(part["week_start"]).astype("datetime64[ns]")
        for c in columns:
            part[c] = pd.to_numeric(part[c]).astype(float)
        return part

    parts = [typed(p) for p in (weekly[~crowded], *many, recent) if len(p)]
    df = pd.concat(parts, ignore_index=True) if parts else typed(recent)
    return df.sort_values(["helper_id", "week_start"], kind="stable").reset_index(drop=True)


def sib_ratings(engine: Engine, up_to=None) -> pd.DataFrame:
    """``helper_id, submitted_at, week_start, sib_level`` of every single-item rating (what the
    leaving model's burnout link is fitted on), weeks up to ``up_to``: the rows of
    :func:`scores` that carry one, without the other columns."""
    q = (select(submissions.c.helper_id, submissions.c.submitted_at, scores_t.c.sib_level)
         .join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
         .where(scores_t.c.sib_level.is_not(None))
         .order_by(submissions.c.helper_id, submissions.c.submitted_at))
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    df["submitted_at"] = pd.to_datetime(df["submitted_at"])
    df.insert(2, "week_start", week_starts(df["submitted_at"]).to_numpy())
    df["sib_level"] = pd.to_numeric(df["sib_level"]).astype(float)
    if up_to is not None:
        df = df[df["week_start"] <= pd.Timestamp(up_to)]
    return df
