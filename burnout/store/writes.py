"""Bulk writers.  Each takes an open connection so the caller decides the
transaction: an import or a check-in is stored whole or not at all."""
from __future__ import annotations

import re
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from burnout.domain.settings import client_word_for
from burnout.domain.time import now as _now, week_start, week_starts
from burnout.errors import InputError
from burnout.scoring import score_long
from burnout.store.retry import retried, write_transaction
from burnout.store.schema import (
    CASELOAD_COLUMNS, SCORE_COLUMNS, answers, audit_log, caseload_weeks, checkin_drafts, data_versions, deleted_scope,
    helpers, imports, instrument_wording, scores, submissions, teams,
)

CHUNK = 50_000


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame → list of dicts with None for missing and plain Python types."""
    out = df.astype(object).where(df.notna(), None)
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            out[c] = [None if v is None else pd.Timestamp(v).to_pydatetime() for v in out[c]]
    return out.to_dict("records")


def _column_values(series: pd.Series, dialect: str) -> list:
    """One column as plain Python values for the DB-API, None for missing.

    SQLite has no date type: values are written in the text form SQLAlchemy
    itself writes and reads back ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if dialect == "sqlite" and series.dt.tz is None and series.notna().any():
            # numpy's ISO text with the "T" made a space: the same text as strftime's
            # "%Y-%m-%d %H:%M:%S.%f", a third of its time (1.9 M submissions at L)
            text = np.datetime_as_string(series.to_numpy(dtype="datetime64[us]"), unit="us")
            text.view("<U1").reshape(len(text), -1)[:, 10] = " "
            return pd.Series(text, index=series.index).where(series.notna(), None).tolist()
        if dialect == "sqlite":
            text = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
            return text.where(series.notna(), None).tolist()
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.astype(bool).tolist()
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        # numbers straight from numpy (a Python int or float per value, None for NaN): the
        # object column and pandas' where below cost more than the insert of a million
        # helper-weeks or eleven million staged answers
        arr = series.to_numpy()
        miss = np.isnan(arr) if arr.dtype.kind == "f" else None
        return (np.where(miss, None, arr) if miss is not None and miss.any() else arr).tolist()
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def bulk_insert(conn: Connection, table, df: pd.DataFrame) -> None:
    """Insert a frame through the DB-API directly (COPY on PostgreSQL).

    SQLAlchemy's executemany builds one dict per row; for millions of answers
    that costs more than the database work itself, so the hot tables bypass it.
    The connection's transaction is the caller's, as for every other write.
    """
    if df.empty:
        return
    dialect = conn.dialect.name
    cols = list(df.columns)
    columns = list(zip(*[_column_values(df[c], dialect) for c in cols]))
    cursor = conn.connection.dbapi_connection.cursor()
    statement = f"INSERT INTO {table.name} ({', '.join(cols)})"
    try:
        if dialect == "postgresql":
            with cursor.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in columns:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in cols)
            cursor.executemany(f"{statement} VALUES ({marks})", columns)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, statement, exc) from exc
    finally:
        cursor.close()


def _wrapped(conn: Connection, statement: str, exc: Exception) -> DBAPIError:
    """A DB-API error raised past SQLAlchemy, wrapped as SQLAlchemy would (OperationalError,
    IntegrityError ...), so retries, pages and the CLI know it for a database failure."""
    return DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect)


def _date(v):
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


def _dates(values: pd.Series) -> pd.Series:
    """:func:`_date` of every value (object column), the dates made by numpy: a Timestamp
    per row cost seconds for the million caseload weeks of a health system."""
    d = values if pd.api.types.is_datetime64_dtype(values) else pd.to_datetime(values)
    if not pd.api.types.is_datetime64_dtype(d):      # with a time zone: each its own local date
        return values.map(_date).astype(object)
    return pd.Series(d.to_numpy("datetime64[D]").astype(object), index=values.index, dtype=object)


