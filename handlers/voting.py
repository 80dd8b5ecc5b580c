"""Supporting an idea and withdrawing the support, from its card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import ideas
from bot.ui import callbacks as cb
from bot.ui import screens
from bot.ui.respond import show
from storage.models import User


async def change_vote(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                      clock: Callable[[], datetime]) -> None:
    now = clock()
    adding = callback_data.act == cb.ACT_SUPPORT
    vote = ideas.support if adding else ideas.withdraw
    result = await vote(session, callback_data.id, user.id, now, banned=user.is_banned)
    if result.card is None and result.changed:  # withdrawn from an idea hidden while moderators look at it
        await show(query, screens.main_menu_only(), alert=_("Your support is withdrawn."))
        return
    if result.card is None:
        await show(query, screens.idea_not_found())
        return
    if result.refusal is not None:
        alert = screens.refusal_text(result.refusal, result.card.campaign)
    elif adding:
        alert = _("👍 Thank you! Your support is counted.") if result.changed else _("You already support it.")
    else:
        alert = _("Your support is withdrawn.") if result.changed else _("You did not support it.")
    me = await query.bot.me()
    screen = screens.idea_card_screen(result.card, user.language, me.username, callback_data.part,
                                      callback_data.sort, callback_data.page, now)
    await show(query, screen, alert=alert)


async def why_closed(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                     clock: Callable[[], datetime]) -> None:
    card = await ideas.open_idea(session, callback_data.id, user.id, clock())
    if card is None or card.support_refusal is None:
        # Voting opened meanwhile (or the idea is gone): show the card as it is now.
        await query.answer(screens.stale_button_text())
        return
    await query.answer(screens.refusal_text(card.support_refusal, card.campaign), show_alert=True)


def create_router() -> Router:
    router = Router(name="voting")
    router.callback_query.register(change_vote, cb.IdeaAction.filter(F.act.in_({cb.ACT_SUPPORT, cb.ACT_WITHDRAW})))
    router.callback_query.register(why_closed, cb.IdeaAction.filter(F.act == cb.ACT_WHY_CLOSED))
    return router
