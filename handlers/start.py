"""Welcome, shared links, the main menu, help and /cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.domain import browse
from bot.domain.rules import parse_start_payload
from bot.ui import browse_screens, language_screens, screens, start_screens
from bot.ui import callbacks as cb
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def start(message: Message, command: CommandObject, session: AsyncSession, user: User,
                clock: Callable[[], datetime], state: FSMContext, bot_username: str) -> None:
    await state.set_state(None)  # leave any conversation, but keep a half-written proposal's draft
    now = clock()
    if command.args:
        idea_id = parse_start_payload(command.args)
        card = await browse.open_idea(session, idea_id, user.id, now) if idea_id else None
        if card is None:
            await show(message, screens.idea_not_found())
            return
        await show(message, browse_screens.idea_card_screen(card, user.language, bot_username, 0, "top", 0, now))
        return
    campaign = await browse.current_campaign(session, now)
    code = (message.from_user.language_code or "").split("-")[0]
    offer_language = not user.language_chosen and code not in ("lv", "ru")
    await show(message, start_screens.welcome(campaign, user.language, now, offer_language))
    if offer_language:
        await show(message, language_screens.language_screen())


async def menu_command(message: Message, session: AsyncSession, user: User,
                       clock: Callable[[], datetime], state: FSMContext) -> None:
    await state.set_state(None)  # as /start: the draft stays for /propose
    now = clock()
    await show(message, start_screens.main_menu(await browse.current_campaign(session, now), user.language, now))


async def menu_button(query: CallbackQuery, session: AsyncSession, user: User,
                      clock: Callable[[], datetime]) -> None:
    now = clock()
    await show(query, start_screens.main_menu(await browse.current_campaign(session, now), user.language, now))


async def help_command(message: Message) -> None:
    await show(message, start_screens.help_screen())


async def help_button(query: CallbackQuery) -> None:
    await show(query, start_screens.help_screen())


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None and not await state.get_data():
        await show(message, start_screens.cancelled())
        return
    await state.clear()  # discards the draft too: /cancel is the explicit way out
    await show(message, start_screens.cancelled_done())


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(menu_command, Command("menu"))
    router.callback_query.register(menu_button, cb.Menu.filter(F.to == cb.MENU_MAIN))
    router.message.register(help_command, Command("help"))
    router.callback_query.register(help_button, cb.Menu.filter(F.to == cb.MENU_HELP))
    router.message.register(cancel, Command("cancel"))
    return router