def _week_cells(days: np.ndarray, dialect: str) -> np.ndarray:
    """Monday dates (datetime64[D]) as the engine's Date column takes them: SQLite the text
    SQLAlchemy writes ("YYYY-MM-DD", made by numpy, not the sqlite3 adapter per value),
    elsewhere dates; None where missing."""
    if dialect != "sqlite":
        return days.astype(object)
    out = np.datetime_as_string(days).astype(object)
    out[np.isnat(days)] = None
    return out


# --------------------------------------------------------------------------- roster

ROSTER_DB = ["helper_id", "name", "team_id", "role", "site", "fte", "start_date", "end_date",
             "end_reason", "annual_salary", "specialties", "caseload_standard"]


def upsert_teams(conn: Connection, team_kinds: pd.DataFrame) -> None:
    """``team_kinds``: columns team, team_kind (may be NA: keeps what is stored)."""
    existing = {r.team_id: r.kind for r in conn.execute(select(teams.c.team_id, teams.c.kind))}
    new, changed = [], []
    for team, kind in team_kinds.drop_duplicates("team").itertuples(index=False):
        kind = None if pd.isna(kind) else kind
        word = client_word_for(kind)
        if team not in existing:
            new.append({"team_id": team, "kind": kind, "client_word": word})
        elif kind is not None and existing[team] != kind:
            changed.append({"b_team": team, "kind": kind, "client_word": word})
    if new:
        conn.execute(insert(teams), new)
    if changed:
        conn.execute(update(teams).where(teams.c.team_id == bindparam("b_team")), changed)


def upsert_roster(conn: Connection, df: pd.DataFrame, absent: Iterable[str] = ()) -> tuple[int, int, set[str]]:
    """Insert new helpers, update changed ones.  Returns (new, changed, touched):
    ``touched`` names the new and changed helpers and, for a helper who changed
    team, the helpers of the team they left (its median standard may move).

    ``absent``: optional columns the file did not have.  A file without an
    end_date column says nothing about who left, so stored values of absent
    columns are neither compared nor overwritten (new helpers get them empty).
    """
    absent = set(absent)
    compare = [c for c in ROSTER_DB[1:] if c not in absent]
    upsert_teams(conn, df[["team", "team_kind"]])
    rows = df.rename(columns={"team": "team_id"})[ROSTER_DB].copy()
    for c in ("start_date", "end_date"):
        rows[c] = rows[c].map(_date).astype(object)
    existing = pd.read_sql(select(*[helpers.c[c] for c in ROSTER_DB]), conn)
    for c in ("start_date", "end_date"):
        existing[c] = existing[c].map(_date).astype(object)
    is_new = ~rows["helper_id"].isin(existing["helper_id"])
    new = rows[is_new]
    old = rows[~is_new]
    changed = old
    if len(old):
        merged = old.merge(existing, on="helper_id", suffixes=("", "_db"))
        diff = np.zeros(len(merged), dtype=bool)
        for c in compare:
            a, b = merged[c], merged[f"{c}_db"]
            same = (a.isna() & b.isna()) | (a.astype(str) == b.astype(str))
            if c in ("fte", "annual_salary", "caseload_standard"):
                same = same | np.isclose(pd.to_numeric(a, errors="coerce").fillna(-1e18),
                                         pd.to_numeric(b, errors="coerce").fillna(-1e18))
            diff |= ~same.to_numpy()
        changed = merged.loc[diff, ["helper_id", *compare]]
        left = merged.loc[diff & (merged["team_id"] != merged["team_id_db"]).to_numpy(), "team_id_db"]
    else:
        left = pd.Series([], dtype=object)
    touched = set(new["helper_id"]) | set(changed["helper_id"]) | set(
        existing.loc[existing["team_id"].isin(set(left)), "helper_id"])
    if len(new):
        conn.execute(insert(helpers), [dict(r, consent_lead_view=False) for r in records(new)])
    if len(changed):
        recs = [{("b_id" if k == "helper_id" else k): v for k, v in r.items()} for r in records(changed)]
        conn.execute(update(helpers).where(helpers.c.helper_id == bindparam("b_id")), recs)
    return int(len(new)), int(len(changed)), {str(h) for h in touched}


