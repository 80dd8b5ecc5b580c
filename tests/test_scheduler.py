"""The scheduler runs each job once: the database lease (one scheduler process at a time, handed over on
expiry or release), job-run claims under concurrency, the persistent APScheduler job store across restarts
(same jobs, no duplicates, a missed run caught up once), and two real `python -m bot clock` processes on one
PostgreSQL database sending one opening reminder per resident."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text, update
from sqlmodel import select

from bot import jobs
from bot.config import Settings
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.scheduler import (
    JOB_IDS,
    JOBSTORE_TABLE,
    JobSpec,
    SchedulerService,
    Timing,
    create_scheduler,
    job_specs,
    start_scheduler,
    stop_scheduler,
)
from storage import outbox
from storage.db import SessionFactory, create_engine, migrate, session_factory
from storage.models import Campaign, JobRun, OutboxMessage, SchedulerLease, User, utcnow
from storage.schedule import SCHEDULER_LEASE, acquire_lease, claim_run, lease_holder, release_lease, renew_lease
from tests.conftest import (
    PROCESS_START_BOUND,
    TEST_TOKEN,
    _postgres_database,
    eventually,
    load_example,
    starts_processes,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)

# ---------------------------------------------------------------- jobs the tests schedule (pickled by name)

RUNS: list[str] = []


async def count_cron() -> int:
    RUNS.append("cron")
    return 0


async def count_interval() -> int:
    RUNS.append("interval")
    return 0


async def noop() -> int:
    return 0


NOOP_SPECS = [JobSpec("noop", "tests.test_scheduler:noop", IntervalTrigger(hours=1))]


def make_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, media_dir=str(tmp_path / "media"))


# ---------------------------------------------------------------- the lease


async def test_lease_has_one_holder_and_passes_on_expiry_or_release(sessions):
    async with sessions() as session:
        assert await acquire_lease(session, "a", TTL, now=T0)
        assert not await acquire_lease(session, "b", TTL, now=T0 + timedelta(seconds=10))
        assert await acquire_lease(session, "a", TTL, now=T0 + timedelta(seconds=20))  # ours: extended to +80 s
        assert await renew_lease(session, "a", TTL, now=T0 + timedelta(seconds=30))  # to +90 s
        assert not await renew_lease(session, "b", TTL, now=T0 + timedelta(seconds=30))
        assert await lease_holder(session, now=T0 + timedelta(seconds=89)) == "a"
        assert not await acquire_lease(session, "b", TTL, now=T0 + timedelta(seconds=89))
        # a stopped renewing: at the expiry b takes over, and a can no longer renew it.
        assert await acquire_lease(session, "b", TTL, now=T0 + timedelta(seconds=90))
        assert not await renew_lease(session, "a", TTL, now=T0 + timedelta(seconds=91))
        assert await lease_holder(session, now=T0 + timedelta(seconds=91)) == "b"
        assert not await release_lease(session, "a")  # not a's to give up
        assert await release_lease(session, "b")
        assert await lease_holder(session, now=T0 + timedelta(seconds=92)) is None
        assert await acquire_lease(session, "a", TTL, now=T0 + timedelta(seconds=92))


async def test_lease_concurrent_acquire_has_one_winner(sessions):
    async def attempt(holder: str) -> bool:
        async with sessions() as session:
            return await acquire_lease(session, holder, TTL, now=T0)

    for round_ in range(3):
        results = await asyncio.gather(*(attempt(f"p{round_}-{n}") for n in range(8)))
        assert sum(results) == (1 if round_ == 0 else 0)
    async with sessions() as session:
        assert (await lease_holder(session, now=T0)).startswith("p0-")


# ---------------------------------------------------------------- job-run claims


async def test_claim_run_once_under_concurrency_and_not_at_all_when_rolled_back(sessions):
    async def run(n: int) -> bool:
        async with sessions() as session:
            won = await claim_run(session, "weekly_digest", "2026-W48")
            await asyncio.sleep(0.05)  # the transaction stays open while others try
            if won:
                await outbox.enqueue(session, 1, f"digest {n}", kind="digest", dedupe_key="digest:2026-W48:1")
            await session.commit()
            return won

    # A run that fails before its commit leaves no claim: the next trigger does it.
    async with sessions() as session:
        assert await claim_run(session, "weekly_digest", "2026-W48")
        await session.rollback()
    assert sum(await asyncio.gather(*(run(n) for n in range(8)))) == 1
    async with sessions() as session:
        assert len((await session.exec(select(JobRun))).all()) == 1
        assert len((await session.exec(select(OutboxMessage))).all()) == 1
        assert await claim_run(session, "weekly_digest", "2026-W49")  # another key is another run
        await session.rollback()


# ---------------------------------------------------------------- the job store


@pytest.fixture
def job_context(sessions, tmp_path):
    """bot.jobs' context, for the real jobs that run at a scheduler's start (campaign_tick)."""
    settings = Settings(media_dir=str(tmp_path / "media"))
    jobs.set_context(JobContext(sessions=sessions, settings=settings, i18n=create_i18n(), clock=utcnow,
                                bot_username="test_bot"))
    yield
    jobs.set_context(None)


async def _stored_jobs(sessions: SessionFactory) -> list[str]:
    async with sessions() as session:
        return sorted((await session.exec(text(f"SELECT id FROM {JOBSTORE_TABLE}"))).scalars())


async def test_job_store_keeps_the_same_jobs_across_a_restart(sessions, database_url, tmp_path, job_context):
    settings = make_settings(database_url, tmp_path)
    first = await start_scheduler(settings)
    first.add_job("tests.test_scheduler:noop", IntervalTrigger(hours=1), id="obsolete")  # a job no longer wanted
    before = {job.id: job.next_run_time for job in first.get_jobs()}
    await stop_scheduler(first)
    assert not first.running

    second = await start_scheduler(settings)
    try:
        after = {job.id: job.next_run_time for job in second.get_jobs()}
        assert sorted(after) == sorted(JOB_IDS)
        assert await _stored_jobs(sessions) == sorted(JOB_IDS)  # one row each, "obsolete" removed
        for job_id in ("weekly_digest", "personal_news", "new_idea_cards", "broadcast_summaries"):
            assert after[job_id] == before[job_id]  # kept, not rescheduled
        job = second.get_job("weekly_digest")
        assert job.func_ref == "bot.jobs:weekly_digest" and job.coalesce and job.misfire_grace_time is None
        assert job.trigger.fields[4].name == "day_of_week" and str(job.trigger.fields[4]) == "0"
        assert str(second.get_job("personal_news").trigger.fields[5]) == "11"  # an hour after the digest
    finally:
        await stop_scheduler(second)


async def test_a_run_missed_while_down_is_caught_up_once(sqlite_url, sqlite_sessions, tmp_path):
    settings = make_settings(sqlite_url, tmp_path)
    now = utcnow()
    specs = [
        JobSpec("weekly", "tests.test_scheduler:count_cron",
                CronTrigger(day_of_week=now.weekday(), hour=now.hour, minute=0, timezone=UTC)),
        JobSpec("hourly", "tests.test_scheduler:count_interval", IntervalTrigger(hours=1, timezone=UTC)),
    ]
    # The last scheduler stopped before these runs came due: the weekly one 3 hours ago, the hourly one 5 times.
    down = create_scheduler(settings)
    down.start(paused=True)
    down.add_job(specs[0].func, specs[0].trigger, id="weekly", next_run_time=now - timedelta(hours=3))
    down.add_job(specs[1].func, specs[1].trigger, id="hourly", next_run_time=now - timedelta(hours=5))
    await stop_scheduler(down)

    RUNS.clear()
    scheduler = await start_scheduler(settings, specs=specs)
    try:
        await eventually(lambda: len(RUNS) >= 2, what="both missed runs caught up")
        await asyncio.sleep(0.3)
        assert sorted(RUNS) == ["cron", "interval"]  # once each: not dropped, not repeated
        for job in scheduler.get_jobs():
            assert job.next_run_time > now
    finally:
        await stop_scheduler(scheduler)


def test_job_specs_use_fixed_ids_and_module_level_functions():
    settings = Settings(digest_weekday=6, digest_hour=23)
    specs = {spec.id: spec for spec in job_specs(settings)}
    assert tuple(specs) == JOB_IDS
    assert all(spec.func == f"bot.jobs:{spec.id}" for spec in specs.values())
    for spec in specs.values():
        module, name = spec.func.split(":")
        assert callable(getattr(sys.modules.get(module) or __import__(module, fromlist=[name]), name))
    news = specs["personal_news"].trigger  # an hour after Sunday 23:00 is Monday 00:00
    assert str(news.fields[4]) == "0" and str(news.fields[5]) == "0"
    assert str(specs["campaign_tick"].trigger) == "interval[0:01:00]"


# ---------------------------------------------------------------- the lease loop


async def test_scheduler_service_hands_over_on_release_and_on_expiry(sqlite_url, sqlite_sessions, tmp_path):
    settings = make_settings(sqlite_url, tmp_path)
    # 5 s: renewals every 0.1 s keep the lease even when a loaded machine stalls this process for seconds.
    timing = Timing(lease_seconds=5.0, renew_seconds=0.1)
    a = SchedulerService(sqlite_sessions, settings, timing=timing, holder="a", specs=NOOP_SPECS)
    b = SchedulerService(sqlite_sessions, settings, timing=timing, holder="b", specs=NOOP_SPECS)
    c = SchedulerService(sqlite_sessions, settings, timing=timing, holder="c", specs=NOOP_SPECS)
    try:
        a.start()
        await eventually(a.became_leader.is_set, what="a took the free lease")
        b.start()
        await asyncio.sleep(0.4)  # b tries a few times meanwhile
        assert a.is_leader and not b.is_leader

        await a.stop()  # a clean shutdown releases the lease: b takes over at its next try, not at its expiry
        await eventually(b.became_leader.is_set, what="b took the released lease")
        assert a.scheduler is None

        # b dies without a word (kill -9): c waits for the lease to expire, then takes over.
        b._task.cancel()
        await stop_scheduler(b.scheduler)
        async with sqlite_sessions() as session:
            expires_at = await lease_expiry(session)
        c.start()
        await eventually(c.became_leader.is_set, what="c took the expired lease")
        assert utcnow() >= expires_at  # not before b's lease expired
        async with sqlite_sessions() as session:
            assert await lease_holder(session) == "c"
    finally:
        b._stop.set()
        for service in (a, c):
            await service.stop()
    async with sqlite_sessions() as session:
        assert await lease_holder(session) is None


# ---------------------------------------------------------------- two clock processes on PostgreSQL


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in _postgres_database():
        yield url


@starts_processes  # two bot processes import aiogram on a loaded machine, and a tick can be a minute away
async def test_two_clock_processes_send_one_opening_reminder_per_resident(postgres_url, fake_telegram, tmp_path):
    engine = create_engine(postgres_url)
    await migrate(engine)
    sessions = session_factory(engine)
    residents = list(range(5000, 5030))
    await load_example(sessions)
    async with sessions() as session:
        now = utcnow()
        await session.exec(
            update(Campaign).values(starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=20)))
        session.add_all(User(id=user_id, language=("lv", "ru", "en")[user_id % 3], reminders=True)
                        for user_id in residents)
        await session.commit()

    env = {**os.environ, "DATABASE_URL": postgres_url, "BOT_TOKEN": TEST_TOKEN,
           "TELEGRAM_API_URL": fake_telegram.base_url, "MEDIA_DIR": str(tmp_path / "media"), "LOG_LEVEL": "INFO",
           "PYTHONPATH": str(PROJECT_ROOT)}
    logs = [tmp_path / f"clock{n}.log" for n in range(2)]
    processes = []
    for log_path in logs:
        with log_path.open("wb") as log_file:
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "clock", "--lease-seconds", "5", "--renew-seconds", "0.5",
                cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file))

    async def reminders() -> list[OutboxMessage]:
        async with sessions() as session:
            return list((await session.exec(select(OutboxMessage))).all())

    async def holder() -> str | None:
        async with sessions() as session:
            return await lease_holder(session)

    def diagnostics() -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in logs)

    try:
        try:
            # Generous: each process imports aiogram (seconds of CPU, many more on a loaded machine); should the
            # leader be too starved to renew its lease, the other one takes over and runs the tick a minute later.
            await eventually(lambda: all("scheduler process" in path.read_text() for path in logs),
                             what="both clock processes started", timeout=PROCESS_START_BOUND, interval=0.2)
            await eventually(lambda: _count_is(reminders, len(residents)), what="every resident reminded",
                             timeout=PROCESS_START_BOUND, interval=0.2)
        except AssertionError as error:
            pytest.fail(f"{error}:\n" + diagnostics())
        rows = await reminders()
        assert sorted(row.chat_id for row in rows) == residents, diagnostics()
        assert {row.dedupe_key for row in rows} == {f"opened:atverta-latvija:{user}" for user in residents}

        # The leader dies (kill -9): the other process takes over once the lease expires.
        leader = await holder()
        leader_pid = int(leader.split(":")[1])
        by_pid = {process.pid: process for process in processes}
        assert leader_pid in by_pid, (leader, list(by_pid))
        by_pid[leader_pid].send_signal(signal.SIGKILL)
        await by_pid[leader_pid].wait()
        survivor = next(process for pid, process in by_pid.items() if pid != leader_pid)
        await eventually(lambda: _holder_pid_is(holder, survivor.pid), what="the survivor took the lease over",
                         interval=0.2)
        assert len(await reminders()) == len(residents)

        # A clean stop releases the lease at once.
        survivor.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(survivor.wait(), PROCESS_START_BOUND) == 0, diagnostics()
        assert await holder() is None
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await engine.dispose()


async def lease_expiry(session) -> datetime:
    return (await session.get(SchedulerLease, SCHEDULER_LEASE)).expires_at


async def _count_is(rows, expected: int) -> bool:
    return len(await rows()) >= expected


async def _holder_pid_is(holder, pid: int) -> bool:
    current = await holder()
    return current is not None and current.split(":")[1] == str(pid)


# ---------------------------------------------------------------- SQLite during a crowd


async def test_on_sqlite_the_job_store_waits_for_the_bots_writers_instead_of_failing(
        sqlite_url, sqlite_sessions, tmp_path, caplog):
    """A job comes due while a write transaction longer than the job store's busy timeout runs (residents
    voting, a broadcast being written): the round waits for it, and nothing fails."""
    settings = make_settings(sqlite_url, tmp_path)
    specs = [JobSpec("often", "tests.test_scheduler:count_interval", IntervalTrigger(seconds=1, timezone=UTC))]
    service = SchedulerService(sqlite_sessions, settings, holder="crowd", specs=specs)
    service.start()
    try:
        await asyncio.wait_for(service.became_leader.wait(), 60)
        RUNS.clear()
        async with sqlite_sessions() as busy:
            await busy.exec(update(User).where(User.id == -1).values(language="lv"))  # the write lock is taken
            await asyncio.sleep(2.5)  # the job comes due twice, each time 5 times the job store's busy timeout
            await busy.commit()
        await eventually(lambda: len(RUNS) >= 2, what="the job ran after the long transaction")
        assert [record.getMessage() for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")] == []
    finally:
        await service.stop()
