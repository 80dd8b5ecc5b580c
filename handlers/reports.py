"""Reporting a published idea from its card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.config import Settings
from bot.domain import browse, reports
from bot.domain.moderation import Renderer
from bot.ui import browse_screens, reports_screens, screens
from bot.ui import callbacks as cb
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def choose_reason(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                        clock: Callable[[], datetime]) -> None:
    card = await browse.open_idea(session, callback_data.id, user.id, clock())
    if card is None:
        await show(query, screens.idea_not_found())
        return
    await show(query, reports_screens.report_reasons(card, user.language))


async def report(query: CallbackQuery, callback_data: cb.Report, session: AsyncSession, user: User,
                 settings: Settings, clock: Callable[[], datetime], bot_username: str,
                 moderation_renderer: Renderer) -> None:
    outcome = await reports.report_idea(session, user, callback_data.id, callback_data.reason, clock(), settings,
                                        bot_username, moderation_renderer)
    if outcome.refusal is not None:
        await show(query, screens.main_menu_only(), alert=screens.stale_button_text())
        return
    card = await browse.open_idea(session, callback_data.id, user.id, clock())
    screen = (browse_screens.idea_card_screen(card, user.language, bot_username, 0, "top", 0, clock()) if card
              else screens.main_menu_only())  # the report hid it: back to the menu
    await show(query, screen, alert=reports_screens.report_thanks(outcome.recorded))


def create_router() -> Router:
    router = Router(name="reports")
    router.callback_query.register(choose_reason, cb.IdeaAction.filter(F.act == cb.ACT_REPORT))
    router.callback_query.register(report, cb.Report.filter())
    return router
