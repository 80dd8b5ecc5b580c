"""Long polling: the process behind `python -m bot` and the Procfile's worker."""

from __future__ import annotations

import logging

from aiogram.fsm.storage.base import BaseStorage

from bot.app import create_bot, create_dispatcher, set_bot_commands
from bot.config import Settings
from bot.delivery import start_sender, stop_sender
from bot.fsm_storage import DatabaseStorage
from bot.i18n import create_i18n
from storage.db import SessionFactory, open_database

log = logging.getLogger(__name__)


def create_fsm_storage(settings: Settings, sessions: SessionFactory) -> BaseStorage:
    """Redis when configured (several processes share conversations), else the project's database."""
    if not settings.redis_url:
        return DatabaseStorage(sessions)
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(settings.redis_url)


async def run_polling(settings: Settings) -> None:
    engine, sessions = await open_database(settings.database_url)
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, sessions, i18n, fsm_storage=create_fsm_storage(settings, sessions))

    async def on_startup() -> None:
        me = await bot.me()
        log.info("running as @%s against %s", me.username, settings.telegram_api_url)
        await set_bot_commands(bot, i18n)

    dp.startup.register(on_startup)
    sender_task, sender_stop = start_sender(bot, sessions, settings)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())
    finally:
        await stop_sender(sender_task, sender_stop)
        await dp.storage.close()
        await bot.session.close()
        await engine.dispose()
