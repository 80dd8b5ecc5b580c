"""Supporting an idea and withdrawing the support: one per resident and idea, checked again on every press
(the button may be old or forged). No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.browse import IdeaCard, open_idea, voting_window
from bot.domain.rules import VoteRefusal, withdrawal_refusal
from storage import ideas as idea_store
from storage import votes as vote_store


@dataclass(frozen=True)
class VoteResult:
    card: IdeaCard | None  # None when the idea does not exist (any more)
    changed: bool
    refusal: VoteRefusal | None


async def support(session: AsyncSession, idea_id: int, user_id: int, now: datetime, *, banned: bool = False
                  ) -> VoteResult:
    return await _change_vote(session, idea_id, user_id, now, add=True, banned=banned)


async def withdraw(session: AsyncSession, idea_id: int, user_id: int, now: datetime, *, banned: bool = False
                   ) -> VoteResult:
    return await _change_vote(session, idea_id, user_id, now, add=False, banned=banned)


async def _change_vote(session: AsyncSession, idea_id: int, user_id: int, now: datetime, add: bool,
                       banned: bool) -> VoteResult:
    # The button may be old or forged: the idea and the campaign are checked again on every press (from the
    # cache only while no write changed them, storage/cache.py; the vote's own UPDATE checks the idea again).
    card = await open_idea(session, idea_id, user_id, now, reader=False)
    if card is None:
        hidden = None if add else await _withdraw_from_hidden(session, idea_id, user_id, now)
        return hidden or VoteResult(None, False, VoteRefusal.IDEA_NOT_PUBLIC)
    # A banned resident may not support, but may take a support back.
    refusal = (VoteRefusal.BANNED if banned else card.support_refusal) if add else card.withdrawal_refusal
    if refusal is not None:  # shown with the reader's own support and today's count
        return VoteResult(await open_idea(session, idea_id, user_id, now) or card, False, refusal)
    idea_id = card.idea.id  # a merged duplicate's button counts for the idea it was merged into
    outcome = await vote_store.record_vote(session, idea_id, user_id, now, add=add)  # committed
    if outcome is None:  # merged or hidden between the card's read and the vote
        return VoteResult(None, False, VoteRefusal.IDEA_NOT_PUBLIC)
    changed, count = outcome
    return VoteResult(replace(card, supported=add, supporters=count), changed, None)


async def _withdraw_from_hidden(session: AsyncSession, idea_id: int, user_id: int, now: datetime
                                ) -> VoteResult | None:
    """An idea hidden by reports keeps its supports until a moderator decides; its supporters may still take theirs
    back (a card-less result: the idea is not shown while hidden). None when this is not such a case."""
    found = await idea_store.card_rows(session, idea_id, user_id)
    if found is None or not found[0].hidden or not found[3]:
        return None
    idea, _category, campaign, _supported, _commitment = found
    refusal = withdrawal_refusal(voting_window(campaign), idea.status, now)
    if refusal is not None:
        return VoteResult(None, False, refusal)
    outcome = await vote_store.remove_vote(session, idea.id, user_id)
    await session.commit()
    return VoteResult(None, bool(outcome and outcome[0]), None)