# --------------------------------------------------------------------------- caseload

def caseload_changes(conn: Connection, weeks: pd.DataFrame, absent: Iterable[str] = (),
                     keep_stored=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Compare helper-weeks with what is stored.  Returns (new, changed, kept, compare):
    rows to insert, rows to update (helper_id, week_start + ``compare``), the
    helper-weeks kept as stored, and the columns a changed week replaces.

    ``absent``: optional columns the file did not have; their stored values
    are neither compared nor overwritten.  ``keep_stored``: a boolean per row
    of ``weeks``; a True row never replaces a stored week with other figures
    (an event file's week it covers only in part, see ingest.rollup_events).
    """
    absent = set(absent)
    compare = [c for c in CASELOAD_COLUMNS[2:] if c not in absent]
    keep = (np.zeros(len(weeks), dtype=bool) if keep_stored is None
            else np.asarray(keep_stored, dtype=bool))
    rows = weeks[CASELOAD_COLUMNS].copy()
    rows["week_start"] = _dates(rows["week_start"])
    ids = rows["helper_id"].unique().tolist()
    existing = pd.read_sql(select(caseload_weeks).where(caseload_weeks.c.helper_id.in_(ids)), conn) \
        if len(ids) < 30_000 else pd.read_sql(select(caseload_weeks), conn)
    existing["week_start"] = _dates(existing["week_start"])
    merged = rows.merge(existing, on=["helper_id", "week_start"], how="left", suffixes=("", "_db"),
                        indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    diff = np.zeros(len(merged), dtype=bool)
    for c in compare:
        a, b = merged[c], merged[f"{c}_db"]
        if c == "case_types":
            same = (a.isna() & b.isna()) | (a.astype(str) == b.astype(str))
        else:
            a, b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
            same = (a.isna() & b.isna()) | np.isclose(a.fillna(-1e18), b.fillna(-1e18))
        diff |= ~np.asarray(same, dtype=bool)
    new = rows[is_new].copy()
    kept = rows.loc[~is_new & diff & keep, ["helper_id", "week_start"]].reset_index(drop=True)
    changed = rows.loc[~is_new & diff & ~keep, ["helper_id", "week_start", *compare]]
    return new, changed, kept, compare


def caseload_for_insert(rows: pd.DataFrame, dialect: str) -> pd.DataFrame:
    """week_start as the engine stores a Date (SQLite: the text SQLAlchemy writes)."""
    rows = rows.copy()
    rows["week_start"] = pd.to_datetime(rows["week_start"])
    if dialect == "sqlite":
        rows["week_start"] = rows["week_start"].dt.strftime("%Y-%m-%d")
    return rows


def upsert_caseload(conn: Connection, weeks: pd.DataFrame, absent: Iterable[str] = (),
                    keep_stored=None) -> tuple[int, int, pd.DataFrame]:
    """Insert new helper-weeks, update changed ones (see :func:`caseload_changes`).
    Returns (new, changed, kept)."""
    new, changed, kept, _ = caseload_changes(conn, weeks, absent, keep_stored)
    bulk_insert(conn, caseload_weeks, caseload_for_insert(new, conn.dialect.name))
    if len(changed):
        recs = [{("b_" + k if k in ("helper_id", "week_start") else k): v for k, v in r.items()}
                for r in records(changed)]
        conn.execute(update(caseload_weeks).where(
            (caseload_weeks.c.helper_id == bindparam("b_helper_id"))
            & (caseload_weeks.c.week_start == bindparam("b_week_start"))), recs)
    return int(len(new)), int(len(changed)), kept


# --------------------------------------------------------------------------- submissions

KEY = ["helper_id", "instrument", "submitted_at"]


def new_submissions(conn: Connection, subs: pd.DataFrame, ans: pd.DataFrame, source: str
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The submissions of ``subs`` not stored yet (natural key helper + instrument +
    submitted_at), numbered ``seq`` 1..n, with their answers (seq, instrument,
    item_id, value) in the answers table's key order.  ``ans["submission"]``: each
    answer's row in ``subs``.  Returns (submissions: seq + KEY + source + comment, answers)."""
    at = pd.to_datetime(subs["submitted_at"])
    ids = subs["helper_id"].unique().tolist()
    q = select(submissions.c.helper_id, submissions.c.instrument, submissions.c.submitted_at)
    existing = pd.read_sql(q.where(submissions.c.helper_id.in_(ids)) if len(ids) < 30_000 else q, conn)
    if existing.empty:      # a first import: no join of every submission with nothing
        is_new = np.ones(len(subs), dtype=bool)
    else:
        existing["submitted_at"] = pd.to_datetime(existing["submitted_at"])
        keys = pd.DataFrame({"helper_id": subs["helper_id"].to_numpy(), "instrument": subs["instrument"].to_numpy(),
                             "submitted_at": at.to_numpy()})
        is_new = keys.merge(existing.assign(_old=True), on=KEY, how="left")["_old"].isna().to_numpy()
        del keys
    new = subs[is_new].reset_index(drop=True)
    new["submitted_at"] = at[is_new].to_numpy()
    rows = new[KEY].assign(source=source, comment=new["comment"] if "comment" in new.columns else None,
                           week_start=_week_cells(week_starts(new["submitted_at"]).to_numpy("datetime64[D]"),
                                                  conn.dialect.name))
    rows.insert(0, "seq", np.arange(1, len(rows) + 1, dtype="int64"))
    # Answers find their seq by their submission's row, not by a merge on the three key
    # columns of every answer (11 M rows of a health system's export: a GB and seconds).
    # 4-byte numbers while sorting (an array per answer, 11 M at a health system's size)
    seq_of = np.zeros(len(subs), dtype=np.int32 if len(subs) < 2**31 else np.int64)
    seq_of[is_new] = rows["seq"].to_numpy()
    seq = seq_of[ans["submission"].to_numpy()]
    del seq_of
    kept = np.flatnonzero(seq > 0)
    # Picked in key order column by column, so the answers are never held twice (sorted
    # and not); instrument and item_id stay categories when they come so (validate_surveys):
    # a byte or two an answer instead of an eight-byte pointer.
    item = ans["item_id"]
    kept = kept[_key_order(seq[kept], item.array[kept] if isinstance(item.dtype, pd.CategoricalDtype)
                           else item.to_numpy(dtype=object)[kept])]
    a = pd.DataFrame(index=pd.RangeIndex(len(kept)))
    a["seq"] = seq[kept].astype("int64")
    del seq
    for c in ("instrument", "item_id"):
        a[c] = ans[c].array[kept] if isinstance(ans[c].dtype, pd.CategoricalDtype) \
            else ans[c].to_numpy(dtype=object)[kept]
    a["value"] = ans["value"].to_numpy(dtype=float)[kept]
    return rows, a


def _key_order(key: np.ndarray, items) -> np.ndarray:
    """Positions that put answers in the answers table's key order (key, item_id);
    item ids compare as the database compares text (bytes)."""
    if isinstance(items, pd.Categorical):
        # a category's rank among the categories' texts (few): no hashing of every answer
        cats = np.asarray(items.categories, dtype=object)
        rank = np.empty(len(cats), dtype=np.int16 if len(cats) < 2**15 else np.int64)
        rank[sorted(range(len(cats)), key=lambda i: cats[i].encode())] = np.arange(len(cats))
        ranks = rank[np.asarray(items.codes)]
    else:
        ranks, _ = pd.factorize(pd.Series(items), sort=True)
    return np.lexsort((ranks, np.asarray(key)))


def in_key_order(long_answers: pd.DataFrame, key: str) -> pd.DataFrame:
    """Answers ordered as the answers table's primary key (``key``, item_id).

    A file's answers come item by item (a wide file is melted column by column), so
    every insert would land somewhere else in the key's B-tree; in key order each one
    appends, which is most of what a large import's writes cost on SQLite."""
    if long_answers.empty:
        return long_answers.reset_index(drop=True)
    item = long_answers["item_id"]
    order = _key_order(long_answers[key].to_numpy(),
                       item.array if isinstance(item.dtype, pd.CategoricalDtype) else item.to_numpy(dtype=object))
    return long_answers.iloc[order].reset_index(drop=True)


def scored(long_answers: pd.DataFrame, key: str = "submission_id") -> pd.DataFrame:
    """Scores of answers (``key``, instrument, item_id, value): ``key`` + every score column."""
    wide = score_long(long_answers.rename(columns={key: "submission_id"}))
    wide = wide.reindex(columns=["submission_id", *SCORE_COLUMNS])
    wide["burned_out"] = wide["burned_out"].astype(object).where(wide["burned_out"].notna(), None)
    wide["submission_id"] = wide["submission_id"].astype(int)
    return wide.rename(columns={"submission_id": key})


def insert_submissions(conn: Connection, subs: pd.DataFrame, ans: pd.DataFrame, source: str,
                       progress: Callable[[float], None] | None = None) -> tuple[int, int]:
    """Insert submissions not stored yet (natural key helper + instrument +
    submitted_at) with their answers and scores.  Returns (submissions, answers)."""
    progress = progress or (lambda x: None)
    new, a = new_submissions(conn, subs, ans, source)
    if new.empty:
        return 0, 0
    before = conn.execute(select(func.coalesce(func.max(submissions.c.submission_id), 0))).scalar_one()
    bulk_insert(conn, submissions, new.drop(columns="seq"))
    # Read the new ids back by natural key: rows a concurrent writer added cannot
    # match our keys, because the keys are unique.
    got = pd.read_sql(select(submissions.c.submission_id, *[submissions.c[k] for k in KEY])
                      .where(submissions.c.submission_id > before), conn)
    got["submitted_at"] = pd.to_datetime(got["submitted_at"])
    ids = new[["seq", *KEY]].merge(got, on=KEY)[["seq", "submission_id"]]
    a = a.merge(ids, on="seq")[["submission_id", "instrument", "item_id", "value"]]
    total = len(a)
    step = max(CHUNK * 10, 1)
    for start in range(0, total, step):
        bulk_insert(conn, answers, a.iloc[start:start + step][["submission_id", "item_id", "value"]])
        progress(min(1.0, (start + step) / max(total, 1)) * 0.9)
    store_scores(conn, a)
    progress(1.0)
    return int(len(new)), int(total)


def stored_with_other_answers(conn: Connection, subs: pd.DataFrame, ans: pd.DataFrame) -> pd.DataFrame:
    """Submissions of ``subs`` already stored (same helper + instrument +
    submitted_at) whose stored answers differ from ``ans``: another item
    answered or another value.  Returns their keys, ordered.

    ``insert_submissions`` keeps what is stored, so nothing a helper entered
    is overwritten; this lets an import say so instead of staying silent.
    A re-import reads back every answer it repeats, so the answers come
    through the DB-API cursor: SQLAlchemy's row objects cost more than the read.
    """
    none = pd.DataFrame(columns=KEY)
    if subs.empty:
        return none
    ids = subs["helper_id"].unique().tolist()
    q = select(submissions.c.submission_id, *[submissions.c[k] for k in KEY])
    existing = pd.read_sql(q.where(submissions.c.helper_id.in_(ids)) if len(ids) < 30_000 else q, conn)
    if existing.empty:      # nothing of these helpers stored: no join of every submission
        return none
    keys = subs[KEY].copy()
    keys["submitted_at"] = pd.to_datetime(keys["submitted_at"])
    keys["_pos"] = np.arange(len(keys))
    existing["submitted_at"] = pd.to_datetime(existing["submitted_at"])
    stored_keys = existing.merge(keys, on=KEY)
    if stored_keys.empty:
        return none
    sids = stored_keys["submission_id"].astype("int64")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT submission_id, item_id, value FROM {answers.name} "
                       f"WHERE submission_id BETWEEN {mark} AND {mark}", (int(sids.min()), int(sids.max())))
        stored = pd.DataFrame.from_records(cursor.fetchall(), columns=["submission_id", "item_id", "value"])
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, f"SELECT ... FROM {answers.name}", exc) from exc
    finally:
        cursor.close()
    stored = stored[stored["submission_id"].isin(sids)]
    # the file's answers of those submissions, found by their row in ``subs``
    sid_of = np.zeros(len(subs), dtype="int64")
    sid_of[stored_keys["_pos"].to_numpy()] = sids.to_numpy()
    sid = sid_of[ans["submission"].to_numpy(dtype="int64")]
    mine = sid > 0
    given = pd.DataFrame({"submission_id": sid[mine], "item_id": ans["item_id"].to_numpy(dtype=object)[mine],
                          "value": ans["value"].to_numpy(dtype=float)[mine]})
    both = stored.merge(given, on=["submission_id", "item_id"], how="outer", suffixes=("_db", ""))
    a, b = both["value"].astype(float), both["value_db"].astype(float)
    same = (a.isna() & b.isna()) | np.isclose(a.fillna(-1e18), b.fillna(-1e18))
    differing = both.loc[~same.to_numpy(), "submission_id"].unique()
    return (stored_keys.loc[stored_keys["submission_id"].isin(differing), KEY]
            .sort_values(KEY).reset_index(drop=True))


