"""Readers that hand the analysis core plain DataFrames (docs/ARCHITECTURE.md).

Empty results keep their columns so callers never branch on missing columns.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from burnout.domain.settings import Settings
from burnout.domain.time import week_starts
from burnout.store import settings as saved_settings
from burnout.store.schema import (
    CASELOAD_COLUMNS, SCORE_COLUMNS, answers as answers_t, caseload_weeks, helpers, instrument_wording,
    scores as scores_t, submissions, teams,
)

ROSTER_COLUMNS = ["helper_id", "name", "team", "team_kind", "role", "site", "fte", "start_date",
                  "end_date", "end_reason", "annual_salary", "specialties", "caseload_standard"]

def helper_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(helpers.c.helper_id)).scalars())


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
        df = pd.read_sql(q, conn)
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
        df = pd.read_sql(q, conn)
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
