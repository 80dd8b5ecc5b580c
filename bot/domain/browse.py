"""Reading ideas: the current campaign, its categories, a paged list (three orders) and an idea's card. No
Telegram here."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.rules import (
    VoteRefusal,
    VotingWindow,
    support_refusal,
    withdrawal_refusal,
)
from storage import campaigns as campaign_store
from storage import groups as group_store
from storage import ideas as idea_store
from storage import plan as plan_store
from storage.ideas import SORT_NEW, SORT_TOP
from storage.models import Campaign, Category, Commitment, Idea, IdeaStatus, StatusChange, WorkingGroup
from storage.moderation import status_history

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
    commitment: Commitment | None = None  # the action plan's commitment the idea fed
    groups: list[WorkingGroup] = field(default_factory=list)  # working groups drafting that commitment
    supporters: int = 0  # the count to show (the cached idea's own count may be old)


def voting_window(campaign: Campaign) -> VotingWindow:
    return VotingWindow(campaign.starts_at, campaign.ends_at, campaign.votes_revocable)


def page_count(total: int) -> int:
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
    pages = page_count(total)
    page = min(max(page, 0), pages - 1)
    if sort == SORT_RANDOM:
        ids = await idea_store.visible_idea_ids(session, category_id)
        # Stable for one reader, different between readers: nobody's idea always comes first.
        random.Random(f"{reader_id}:{category_id}").shuffle(ids)
        ideas = await idea_store.ideas_by_ids(session, ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    else:
        ideas = list(await idea_store.ideas_page(session, category_id, sort, page * PAGE_SIZE, PAGE_SIZE))
    return IdeaList(category, ideas, sort, page, pages, total)


async def open_idea(session: AsyncSession, idea_id: int, reader_id: int, now: datetime, *,
                    reader: bool = True) -> IdeaCard | None:
    """The card of a public idea; a merged duplicate leads to the idea it was merged into. None when it does not
    exist or is not public. The idea, its category and campaign come from the cache (storage/cache.py: valid
    only while no write changed them); the count and the reader's own support are read now, unless `reader`
    is False (a vote press: its write tells both)."""
    parts = await idea_store.card_parts(session, idea_id)
    merged_from = None
    if parts is not None and parts.idea.status == IdeaStatus.MERGED and parts.idea.merged_into_id:
        merged_from = idea_id
        parts = await idea_store.card_parts(session, parts.idea.merged_into_id)
    if parts is None or not idea_store.is_public(parts.idea):
        return None
    idea, campaign, commitment_id = parts.idea, parts.campaign, parts.commitment_id
    supporters, supported = idea.supporters_count, False
    if reader:
        view = await idea_store.reader_view(session, idea.id, reader_id)
        if view is None:  # deleted since it was cached
            return None
        supporters, supported = view
    window = voting_window(campaign)
    # Only ideas a moderator has moved on have a history: the common card needs no extra query.
    history = await status_history(session, idea.id) if idea.status_changed_at else []
    return IdeaCard(
        idea=idea,
        category=parts.category,
        campaign=campaign,
        supported=supported,
        support_refusal=support_refusal(window, idea.status, now),
        withdrawal_refusal=withdrawal_refusal(window, idea.status, now),
        history=history,
        merged_from=merged_from,
        # Only ideas linked to the plan need these two queries.
        commitment=await plan_store.get_commitment(session, commitment_id) if commitment_id else None,
        groups=await group_store.groups_of_commitment(session, commitment_id) if commitment_id else [],
        supporters=supporters,
    )


async def current_campaign(session: AsyncSession, now: datetime) -> Campaign | None:
    return await campaign_store.current_campaign(session, now)


async def categories_overview(session: AsyncSession, campaign: Campaign) -> list[tuple[Category, int]]:
    return await campaign_store.categories_with_counts(session, campaign.id)
