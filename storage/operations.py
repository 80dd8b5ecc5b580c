"""Numbers for the operator: Prometheus gauges (bot/metrics.py) and the readiness check (bot/health.py)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Idea, OutboxMessage, OutboxStatus, SchedulerLease, utcnow
from storage.schedule import SCHEDULER_LEASE


async def ping(session: AsyncSession) -> None:
    await session.exec(text("SELECT 1"))


async def schema_revision(session: AsyncSession) -> str | None:
    """The migration the database is at (None before the first one)."""
    try:
        return (await session.exec(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    except Exception:  # no alembic_version table yet
        await session.rollback()
        return None


async def supports_total(session: AsyncSession) -> int:
    """All supports, from the ideas' counters (cheap: one row per idea, not per vote)."""
    return int((await session.exec(select(func.coalesce(func.sum(Idea.supporters_count), 0)))).scalar_one())


async def outbox_waiting_by_kind(session: AsyncSession) -> dict[str, int]:
    statement = (select(OutboxMessage.kind, func.count())
                 .where(OutboxMessage.status == OutboxStatus.PENDING.value).group_by(OutboxMessage.kind))
    return {kind: count for kind, count in (await session.exec(statement)).all()}


async def scheduler_lease_holder(session: AsyncSession) -> str | None:
    statement = select(SchedulerLease.holder).where(SchedulerLease.name == SCHEDULER_LEASE,
                                                    SchedulerLease.expires_at > utcnow())
    return (await session.exec(statement)).first()
