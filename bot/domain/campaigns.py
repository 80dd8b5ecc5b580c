"""Loading a campaign file into the database, and the operator's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.campaign_file import CampaignSpec, LocalizedText
from storage import campaigns as campaign_store
from storage import ideas as idea_store
from storage import search as search_store
from storage import users as user_store
from storage import votes as vote_store
from storage.campaigns import apply_fields
from storage.models import LANGUAGES, Campaign, Category, Idea, IdeaStatus


@dataclass
class ImportReport:
    slug: str
    campaign_created: bool = False
    campaign_updated: bool = False
    created: dict[str, int] = field(default_factory=lambda: {"categories": 0, "ideas": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"categories": 0, "ideas": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"categories": 0, "ideas": 0})

    def summary(self) -> str:
        head = "created" if self.campaign_created else ("updated" if self.campaign_updated else "unchanged")
        parts = [f"campaign {self.slug!r}: {head}"]
        for kind in ("categories", "ideas"):
            parts.append(
                f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
                f"{self.unchanged[kind]} unchanged"
            )
        return "; ".join(parts)


def _localized_fields(prefix: str, text: LocalizedText | None) -> dict[str, str | None]:
    return {f"{prefix}_{language}": getattr(text, language, None) if text else None for language in LANGUAGES}


async def import_campaign(session: AsyncSession, spec: CampaignSpec) -> ImportReport:
    """Create or update the campaign with this slug in one transaction. Ideas are matched by their key, so a
    re-import updates texts and categories but never duplicates ideas or touches their votes."""
    report = ImportReport(spec.slug)
    campaign = await campaign_store.campaign_by_slug(session, spec.slug)
    campaign_fields = {
        **_localized_fields("title", spec.title),
        **_localized_fields("description", spec.description),
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "votes_revocable": spec.votes_revocable,
    }
    if campaign is None:
        campaign = Campaign(slug=spec.slug, **campaign_fields)
        session.add(campaign)
        await session.flush()
        report.campaign_created = True
    else:
        report.campaign_updated = apply_fields(campaign, campaign_fields)

    categories: dict[str, Category] = {}
    for position, category_spec in enumerate(spec.categories):
        category = await campaign_store.category_by_key(session, campaign.id, category_spec.key)
        fields = {**_localized_fields("title", category_spec.title), "position": position}
        if category is None:
            category = Category(campaign_id=campaign.id, key=category_spec.key, **fields)
            session.add(category)
            await session.flush()
            report.created["categories"] += 1
        elif apply_fields(category, fields):
            report.updated["categories"] += 1
        else:
            report.unchanged["categories"] += 1
        categories[category_spec.key] = category

    changed_ideas = []
    for idea_spec in spec.ideas:
        fields = {
            **_localized_fields("title", idea_spec.title),
            **_localized_fields("body", idea_spec.body),
            "category_id": categories[idea_spec.category].id,
        }
        idea = await idea_store.idea_by_key(session, campaign.id, idea_spec.key)
        if idea is None:
            idea = Idea(campaign_id=campaign.id, key=idea_spec.key, status=IdeaStatus.PUBLISHED, **fields)
            idea_store.refresh_search_text(idea)
            session.add(idea)
            changed_ideas.append(idea)
            report.created["ideas"] += 1
        elif apply_fields(idea, fields):
            idea_store.refresh_search_text(idea)
            changed_ideas.append(idea)
            report.updated["ideas"] += 1
        else:
            report.unchanged["ideas"] += 1
    await session.flush()
    await search_store.reindex(session, [idea.id for idea in changed_ideas])
    await session.commit()
    return report


async def has_any_campaign(session: AsyncSession) -> bool:
    return await campaign_store.count_campaigns(session) > 0


@dataclass(frozen=True)
class Stats:
    users_by_language: dict[str, int]
    campaigns: int
    ideas_by_status: dict[str, int]
    votes: int
    voters: int
    subscribers: int

    @property
    def users(self) -> int:
        return sum(self.users_by_language.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "users": self.users,
            "users_by_language": self.users_by_language,
            "campaigns": self.campaigns,
            "ideas": sum(self.ideas_by_status.values()),
            "ideas_by_status": self.ideas_by_status,
            "votes": self.votes,
            "voters": self.voters,
            "subscribers": self.subscribers,
        }


async def collect_stats(session: AsyncSession) -> Stats:
    return Stats(
        users_by_language=await user_store.users_by_language(session),
        campaigns=await campaign_store.count_campaigns(session),
        ideas_by_status=await idea_store.ideas_by_status(session),
        votes=await vote_store.count_votes(session),
        voters=await vote_store.count_voters(session),
        subscribers=await user_store.count_subscribers(session),
    )


def shift_to_open(spec: CampaignSpec, now: datetime, tz: ZoneInfo) -> CampaignSpec:
    """The example campaign moved so that it opens at today's midnight (in `tz`, the TIMEZONE setting), keeping
    its length (chat demo)."""
    length = spec.ends_at - spec.starts_at
    starts_at = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return spec.model_copy(update={"starts_at": starts_at, "ends_at": starts_at + length})
