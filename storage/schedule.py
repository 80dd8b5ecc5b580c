"""The scheduler's lease and the claims of job runs: what makes a scheduled job happen once.

The lease. APScheduler 3 does not support two schedulers on one job store, so only the process holding the
`scheduler` lease runs one. Acquiring is ONE statement, `INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE
the lease expired or is ours ... RETURNING`: when two processes try at once, the database orders them (a
row lock on PostgreSQL, the single writer on SQLite) and the second one sees the first one's unexpired
lease, so its update matches nothing and it gets no row back. The lease functions commit: each is a whole
step of its own. Times come from the callers' clocks: keep the hosts' clocks within a few seconds of each
other (NTP does), well under the lease's length.

Job-run claims. `claim_run` inserts a JobRun (kind, run_key) and reports whether this caller inserted it. It
does NOT commit: the caller writes the run's outbox messages in the same transaction and commits once, so a
run happens once whoever triggers it (a second trigger finds the row and writes nothing; a concurrent one
waits for the first transaction and then finds the row), and not at all if it fails before the commit (the
next trigger does it). Claim first, before the other writes: on SQLite the claim then takes the write lock
before anything else is read in the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import JobRun, SchedulerLease, utcnow
from storage.sql import insert_ignoring_conflicts, upsert

SCHEDULER_LEASE = "scheduler"

_lease = SchedulerLease.__table__
_job_run = JobRun.__table__


# ---------------------------------------------------------------- the lease


async def acquire_lease(
    session: AsyncSession, holder: str, ttl: timedelta, *, name: str = SCHEDULER_LEASE, now: datetime | None = None
) -> bool:
    """Take or extend the lease until now + ttl. True when it is ours now: the row was missing, expired or
    already ours. Commits."""
    now = now or utcnow()
    insert = upsert(session, _lease).values(name=name, holder=holder, expires_at=now + ttl)
    statement = insert.on_conflict_do_update(
        index_elements=[_lease.c.name],
        set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
        where=(_lease.c.expires_at <= now) | (_lease.c.holder == holder),
    ).returning(_lease.c.holder)
    won = (await session.exec(statement)).first() is not None
    await session.commit()
    return won


async def renew_lease(
    session: AsyncSession, holder: str, ttl: timedelta, *, name: str = SCHEDULER_LEASE, now: datetime | None = None
) -> bool:
    """Extend our lease; False when another process holds it now (ours expired and was taken). Commits.

    An expired lease nobody took is still ours to extend: nobody else ran the scheduler meanwhile."""
    now = now or utcnow()
    result = await session.exec(
        update(_lease).where(_lease.c.name == name, _lease.c.holder == holder).values(expires_at=now + ttl)
    )
    await session.commit()
    return result.rowcount == 1


async def release_lease(session: AsyncSession, holder: str, *, name: str = SCHEDULER_LEASE) -> bool:
    """Give the lease up (on shutdown) so another process can take over at once, not after the expiry.
    Only our own lease is deleted. Commits."""
    result = await session.exec(delete(_lease).where(_lease.c.name == name, _lease.c.holder == holder))
    await session.commit()
    return result.rowcount == 1


async def lease_holder(
    session: AsyncSession, *, name: str = SCHEDULER_LEASE, now: datetime | None = None
) -> str | None:
    """The holder of the unexpired lease, or None."""
    now = now or utcnow()
    query = select(_lease.c.holder).where(_lease.c.name == name, _lease.c.expires_at > now)
    return (await session.exec(query)).scalar_one_or_none()


# ---------------------------------------------------------------- job runs


async def claim_run(session: AsyncSession, kind: str, run_key: str, *, now: datetime | None = None) -> bool:
    """Record that the run (kind, run_key) happens; False when it was claimed before. NOT committed: commit
    it in the same transaction as the messages the run writes."""
    statement = (
        insert_ignoring_conflicts(session, _job_run)
        .values(kind=kind, run_key=run_key, created_at=now or utcnow())
    )
    result = await session.exec(statement)
    return result.rowcount == 1


async def claimed_runs(session: AsyncSession, kind_key_pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these runs were claimed already (a cheap read before trying to claim)."""
    if not kind_key_pairs:
        return set()
    keys = {key for _kind, key in kind_key_pairs}
    rows = await session.exec(select(_job_run.c.kind, _job_run.c.run_key).where(_job_run.c.run_key.in_(keys)))
    wanted = set(kind_key_pairs)
    return {(kind, key) for kind, key in rows.all() if (kind, key) in wanted}
