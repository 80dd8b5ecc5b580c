"""The scheduler: APScheduler 3 (AsyncIOScheduler) with its jobs kept in the project's own database, run by
exactly one process at a time.

Jobs (fixed ids; module-level coroutines of bot/jobs.py, referenced by name, without arguments: they find
their JobContext in bot.jobs, so nothing unpicklable is stored):

| id                    | trigger                                             |
|-----------------------|-----------------------------------------------------|
| `campaign_tick`       | every minute (and at once when first added)         |
| `weekly_digest`       | cron: DIGEST_WEEKDAY at DIGEST_HOUR:00, TIMEZONE     |
| `personal_news`       | cron: the same day, an hour later                   |
| `new_idea_cards`      | every 30 minutes                                    |
| `broadcast_summaries` | every 30 seconds                                    |

Each id is also the name of its function in bot/jobs.py (what it does is told there). Job stores written
before bot/jobs.py held all the jobs refer to the same "bot.jobs:<id>" names, and `sync_jobs` re-registers
every job with replace_existing at start, so an existing database keeps working.

Missed runs. Job defaults are `coalesce=True` and `misfire_grace_time=None`: a run missed while no scheduler
was running (the bot was down, a deploy, a handover between processes) is run ONCE as soon as a scheduler
starts again, however late: coalescing folds all the missed runs of a job into one, and no grace limit means
it is never silently dropped (APScheduler's default grace of 1 second would drop a Monday digest missed by a
restart). A job whose run is late is still right, because every job is idempotent: it claims its run
(storage/schedule.py JobRun: the digest's week, a campaign's event) in the transaction that writes its
messages. The jobs are kept in the job store between runs, and at start an existing job keeps its
`next_run_time` (unless its trigger changed), so a run due during the downtime is caught up, not
rescheduled away. A trigger changed in the settings (another digest hour) takes effect at the next start.

One scheduler per job store. APScheduler 3 does not support several schedulers sharing a job store, so a
process runs its scheduler only while it holds the database lease (storage/schedule.py): `SchedulerService`
tries to take or renew it every `renew_seconds` (20 s) for `lease_seconds` (60 s), starts a fresh scheduler
when it gets the lease and stops it when it loses it (or cannot confirm it before the lease runs out), and
releases the lease on shutdown so a standby process takes over at once. If the holder dies, another process
takes over after at most `lease_seconds + renew_seconds`. Even two schedulers at once (a paused process that
lost its lease without noticing yet) would not send anything twice: the job-run claims see to that.

The job store is synchronous (APScheduler 3): it gets a sync URL (storage.db.sync_url, psycopg for
PostgreSQL) and its short queries run in the event loop's thread. On SQLite a round of the scheduler first takes
the process's write lock (storage/writer.py), so it never meets a write transaction of the bot's own sessions
(during a crowd it would otherwise fail with "database is locked" round after round); its connection waits at
most `SQLITE_JOBSTORE_TIMEOUT` for other processes' writes (blocking the loop meanwhile), and a failed round is
retried after `jobstore_retry_interval` instead of stopping the scheduler's timer (see `_ResilientScheduler`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from bot.config import Settings
from storage import schedule as lease_store
from storage import writer
from storage.db import SessionFactory, sync_url
from storage.models import utcnow

log = logging.getLogger(__name__)

JOB_CAMPAIGN_TICK = "campaign_tick"
JOB_WEEKLY_DIGEST = "weekly_digest"
JOB_PERSONAL_NEWS = "personal_news"
JOB_NEW_IDEA_CARDS = "new_idea_cards"
JOB_BROADCAST_SUMMARIES = "broadcast_summaries"
JOB_RETENTION = "retention"
JOB_IDS = (JOB_CAMPAIGN_TICK, JOB_WEEKLY_DIGEST, JOB_PERSONAL_NEWS, JOB_NEW_IDEA_CARDS, JOB_BROADCAST_SUMMARIES,
           JOB_RETENTION)

JOBSTORE_TABLE = "apscheduler_jobs"
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
SQLITE_JOBSTORE_TIMEOUT = 0.5  # seconds; see the module docstring


@dataclass(frozen=True)
class Timing:
    """Intervals of the scheduler and its lease (tests shorten them)."""

    campaign_tick_seconds: float = 60.0
    new_idea_cards_minutes: float = 30.0
    broadcast_summaries_seconds: float = 30.0
    lease_seconds: float = 60.0
    renew_seconds: float = 20.0
    jobstore_retry_seconds: float = 10.0


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function", stored by name in the job store
    trigger: BaseTrigger
    run_at_start: bool = False  # when the job is new in the store: run it at once, not after one interval


def job_specs(settings: Settings, timing: Timing = Timing()) -> list[JobSpec]:
    tz = settings.tz
    news_weekday, news_hour = settings.digest_weekday, settings.digest_hour + 1
    if news_hour == 24:
        news_weekday, news_hour = (news_weekday + 1) % 7, 0
    return [
        JobSpec(JOB_CAMPAIGN_TICK, "bot.jobs:campaign_tick",
                IntervalTrigger(seconds=timing.campaign_tick_seconds, timezone=tz), run_at_start=True),
        JobSpec(JOB_WEEKLY_DIGEST, "bot.jobs:weekly_digest",
                CronTrigger(day_of_week=settings.digest_weekday, hour=settings.digest_hour, minute=0, timezone=tz)),
        JobSpec(JOB_PERSONAL_NEWS, "bot.jobs:personal_news",
                CronTrigger(day_of_week=news_weekday, hour=news_hour, minute=0, timezone=tz)),
        JobSpec(JOB_NEW_IDEA_CARDS, "bot.jobs:new_idea_cards",
                IntervalTrigger(minutes=timing.new_idea_cards_minutes, timezone=tz)),
        JobSpec(JOB_BROADCAST_SUMMARIES, "bot.jobs:broadcast_summaries",
                IntervalTrigger(seconds=timing.broadcast_summaries_seconds, timezone=tz)),
        JobSpec(JOB_RETENTION, "bot.jobs:retention", CronTrigger(hour=4, minute=30, timezone=tz)),
    ]


class _ResilientScheduler(AsyncIOScheduler):
    """APScheduler 3's asyncio scheduler stops for good when a round of `_process_jobs` raises (the job store's
    `update_job` failing on a locked or unreachable database: the timer is never set again). Here such a
    round is logged and retried after `jobstore_retry_interval`; a job it had submitted may run once more
    then, which the job-run claims make harmless."""

    write_lock: asyncio.Lock | None = None  # SQLite: the process's write lock (see the module docstring)
    _round: asyncio.Task[None] | None = None

    def _process_jobs(self):
        try:
            return super()._process_jobs()
        except Exception:
            log.exception("scheduler: a round of jobs failed; retrying in %s s", self.jobstore_retry_interval)
            return self.jobstore_retry_interval

    @run_in_event_loop
    def wakeup(self):
        self._stop_timer()
        if self.write_lock is None:
            self._start_timer(self._process_jobs())
        elif self._round is None or self._round.done():  # a round waiting for the lock does this one's work
            self._round = self._eventloop.create_task(self._round_between_writes())

    async def _round_between_writes(self) -> None:
        async with self.write_lock:
            if not self.running:  # shut down while waiting
                return
            wait_seconds = self._process_jobs()
        self._start_timer(wait_seconds)


def jobstore_options(database_url: str) -> dict[str, Any]:
    url = sync_url(database_url)
    options: dict[str, Any] = {"url": url, "tablename": JOBSTORE_TABLE}
    if make_url(url).get_backend_name() == "sqlite":
        options["engine_options"] = {"connect_args": {"timeout": SQLITE_JOBSTORE_TIMEOUT}}
    else:
        options["engine_options"] = {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2}
    return options


def create_scheduler(settings: Settings, timing: Timing = Timing()) -> AsyncIOScheduler:
    """A new scheduler on the persistent job store (not started). One per start: a stopped one is not reused."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    return _ResilientScheduler(
        jobstores={"default": SQLAlchemyJobStore(**jobstore_options(settings.database_url))},
        job_defaults=dict(JOB_DEFAULTS),
        timezone=settings.tz,
        jobstore_retry_interval=timing.jobstore_retry_seconds,
    )


