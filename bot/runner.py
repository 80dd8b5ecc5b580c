"""Long polling: the process behind `python -m bot` and the Procfile's worker; and `python -m bot clock`, the
scheduler alone, for deployments that run it as a separate process (see README.md).

The scheduler runs in a process only while it holds the database lease (bot/scheduler.py), so the worker
(RUN_SCHEDULER=true, the default) and a clock process can both be started: one of them runs the jobs.
Set RUN_SCHEDULER=false on the worker when a clock process runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_bot, create_dispatcher, set_bot_commands
from bot.config import Settings
from bot.delivery import start_sender, stop_sender
from bot.fsm_storage import DatabaseStorage
from bot.garbage_collection import tune_garbage_collector
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.scheduler import SchedulerService, Timing
from bot.startup import check_telegram
from storage.db import SessionFactory, close_database, open_database
from storage.process_lock import DatabaseInUse, lock_database

log = logging.getLogger(__name__)


def create_fsm_storage(settings: Settings, sessions: SessionFactory) -> BaseStorage:
    """Redis when configured (several processes share conversations), else the project's database."""
    if not settings.redis_url:
        return DatabaseStorage(sessions)
    from aiogram.fsm.storage.redis import RedisStorage

    # Conversations expire like everything else kept only for a while (see /privacy).
    ttl = timedelta(days=settings.retention_days)
    return RedisStorage.from_url(settings.redis_url, state_ttl=ttl, data_ttl=ttl)


def create_event_isolation(storage: BaseStorage, lock_seconds: float) -> BaseEventIsolation:
    """One resident's updates one at a time: across processes through Redis, else within this process."""
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.isolation import RenewedRedisEventIsolation

    if isinstance(storage, RedisStorage):
        return RenewedRedisEventIsolation(storage.redis, seconds=lock_seconds)
    return SimpleEventIsolation()


def start_jobs(sessions: SessionFactory, settings: Settings, i18n: I18n, bot_username: str,
               timing: Timing | None = None) -> SchedulerService:
    """Register the jobs' context and start the lease loop (inside the running loop); the scheduler itself
    starts once this process holds the lease."""
    from bot import jobs
    from bot.app import utc_now

    jobs.set_context(JobContext(sessions=sessions, settings=settings, i18n=i18n, clock=utc_now,
                                bot_username=bot_username))
    service = SchedulerService(sessions, settings, timing=timing or Timing())
    service.start()
    return service


async def stop_jobs(service: SchedulerService | None) -> None:
    if service is None:
        return
    from bot import jobs

    try:
        await service.stop()
    finally:
        jobs.set_context(None)


async def poll(dp: Dispatcher, bot: Bot, settings: Settings, **options: Any) -> None:
    """Long polling with a bounded number of updates in progress: a burst waits at Telegram instead of starting
    thousands of tasks that fight for the database's connections."""
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types(),
                           tasks_concurrency_limit=settings.max_concurrent_updates, **options)


async def run_polling(settings: Settings) -> None:
    try:
        polling_lock = lock_database(settings.database_url)
    except DatabaseInUse as error:
        raise SystemExit(f"error: {error}") from None
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, sessions, i18n, fsm_storage=create_fsm_storage(settings, sessions))
    scheduler: SchedulerService | None = None

    async def on_startup() -> None:
        nonlocal scheduler
        me = await bot.me()
        log.info("running as @%s against %s", me.username, settings.telegram_api_url)
        dp["bot_username"] = me.username  # read once: links and deep links in the handlers
        await set_bot_commands(bot, i18n)
        if settings.run_scheduler and scheduler is None:
            scheduler = start_jobs(sessions, settings, i18n, me.username or "")

    dp.startup.register(on_startup)
    sender_task, sender_stop = start_sender(bot, sessions, settings)
    try:
        await check_telegram(bot, settings)
        await bot.delete_webhook(drop_pending_updates=False)
        tune_garbage_collector()
        await poll(dp, bot, settings)
    finally:
        await stop_jobs(scheduler)
        await stop_sender(sender_task, sender_stop)
        await dp.storage.close()
        await bot.session.close()
        await close_database(engine)
        if polling_lock is not None:
            polling_lock.close()


async def _bot_username(settings: Settings) -> str:
    """The bot's username, for links in the jobs' messages; empty (messages without links) when Telegram
    cannot be asked right now."""
    bot = create_bot(settings)
    try:
        me = await asyncio.wait_for(bot.me(), timeout=30)
        return me.username or ""
    except Exception as error:  # the clock keeps time even when Telegram is unreachable
        log.warning("could not ask Telegram for the bot's username (%s); links are left out", error)
        return ""
    finally:
        await bot.session.close()


async def run_clock(settings: Settings, timing: Timing | None = None) -> None:
    """Only the scheduler: no polling, no sender (the worker delivers what the jobs write). Runs until SIGTERM
    or SIGINT; releases the lease on the way out so another process takes over at once."""
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    i18n = create_i18n(settings.default_language)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    service = None
    health = await serve_health(settings, engine, sessions) if settings.clock_port else None
    try:
        service = start_jobs(sessions, settings, i18n, await _bot_username(settings), timing)
        log.info("clock: scheduler process %s started", service.holder)
        tune_garbage_collector()
        await stop.wait()
    finally:
        if health is not None:
            await health.cleanup()
        await stop_jobs(service)
        await close_database(engine)


async def serve_health(settings: Settings, engine: AsyncEngine, sessions: SessionFactory) -> web.AppRunner:
    """/healthz, /readyz and /metrics of the clock process, on CLOCK_PORT."""
    from bot.health import Readiness, add_operator_routes

    app = web.Application()
    add_operator_routes(app, Readiness(engine, sessions, settings.redis_url))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, port=settings.clock_port).start()
    return runner
