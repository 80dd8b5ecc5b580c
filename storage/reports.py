"""Residents' reports of published ideas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Idea, Report, User, Vote
from storage.sql import insert_ignoring_conflicts


async def add_report(session: AsyncSession, idea_id: int, user_id: int, reason: str, now: datetime) -> bool:
    """False when this resident reported this idea before (one report each counts)."""
    insert = insert_ignoring_conflicts(session, Report).values(idea_id=idea_id, user_id=user_id, reason=reason,
                                                               created_at=now)
    return (await session.exec(insert)).rowcount == 1


async def count_trusted_open_reports(session: AsyncSession, idea_id: int, joined_before: datetime) -> int:
    """Open reports of the idea by residents with a history: in the bot since before `joined_before`, and who
    took part before their report (supported another idea, or proposed one). Fresh accounts are still read by
    moderators, but cannot hide anything on their own."""
    reporter = aliased(User)
    earlier_support = exists().where(Vote.user_id == Report.user_id, Vote.idea_id != idea_id,
                                     Vote.created_at < Report.created_at)
    earlier_proposal = exists().where(Idea.author_id == Report.user_id, Idea.id != idea_id,
                                      Idea.created_at < Report.created_at)
    statement = (
        select(func.count()).select_from(Report).join(reporter, reporter.id == Report.user_id)
        .where(Report.idea_id == idea_id, Report.resolved.is_(False), reporter.created_at <= joined_before,
               or_(earlier_support, earlier_proposal))
    )
    return (await session.exec(statement)).one()


async def reported_ideas(session: AsyncSession, limit: int) -> tuple[list[Idea], int]:
    """Public ideas, not hidden, with open reports: the moderators' queue; the most reported first."""
    open_reports = (
        select(Report.idea_id, func.count().label("reports")).where(Report.resolved.is_(False))
        .group_by(Report.idea_id).subquery()
    )
    condition = and_(public_condition(), Idea.id == open_reports.c.idea_id)
    total = (await session.exec(select(func.count()).select_from(Idea).join(
        open_reports, Idea.id == open_reports.c.idea_id).where(public_condition()))).one()
    rows = await session.exec(select(Idea).join(open_reports, Idea.id == open_reports.c.idea_id).where(condition)
                              .order_by(open_reports.c.reports.desc(), Idea.id).limit(limit))
    return list(rows.all()), total


async def hide(session: AsyncSession, idea_id: int) -> bool:
    """Hide the idea; True only for the report that hid it (so moderators are told once)."""
    result = await session.exec(update(Idea).where(Idea.id == idea_id, Idea.hidden.is_(False)).values(hidden=True))
    return result.rowcount == 1
