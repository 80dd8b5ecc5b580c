"""A resident's subscriptions: the weekly digest, reminders, news about their ideas, and the categories whose new
ideas they want to hear about. Nothing here commits: bot/domain/subscriptions.py commits each change."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Category, CategoryInterest, User
from storage.sql import insert_ignoring_conflicts

# The resident's columns a subscription toggle may change.
OPTION_COLUMNS = ("subscribed", "reminders", "notify_status")


@dataclass(frozen=True)
class Options:
    subscribed: bool
    reminders: bool
    notify_status: bool
    is_banned: bool


async def get_options(session: AsyncSession, user_id: int) -> Options | None:
    """As stored now (a column select: never the copy loaded earlier in this session)."""
    row = (await session.exec(
        select(User.subscribed, User.reminders, User.notify_status, User.is_banned).where(User.id == user_id)
    )).first()
    return Options(*(bool(value) for value in row)) if row else None


async def set_options(session: AsyncSession, user_id: int, values: dict[str, bool]) -> bool:
    """Set some of OPTION_COLUMNS; True when anything changed."""
    if not values:
        return False
    unknown = set(values) - set(OPTION_COLUMNS)
    if unknown:
        raise ValueError(f"not a subscription option: {sorted(unknown)}")
    columns = {name: getattr(User, name) for name in values}
    differs = [columns[name].is_not(value) for name, value in values.items()]
    result = await session.exec(
        update(User).where(User.id == user_id, or_(*differs)).values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0


async def campaign_categories(session: AsyncSession, campaign_id: int) -> list[Category]:
    result = await session.exec(
        select(Category).where(Category.campaign_id == campaign_id).order_by(Category.position, Category.id)
    )
    return list(result.all())


async def chosen_category_ids(session: AsyncSession, user_id: int, campaign_id: int | None = None) -> set[int]:
    query = select(CategoryInterest.category_id).where(CategoryInterest.user_id == user_id)
    if campaign_id is not None:
        query = query.join(Category, Category.id == CategoryInterest.category_id).where(
            Category.campaign_id == campaign_id)
    return set((await session.exec(query)).all())


async def add_interest(session: AsyncSession, user_id: int, category_id: int) -> bool:
    """True when added (False: it was there already; a double tap)."""
    statement = insert_ignoring_conflicts(session, CategoryInterest).values(user_id=user_id, category_id=category_id)
    result = await session.exec(statement)
    return result.rowcount == 1


async def remove_interest(session: AsyncSession, user_id: int, category_id: int) -> bool:
    result = await session.exec(
        delete(CategoryInterest).where(CategoryInterest.user_id == user_id,
                                       CategoryInterest.category_id == category_id)
    )
    return result.rowcount > 0


async def clear_interests(session: AsyncSession, user_id: int) -> int:
    result = await session.exec(delete(CategoryInterest).where(CategoryInterest.user_id == user_id))
    return max(result.rowcount, 0)


async def count_interests(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(CategoryInterest).where(CategoryInterest.user_id == user_id)
    return (await session.exec(query)).first() or 0
