"""Outer middlewares, in order: a database session, then the resident, then (i18n) their language (the rate
limit runs before all of them: bot/rate_limit.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser

from bot.domain.rules import language_for
from bot.fsm_storage import update_session
from storage.db import SessionFactory
from storage.users import get_or_create_resident, get_resident, set_reachable

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DatabaseSessionMiddleware(BaseMiddleware):
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessions() as session:
            data["session"] = session
            token = update_session.set(session)  # the conversation storage shares it (bot/fsm_storage.py)
            try:
                return await handler(event, data)
            finally:
                update_session.reset(token)


class BotUsernameMiddleware(BaseMiddleware):
    """An inner middleware: data["bot_username"] (for links and deep links) for the handlers that take it. The
    runner puts it into the dispatcher's workflow data at start-up; without that (a dispatcher fed directly) it
    is asked of Telegram once, when a handler first needs it, and an update no handler answers asks nothing."""

    def __init__(self) -> None:
        self.username: str | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if "bot_username" in data["handler"].params and not data.get("bot_username"):
            if self.username is None:
                self.username = (await data["bot"].me()).username
            data["bot_username"] = self.username
        return await handler(event, data)


class ResidentMiddleware(BaseMiddleware):
    """Loads the resident (creating them on first contact) as data["user"], a storage.users.Resident record
    (cached: storage/cache.py). An update without a person behind it
    (an anonymous group admin, a channel post, another bot) is dropped quietly: every journey needs a resident."""

    def __init__(self, default_language: str = "lv") -> None:
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        if isinstance(event, Update) and event.inline_query is not None:
            # Typing "@bot words" in another chat is not starting the bot: known residents keep their language,
            # nobody new is recorded (and so never gets broadcasts).
            if from_user is not None:
                data["user"] = await get_resident(data["session"], from_user.id)
            return await handler(event, data)
        if from_user is None or from_user.is_bot:
            return None
        language = language_for(from_user.language_code, self.default_language)
        user = await get_or_create_resident(data["session"], from_user.id, language)
        if not user.is_reachable and _in_private_chat(data):  # they write again, so they unblocked the bot
            await set_reachable(data["session"], user.id, True)
            await data["session"].commit()
            user = replace(user, is_reachable=True)
        data["user"] = user
        return await handler(event, data)


def _in_private_chat(data: dict[str, Any]) -> bool:
    chat = data.get("event_chat")
    return chat is not None and chat.type == "private"
