"""Working groups: residents and NGOs sign up to draft the plan's commitments with the State Chancellery.
No Telegram here."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.campaign_file import CampaignSpec
from bot.domain.localized import localized_fields
from storage import campaigns as campaign_store
from storage import groups as store
from storage import plan as plan_store
from storage.campaigns import apply_fields
from storage.models import Campaign
from storage.plan_models import GroupMeeting, WorkingGroup


async def groups_of_commitment(session: AsyncSession, commitment_id: int) -> list[WorkingGroup]:
    return await store.groups_of_commitment(session, commitment_id)


# ------------------------------------------------------------------ the campaign file

async def import_groups(session: AsyncSession, campaign: Campaign, spec: CampaignSpec) -> dict[str, int]:
    """Create or update the working groups (matched by key) and add their meetings (matched by start time).
    A group's status is taken from the file only when it is created. Does not commit."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in spec.groups:
        topic = {"commitment_id": None, "category_id": None}
        if item.commitment:
            topic["commitment_id"] = (await plan_store.commitment_by_key(session, campaign.id, item.commitment)).id
        else:
            topic["category_id"] = (await campaign_store.category_by_key(session, campaign.id, item.category)).id
        fields = {**localized_fields("title", item.title), **localized_fields("description", item.description),
                  "capacity": item.capacity, **topic}
        group = await store.group_by_key(session, campaign.id, item.key)
        created = group is None
        if created:
            group = WorkingGroup(campaign_id=campaign.id, key=item.key, status=item.status, **fields)
            session.add(group)
            await session.flush()
            changed = False
        else:
            changed = apply_fields(group, fields)
        known = {meeting.starts_at for meeting in await store.meetings_of(session, group.id)}
        for meeting in item.meetings:
            if meeting.starts_at not in known:
                session.add(GroupMeeting(group_id=group.id, starts_at=meeting.starts_at, place=meeting.place,
                                         online_url=meeting.online))
                changed = True
        counts["created" if created else "updated" if changed else "unchanged"] += 1
    return counts
