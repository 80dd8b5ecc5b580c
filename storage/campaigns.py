"""Campaigns and their categories: reading the current one and writing imported ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import Campaign, Category, Idea


async def current_campaign(session: AsyncSession, now: datetime) -> Campaign | None:
    """The campaign residents see: an open one, else the next to open, else the last that closed."""
    open_now = (await session.exec(
        select(Campaign).where(Campaign.starts_at <= now, Campaign.ends_at > now).order_by(Campaign.ends_at)
    )).first()
    if open_now is not None:
        return open_now
    upcoming = (await session.exec(
        select(Campaign).where(Campaign.starts_at > now).order_by(Campaign.starts_at)
    )).first()
    if upcoming is not None:
        return upcoming
    return (await session.exec(select(Campaign).order_by(Campaign.ends_at.desc()))).first()


async def campaign_by_slug(session: AsyncSession, slug: str) -> Campaign | None:
    return (await session.exec(select(Campaign).where(Campaign.slug == slug))).first()


async def count_campaigns(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Campaign))).first() or 0


async def categories_with_counts(session: AsyncSession, campaign_id: int) -> list[tuple[Category, int]]:
    """Categories in their order, each with its number of public ideas."""
    visible = case((public_condition(), 1), else_=None)
    rows = await session.exec(
        select(Category, func.count(visible))
        .outerjoin(Idea, Idea.category_id == Category.id)
        .where(Category.campaign_id == campaign_id)
        .group_by(Category.id)
        .order_by(Category.position, Category.id)
    )
    return [(category, count) for category, count in rows.all()]


async def get_category(session: AsyncSession, category_id: int) -> Category | None:
    return await session.get(Category, category_id)


async def category_by_key(session: AsyncSession, campaign_id: int, key: str) -> Category | None:
    return (await session.exec(
        select(Category).where(Category.campaign_id == campaign_id, Category.key == key)
    )).first()


async def create_or_update(session: AsyncSession, row: SQLModel | None, create: Callable[..., SQLModel],
                           fields: dict[str, object]) -> tuple[SQLModel, bool, bool]:
    """An imported row: `row` updated with `fields`, or, when there is none, `create(**fields)` added (and
    flushed, so it has its id). Returns (row, created, changed)."""
    if row is None:
        row = create(**fields)
        session.add(row)
        await session.flush()
        return row, True, False
    return row, False, apply_fields(row, fields)


def apply_fields(row: object, fields: dict[str, object]) -> bool:
    """Set the given attributes; True when anything changed (so an import can report updates)."""
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
