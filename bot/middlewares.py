"""Outer middlewares, in order: a database session, then the resident, then (i18n) their language; then a
per-resident rate limit on messages and button presses."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.types import User as TelegramUser

from bot.domain.rules import language_for
from bot.fsm_storage import update_session
from bot.i18n import use_timezone
from storage.db import SessionFactory
from storage.users import get_or_create_user, set_reachable

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


class TimezoneMiddleware(BaseMiddleware):
    """Dates shown while handling the update are in the TIMEZONE setting (bot.i18n.fmt_date and friends)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        with use_timezone(self.tz):
            return await handler(event, data)


class ResidentMiddleware(BaseMiddleware):
    """Loads the resident (creating them on first contact) as data["user"]. An update without a person behind it
    (an anonymous group admin, a channel post, another bot) is dropped quietly: every journey needs a resident."""

    def __init__(self, default_language: str = "lv") -> None:
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        if from_user is None or from_user.is_bot:
            return None
        language = language_for(from_user.language_code, self.default_language)
        user = await get_or_create_user(data["session"], from_user.id, language)
        if not user.is_reachable and _in_private_chat(data):  # they write again, so they unblocked the bot
            await set_reachable(data["session"], user.id, True)
            await data["session"].commit()
            user.is_reachable = True
        data["user"] = user
        return await handler(event, data)


def _in_private_chat(data: dict[str, Any]) -> bool:
    chat = data.get("event_chat")
    return chat is not None and chat.type == "private"


class RateLimitMiddleware(BaseMiddleware):
    """At most `per_minute` messages and presses a resident a minute (moderators are not limited). Beyond it the
    update is dropped with one polite answer a minute; a pressed button is always answered."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, admin_ids: frozenset[int], answer: Callable[[], str]) -> None:
        self.per_minute = per_minute
        self.admin_ids = admin_ids
        self.answer = answer
        self.recent: dict[int, deque[float]] = {}
        self.warned_at: dict[int, float] = {}
        self.last_sweep = time.monotonic()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("user")
        if user is None or user.id in self.admin_ids or (user.is_moderator and not user.is_banned):
            return await handler(event, data)
        now = time.monotonic()
        self._sweep(now)
        recent = self.recent.setdefault(user.id, deque())
        while recent and now - recent[0] > self.WINDOW:
            recent.popleft()
        if len(recent) < self.per_minute:
            recent.append(now)
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(self.answer(), show_alert=False)
        elif now - self.warned_at.get(user.id, -self.WINDOW) >= self.WINDOW and isinstance(event, Message):
            self.warned_at[user.id] = now
            await event.answer(self.answer())
        return None

    def _sweep(self, now: float) -> None:
        """Forget residents who were quiet for a whole window, so memory follows the active ones."""
        if now - self.last_sweep < self.WINDOW:
            return
        self.last_sweep = now
        for user_id in [uid for uid, times in self.recent.items() if not times or now - times[-1] > self.WINDOW]:
            self.recent.pop(user_id, None)
            self.warned_at.pop(user_id, None)
