"""The skeleton every moderator handler shares (handlers/moderation.py, handlers/broadcasts.py): the routers'
filter, the acting moderator with what every decision needs, and the wrappers that make a command or a button
a few lines: leave a stale conversation, parse the arguments (or answer the command's usage), run.

Only moderators reach these handlers (the filter is checked on every command and button, in a private chat or
the moderators' chat); the domain checks the rights again. Anyone else falls through to the other routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message

from bot.config import Settings
from bot.domain import lifecycle
from bot.domain.moderation import Renderer
from bot.ui import screens
from bot.ui.respond import refuse_press, show
from bot.ui.screens import Screen
from handlers.flow import Flow
from storage.db import AsyncSession
from storage.models import User

Clock = Callable[[], datetime]


def _chat(event: Message | CallbackQuery) -> Chat | None:
    return event.chat if isinstance(event, Message) else (event.message.chat if event.message else None)


async def moderator_here(event: Message | CallbackQuery, settings: Settings, user: User | None = None) -> bool:
    """The routers' filter: a moderator (not banned), in a private chat or in the moderators' chat."""
    if not lifecycle.is_moderator(user, settings.admin_ids):
        return False
    chat = _chat(event)
    if chat is None:
        return False
    in_moderators_chat = settings.moderation_chat_id is not None and chat.id == settings.moderation_chat_id
    return chat.type == "private" or in_moderators_chat


async def not_for_you(event: Message | CallbackQuery) -> None:
    """Rights taken away between the router's filter and the domain: as if the command or button did not exist."""
    if isinstance(event, Message):
        await show(event, screens.unknown_command())
    else:
        await refuse_press(event, screens.main_menu_only(), screens.stale_button_text())


@dataclass(frozen=True)
class Moderator:
    """The moderator acting in this update, and what every decision needs."""

    event: Message | CallbackQuery
    user: User
    session: AsyncSession
    settings: Settings
    clock: Clock
    state: FSMContext
    renderer: Renderer
    bot_username: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def language(self) -> str:
        return self.user.language

    @property
    def in_group(self) -> bool:
        chat = _chat(self.event)
        return chat is not None and chat.type != "private"

    def now(self) -> datetime:
        return self.clock()

    async def show(self, screen: Screen | str, alert: str | None = None) -> Message | None:
        """The sent message when answering a message (a prompt's id is kept to recognise replies to it)."""
        return await show(self.event, Screen(screen) if isinstance(screen, str) else screen, alert=alert)

    async def not_for_you(self) -> None:
        await not_for_you(self.event)

    async def show_found(self, found: Any, screen: Callable[[Any], Screen]) -> None:
        """A staff read's screen, or "not for you" when the read found no rights (None)."""
        if found is None:
            await self.not_for_you()
        else:
            await self.show(screen(found))


Run = Callable[..., Awaitable[None]]


def _handler(run: Run, prepare: Callable[[Moderator, dict[str, Any]], Awaitable[tuple | None]]) -> Callable:
    """An aiogram handler that builds the Moderator from the update's data and calls run(moderator, *args) with
    what `prepare` returns (None: prepare has answered, nothing more to do). The parameters are named for
    aiogram's injection (not functools.wraps: aiogram would read run's own signature)."""

    async def handler(event: Message | CallbackQuery, user: User, session: AsyncSession, settings: Settings,
                      clock: Clock, state: FSMContext, moderation_renderer: Renderer, bot_username: str,
                      command: CommandObject | None = None, callback_data: Any = None) -> None:
        moderator = Moderator(event, user, session, settings, clock, state, moderation_renderer, bot_username)
        args = await prepare(moderator, {"command": command, "callback_data": callback_data})
        if args is not None:
            await run(moderator, *args)

    handler.__name__ = handler.__qualname__ = run.__name__
    return handler


def command(flow: Flow, usage: Callable[[], str] | None = None,
            parse: Callable[[str | None], Any] | None = None) -> Callable[[Run], Callable]:
    """A moderator command: leave a stale conversation of `flow`, then run(moderator, parsed) — or answer
    usage() when the arguments do not parse — or run(moderator) for a command without a parser."""

    def wrap(run: Run) -> Callable:
        async def prepare(moderator: Moderator, data: dict[str, Any]) -> tuple | None:
            await flow.leave(moderator.state)
            if parse is None:
                return ()
            parsed = parse(data["command"].args if data["command"] else None)
            if parsed is None:
                await moderator.show(usage() if usage else "")
                return None
            return (parsed,)

        return _handler(run, prepare)

    return wrap


def button(run: Run) -> Callable:
    """A moderator's button: run(moderator, callback_data); the conversation is left or kept by `run`."""

    async def prepare(_moderator: Moderator, data: dict[str, Any]) -> tuple:
        return (data["callback_data"],)

    return _handler(run, prepare)


def step(flow: Flow, expired: Callable[[], Screen | str]) -> Callable[[Run], Callable]:
    """A typed step of a moderator's conversation: run(moderator, data) with the conversation's data, or the
    `expired` answer when the step has expired (and the conversation is left)."""

    def wrap(run: Run) -> Callable:
        async def prepare(moderator: Moderator, _data: dict[str, Any]) -> tuple | None:
            data = await flow.data(moderator.state, moderator.clock)
            if data is None:
                await moderator.show(expired())
                return None
            return (data,)

        return _handler(run, prepare)

    return wrap
