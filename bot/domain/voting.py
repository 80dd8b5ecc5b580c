"""Supporting an idea and withdrawing the support: one per resident and idea, checked again on every press
(the button may be old or forged). No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.browse import IdeaCard, open_idea
from bot.domain.rules import VoteRefusal
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
    # The button may be old or forged: the idea and the campaign are checked again on every press.
    card = await open_idea(session, idea_id, user_id, now)
    if card is None:
        return VoteResult(None, False, VoteRefusal.IDEA_NOT_PUBLIC)
    refusal = VoteRefusal.BANNED if banned else (card.support_refusal if add else card.withdrawal_refusal)
    if refusal is not None:
        return VoteResult(card, False, refusal)
    idea_id = card.idea.id  # a merged duplicate's button counts for the idea it was merged into
    if add:
        outcome = await vote_store.add_vote(session, idea_id, user_id, now)
    else:
        outcome = await vote_store.remove_vote(session, idea_id, user_id)
    await session.commit()
    if outcome is None:  # merged or hidden between the card's read and the vote
        return VoteResult(None, False, VoteRefusal.IDEA_NOT_PUBLIC)
    changed, count = outcome
    idea_store.show_supporters_count(card.idea, count)
    updated = replace(card, supported=add)
    return VoteResult(updated, changed, None)
