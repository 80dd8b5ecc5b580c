"""Residents: the Telegram id and the language they read in."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cache import caches_of, resident_keys
from storage.models import User
from storage.pg_direct import direct_connections


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident as every update reads them: a plain, immutable record (kept in storage/cache.py), not a
    session's object. Changes go through the functions here, by id."""

    id: int
    language: str
    language_chosen: bool
    subscribed: bool
    notify_status: bool
    is_moderator: bool
    is_banned: bool
    is_reachable: bool
    reminders: bool
    created_at: datetime


_COLUMNS = [getattr(User, field.name) for field in fields(Resident)]
# The same read on SQLite's own driver (storage/cache.py reads there without aiosqlite's thread): booleans come
# as 0/1, the time as text, converted as SQLAlchemy would.
_RESIDENT_SQL = f"SELECT {', '.join(field.name for field in fields(Resident))} FROM resident WHERE id = ?"
_sqlite_time = User.__table__.c.created_at.type._cached_result_processor(sqlite.dialect(), None)
_RESIDENT_PG_SQL = _RESIDENT_SQL.replace("?", "$1::bigint")  # PostgreSQL's driver gives the values as they are


def _from_sqlite(row: tuple) -> tuple:
    return (*row[:2], *(bool(flag) for flag in row[2:-1]), _sqlite_time(row[-1]))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


def _resident_query(user_id: int):
    return select(*_COLUMNS).where(User.id == user_id)


async def _load_resident(session: AsyncSession, user_id: int) -> Resident | None:
    row = (await session.exec(_resident_query(user_id))).first()
    return Resident(*row) if row is not None else None


async def get_resident(session: AsyncSession, user_id: int) -> Resident | None:
    """The resident's record, from the cache while no write changed it (storage/cache.py)."""
    caches = caches_of(session)
    if caches is None:
        return await _load_resident(session, user_id)

    async def load() -> Resident | None:
        if caches.reader is not None:
            row = caches.read_now(_RESIDENT_SQL, (user_id,))
            return Resident(*_from_sqlite(row)) if row is not None else None
        direct = direct_connections(session.bind)
        if direct is not None:
            row = await direct.fetchrow(_RESIDENT_PG_SQL, user_id)
            return Resident(*row) if row is not None else None
        return await _load_resident(session, user_id)

    return await caches.fetch(caches.residents, user_id, resident_keys(user_id), load)


async def get_or_create_resident(session: AsyncSession, user_id: int, language: str) -> Resident:
    """Return the resident, creating them with `language` on first sight."""
    resident = await get_resident(session, user_id)
    if resident is not None:
        return resident
    await get_or_create_user(session, user_id, language)
    resident = await _load_resident(session, user_id)
    if resident is None:  # forgotten (privacy) in the same instant: there is nobody to serve
        raise LookupError(f"resident {user_id} vanished while being created")
    return resident


async def get_or_create_user(session: AsyncSession, user_id: int, language: str) -> User:
    """Return the resident's row, creating it with `language` on first sight."""
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


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    await session.exec(update(User).where(User.id == user_id).values(language=language, language_chosen=True))
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
