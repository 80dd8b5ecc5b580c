"""Queries of the action plan: commitments, milestones, linked ideas, followers and plan events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Commitment, CommitmentFollow, Idea, IdeaCommitment, Milestone, PlanEvent, User, Vote
from storage.sql import insert_ignoring_conflicts, upsert


async def commitments_of(session: AsyncSession, campaign_id: int) -> list[Commitment]:
    query = select(Commitment).where(Commitment.campaign_id == campaign_id).order_by(Commitment.position,
                                                                                     Commitment.id)
    return list((await session.exec(query)).all())


async def get_commitment(session: AsyncSession, commitment_id: int) -> Commitment | None:
    return await session.get(Commitment, commitment_id)


async def lock_commitment(session: AsyncSession, commitment_id: int) -> Commitment | None:
    """The commitment, locked against a second moderator's change until commit. A no-op UPDATE takes the lock
    on both databases (on SQLite, the write lock, which a SELECT would not)."""
    await session.exec(update(Commitment).where(Commitment.id == commitment_id)
                       .values(position=Commitment.position))
    query = select(Commitment).where(Commitment.id == commitment_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def commitment_by_key(session: AsyncSession, campaign_id: int, key: str) -> Commitment | None:
    query = select(Commitment).where(Commitment.campaign_id == campaign_id, Commitment.key == key)
    return (await session.exec(query)).first()


async def next_position(session: AsyncSession, campaign_id: int) -> int:
    query = select(func.max(Commitment.position)).where(Commitment.campaign_id == campaign_id)
    highest = (await session.exec(query)).first()
    return 0 if highest is None else highest + 1


async def milestones_of(session: AsyncSession, commitment_ids: Sequence[int]) -> dict[int, list[Milestone]]:
    found: dict[int, list[Milestone]] = {commitment_id: [] for commitment_id in commitment_ids}
    if not commitment_ids:
        return found
    query = (select(Milestone).where(Milestone.commitment_id.in_(commitment_ids))
             .order_by(Milestone.commitment_id, Milestone.position))
    for milestone in (await session.exec(query)).all():
        found[milestone.commitment_id].append(milestone)
    return found


async def get_milestone(session: AsyncSession, milestone_id: int) -> Milestone | None:
    return await session.get(Milestone, milestone_id)


async def milestone_at(session: AsyncSession, commitment_id: int, position: int) -> Milestone | None:
    query = select(Milestone).where(Milestone.commitment_id == commitment_id, Milestone.position == position)
    return (await session.exec(query)).first()


# ------------------------------------------------------------------ linked ideas

async def linked_ideas(session: AsyncSession, commitment_id: int, *, public_only: bool = True) -> list[Idea]:
    """The ideas that fed the commitment, most supported first."""
    query = (select(Idea).join(IdeaCommitment, IdeaCommitment.idea_id == Idea.id)
             .where(IdeaCommitment.commitment_id == commitment_id)
             .order_by(Idea.supporters_count.desc(), Idea.id))
    if public_only:
        query = query.where(public_condition())
    return list((await session.exec(query)).all())


async def commitment_of_idea(session: AsyncSession, idea_id: int) -> Commitment | None:
    query = (select(Commitment).join(IdeaCommitment, IdeaCommitment.commitment_id == Commitment.id)
             .where(IdeaCommitment.idea_id == idea_id))
    return (await session.exec(query)).first()


async def link_idea(session: AsyncSession, idea_id: int, commitment_id: int) -> None:
    """Links the idea to the commitment, replacing an earlier link (one commitment per idea)."""
    statement = upsert(session, IdeaCommitment).values(idea_id=idea_id, commitment_id=commitment_id)
    statement = statement.on_conflict_do_update(index_elements=["idea_id"],
                                                set_={"commitment_id": commitment_id})
    await session.exec(statement)


async def unlink_idea(session: AsyncSession, idea_id: int) -> bool:
    result = await session.exec(delete(IdeaCommitment).where(IdeaCommitment.idea_id == idea_id))
    return result.rowcount > 0


# ------------------------------------------------------------------ following

async def is_following(session: AsyncSession, user_id: int, commitment_id: int) -> bool:
    return await session.get(CommitmentFollow, (user_id, commitment_id)) is not None


async def set_following(session: AsyncSession, user_id: int, commitment_id: int, follow: bool) -> None:
    """Idempotent: a double tap follows once."""
    if follow:
        await session.exec(insert_ignoring_conflicts(session, CommitmentFollow)
                           .values(user_id=user_id, commitment_id=commitment_id))
    else:
        await session.exec(delete(CommitmentFollow).where(CommitmentFollow.user_id == user_id,
                                                          CommitmentFollow.commitment_id == commitment_id))


async def followers_count(session: AsyncSession, commitment_id: int) -> int:
    query = select(func.count()).select_from(CommitmentFollow).where(
        CommitmentFollow.commitment_id == commitment_id)
    return (await session.exec(query)).first() or 0


# ------------------------------------------------------------------ events and the weekly news

def add_event(session: AsyncSession, *, commitment_id: int, kind: str, now: datetime, status: str | None = None,
              milestone_id: int | None = None, note: str | None = None) -> None:
    session.add(PlanEvent(commitment_id=commitment_id, kind=kind, status=status, milestone_id=milestone_id,
                          note=note, created_at=now))


async def events_between(session: AsyncSession, start: datetime, end: datetime) -> list[PlanEvent]:
    query = (select(PlanEvent).where(PlanEvent.created_at >= start, PlanEvent.created_at < end)
             .order_by(PlanEvent.created_at, PlanEvent.id))
    return list((await session.exec(query)).all())


async def overdue_between(session: AsyncSession, first_day: date, last_day: date) -> list[Milestone]:
    """Milestones not done whose due date fell in [first_day, last_day] (they became overdue that week)."""
    query = (select(Milestone).where(Milestone.done.is_(False), Milestone.due_date >= first_day,
                                     Milestone.due_date <= last_day)
             .order_by(Milestone.due_date, Milestone.id))
    return list((await session.exec(query)).all())


async def commitments_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Commitment]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {row.id: row for row in (await session.exec(select(Commitment).where(Commitment.id.in_(ids)))).all()}


async def milestones_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Milestone]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {row.id: row for row in (await session.exec(select(Milestone).where(Milestone.id.in_(ids)))).all()}


@dataclass(frozen=True)
class PlanReader:
    user_id: int
    language: str
    commitment_id: int


async def plan_readers(session: AsyncSession, commitment_ids: Sequence[int]) -> list[PlanReader]:
    """Who hears about these commitments: their followers and the supporters of their linked public ideas,
    reachable and with status news on (once per resident and commitment)."""
    if not commitment_ids:
        return []
    follows = select(CommitmentFollow.user_id, CommitmentFollow.commitment_id).where(
        CommitmentFollow.commitment_id.in_(commitment_ids))
    supports = (select(Vote.user_id, IdeaCommitment.commitment_id)
                .join(IdeaCommitment, IdeaCommitment.idea_id == Vote.idea_id)
                .join(Idea, Idea.id == Vote.idea_id)
                .where(IdeaCommitment.commitment_id.in_(commitment_ids), public_condition()))
    pairs = follows.union(supports).subquery()
    query = (select(User.id, User.language, pairs.c.commitment_id)
             .join(pairs, pairs.c.user_id == User.id)
             .where(User.is_reachable.is_(True), User.notify_status.is_(True), User.is_banned.is_(False))
             .order_by(User.id, pairs.c.commitment_id))
    return [PlanReader(user_id, language, commitment_id)
            for user_id, language, commitment_id in (await session.exec(query)).all()]
