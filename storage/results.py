"""Queries of the open results export: the campaign's public ideas with their commitment, and supports by day.
Nothing here reads a resident's id into the results: only counts leave this module."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Category, Commitment, Idea, IdeaCommitment, Vote


async def public_ideas(session: AsyncSession, campaign_id: int) -> list[tuple[Idea, str, str | None]]:
    """(idea, category key, key of its commitment or None), most supported first."""
    query = (select(Idea, Category.key, Commitment.key)
             .join(Category, Category.id == Idea.category_id)
             .outerjoin(IdeaCommitment, IdeaCommitment.idea_id == Idea.id)
             .outerjoin(Commitment, Commitment.id == IdeaCommitment.commitment_id)
             .where(Idea.campaign_id == campaign_id, public_condition())
             .order_by(Idea.supporters_count.desc(), Idea.id))
    return [(idea, category, commitment) for idea, category, commitment in (await session.exec(query)).all()]


async def supports_by_day(session: AsyncSession, campaign_id: int, tz: ZoneInfo) -> dict[tuple[int, date], int]:
    """{(idea id, local day): supports given that day and still counted}. Streamed: a campaign has millions."""
    query = (select(Vote.idea_id, Vote.created_at).join(Idea, Idea.id == Vote.idea_id)
             .where(Idea.campaign_id == campaign_id, public_condition()))
    counts: Counter[tuple[int, date]] = Counter()
    result = await session.stream(query.execution_options(yield_per=10_000))
    async for idea_id, created_at in result:
        counts[(idea_id, created_at.astimezone(tz).date())] += 1
    return dict(counts)