def store_scores(conn: Connection, long_answers: pd.DataFrame) -> None:
    """Score answers (submission_id, instrument, item_id, value) and replace their rows in ``scores``."""
    if long_answers.empty:
        return
    wide = scored(long_answers)
    sids = wide["submission_id"].tolist()
    for start in range(0, len(sids), 10_000):
        conn.execute(delete(scores).where(scores.c.submission_id.in_(sids[start:start + 10_000])))
    bulk_insert(conn, scores, wide)


def insert_checkin(conn: Connection, helper_id: str, when, parts: list[tuple[str, str | None, dict, dict]],
                   source: str = "checkin", audit_row: tuple[str, str, str | None] | None = None,
                   clear_draft: bool = False) -> list[int]:
    """Insert one check-in already validated and scored: ``parts`` is
    [(instrument, comment, {item: value}, {score column: value})] in order;
    ``audit_row`` (actor, action, detail) goes with it; ``clear_draft`` removes
    the helper's check-in draft in the same write (a draft left behind would offer
    answers already counted).  Returns the new
    submission ids in that order.

    Only inserts, so the caller's transaction stays a few milliseconds long; a
    submission already stored under the same helper + instrument + time fails
    on the ``uq_submissions_natural`` constraint (IntegrityError), which is what
    serialises two saves of the same check-in, on every engine; a helper not in
    the roster fails the foreign key.  On PostgreSQL it is ONE statement (see
    :func:`_insert_checkin_pg`), so it may run outside an explicit transaction."""
    if conn.dialect.name == "postgresql":
        return _insert_checkin_pg(conn, helper_id, when, parts, source, audit_row, clear_draft)
    ids = []
    for instrument, comment, _, _ in parts:
        res = conn.execute(insert(submissions).values(helper_id=helper_id, instrument=instrument,
                                                      submitted_at=when, source=source, comment=comment,
                                                      week_start=week_start(when)))
        ids.append(int(res.inserted_primary_key[0]))
    conn.execute(insert(answers), [{"submission_id": sid, "item_id": item, "value": float(value)}
                                   for sid, (_, _, items, _) in zip(ids, parts) for item, value in items.items()])
    conn.execute(insert(scores), [{**{c: None for c in SCORE_COLUMNS}, **scored, "submission_id": sid}
                                  for sid, (_, _, _, scored) in zip(ids, parts)])
    if audit_row is not None:
        audit(conn, audit_row[0], audit_row[1], subject_helper_id=helper_id, detail=audit_row[2])
    if clear_draft:
        conn.execute(delete(checkin_drafts).where(checkin_drafts.c.helper_id == helper_id))
    return ids


