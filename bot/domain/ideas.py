"""What residents do with ideas: browse, open, search, support and withdraw. No Telegram here."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.rules import (
    MAX_SEARCH_LENGTH,
    MIN_SEARCH_LENGTH,
    VoteRefusal,
    VotingWindow,
    support_refusal,
    withdrawal_refusal,
)
from storage import campaigns as campaign_store
from storage import ideas as idea_store
from storage import votes as vote_store
from storage.ideas import SORT_NEW, SORT_TOP
from storage.models import Campaign, Category, Idea, IdeaStatus, StatusChange
from storage.moderation import status_history
from storage.text import search_words

SORT_RANDOM = "rnd"
SORTS = (SORT_TOP, SORT_NEW, SORT_RANDOM)
PAGE_SIZE = 6


@dataclass(frozen=True)
class IdeaList:
    category: Category
    ideas: list[Idea]
    sort: str
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class IdeaCard:
    idea: Idea
    category: Category
    campaign: Campaign
    supported: bool
    support_refusal: VoteRefusal | None
    withdrawal_refusal: VoteRefusal | None
    history: list[StatusChange] = field(default_factory=list)  # oldest first
    merged_from: int | None = None  # the card was opened through a duplicate that was merged into this idea


@dataclass(frozen=True)
class VoteResult:
    card: IdeaCard | None  # None when the idea does not exist (any more)
    changed: bool
    refusal: VoteRefusal | None


def voting_window(campaign: Campaign) -> VotingWindow:
    return VotingWindow(campaign.starts_at, campaign.ends_at, campaign.votes_revocable)


def _page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


async def list_ideas(
    session: AsyncSession, category_id: int, sort: str, page: int, reader_id: int
) -> IdeaList | None:
    """One page of a category's public ideas; None for an unknown category. A page past the end shows
    the last page (a stale button after ideas were hidden)."""
    category = await campaign_store.get_category(session, category_id)
    if category is None:
        return None
    sort = sort if sort in SORTS else SORT_TOP
    total = await idea_store.count_visible(session, category_id)
    pages = _page_count(total)
    page = min(max(page, 0), pages - 1)
    if sort == SORT_RANDOM:
        ids = await idea_store.visible_idea_ids(session, category_id)
        # Stable for one reader, different between readers: nobody's idea always comes first.
        random.Random(f"{reader_id}:{category_id}").shuffle(ids)
        ideas = await idea_store.ideas_by_ids(session, ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    else:
        ideas = list(await idea_store.ideas_page(session, category_id, sort, page * PAGE_SIZE, PAGE_SIZE))
    return IdeaList(category, ideas, sort, page, pages, total)


async def open_idea(session: AsyncSession, idea_id: int, reader_id: int, now: datetime) -> IdeaCard | None:
    """The card of a public idea; a merged duplicate leads to the idea it was merged into. None when it does not
    exist or is not public."""
    found = await idea_store.card_rows(session, idea_id, reader_id)
    merged_from = None
    if found is not None and found[0].status == IdeaStatus.MERGED and found[0].merged_into_id:
        merged_from = idea_id
        found = await idea_store.card_rows(session, found[0].merged_into_id, reader_id)
    if found is None or not idea_store.is_public(found[0]):
        return None
    idea, category, campaign, supported = found
    window = voting_window(campaign)
    # Only ideas a moderator has moved on have a history: the common card needs no extra query.
    history = await status_history(session, idea.id) if idea.status_changed_at else []
    return IdeaCard(
        idea=idea,
        category=category,
        campaign=campaign,
        supported=supported,
        support_refusal=support_refusal(window, idea.status, now),
        withdrawal_refusal=withdrawal_refusal(window, idea.status, now),
        history=history,
        merged_from=merged_from,
    )


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
    outcome = await vote_store.record_vote(session, idea_id, user_id, now, add=add)
    if outcome is None:  # merged or hidden between the card's read and the vote
        return VoteResult(None, False, VoteRefusal.IDEA_NOT_PUBLIC)
    changed, count = outcome
    # The new count as loaded state, not as a change: a later flush must never write an absolute count.
    set_committed_value(card.idea, "supporters_count", count)
    updated = replace(card, supported=add)
    return VoteResult(updated, changed, None)


@dataclass(frozen=True)
class SearchResult:
    query: str
    ideas: list[Idea]
    total: int
    page: int
    pages: int
    too_short: bool = False


async def search(
    session: AsyncSession, campaign: Campaign, query: str, page: int = 0
) -> SearchResult:
    query = " ".join(query.split())[:MAX_SEARCH_LENGTH]
    words = search_words(query)
    if sum(len(word) for word in words) < MIN_SEARCH_LENGTH:
        return SearchResult(query, [], 0, 0, 1, too_short=True)
    page = max(page, 0)
    ideas, total = await idea_store.search_ideas(session, campaign.id, words, page * PAGE_SIZE, PAGE_SIZE)
    return SearchResult(query, ideas, total, page, _page_count(total))


async def current_campaign(session: AsyncSession, now: datetime) -> Campaign | None:
    return await campaign_store.current_campaign(session, now)


async def categories_overview(session: AsyncSession, campaign: Campaign) -> list[tuple[Category, int]]:
    return await campaign_store.categories_with_counts(session, campaign.id)
