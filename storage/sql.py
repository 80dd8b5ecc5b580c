"""Statements that differ between SQLite and PostgreSQL, written once for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def upsert(session: AsyncSession, table: Any) -> Any:
    """An INSERT of the session's dialect (SQLite or PostgreSQL), which has on_conflict_do_update/_do_nothing."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a row whose primary or unique key exists already is skipped, not an
    error (its rowcount tells whether it was written). Add .values(…) or .from_select(…)."""
    return upsert(session, table).on_conflict_do_nothing()