def _score_type(column: str) -> str:
    return "boolean" if column == "burned_out" else "double precision"


# Every row of a check-in in one statement: data-modifying CTEs, arrays unnested so
# the text is the same for every check-in (prepared once per connection).  Each
# statement on a busy server costs a round trip; eight of them were most of a
# check-in's time under 32 concurrent writers.
_CHECKIN_PG = text(f"""
WITH s AS (
    INSERT INTO submissions (helper_id, instrument, submitted_at, source, comment, week_start)
    SELECT :helper_id, i, :submitted_at, :source, c, :week_start
    FROM unnest(CAST(:instruments AS varchar[]), CAST(:comments AS text[])) AS p(i, c)
    RETURNING submission_id, instrument),
a AS (
    INSERT INTO answers (submission_id, item_id, value)
    SELECT s.submission_id, v.item_id, v.value FROM s JOIN unnest(
        CAST(:a_instrument AS varchar[]), CAST(:a_item AS varchar[]), CAST(:a_value AS double precision[]))
        AS v(instrument, item_id, value) ON v.instrument = s.instrument),
sc AS (
    INSERT INTO scores (submission_id, {", ".join(SCORE_COLUMNS)})
    SELECT s.submission_id, {", ".join(f"v.{c}" for c in SCORE_COLUMNS)} FROM s JOIN unnest(
        CAST(:instruments AS varchar[]), {", ".join(f"CAST(:s_{c} AS {_score_type(c)}[])" for c in SCORE_COLUMNS)})
        AS v(instrument, {", ".join(SCORE_COLUMNS)}) ON v.instrument = s.instrument),
au AS (
    INSERT INTO audit_log (at, actor, action, subject_helper_id, detail)
    SELECT :at, :actor, :action, :helper_id, :detail WHERE :audit),
dr AS (
    DELETE FROM checkin_drafts WHERE helper_id = :helper_id AND :clear_draft)
SELECT submission_id, instrument FROM s""")


