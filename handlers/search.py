"""Search: any text typed outside a conversation looks for ideas by their words, in every language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from bot.domain import browse, search
from bot.ui import callbacks as cb
from bot.ui import screens, search_screens
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def search_button(query: CallbackQuery) -> None:
    await show(query, search_screens.search_prompt())


async def search_text(message: Message, session: AsyncSession, user: User,
                      clock: Callable[[], datetime]) -> None:
    campaign = await browse.current_campaign(session, clock())
    if campaign is None:
        await show(message, screens.no_campaign())
        return
    result = await search.search(session, campaign, message.text)
    await show(message, search_screens.search_results_screen(result, user.language))


def create_router() -> Router:
    router = Router(name="search")
    router.callback_query.register(search_button, cb.Menu.filter(F.to == cb.MENU_SEARCH))
    router.message.register(search_text, StateFilter(None), F.text, ~F.text.startswith("/"))
    return router
