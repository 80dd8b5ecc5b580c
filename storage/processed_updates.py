"""Telegram updates whose effects are committed (see bot/once.py). No function here commits: the mark goes
into the transaction of the update's effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate, utcnow

_processed = ProcessedUpdate.__table__


async def was_processed(session: AsyncSession, update_id: int) -> bool:
    return bool((await session.exec(select(exists().where(_processed.c.update_id == update_id)))).scalar())


def mark_statement(dialect_name: str, update_id: int):
    """INSERT of the mark that does nothing when the update is marked already (rowcount 0)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(_processed).values(update_id=update_id, processed_at=utcnow()).on_conflict_do_nothing()


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget marks older than `before` (Telegram stops redelivering after a day)."""
    result = await session.exec(delete(_processed).where(_processed.c.processed_at < before))
    return result.rowcount