def _insert_checkin_pg(conn: Connection, helper_id: str, when, parts, source: str,
                       audit_row: tuple[str, str, str | None] | None, clear_draft: bool = False) -> list[int]:
    names = [p[0] for p in parts]
    params = {
        "helper_id": helper_id, "submitted_at": when, "source": source, "week_start": week_start(when),
        "instruments": names, "comments": [p[1] for p in parts],
        "a_instrument": [n for n, _, items, _ in parts for _ in items],
        "a_item": [item for _, _, items, _ in parts for item in items],
        "a_value": [float(v) for _, _, items, _ in parts for v in items.values()],
        "at": _now(), "audit": audit_row is not None, "clear_draft": bool(clear_draft),
        "actor": audit_row[0] if audit_row else "", "action": audit_row[1] if audit_row else "",
        "detail": audit_row[2] if audit_row else None,
    }
    for c in SCORE_COLUMNS:
        params[f"s_{c}"] = [p[3].get(c) for p in parts]
    got = {r.instrument: int(r.submission_id) for r in conn.execute(_CHECKIN_PG, params)}
    return [got[n] for n in names]


def log_import(conn: Connection, kind: str, file_name: str, rows_read: int, rows_stored: int,
               actor: str, content_hash: str | None = None, deletions_seen: int | None = None) -> None:
    conn.execute(insert(imports).values(at=_now(), kind=kind, file_name=file_name, rows_read=rows_read,
                                        rows_stored=rows_stored, actor=actor, content_hash=content_hash,
                                        deletions_seen=deletions_seen))


