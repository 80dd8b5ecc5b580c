"""Residents: the Telegram id and the language they read in."""

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_or_create_user(session: AsyncSession, user_id: int, language: str) -> User:
    """Return the resident, creating them with `language` on first sight."""
    user = await session.get(User, user_id)
    if user is not None:
        return user
    user = User(id=user_id, language=language)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        # Two first updates of one new resident at once: the other one created the row.
        await session.rollback()
        user = await session.get(User, user_id)
        if user is None:
            raise
    return user


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    user.language = language
    user.language_chosen = True
    session.add(user)
    await session.commit()


async def users_by_language(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(select(User.language, func.count()).group_by(User.language))
    return {language: count for language, count in rows.all()}


async def count_subscribers(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User).where(User.subscribed))).first() or 0


async def set_reachable(session: AsyncSession, user_id: int, reachable: bool) -> bool:
    """Record whether messages reach the resident (False after a 403 or when they block the bot; True when they
    write again or unblock it). Not committed. True when the flag changed."""
    result = await session.exec(
        update(User).where(User.id == user_id, User.is_reachable.is_(not reachable)).values(is_reachable=reachable)
    )
    return result.rowcount > 0
