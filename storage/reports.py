"""Residents' reports of published ideas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Idea, Report
from storage.sql import insert_ignoring_conflicts


async def add_report(session: AsyncSession, idea_id: int, user_id: int, reason: str, now: datetime) -> bool:
    """False when this resident reported this idea before (one report each counts)."""
    insert = insert_ignoring_conflicts(session, Report).values(idea_id=idea_id, user_id=user_id, reason=reason,
                                                               created_at=now)
    return (await session.exec(insert)).rowcount == 1


async def count_open_reports(session: AsyncSession, idea_id: int) -> int:
    statement = select(func.count()).select_from(Report).where(Report.idea_id == idea_id, Report.resolved.is_(False))
    return (await session.exec(statement)).one()


async def hide(session: AsyncSession, idea_id: int) -> bool:
    """Hide the idea; True only for the report that hid it (so moderators are told once)."""
    result = await session.exec(update(Idea).where(Idea.id == idea_id, Idea.hidden.is_(False)).values(hidden=True))
    return result.rowcount == 1