def _same_trigger(old: BaseTrigger, new: BaseTrigger) -> bool:
    return type(old) is type(new) and str(old) == str(new) and str(getattr(old, "timezone", "")) == str(
        getattr(new, "timezone", ""))


def sync_jobs(scheduler: AsyncIOScheduler, specs: list[JobSpec]) -> None:
    """Make the job store hold exactly these jobs (call while the scheduler is paused). A job already stored
    with the same trigger keeps its next_run_time, so a run missed while no scheduler ran is caught up once."""
    wanted = {spec.id for spec in specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("scheduler: removing the job %s, no longer scheduled", job.id)
            job.remove()
    for spec in specs:
        existing = scheduler.get_job(spec.id)
        options: dict[str, Any] = {}
        if existing is not None and existing.next_run_time is not None and _same_trigger(existing.trigger,
                                                                                           spec.trigger):
            options["next_run_time"] = existing.next_run_time
        elif existing is None and spec.run_at_start:
            options["next_run_time"] = utcnow()
        scheduler.add_job(spec.func, spec.trigger, id=spec.id, name=spec.id, replace_existing=True, **options)


async def start_scheduler(settings: Settings, timing: Timing = Timing(), specs: list[JobSpec] | None = None,
                          write_lock: asyncio.Lock | None = None) -> AsyncIOScheduler:
    """Create and start a scheduler inside the running loop, its jobs reconciled before any of them runs."""
    scheduler = create_scheduler(settings, timing)
    scheduler.write_lock = write_lock
    async with write_lock or contextlib.nullcontext():
        scheduler.start(paused=True)
        try:
            sync_jobs(scheduler, specs if specs is not None else job_specs(settings, timing))
        except Exception:
            await stop_scheduler(scheduler)
            raise
    scheduler.resume()
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Shut down (running jobs are cancelled: their transactions roll back and the next trigger redoes them)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
    for _ in range(3):  # AsyncIOScheduler shuts down in a loop callback
        await asyncio.sleep(0)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]


