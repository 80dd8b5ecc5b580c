"""Queries of the working groups: groups, meetings, sign-ups and their contacts."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.plan_models import GroupMeeting, GroupStatus, WorkingGroup


async def groups_of_commitment(session: AsyncSession, commitment_id: int) -> list[WorkingGroup]:
    """The groups drafting the commitment that residents can still join or follow (not finished)."""
    query = (select(WorkingGroup)
             .where(WorkingGroup.commitment_id == commitment_id, WorkingGroup.status != GroupStatus.FINISHED)
             .order_by(WorkingGroup.id))
    return list((await session.exec(query)).all())


async def group_by_key(session: AsyncSession, campaign_id: int, key: str) -> WorkingGroup | None:
    query = select(WorkingGroup).where(WorkingGroup.campaign_id == campaign_id, WorkingGroup.key == key)
    return (await session.exec(query)).first()


async def meetings_of(session: AsyncSession, group_id: int) -> list[GroupMeeting]:
    query = select(GroupMeeting).where(GroupMeeting.group_id == group_id).order_by(GroupMeeting.starts_at)
    return list((await session.exec(query)).all())
