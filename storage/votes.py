"""Votes. The primary key (idea, resident) makes a double vote impossible even under concurrent presses;
the idea's supporters_count changes in the same transaction as the vote row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import VISIBLE_STATUSES, Idea, Vote
from storage.pg_direct import direct_connections
from storage.writer import group_commit


def _insert_vote(dialect: str, idea_id: int, user_id: int, now: datetime):
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(Vote).on_conflict_do_nothing()
    return insert.values(idea_id=idea_id, user_id=user_id, created_at=now)


def _delete_vote(idea_id: int, user_id: int):
    return delete(Vote).where(Vote.idea_id == idea_id, Vote.user_id == user_id)


def _shift_count(idea_id: int, delta: int, *, only_public: bool = False, hidden_too: bool = False):
    """Change the idea's count, returning it; no row when `only_public` and the idea is not public (any more;
    `hidden_too`: hidden by reports counts as public, for withdrawals). The UPDATE also locks the row until
    commit, so a merge or hiding that committed after the caller's first read is seen here: a vote never lands
    on an idea that stopped counting. (Counts are never cached: storage/cache.py ignores this statement.)"""
    public = Idea.status.in_(VISIBLE_STATUSES) if hidden_too else public_condition()
    conditions = [Idea.id == idea_id, public] if only_public else [Idea.id == idea_id]
    return (
        update(Idea)
        .where(*conditions)
        .values(supporters_count=Idea.supporters_count + delta)
        .returning(Idea.supporters_count)
        .execution_options(synchronize_session=False)
    )


async def supporters_count(session: AsyncSession, idea_id: int) -> int:
    return (await session.exec(select(Idea.supporters_count).where(Idea.id == idea_id))).first() or 0


async def add_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime) -> tuple[bool, int] | None:
    """Record a support: (added?, supporters now), or None when the idea is no longer public. Not committed.

    The count goes up first (locking the idea) and back down when the vote existed already: two statements
    for the usual press instead of three."""
    count = (await session.exec(_shift_count(idea_id, +1, only_public=True))).scalar_one_or_none()
    if count is None:
        return None
    if (await session.exec(_insert_vote(session.bind.dialect.name, idea_id, user_id, now))).rowcount == 1:
        return True, count
    return False, (await session.exec(_shift_count(idea_id, -1))).scalar_one_or_none()


async def remove_vote(session: AsyncSession, idea_id: int, user_id: int) -> tuple[bool, int] | None:
    """Withdraw a support: (removed?, supporters now), or None when the idea is no longer public. An idea hidden by
    reports still counts its supports, so they can be withdrawn from it too. Not committed."""
    count = (await session.exec(_shift_count(idea_id, -1, only_public=True, hidden_too=True))).scalar_one_or_none()
    if count is None:
        return None
    if (await session.exec(_delete_vote(idea_id, user_id))).rowcount == 1:
        return True, count
    return False, (await session.exec(_shift_count(idea_id, +1))).scalar_one_or_none()


# The group commit's writer (storage/writer.py) runs the same two statements on SQLite's own driver: compiled
# once here, they cost microseconds of Python in the writer's thread, where SQLAlchemy's execution costs ~0.1 ms
# a statement (and holds the interpreter lock the event loop needs meanwhile).
_VISIBLE = ", ".join(f"'{status}'" for status in VISIBLE_STATUSES)
_SHIFT = "UPDATE idea SET supporters_count = supporters_count + ? WHERE id = ?"
_SHIFT_IF_PUBLIC = f"{_SHIFT} AND status IN ({_VISIBLE}) AND hidden = 0 RETURNING supporters_count"
_SHIFT_IF_COUNTED = f"{_SHIFT} AND status IN ({_VISIBLE}) RETURNING supporters_count"
_SHIFT_BACK = f"{_SHIFT} RETURNING supporters_count"
_INSERT = "INSERT INTO vote (idea_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_DELETE = "DELETE FROM vote WHERE idea_id = ? AND user_id = ?"
_sqlite_time = Vote.__table__.c.created_at.type._cached_bind_processor(sqlite.dialect())


def _one(cursor, sql: str, *parameters: object) -> int | None:
    row = cursor.execute(sql, parameters).fetchone()
    return row[0] if row is not None else None


def add_vote_now(connection: Connection, idea_id: int, user_id: int, now: datetime) -> tuple[bool, int] | None:
    """`add_vote` on the group commit writer's SQLite connection (storage/writer.py)."""
    cursor = connection.connection.driver_connection.cursor()
    count = _one(cursor, _SHIFT_IF_PUBLIC, 1, idea_id)
    if count is None:
        return None
    if cursor.execute(_INSERT, (idea_id, user_id, _sqlite_time(now))).rowcount == 1:
        return True, count
    return False, _one(cursor, _SHIFT_BACK, -1, idea_id)