class SchedulerService:
    """Runs the scheduler in this process while it holds the database lease (see the module docstring)."""

    def __init__(self, sessions: SessionFactory, settings: Settings, *, timing: Timing = Timing(),
                 holder: str | None = None, specs: list[JobSpec] | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.timing = timing
        self.holder = holder or default_holder()
        self.specs = specs
        self.scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lease_valid_until = 0.0  # monotonic time until which our lease is known to be ours
        self.became_leader = asyncio.Event()  # set each time this process starts the scheduler (for tests)

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> asyncio.Task[None]:
        """Start the lease loop as a background task (call inside the running loop)."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="scheduler-lease")
        return self._task

    async def stop(self) -> None:
        """Stop the scheduler and the lease loop, and release the lease."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._step_down()
        try:
            async with self.sessions() as session:
                await lease_store.release_lease(session, self.holder)
        except Exception:
            log.warning("scheduler: could not release the lease (it expires by itself)", exc_info=True)

    async def _run(self) -> None:
        ttl = timedelta(seconds=self.timing.lease_seconds)
        while not self._stop.is_set():
            try:
                await self._round(ttl)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("scheduler: the lease could not be checked", exc_info=True)
                if self.is_leader and time.monotonic() >= self._lease_valid_until:
                    log.warning("scheduler: the lease may have passed to another process; stopping here")
                    await self._step_down()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.timing.renew_seconds)

    async def _round(self, ttl: timedelta) -> None:
        asked_at = time.monotonic()
        async with self.sessions() as session:
            if self.is_leader:
                ours = await lease_store.renew_lease(session, self.holder, ttl)
            else:
                ours = await lease_store.acquire_lease(session, self.holder, ttl)
        if ours:
            # Counted from before the request, less a margin: stop before anyone else can take over.
            self._lease_valid_until = asked_at + ttl.total_seconds() - self.timing.renew_seconds / 2
            if not self.is_leader and not self._stop.is_set():
                log.info("scheduler: lease taken by %s; starting the scheduler", self.holder)
                self.scheduler = await start_scheduler(self.settings, self.timing, self.specs,
                                                       writer.write_lock(self.sessions))
                self.became_leader.set()
        elif self.is_leader:
            log.warning("scheduler: the lease passed to another process; stopping the scheduler here")
            await self._step_down()

    async def _step_down(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            await stop_scheduler(scheduler)
