"""Reading ideas: categories -> a paged list -> an idea card, with back navigation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.domain import browse
from bot.ui import browse_screens, screens
from bot.ui import callbacks as cb
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def _categories(session: AsyncSession, user: User, now: datetime) -> screens.Screen:
    campaign = await browse.current_campaign(session, now)
    if campaign is None:
        return screens.no_campaign()
    overview = await browse.categories_overview(session, campaign)
    return browse_screens.categories_screen(campaign, overview, user.language)


async def ideas_command(message: Message, session: AsyncSession, user: User,
                        clock: Callable[[], datetime]) -> None:
    await show(message, await _categories(session, user, clock()))


async def categories_button(query: CallbackQuery, session: AsyncSession, user: User,
                            clock: Callable[[], datetime]) -> None:
    await show(query, await _categories(session, user, clock()))


async def idea_list(query: CallbackQuery, callback_data: cb.IdeaList, session: AsyncSession, user: User,
                    clock: Callable[[], datetime]) -> None:
    page = await browse.list_ideas(session, callback_data.cat, callback_data.sort, callback_data.page, user.id)
    if page is None:
        await show(query, await _categories(session, user, clock()), alert=screens.stale_button_text())
        return
    await show(query, browse_screens.ideas_list_screen(page, user.language))


async def idea_card(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                    clock: Callable[[], datetime], bot_username: str) -> None:
    now = clock()
    card = await browse.open_idea(session, callback_data.id, user.id, now)
    if card is None:
        await show(query, screens.idea_not_found())
        return
    await show(query, browse_screens.idea_card_screen(card, user.language, bot_username, callback_data.part,
                                               callback_data.sort, callback_data.page, now))


def create_router() -> Router:
    router = Router(name="browse")
    router.message.register(ideas_command, Command("ideas"))
    router.callback_query.register(categories_button, cb.Menu.filter(F.to == cb.MENU_CATEGORIES))
    router.callback_query.register(idea_list, cb.IdeaList.filter())
    router.callback_query.register(idea_card, cb.IdeaAction.filter(F.act == cb.ACT_OPEN))
    return router
