"""Queries for residents' proposals."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Idea, IdeaStatus


async def count_pending_by_author(session: AsyncSession, author_id: int) -> int:
    statement = select(func.count()).select_from(Idea).where(
        Idea.author_id == author_id, Idea.status == IdeaStatus.PENDING)
    return (await session.exec(statement)).one()


TitleRow = tuple[int, str | None, str | None, str | None]  # id and the lv, ru, en titles


async def public_titles(session: AsyncSession, campaign_id: int) -> list[TitleRow]:
    statement = select(Idea.id, Idea.title_lv, Idea.title_ru, Idea.title_en).where(
        Idea.campaign_id == campaign_id, public_condition())
    return list((await session.exec(statement)).all())


async def ideas_by_author(session: AsyncSession, author_id: int, limit: int) -> list[Idea]:
    statement = select(Idea).where(Idea.author_id == author_id).order_by(Idea.created_at.desc(), Idea.id.desc())
    return list((await session.exec(statement.limit(limit))).all())


async def idea_by_submission_key(session: AsyncSession, key: str) -> Idea | None:
    statement = select(Idea).where(Idea.submission_key == key).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()
