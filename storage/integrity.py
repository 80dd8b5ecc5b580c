"""Aggregates behind the integrity report (bot/domain/integrity.py): counts per idea only; no query here returns a
resident's id to its caller. Each is one statement over the campaign's votes (2M rows at full scale)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, cast, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Idea, Report, User, Vote

BUCKET_SECONDS = 600  # ten minutes


def _campaign_votes(campaign_id: int):
    return select(Vote.idea_id, Vote.user_id, Vote.created_at).join(Idea, Idea.id == Vote.idea_id) \
        .where(Idea.campaign_id == campaign_id)


async def supports_per_idea(session: AsyncSession, campaign_id: int) -> dict[int, int]:
    """Supports of every idea of the campaign that has any (from the vote rows)."""
    votes = _campaign_votes(campaign_id).subquery()
    rows = await session.exec(select(votes.c.idea_id, func.count()).group_by(votes.c.idea_id))
    return dict(rows.all())


async def ideas_created(session: AsyncSession, campaign_id: int) -> dict[int, datetime]:
    rows = await session.exec(select(Idea.id, Idea.created_at).where(Idea.campaign_id == campaign_id))
    return dict(rows.all())


async def fresh_supports_per_idea(session: AsyncSession, campaign_id: int, joined_after: datetime) -> dict[int, int]:
    """Supports from residents first seen after `joined_after`, per idea."""
    votes = _campaign_votes(campaign_id).subquery()
    statement = (
        select(votes.c.idea_id, func.count()).join(User, User.id == votes.c.user_id)
        .where(User.created_at > joined_after).group_by(votes.c.idea_id)
    )
    return dict((await session.exec(statement)).all())


async def lone_supports_per_idea(session: AsyncSession, campaign_id: int) -> dict[int, int]:
    """Supports from residents who did nothing else in the bot: this one support in total, no proposal, no
    report."""
    single = select(Vote.user_id).group_by(Vote.user_id).having(func.count() == 1).subquery()
    votes = _campaign_votes(campaign_id).subquery()
    statement = (
        select(votes.c.idea_id, func.count()).join(single, single.c.user_id == votes.c.user_id)
        .where(~select(Idea.id).where(Idea.author_id == votes.c.user_id).exists(),
               ~select(Report.id).where(Report.user_id == votes.c.user_id).exists())
        .group_by(votes.c.idea_id)
    )
    return dict((await session.exec(statement)).all())


def _window(session: AsyncSession, column):
    """The ten-minute window of a timestamp, in either database. SQLite stores "YYYY-MM-DD HH:MM:SS…" (UTC):
    its first 15 characters end with the tens of minutes, and cutting text is much cheaper than date functions."""
    if session.bind.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / BUCKET_SECONDS), Integer)
    return func.substr(column, 1, 15)


async def busiest_windows(session: AsyncSession, campaign_id: int) -> dict[int, int]:
    """Per idea: the supports in its busiest ten-minute window."""
    votes = _campaign_votes(campaign_id).subquery()
    per_window = select(votes.c.idea_id, func.count().label("supports")) \
        .group_by(votes.c.idea_id, _window(session, votes.c.created_at)).subquery()
    rows = await session.exec(select(per_window.c.idea_id, func.max(per_window.c.supports))
                              .group_by(per_window.c.idea_id))
    return dict(rows.all())


async def narrow_voters_ideas(session: AsyncSession, campaign_id: int, most: int) -> list[list[int]]:
    """For each resident who supported between two and `most` ideas of the campaign: those ideas (no ids of
    residents leave this function). Vote farms show up here: many accounts supporting the same few ideas."""
    votes = _campaign_votes(campaign_id).subquery()
    statement = (
        select(func.aggregate_strings(cast(votes.c.idea_id, String), ","))
        .group_by(votes.c.user_id).having(func.count().between(2, most))
    )
    return [[int(idea) for idea in ideas.split(",")] for ideas in (await session.exec(statement)).scalars()]


async def reports_per_idea(session: AsyncSession, campaign_id: int) -> dict[int, tuple[int, int]]:
    """(reports, of them still open) per reported idea of the campaign."""
    statement = (
        select(Report.idea_id, func.count(), func.sum(cast(~Report.resolved, Integer)))
        .join(Idea, Idea.id == Report.idea_id).where(Idea.campaign_id == campaign_id).group_by(Report.idea_id)
    )
    return {idea_id: (total, int(open_ or 0)) for idea_id, total, open_ in (await session.exec(statement)).all()}
