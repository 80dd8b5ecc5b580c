"""Supporting an idea and withdrawing the support, from its card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.domain import browse, voting
from bot.ui import browse_screens, screens, voting_screens
from bot.ui import callbacks as cb
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def change_vote(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                      clock: Callable[[], datetime], bot_username: str) -> None:
    now = clock()
    adding = callback_data.act == cb.ACT_SUPPORT
    vote = voting.support if adding else voting.withdraw
    result = await vote(session, callback_data.id, user.id, now, banned=user.is_banned)
    if result.card is None and result.changed:  # withdrawn from an idea hidden while moderators look at it
        await show(query, screens.main_menu_only(), alert=voting_screens.vote_answer(result, adding))
        return
    if result.card is None:
        await show(query, screens.idea_not_found())
        return
    alert = voting_screens.vote_answer(result, adding)
    screen = browse_screens.idea_card_screen(result.card, user.language, bot_username, callback_data.part,
                                      callback_data.sort, callback_data.page, now)
    await show(query, screen, alert=alert)


async def why_closed(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession, user: User,
                     clock: Callable[[], datetime]) -> None:
    card = await browse.open_idea(session, callback_data.id, user.id, clock())
    if card is None or card.support_refusal is None:
        # Voting opened meanwhile (or the idea is gone): show the card as it is now.
        await query.answer(screens.stale_button_text())
        return
    await query.answer(browse_screens.refusal_text(card.support_refusal, card.campaign), show_alert=True)


def create_router() -> Router:
    router = Router(name="voting")
    router.callback_query.register(change_vote, cb.IdeaAction.filter(F.act.in_({cb.ACT_SUPPORT, cb.ACT_WITHDRAW})))
    router.callback_query.register(why_closed, cb.IdeaAction.filter(F.act == cb.ACT_WHY_CLOSED))
    return router
