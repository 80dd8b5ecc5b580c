"""Votes. The primary key (idea, resident) makes a double vote impossible even under concurrent presses;
the idea's supporters_count changes in the same transaction as the vote row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import VISIBLE_STATUSES, Idea, Vote
from storage.sql import insert_ignoring_conflicts
from storage.writer import group_commit


def _insert_ignoring_duplicates(session: AsyncSession, **values):
    return insert_ignoring_conflicts(session, Vote).values(**values)


async def _shift_count(session: AsyncSession, idea_id: int, delta: int, *, only_public: bool = False,
                       hidden_too: bool = False) -> int | None:
    """Change the idea's count and return it; None when `only_public` and the idea is not public (any more;
    `hidden_too`: hidden by reports counts as public, for withdrawals). The UPDATE also locks the row until
    commit, so a merge or hiding that committed after the caller's first read is seen here: a vote never lands
    on an idea that stopped counting."""
    public = Idea.status.in_(VISIBLE_STATUSES) if hidden_too else public_condition()
    conditions = [Idea.id == idea_id, public] if only_public else [Idea.id == idea_id]
    result = await session.exec(
        update(Idea)
        .where(*conditions)
        .values(supporters_count=Idea.supporters_count + delta)
        .returning(Idea.supporters_count)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def supporters_count(session: AsyncSession, idea_id: int) -> int:
    return (await session.exec(select(Idea.supporters_count).where(Idea.id == idea_id))).first() or 0


async def add_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime) -> tuple[bool, int] | None:
    """Record a support: (added?, supporters now), or None when the idea is no longer public. Not committed.

    The count goes up first (locking the idea) and back down when the vote existed already: two statements
    for the usual press instead of three."""
    count = await _shift_count(session, idea_id, +1, only_public=True)
    if count is None:
        return None
    insert = _insert_ignoring_duplicates(session, idea_id=idea_id, user_id=user_id, created_at=now)
    if (await session.exec(insert)).rowcount == 1:
        return True, count
    return False, await _shift_count(session, idea_id, -1)


async def remove_vote(session: AsyncSession, idea_id: int, user_id: int) -> tuple[bool, int] | None:
    """Withdraw a support: (removed?, supporters now), or None when the idea is no longer public. An idea hidden by
    reports still counts its supports, so they can be withdrawn from it too. Not committed."""
    count = await _shift_count(session, idea_id, -1, only_public=True, hidden_too=True)
    if count is None:
        return None
    if (await session.exec(delete(Vote).where(Vote.idea_id == idea_id, Vote.user_id == user_id))).rowcount == 1:
        return True, count
    return False, await _shift_count(session, idea_id, +1)


async def record_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime, *, add: bool
                      ) -> tuple[bool, int] | None:
    """Add (or withdraw) a support and commit it: `add_vote`'s (or `remove_vote`'s) answer, once it is durable.
    On SQLite through the group commit (storage/writer.py), else in the caller's session."""
    async def write(writing: AsyncSession) -> tuple[bool, int] | None:
        if add:
            return await add_vote(writing, idea_id, user_id, now)
        return await remove_vote(writing, idea_id, user_id)

    writer = group_commit(session)
    if writer is None:
        outcome = await write(session)
        await session.commit()
        return outcome
    await session.commit()  # hands the connection back: the writer needs one from the same pool
    return await writer.run(write)


async def count_votes(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Vote))).first() or 0


async def count_voters(session: AsyncSession) -> int:
    return (await session.exec(select(func.count(func.distinct(Vote.user_id))))).first() or 0