# The table whose deletions can change what importing a file of this kind stores.
COUNTED_TABLE = {"surveys": submissions.name, "caseload": caseload_weeks.name}


def deletions(conn: Connection, kind: str) -> int:
    """The deletion counter of the table a file of ``kind`` is stored in (a trigger
    bumps it on every delete, migration 0006)."""
    scope = deleted_scope(COUNTED_TABLE[kind])
    v = conn.execute(select(data_versions.c.version).where(data_versions.c.scope == scope)).scalar()
    return int(v or 0)


def unchanged_import(conn: Connection, kind: str, content_hash: str):
    """The earlier import (at, file_name, rows_read) after which importing the file with
    this fingerprint again would store nothing, or None.

    That holds when an import compared a file with these bytes (under the same
    mapping, limits and importer, all in the fingerprint) and stored it whole, and
    no row of its table was deleted since.  Surveys are only ever added to, so any
    such import counts; a caseload week is replaced by the newest file naming it,
    so only the newest caseload import counts."""
    q = select(imports.c.at, imports.c.file_name, imports.c.rows_read, imports.c.content_hash,
               imports.c.deletions_seen).where(imports.c.kind == kind)
    if kind == "surveys":
        q = q.where(imports.c.content_hash == content_hash)
    row = conn.execute(q.order_by(imports.c.import_id.desc()).limit(1)).first()
    if row is None or row.content_hash != content_hash or row.deletions_seen is None:
        return None
    return row if row.deletions_seen == deletions(conn, kind) else None


