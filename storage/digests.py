"""Queries of the weekly digest, the weekly personal news and the new-idea cards (bot/domain/digests.py), and
writing their outbox rows many at once.

Nothing here commits: the weekly jobs claim their run (storage/schedule.py) and write their rows in one
transaction.

"Published" is when an idea became public: its first status change to `published` (a resident's proposal,
published by a moderator), else its creation (imported ideas are published at once and have no status change)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, type_coerce
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ideas import public_condition
from storage.models import (
    Campaign,
    Category,
    CategoryInterest,
    DigestIdea,
    Idea,
    IdeaStatus,
    JobRun,
    OutboxMessage,
    StatusChange,
    User,
    UTCDateTime,
    Vote,
)
from storage.sql import insert_ignoring_conflicts

INSERT_CHUNK = 500  # rows per INSERT: 10 columns each, far below SQLite's 32,766 bound values

_outbox = OutboxMessage.__table__


def published_at():
    """When the idea became public (see the module docstring), as an aware datetime."""
    first_published = (
        select(func.min(StatusChange.created_at))
        .where(StatusChange.idea_id == Idea.id, StatusChange.status == IdeaStatus.PUBLISHED.value)
        .correlate(Idea)
        .scalar_subquery()
    )
    return type_coerce(func.coalesce(first_published, Idea.created_at), UTCDateTime())


# ---------------------------------------------------------------- the weekly digest


async def digest_campaign(session: AsyncSession, now: datetime, closed_since: datetime) -> Campaign | None:
    """The campaign the digest is about: the open one (the one closing first, as the resident's menu shows), else
    the one that closed most recently, if it closed after `closed_since`."""
    open_now = (await session.exec(
        select(Campaign).where(Campaign.starts_at <= now, Campaign.ends_at > now).order_by(Campaign.ends_at)
    )).scalars().first()
    if open_now is not None:
        return open_now
    return (await session.exec(
        select(Campaign).where(Campaign.ends_at > closed_since, Campaign.ends_at <= now)
        .order_by(Campaign.ends_at.desc())
    )).scalars().first()


async def new_ideas(session: AsyncSession, campaign_id: int, since: datetime, until: datetime) -> list[Idea]:
    """Public ideas of the campaign published in [since, until), newest first."""
    published = published_at()
    query = (
        select(Idea)
        .where(Idea.campaign_id == campaign_id, public_condition(), published >= since, published < until)
        .order_by(published.desc(), Idea.id.desc())
    )
    return list((await session.exec(query)).scalars())


async def latest_changes(
    session: AsyncSession, since: datetime, until: datetime, *, campaign_id: int | None = None
) -> list[tuple[StatusChange, Idea]]:
    """Each idea's latest status change in [since, until), newest first, with the idea as it is now."""
    query = (
        select(StatusChange, Idea)
        .join(Idea, Idea.id == StatusChange.idea_id)
        .where(StatusChange.created_at >= since, StatusChange.created_at < until)
        .order_by(StatusChange.created_at.desc(), StatusChange.id.desc())
    )
    if campaign_id is not None:
        query = query.where(Idea.campaign_id == campaign_id)
    latest: dict[int, tuple[StatusChange, Idea]] = {}
    for change, idea in (await session.exec(query)).all():
        latest.setdefault(idea.id, (change, idea))
    return list(latest.values())


async def digest_recipients(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, language) of residents subscribed to the digest who can be reached (and are not banned)."""
    query = (
        select(User.id, User.language)
        .where(User.subscribed.is_(True), User.is_reachable.is_(True), User.is_banned.is_(False))
        .order_by(User.id)
    )
    return [(user_id, language) for user_id, language in (await session.exec(query)).all()]


async def run_claimed_at(session: AsyncSession, kind: str, run_key: str) -> datetime | None:
    """When a job run was claimed (its clock's time), or None when it was not."""
    query = select(JobRun.created_at).where(JobRun.kind == kind, JobRun.run_key == run_key)
    return (await session.exec(query)).scalars().first()


async def record_listing(session: AsyncSession, week: str, language: str, idea_ids: Iterable[int]) -> None:
    """The ideas the week's digest lists in a language (a repeat writes nothing). Not committed."""
    rows = [{"week": week, "language": language, "idea_id": idea_id} for idea_id in sorted(set(idea_ids))]
    if rows:
        await session.exec(insert_ignoring_conflicts(session, DigestIdea).values(rows))


async def listed_ideas(session: AsyncSession, week: str) -> dict[str, set[int]]:
    """Language -> the ideas the week's digest lists in it."""
    query = select(DigestIdea.language, DigestIdea.idea_id).where(DigestIdea.week == week)
    listed: dict[str, set[int]] = {}
    for language, idea_id in (await session.exec(query)).all():
        listed.setdefault(language, set()).add(idea_id)
    return listed


async def batch_chat_ids(session: AsyncSession, batch_id: str, chat_ids: Sequence[int]) -> set[int]:
    """Which of these chats were written a message of the batch."""
    found: set[int] = set()
    ids = sorted(set(chat_ids))
    for start in range(0, len(ids), INSERT_CHUNK):
        query = select(_outbox.c.chat_id).where(
            _outbox.c.batch_id == batch_id, _outbox.c.chat_id.in_(ids[start:start + INSERT_CHUNK]))
        found.update((await session.exec(query)).scalars().all())
    return found


# ---------------------------------------------------------------- personal news


@dataclass(frozen=True)
class NewsReader:
    user_id: int
    language: str
    idea_id: int
    is_author: bool


async def news_readers(session: AsyncSession, ideas: Sequence[Idea]) -> list[NewsReader]:
    """Authors and supporters of these ideas who want news about them (notify_status) and can be reached; an
    author who also supports their own idea counts once, as its author."""
    if not ideas:
        return []
    idea_ids = sorted({idea.id for idea in ideas})
    wants_news = (User.notify_status.is_(True), User.is_reachable.is_(True))
    readers: dict[tuple[int, int], NewsReader] = {}
    authors = select(User.id, User.language, Idea.id).join(Idea, Idea.author_id == User.id).where(
        Idea.id.in_(idea_ids), *wants_news)
    for user_id, language, idea_id in (await session.exec(authors)).all():
        readers[(user_id, idea_id)] = NewsReader(user_id, language, idea_id, True)
    supporters = select(User.id, User.language, Vote.idea_id).join(Vote, Vote.user_id == User.id).where(
        Vote.idea_id.in_(idea_ids), *wants_news)
    for user_id, language, idea_id in (await session.exec(supporters)).all():
        readers.setdefault((user_id, idea_id), NewsReader(user_id, language, idea_id, False))
    return sorted(readers.values(), key=lambda reader: (reader.user_id, reader.idea_id))


# ---------------------------------------------------------------- new-idea cards


@dataclass(frozen=True)
class CardCandidate:
    user_id: int
    language: str
    idea_id: int
    published_at: datetime


async def card_candidates(session: AsyncSession, now: datetime, since: datetime) -> list[CardCandidate]:
    """Every (resident, idea) pair that may get a new-idea card now: the resident chose the idea's category, can
    be reached and is not banned; the idea is public, was published since `since` and after its campaign
    opened, the campaign is open now, and the resident neither proposed nor supports it. Oldest idea first
    for each resident."""
    published = published_at()
    supports = select(Vote.idea_id).where(Vote.idea_id == Idea.id, Vote.user_id == User.id).exists()
    query = (
        select(User.id, User.language, Idea.id, published)
        .select_from(CategoryInterest)
        .join(User, User.id == CategoryInterest.user_id)
        .join(Idea, Idea.category_id == CategoryInterest.category_id)
        .join(Campaign, Campaign.id == Idea.campaign_id)
        .where(
            User.is_reachable.is_(True),
            User.is_banned.is_(False),
            public_condition(),
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
            published >= since,
            published >= Campaign.starts_at,
            published <= now,
            or_(Idea.author_id.is_(None), Idea.author_id != User.id),
            ~supports,
        )
        .order_by(User.id, published, Idea.id)
    )
    rows = (await session.exec(query)).all()
    return [CardCandidate(user_id, language, idea_id, when) for user_id, language, idea_id, when in rows]


async def batch_messages(session: AsyncSession, batch_ids: Iterable[str]) -> list[tuple[int, str, str]]:
    """(chat_id, dedupe_key, batch_id) of every message of these batches (the last days' new-idea cards). One
    statement, so one snapshot: the keys and the per-day counts drawn from it agree even while another run
    commits."""
    batch_ids = sorted(set(batch_ids))
    if not batch_ids:
        return []
    query = select(_outbox.c.chat_id, _outbox.c.dedupe_key, _outbox.c.batch_id).where(
        _outbox.c.batch_id.in_(batch_ids))
    return [(chat_id, key, batch) for chat_id, key, batch in (await session.exec(query)).all()]


async def ideas_with_categories(session: AsyncSession, idea_ids: Iterable[int]) -> dict[int, tuple[Idea, Category]]:
    ids = sorted(set(idea_ids))
    if not ids:
        return {}
    query = select(Idea, Category).join(Category, Category.id == Idea.category_id).where(Idea.id.in_(ids))
    return {idea.id: (idea, category) for idea, category in (await session.exec(query)).all()}
