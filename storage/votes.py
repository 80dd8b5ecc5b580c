"""Votes. The primary key (idea, resident) makes a double vote impossible even under concurrent presses;
the idea's supporters_count changes in the same transaction as the vote row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Idea, User, Vote


def _insert_ignoring_duplicates(session: AsyncSession, **values):
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(Vote).values(**values).on_conflict_do_nothing()


async def _shift_count(session: AsyncSession, idea_id: int, delta: int) -> int:
    result = await session.exec(
        update(Idea)
        .where(Idea.id == idea_id)
        .values(supporters_count=Idea.supporters_count + delta)
        .returning(Idea.supporters_count)
    )
    return result.scalar_one()


async def supporters_count(session: AsyncSession, idea_id: int) -> int:
    return (await session.exec(select(Idea.supporters_count).where(Idea.id == idea_id))).first() or 0


async def lock_public_idea(session: AsyncSession, idea_id: int) -> bool:
    """Lock the idea's row for this transaction if it is still public. A merge or a hiding that committed after
    the caller's first read is seen here, so a vote can never land on an idea that stopped counting."""
    result = await session.exec(
        update(Idea)
        .where(Idea.id == idea_id, public_condition())
        .values(supporters_count=Idea.supporters_count)
        .returning(Idea.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def add_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime) -> tuple[bool, int]:
    """Record a support; (added?, supporters now). Not committed: the caller commits."""
    insert = _insert_ignoring_duplicates(session, idea_id=idea_id, user_id=user_id, created_at=now)
    result = await session.exec(insert)
    if result.rowcount == 1:
        return True, await _shift_count(session, idea_id, +1)
    return False, await supporters_count(session, idea_id)


async def remove_vote(session: AsyncSession, idea_id: int, user_id: int) -> tuple[bool, int]:
    """Withdraw a support; (removed?, supporters now). Not committed: the caller commits."""
    result = await session.exec(delete(Vote).where(Vote.idea_id == idea_id, Vote.user_id == user_id))
    if result.rowcount == 1:
        return True, await _shift_count(session, idea_id, -1)
    return False, await supporters_count(session, idea_id)


async def has_voted(session: AsyncSession, idea_id: int, user_id: int) -> bool:
    found = (await session.exec(select(Vote.idea_id).where(Vote.idea_id == idea_id, Vote.user_id == user_id))).first()
    return found is not None


async def count_votes(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Vote))).first() or 0


async def count_voters(session: AsyncSession) -> int:
    return (await session.exec(select(func.count(func.distinct(Vote.user_id))))).first() or 0


async def count_users(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User))).first() or 0
