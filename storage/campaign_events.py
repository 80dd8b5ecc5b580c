"""Queries of the campaign calendar (bot/domain/campaign_events.py): who gets a reminder or the results, what
each resident has looked at, the results themselves, and writing many outbox rows at once.

Nothing here commits: the calendar claims its run (storage/schedule.py) and writes these rows in one
transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_, select, union
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.campaigns import categories_with_counts
from storage.ideas import public_condition
from storage.models import Campaign, Category, Idea, User, Vote


async def all_campaigns(session: AsyncSession) -> list[Campaign]:
    return list((await session.exec(select(Campaign).order_by(Campaign.starts_at, Campaign.id))).scalars())


def _reminded():
    return (User.reminders.is_(True), User.is_reachable.is_(True), User.is_banned.is_(False))


async def reminder_recipients(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, language) of residents who turned reminders on and can be reached."""
    query = select(User.id, User.language).where(*_reminded()).order_by(User.id)
    return [(user_id, language) for user_id, language in (await session.exec(query)).all()]


async def supported_categories(session: AsyncSession, campaign_id: int) -> dict[int, set[int]]:
    """For each reminder recipient, the categories of the campaign's ideas they supported: what they have
    "looked at" (there is no log of views, so a support is the only trace of a look)."""
    query = (
        select(Vote.user_id, Idea.category_id)
        .join(Idea, Idea.id == Vote.idea_id)
        .join(User, User.id == Vote.user_id)
        .where(Idea.campaign_id == campaign_id, *_reminded())
        .distinct()
    )
    found: dict[int, set[int]] = defaultdict(set)
    for user_id, category_id in (await session.exec(query)).all():
        found[user_id].add(category_id)
    return dict(found)


async def categories_with_ideas(session: AsyncSession, campaign_id: int) -> list[Category]:
    """The campaign's categories, in order, that have at least one public idea."""
    return [category for category, count in await categories_with_counts(session, campaign_id) if count > 0]


def _participants(campaign_id: int):
    """Residents who took part: supported one of the campaign's ideas, or proposed one."""
    voters = select(Vote.user_id.label("user_id")).join(Idea, Idea.id == Vote.idea_id).where(
        Idea.campaign_id == campaign_id)
    authors = select(Idea.author_id.label("user_id")).where(
        Idea.campaign_id == campaign_id, Idea.author_id.is_not(None))
    return union(voters, authors)


async def results_recipients(session: AsyncSession, campaign_id: int) -> list[tuple[int, str]]:
    """(id, language) of the results' readers: subscribers and everyone who took part, reachable ones."""
    participants = _participants(campaign_id).subquery()
    query = (
        select(User.id, User.language)
        .where(
            User.is_reachable.is_(True),
            User.is_banned.is_(False),
            or_(User.subscribed.is_(True), User.id.in_(select(participants.c.user_id))),
        )
        .order_by(User.id)
    )
    return [(user_id, language) for user_id, language in (await session.exec(query)).all()]


@dataclass(frozen=True)
class Totals:
    participants: int
    ideas: int
    votes: int


async def campaign_totals(session: AsyncSession, campaign_id: int) -> Totals:
    participants = _participants(campaign_id).subquery()
    count_participants = select(func.count()).select_from(participants)
    count_ideas = select(func.count()).select_from(Idea).where(Idea.campaign_id == campaign_id, public_condition())
    count_votes = select(func.count()).select_from(Vote).join(Idea, Idea.id == Vote.idea_id).where(
        Idea.campaign_id == campaign_id)
    return Totals(
        participants=(await session.exec(count_participants)).scalar_one(),
        ideas=(await session.exec(count_ideas)).scalar_one(),
        votes=(await session.exec(count_votes)).scalar_one(),
    )


async def top_ideas_by_category(session: AsyncSession, campaign_id: int, per_category: int) -> dict[int, list[Idea]]:
    """Up to `per_category` most supported public ideas (at least one supporter) of each category."""
    rank = func.row_number().over(
        partition_by=Idea.category_id, order_by=(Idea.supporters_count.desc(), Idea.id)).label("rank")
    ranked = (
        select(Idea.id, rank)
        .where(Idea.campaign_id == campaign_id, public_condition(), Idea.supporters_count > 0)
        .subquery()
    )
    query = (
        select(Idea)
        .join(ranked, ranked.c.id == Idea.id)
        .where(ranked.c.rank <= per_category)
        .order_by(Idea.category_id, ranked.c.rank)
    )
    found: dict[int, list[Idea]] = defaultdict(list)
    for idea in (await session.exec(query)).scalars():
        found[idea.category_id].append(idea)
    return dict(found)
