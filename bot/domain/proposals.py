"""Residents' proposals: the rules of a valid text, who may propose, similar ideas, and "my ideas".
No Telegram here; the conversation itself is handlers/proposals.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rapidfuzz import fuzz, process
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.announcements import announce_proposal
from bot.domain.moderation import Renderer
from bot.domain.rules import Phase, campaign_phase
from bot.domain.texts import check_body, check_title
from storage import campaigns as campaign_store
from storage import ideas as idea_store
from storage import proposals as proposal_store
from storage import search as search_store
from storage.ideas import refresh_search_text
from storage.models import LANGUAGES, Campaign, Category, Idea, IdeaStatus, User
from storage.text import search_key

SIMILARITY_CUTOFF = 75  # rapidfuzz token_set_ratio, 0..100
SIMILAR_LIMIT = 3


class ProposalRefusal(StrEnum):
    NO_CAMPAIGN = "no_campaign"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    BANNED = "banned"
    TOO_MANY_PENDING = "too_many_pending"


def proposal_refusal(phase: Phase | None, banned: bool, pending: int, max_pending: int) -> ProposalRefusal | None:
    if banned:
        return ProposalRefusal.BANNED
    if phase is None:
        return ProposalRefusal.NO_CAMPAIGN
    if phase is Phase.UPCOMING:
        return ProposalRefusal.NOT_STARTED
    if phase is Phase.CLOSED:
        return ProposalRefusal.ENDED
    if pending >= max_pending:
        return ProposalRefusal.TOO_MANY_PENDING
    return None


@dataclass(frozen=True)
class ProposalGate:
    campaign: Campaign | None
    refusal: ProposalRefusal | None
    pending: int


async def proposal_gate(session: AsyncSession, user: User, now: datetime, max_pending: int) -> ProposalGate:
    """May this resident propose now? Checked when the conversation starts and again when they send."""
    campaign = await campaign_store.current_campaign(session, now)
    phase = campaign_phase(campaign.starts_at, campaign.ends_at, now) if campaign else None
    pending = await proposal_store.count_pending_by_author(session, user.id)
    return ProposalGate(campaign, proposal_refusal(phase, user.is_banned, pending, max_pending), pending)


async def proposal_categories(session: AsyncSession, campaign: Campaign) -> list[Category]:
    return [category for category, _count in await campaign_store.categories_with_counts(session, campaign.id)]


async def category_of_campaign(session: AsyncSession, campaign: Campaign, category_id: int) -> Category | None:
    category = await campaign_store.get_category(session, category_id)
    return category if category is not None and category.campaign_id == campaign.id else None


async def similar_ideas(session: AsyncSession, campaign: Campaign, title: str) -> list[Idea]:
    """Public ideas of the campaign whose title (in any language) looks like this one, most similar first."""
    candidates = await proposal_store.public_titles(session, campaign.id)
    if not candidates:
        return []
    # Comparing with thousands of titles takes tens of milliseconds: not on the event loop, which serves everyone.
    ranked = await asyncio.to_thread(_most_similar, title, candidates)
    return await idea_store.ideas_by_ids(session, ranked)


def _most_similar(title: str, candidates: list) -> list[int]:
    choices = {}
    for idea_id, *titles in candidates:
        for position, text in enumerate(titles):
            if text:
                choices[(idea_id, position)] = search_key(text)
    matches = process.extract(search_key(title), choices, scorer=fuzz.token_set_ratio,
                              score_cutoff=SIMILARITY_CUTOFF, limit=SIMILAR_LIMIT * 3)
    best: dict[int, float] = {}
    for _text, score, (idea_id, _position) in matches:
        best[idea_id] = max(score, best.get(idea_id, 0))
    return sorted(best, key=lambda idea_id: -best[idea_id])[:SIMILAR_LIMIT]


async def submit(session: AsyncSession, author: User, campaign: Campaign, category: Category, title: str, body: str,
                 language: str, now: datetime, submission_key: str | None = None) -> Idea:
    """Store the proposal as pending (not committed: the caller adds the moderators' announcement and commits)."""
    idea = Idea(campaign_id=campaign.id, category_id=category.id, status=IdeaStatus.PENDING, author_id=author.id,
                created_at=now, submission_key=submission_key, **{f"title_{language}": title, f"body_{language}": body})
    refresh_search_text(idea)
    session.add(idea)
    await session.flush()
    await search_store.reindex(session, [idea.id])
    return idea


async def my_ideas(session: AsyncSession, user_id: int) -> list[Idea]:
    """The resident's newest ten proposals."""
    return await proposal_store.ideas_by_author(session, user_id, limit=10)


async def current_campaign(session: AsyncSession, now: datetime) -> Campaign | None:
    return await campaign_store.current_campaign(session, now)


@dataclass(frozen=True)
class SendOutcome:
    campaign: Campaign | None
    refusal: ProposalRefusal | None = None
    idea: Idea | None = None  # None without a refusal: the draft's category is gone, choose again


DRAFT_KEY = "draft_key"


def new_draft_key() -> str:
    """Kept in the draft from its first step: the proposal it becomes carries it, and the database allows one."""
    return uuid.uuid4().hex


def submission_key(author_id: int, draft: dict) -> str:
    """The draft's key; a draft written before keys existed gets one from its contents (the same on every press)."""
    if draft.get(DRAFT_KEY):
        return str(draft[DRAFT_KEY])[:64]
    content = json.dumps([author_id, draft.get("category_id"), draft.get("title"), draft.get("body")])
    return hashlib.sha256(content.encode()).hexdigest()[:64]


async def send(session: AsyncSession, author: User, draft: dict, now: datetime, settings: Settings,
               bot_username: str, renderer: Renderer) -> SendOutcome:
    """Check everything again (the draft comes from stored conversation state, the campaign may have closed),
    store the proposal and tell the moderators, in one transaction. A draft is submitted once: a second press of
    Send (however concurrent) finds the proposal the first one stored."""
    key = submission_key(author.id, draft)
    earlier = await proposal_store.idea_by_submission_key(session, key)
    if earlier is not None:
        return SendOutcome(await current_campaign(session, now), idea=earlier)
    gate = await proposal_gate(session, author, now, settings.max_pending_proposals)
    if gate.refusal is not None:
        return SendOutcome(gate.campaign, gate.refusal)
    category = await category_of_campaign(session, gate.campaign, int(draft.get("category_id") or 0))
    title, body = check_title(draft.get("title") or ""), check_body(draft.get("body") or "")
    if category is None or title.problem or body.problem:
        return SendOutcome(gate.campaign)
    language = draft.get("language") if draft.get("language") in LANGUAGES else author.language
    try:
        idea = await submit(session, author, gate.campaign, category, title.text, body.text, language, now, key)
        await announce_proposal(session, idea.id, settings, bot_username, renderer)
        await session.commit()
    except IntegrityError:  # another press of this draft's Send committed first
        await session.rollback()
        earlier = await proposal_store.idea_by_submission_key(session, key)
        if earlier is None:
            raise
        return SendOutcome(gate.campaign, idea=earlier)
    return SendOutcome(gate.campaign, idea=idea)


@dataclass(frozen=True)
class DraftContext:
    """What a step of the conversation needs: the campaign, the draft's category (if still valid) and the
    categories to choose from."""

    campaign: Campaign | None
    category: Category | None
    categories: list[Category]


async def draft_context(session: AsyncSession, category_id: int | None, now: datetime) -> DraftContext:
    campaign = await current_campaign(session, now)
    if campaign is None:
        return DraftContext(None, None, [])
    category = await category_of_campaign(session, campaign, int(category_id or 0))
    return DraftContext(campaign, category, await proposal_categories(session, campaign))


async def similar_to_draft(session: AsyncSession, draft: dict, now: datetime) -> list[Idea]:
    campaign = await current_campaign(session, now)
    if campaign is None:
        return []
    return await similar_ideas(session, campaign, draft.get("title", ""))


def preview_idea(draft: dict, context: DraftContext, reader_language: str) -> Idea:
    """An unsaved idea with the draft's texts, rendered exactly like a published card."""
    language = draft.get("language") if draft.get("language") in LANGUAGES else reader_language
    return Idea(campaign_id=context.campaign.id, category_id=context.category.id,
                **{f"title_{language}": draft["title"], f"body_{language}": draft["body"]})
