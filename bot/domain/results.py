"""Open results: a campaign's anonymised export (tables for CSV or JSON) and the data of its public report.
No Telegram here, no resident's id, name or contact in anything this module returns: only public texts,
statuses and counts. The column meanings are documented in README.md ("Open results")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import groups as group_domain
from bot.domain import plan
from bot.domain.campaign_events import Results, load_results
from storage import campaigns as campaign_store
from storage import plan as plan_store
from storage import results as store
from storage.models import LANGUAGES, Campaign

Table = list[dict[str, object]]


def _texts(row: object, field: str) -> dict[str, str]:
    return {f"{field}_{language}": getattr(row, f"{field}_{language}") or "" for language in LANGUAGES}


async def export_tables(session: AsyncSession, campaign: Campaign, tz: ZoneInfo, now: datetime
                        ) -> dict[str, Table]:
    """The tables of the export, by file name (without the extension)."""
    ideas = await store.public_ideas(session, campaign.id)
    idea_rows = [{
        "idea_id": idea.id,
        "category": category,
        "status": idea.status,
        "languages": " ".join(language for language in LANGUAGES if getattr(idea, f"title_{language}")),
        **_texts(idea, "title"),
        "supporters": idea.supporters_count,
        "commitment": commitment or "",
        "proposed_by_resident": idea.key is None,
        "created": idea.created_at.astimezone(tz).date().isoformat(),
    } for idea, category, commitment in ideas]
    daily = [{"idea_id": idea_id, "date": day.isoformat(), "supports": count}
             for (idea_id, day), count in sorted((await store.supports_by_day(session, campaign.id, tz)).items())]
    commitments = await plan_store.commitments_of(session, campaign.id)
    milestones = await plan_store.milestones_of(session, [c.id for c in commitments])
    today = now.astimezone(tz).date()
    commitment_rows, milestone_rows = [], []
    for commitment in commitments:
        progress = plan.progress_of(milestones[commitment.id], today)
        commitment_rows.append({"commitment": commitment.key, **_texts(commitment, "title"),
                                **_texts(commitment, "institution"), "status": commitment.status,
                                "milestones_done": progress.done, "milestones_total": progress.total})
        milestone_rows += [{"commitment": commitment.key, "position": m.position + 1, **_texts(m, "title"),
                            "due_date": m.due_date.isoformat(), "done": m.done,
                            "done_date": m.done_at.astimezone(tz).date().isoformat() if m.done_at else "",
                            "note": m.note or ""} for m in milestones[commitment.id]]
    by_id = {commitment.id: commitment.key for commitment in commitments}
    categories = {category.id: category.key for category, _count in
                  await campaign_store.categories_with_counts(session, campaign.id)}
    group_rows = [{"group": line.group.key, **_texts(line.group, "title"),
                   "commitment": by_id.get(line.group.commitment_id, ""),
                   "category": categories.get(line.group.category_id, ""), "status": line.group.status,
                   "capacity": line.group.capacity, "members": line.approved, "sign_ups_waiting": line.pending}
                  for line in await group_domain.group_lines(session, campaign.id)]
    return {"ideas": idea_rows, "daily_supports": daily, "commitments": commitment_rows,
            "milestones": milestone_rows, "groups": group_rows}


@dataclass(frozen=True)
class Report:
    """What the public HTML report shows."""

    results: Results  # totals, leading ideas overall and per category, the chart's ideas
    plan: plan.PlanOverview
    groups: list[group_domain.GroupLine]
    today: date


async def campaign_by_slug(session: AsyncSession, slug: str) -> Campaign | None:
    return await campaign_store.campaign_by_slug(session, slug)


async def report_data(session: AsyncSession, campaign: Campaign, tz: ZoneInfo, now: datetime) -> Report:
    today = now.astimezone(tz).date()
    return Report(await load_results(session, campaign), await plan.overview(session, campaign, today),
                  await group_domain.group_lines(session, campaign.id), today)
