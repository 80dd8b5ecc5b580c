"""What residents hear about the action plan in their weekly news: a commitment's new status, a completed
milestone, a milestone that became overdue. Followers of a commitment hear it, and so do the supporters of the
ideas that fed it (bot/domain/digests.py puts these items into the same one message a week)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import plan as store
from storage.models import Commitment, Milestone, PlanEventKind

MILESTONE_OVERDUE = "milestone_overdue"


@dataclass(frozen=True)
class PlanNewsItem:
    commitment: Commitment
    kind: str  # PlanEventKind or MILESTONE_OVERDUE
    at: datetime
    status: str | None = None
    milestone: Milestone | None = None
    note: str | None = None

    @property
    def key(self) -> tuple:
        """Identifies the item, so residents with the same news share one rendered text."""
        return (self.commitment.id, self.kind, self.at, self.milestone.id if self.milestone else None)


def overdue_at(milestone: Milestone, tz: ZoneInfo) -> datetime:
    """A milestone is overdue from the midnight after its due date (local time)."""
    return datetime.combine(milestone.due_date + timedelta(days=1), time(), tzinfo=tz)


async def week_items(session: AsyncSession, start: datetime, end: datetime, tz: ZoneInfo) -> list[PlanNewsItem]:
    """The plan's news of [start, end), newest first."""
    events = await store.events_between(session, start, end)
    overdue = [m for m in await store.overdue_between(session, start.astimezone(tz).date() - timedelta(days=1),
                                                      end.astimezone(tz).date())
               if start <= overdue_at(m, tz) < end]
    commitments = await store.commitments_by_ids(
        session, [event.commitment_id for event in events] + [m.commitment_id for m in overdue])
    milestones = await store.milestones_by_ids(session, [e.milestone_id for e in events if e.milestone_id])
    items = [PlanNewsItem(commitments[event.commitment_id], event.kind, event.created_at, event.status,
                          milestones.get(event.milestone_id), event.note)
             for event in events
             if event.kind == PlanEventKind.STATUS or milestones.get(event.milestone_id) is not None]
    items += [PlanNewsItem(commitments[m.commitment_id], MILESTONE_OVERDUE, overdue_at(m, tz), milestone=m)
              for m in overdue]
    # A milestone done again and again within the week is told once; so is a status that changed back and forth.
    latest: dict[tuple, PlanNewsItem] = {}
    for item in sorted(items, key=lambda item: item.at):
        latest[(item.commitment.id, item.kind, item.milestone.id if item.milestone else None)] = item
    return sorted(latest.values(), key=lambda item: item.at, reverse=True)


@dataclass(frozen=True)
class PlanNews:
    language: str
    items: list[PlanNewsItem]


async def news_by_resident(session: AsyncSession, start: datetime, end: datetime, tz: ZoneInfo
                           ) -> dict[int, PlanNews]:
    """Each resident's plan news of the week (the commitments they follow or whose ideas they support)."""
    items = await week_items(session, start, end, tz)
    if not items:
        return {}
    by_commitment: dict[int, list[PlanNewsItem]] = defaultdict(list)
    for item in items:
        by_commitment[item.commitment.id].append(item)
    news: dict[int, PlanNews] = {}
    for reader in await store.plan_readers(session, list(by_commitment)):
        entry = news.setdefault(reader.user_id, PlanNews(reader.language, []))
        entry.items.extend(by_commitment[reader.commitment_id])
    for entry in news.values():
        entry.items.sort(key=lambda item: item.at, reverse=True)
    return news
