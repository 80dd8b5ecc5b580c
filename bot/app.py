"""The app factory: one Bot and one Dispatcher, assembled the same way for polling, tests and the chat CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.middlewares.manager import MiddlewareManager
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import I18n

from bot import (
    response_types,  # noqa: F401  (keeps aiogram's response classes built)
    state_middleware,
)
from bot.config import Settings
from bot.fsm_storage import DatabaseStorage
from bot.i18n import LANGUAGES, ResidentLocaleMiddleware
from bot.metrics import UpdateMetricsMiddleware, name_handlers
from bot.middlewares import BotUsernameMiddleware, DatabaseSessionMiddleware, ResidentMiddleware
from bot.rate_limit import RateLimitMiddleware, create_window
from bot.request_pacing import TRANSIENT, PacedRetryingRequests
from bot.ui import screens
from bot.ui.moderation_screens import ScreensRenderer
from handlers import get_routers
from storage.db import SessionFactory

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
TELEGRAM_TRANSIENT = (*TRANSIENT, TelegramRetryAfter)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(PacedRetryingRequests(rate_per_second=settings.reply_rate_per_second,
                                             chat_per_second=settings.chat_replies_per_second))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(
    settings: Settings,
    sessions: SessionFactory,
    i18n: I18n,
    *,
    clock: Clock = utc_now,
    fsm_storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
) -> Dispatcher:
    dp = Dispatcher(storage=fsm_storage or DatabaseStorage(sessions), events_isolation=events_isolation)
    state_middleware.install(dp)  # no conversation read for button presses
    dp["settings"] = settings
    dp["clock"] = clock
    dp["moderation_renderer"] = ScreensRenderer(i18n, settings.tz)  # texts the domain writes to the outbox
    dp.update.outer_middleware(UpdateMetricsMiddleware())  # first: a failure to open a session counts too
    # Order matters: the rate limit before any database work, a session, then the resident (needs the
    # session), then their language (and the timezone of dates).
    dp.update.outer_middleware(RateLimitMiddleware(
        create_window(settings.rate_limit_per_minute, settings.redis_url), sessions, i18n, settings.admin_ids,
        screens.slow_down_text))
    dp.update.outer_middleware(DatabaseSessionMiddleware(sessions))
    dp.update.outer_middleware(ResidentMiddleware(settings.default_language))
    ResidentLocaleMiddleware(i18n, settings.tz).setup(dp)
    bot_username = BotUsernameMiddleware()
    dp.message.middleware(bot_username)
    dp.callback_query.middleware(bot_username)
    dp.errors.register(answer_errors)
    dp.include_routers(*get_routers())
    run_sync_filters_inline(dp)
    iterate_middlewares_as_lists()
    name_handlers(dp)
    return dp


def run_sync_filters_inline(dp: Dispatcher) -> None:
    """aiogram runs every synchronous filter in a thread (asyncio.to_thread), magic filters included: the
    private-chat check of each residents' router alone cost a vote press four thread hand-overs. They compare a
    few attributes, so they run in the event loop here."""
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in (observer._handler, *observer.handlers):
                for filter_object in handler.filters or ():
                    if not filter_object.awaitable:
                        filter_object.callback = _inline(filter_object.callback)
                        filter_object.awaitable = True


def iterate_middlewares_as_lists() -> None:
    """aiogram's MiddlewareManager is a Sequence with only __getitem__ and __len__, so each of the several times an
    update iterates one (forwards for the inner middlewares, backwards for the outer) runs collections.abc's
    generic iterators in Python, one call per item: ~5 % of a vote press. Its list iterates the same items."""
    MiddlewareManager.__iter__ = _iterate_list  # type: ignore[method-assign]
    MiddlewareManager.__reversed__ = _iterate_list_backwards  # type: ignore[method-assign]


def _iterate_list(manager: MiddlewareManager) -> Iterator[Any]:
    return iter(manager._middlewares)


def _iterate_list_backwards(manager: MiddlewareManager) -> Iterator[Any]:
    return reversed(manager._middlewares)


def _inline(check: Callable[..., Any]) -> Callable[..., Any]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)
    return inline


async def answer_errors(event: ErrorEvent, **_: Any) -> bool:
    """Log the failure and tell the resident, instead of leaving them with a spinning button."""
    if isinstance(event.exception, TELEGRAM_TRANSIENT):  # retried already (bot/request_pacing.py): no traceback
        log.warning("update %s failed: Telegram: %s", event.update.update_id, event.exception)
    else:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
    try:
        query: CallbackQuery | None = event.update.callback_query
        message: Message | None = event.update.message
        if query is not None:
            await query.answer(screens.error_text(), show_alert=True)
        elif message is not None:
            await message.answer(screens.error_text())
    except Exception:  # the error answer must not raise again
        log.warning("could not tell the resident about the error", exc_info=True)
    return True


async def set_bot_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in Telegram's input field, in each language."""
    for language in LANGUAGES:
        with i18n.context(), i18n.use_locale(language):
            commands = [
                BotCommand(command="menu", description=i18n.gettext("Main menu")),
                BotCommand(command="ideas", description=i18n.gettext("Read and support ideas")),
                BotCommand(command="propose", description=i18n.gettext("Propose an idea")),
                BotCommand(command="myideas", description=i18n.gettext("My ideas")),
                BotCommand(command="subscribe", description=i18n.gettext("Digest, reminders and news")),
                BotCommand(command="plan", description=i18n.gettext("The action plan and working groups")),
                BotCommand(command="privacy", description=i18n.gettext("What we keep about you")),
                BotCommand(command="lang", description=i18n.gettext("Change the language")),
                BotCommand(command="help", description=i18n.gettext("How it works")),
            ]
        await bot.set_my_commands(commands, language_code=None if language == "lv" else language)