# --------------------------------------------------------------------------- misc

def audit(conn: Connection, actor: str, action: str, subject_helper_id: str | None = None,
          detail: str | None = None) -> None:
    audit_each(conn, actor, action, [subject_helper_id], detail)


def audit_each(conn: Connection, actor: str, action: str, subject_helper_ids: Iterable[str | None],
               detail: str | None = None) -> None:
    """One audit row per subject, in one statement (a command writing one row per helper
    of ten thousand)."""
    at = _now()
    rows = [{"at": at, "actor": actor, "action": action, "subject_helper_id": h, "detail": detail}
            for h in subject_helper_ids]
    if rows:
        conn.execute(insert(audit_log), rows)


@retried("save_wording")
def save_wording(engine: Engine, instrument: str, items: dict[str, str], actor: str = "admin") -> None:
    with write_transaction(engine) as conn:
        conn.execute(delete(instrument_wording).where(instrument_wording.c.instrument == instrument))
        now = _now()
        conn.execute(insert(instrument_wording),
                     [{"instrument": instrument, "item_id": k, "text": v, "loaded_at": now}
                      for k, v in items.items()])
        audit(conn, actor, "wording_loaded", detail=f"{instrument}: {len(items)} items")


@retried("set_client_word")
def set_client_word(engine: Engine, team: str, word: str, actor: str = "admin") -> str:
    """Set the word a team uses for the people it serves ("resident", "caller"),
    which replaces "client" in the CBI client-related items on its check-in."""
    word = (word or "").strip().lower()
    if not re.fullmatch(r"[a-z][a-z' -]{0,38}[a-z]|[a-z]", word):
        raise InputError("use a single word or short phrase of letters, for example 'resident'",
                         column="client_word")
    with write_transaction(engine) as conn:
        done = conn.execute(update(teams).where(teams.c.team_id == team).values(client_word=word)).rowcount
        if not done:
            raise InputError(f"there is no team {team!r}", column="team")
        audit(conn, actor, "setting_changed", detail=f"client word of team {team}={word}")
    return word