def remove_vote_now(connection: Connection, idea_id: int, user_id: int) -> tuple[bool, int] | None:
    """`remove_vote` on the group commit writer's SQLite connection (storage/writer.py)."""
    cursor = connection.connection.driver_connection.cursor()
    count = _one(cursor, _SHIFT_IF_COUNTED, -1, idea_id)
    if count is None:
        return None
    if cursor.execute(_DELETE, (idea_id, user_id)).rowcount == 1:
        return True, count
    return False, _one(cursor, _SHIFT_BACK, +1, idea_id)


# PostgreSQL: the vote in one statement that commits on its own (storage/pg_direct.py). The idea is locked
# first (FOR UPDATE sees a merge or hiding committed meanwhile: no vote lands on an idea that stopped counting),
# the count moves by the rows actually inserted or deleted (a double tap changes nothing), and no row comes
# back when the idea does not count (any more).
_PG_ADD = f"""
WITH target AS (
    SELECT id FROM idea WHERE id = $1::integer AND status IN ({_VISIBLE}) AND NOT hidden FOR UPDATE
), added AS (
    INSERT INTO vote (idea_id, user_id, created_at) SELECT id, $2::bigint, $3::timestamptz FROM target
    ON CONFLICT DO NOTHING RETURNING 1
)
UPDATE idea SET supporters_count = supporters_count + (SELECT count(*) FROM added)
WHERE id = (SELECT id FROM target)
RETURNING (SELECT count(*) FROM added) = 1, supporters_count"""
_PG_REMOVE = f"""
WITH target AS (
    SELECT id FROM idea WHERE id = $1::integer AND status IN ({_VISIBLE}) FOR UPDATE
), removed AS (
    DELETE FROM vote WHERE idea_id = (SELECT id FROM target) AND user_id = $2::bigint RETURNING 1
)
UPDATE idea SET supporters_count = supporters_count - (SELECT count(*) FROM removed)
WHERE id = (SELECT id FROM target)
RETURNING (SELECT count(*) FROM removed) = 1, supporters_count"""


async def record_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime, *, add: bool
                      ) -> tuple[bool, int] | None:
    """Add (or withdraw) a support and commit it: `add_vote`'s (or `remove_vote`'s) answer, once it is durable.
    On SQLite through the group commit (storage/writer.py), on PostgreSQL as one statement of its own
    (storage/pg_direct.py), else (an in-memory SQLite database) in the caller's session."""
    direct = direct_connections(session.bind)
    if direct is not None:
        if session.in_transaction():  # what the session wrote must be committed first (a new resident's row)
            await session.commit()
        args = (idea_id, user_id, now) if add else (idea_id, user_id)
        row = await direct.fetchrow(_PG_ADD if add else _PG_REMOVE, *args)
        return (row[0], row[1]) if row is not None else None
    writer = group_commit(session)
    if writer is None:
        outcome = await (add_vote(session, idea_id, user_id, now) if add else remove_vote(session, idea_id, user_id))
        await session.commit()
        return outcome
    if session.holds_write_lock():  # the writer takes the same lock: hand it over first
        await session.commit()
    if add:
        return await writer.run(lambda connection: add_vote_now(connection, idea_id, user_id, now))
    return await writer.run(lambda connection: remove_vote_now(connection, idea_id, user_id))


async def count_votes(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Vote))).first() or 0


async def count_voters(session: AsyncSession) -> int:
    return (await session.exec(select(func.count(func.distinct(Vote.user_id))))).first() or 0
