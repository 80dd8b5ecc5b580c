"""`python -m bot web`: Telegram's webhook on $PORT (aiogram's aiohttp integration), with the operator's
/healthz, /readyz and /metrics on the same server.

Nothing lost: an update is acknowledged (2xx) only after its handler finished (handle_in_background=False),
so Telegram redelivers what a killed worker had not finished; bot/once.py makes a redelivery harmless.
Several workers may listen on one port (SO_REUSEPORT) or sit behind a proxy; with REDIS_URL they share
conversations and handle one resident's updates one at a time (RedisEventIsolation). The answer to a button
press goes back in the response to Telegram's POST (bot/webhook_answer.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from datetime import timedelta
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot import webhook_answer
from bot.app import Clock, create_bot, create_dispatcher, set_bot_commands, utc_now
from bot.config import Settings
from bot.delivery import start_sender, stop_sender
from bot.garbage_collection import tune_garbage_collector
from bot.health import Readiness, add_operator_routes, ping_redis
from bot.i18n import create_i18n
from bot.once import OnceStorage, UpdateOnceMiddleware
from bot.runner import create_event_isolation, create_fsm_storage, start_jobs, stop_jobs
from bot.startup import check_telegram
from storage import processed_updates
from storage.db import SessionFactory, close_database, open_database
from storage.models import utcnow

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PRUNE_EVERY = 3600.0  # seconds
NO_BACKGROUND = 24 * 3600.0  # seconds: never answer before the update was handled
KEEP_MARKS = timedelta(hours=26)  # Telegram keeps an unacknowledged update for 24 hours


class SecretCheckingHandler(SimpleRequestHandler):
    """aiogram's handler, answering only after the update was processed; a request without the right secret
    gets 401 and a log line that names neither secret."""

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secrets.compare_digest(given, (self.secret_token or "").encode()):
            log.warning("webhook: refused a request from %s with a %s secret", request.remote,
                        "wrong" if given else "missing")
            return web.Response(status=401, text="Unauthorized")
        return await super().handle(request)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        # aiogram answers 200 after 55 s and goes on in the background: an update waiting for a resident's
        # lock (held by a killed worker for up to a minute) would be acknowledged before it was handled, and
        # the resident's next update could overtake it. Telegram delivers again whatever times out instead.
        update = await request.json(loads=bot.session.json_loads)
        result = await self.dispatcher.feed_webhook_update(bot, update, _timeout=NO_BACKGROUND, **self.data)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


def create_web_app(dp: Dispatcher, bot: Bot, settings: Settings, readiness: Readiness) -> web.Application:
    app = web.Application()
    handler = SecretCheckingHandler(dp, bot, secret_token=settings.webhook_secret.get_secret_value(),
                                    handle_in_background=False)
    handler.register(app, path=urlsplit(settings.webhook_url).path or "/")
    if settings.webhook_answer_in_response:
        webhook_answer.install(dp, bot)
    add_operator_routes(app, readiness)
    return app


def create_webhook_dispatcher(settings: Settings, sessions: SessionFactory, i18n: I18n, storage: BaseStorage,
                              clock: Clock = utc_now) -> Dispatcher:
    """The bot's dispatcher, with each update's effects once (bot/once.py) and one resident's updates handled
    one at a time."""
    dp = create_dispatcher(settings, sessions, i18n, clock=clock, fsm_storage=OnceStorage(storage),
                           events_isolation=create_event_isolation(storage, settings.resident_lock_seconds))
    dp.update.outer_middleware(UpdateOnceMiddleware())  # after the resident's: see bot/once.py
    return dp


async def prune_marks(sessions: SessionFactory, stop: asyncio.Event) -> None:
    """Forget processed updates older than Telegram's redelivery window, every hour."""
    while not stop.is_set():
        try:
            async with sessions() as session:
                pruned = await processed_updates.prune(session, utcnow() - KEEP_MARKS)
                await session.commit()
            log.debug("processed updates: %d old marks pruned", pruned)
        except Exception as error:  # the database may be restarting: try again next time
            log.warning("processed updates could not be pruned: %s", type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PRUNE_EVERY)


async def run_web(settings: Settings) -> None:
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    if settings.redis_url:
        await ping_redis(settings.redis_url)
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    dp = create_webhook_dispatcher(settings, sessions, i18n, create_fsm_storage(settings, sessions))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    runner: web.AppRunner | None = None
    scheduler = None
    sender_task, sender_stop = start_sender(bot, sessions, settings)
    pruner = asyncio.create_task(prune_marks(sessions, stop), name="prune-processed-updates")
    try:
        me = await check_telegram(bot, settings)
        tune_garbage_collector()
        runner = web.AppRunner(create_web_app(dp, bot, settings, Readiness(engine, sessions, settings.redis_url)),
                               access_log=None)
        await runner.setup()
        # reuse_port: several worker processes may listen on the same port; the kernel spreads connections.
        await web.TCPSite(runner, port=settings.port, reuse_port=True).start()
        # Listening first: Telegram posts as soon as the webhook is set.
        await bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=dp.resolve_used_update_types(), max_connections=settings.webhook_max_connections,
            drop_pending_updates=False,
        )
        await set_bot_commands(bot, i18n)
        log.info("webhook of @%s on port %s; Telegram posts to %s", me.username, settings.port,
                 urlsplit(settings.webhook_url).netloc)
        if settings.run_scheduler:
            scheduler = start_jobs(sessions, settings, i18n, me.username or "")
        await stop.wait()
    finally:
        stop.set()
        if runner is not None:
            await runner.cleanup()  # requests in flight finish first
        await stop_jobs(scheduler)
        await stop_sender(sender_task, sender_stop)
        await pruner
        await dp.storage.close()
        await bot.session.close()
        await close_database(engine)
