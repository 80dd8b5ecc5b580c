"""Choosing the language: /lang or the menu; remembered for the resident."""

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.domain import browse, residents
from bot.ui import callbacks as cb
from bot.ui import language_screens, screens, start_screens
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def language_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                           i18n: I18n, clock: Callable[[], datetime]) -> None:
    """/lang shows the choice; /lang ru (lv, en) switches at once."""
    code = residents.language_code(command.args)
    if code is None or not await residents.choose_language(session, user, code):
        await show(message, language_screens.language_screen())
        return
    now = clock()
    campaign = await browse.current_campaign(session, now)
    with i18n.use_locale(code):
        menu = start_screens.main_menu(campaign, code, now)
        await show(message, screens.Screen(f"{language_screens.language_changed()}\n\n{menu.text}", menu.markup))


async def language_button(query: CallbackQuery) -> None:
    await show(query, language_screens.language_screen())


async def choose_language(query: CallbackQuery, callback_data: cb.Language, session: AsyncSession,
                          user: User, i18n: I18n, clock: Callable[[], datetime]) -> None:
    if not await residents.choose_language(session, user, callback_data.code):
        await query.answer(screens.stale_button_text())
        return
    # The rest of this update speaks the new language.
    now = clock()
    campaign = await browse.current_campaign(session, now)
    with i18n.use_locale(callback_data.code):
        await show(query, start_screens.main_menu(campaign, callback_data.code, now),
                   alert=language_screens.language_changed())


def create_router() -> Router:
    router = Router(name="language")
    router.message.register(language_command, Command("lang", "language"))
    router.callback_query.register(language_button, cb.Menu.filter(F.to == cb.MENU_LANGUAGE))
    router.callback_query.register(choose_language, cb.Language.filter())
    return router
