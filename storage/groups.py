"""Queries of the working groups: groups, meetings, sign-ups and their contacts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import GroupMeeting, GroupMember, GroupStatus, MemberStatus, User, WorkingGroup


async def groups_of_commitment(session: AsyncSession, commitment_id: int) -> list[WorkingGroup]:
    """The groups drafting the commitment that residents can still join or follow (not finished)."""
    query = (select(WorkingGroup)
             .where(WorkingGroup.commitment_id == commitment_id, WorkingGroup.status != GroupStatus.FINISHED)
             .order_by(WorkingGroup.id))
    return list((await session.exec(query)).all())


async def open_groups(session: AsyncSession, campaign_id: int) -> list[WorkingGroup]:
    """The campaign's groups that are not finished (residents can still join or follow them)."""
    query = (select(WorkingGroup)
             .where(WorkingGroup.campaign_id == campaign_id, WorkingGroup.status != GroupStatus.FINISHED)
             .order_by(WorkingGroup.id))
    return list((await session.exec(query)).all())


async def group_by_key(session: AsyncSession, campaign_id: int, key: str) -> WorkingGroup | None:
    query = select(WorkingGroup).where(WorkingGroup.campaign_id == campaign_id, WorkingGroup.key == key)
    return (await session.exec(query)).first()


async def meetings_of(session: AsyncSession, group_id: int) -> list[GroupMeeting]:
    query = select(GroupMeeting).where(GroupMeeting.group_id == group_id).order_by(GroupMeeting.starts_at)
    return list((await session.exec(query)).all())


async def get_group(session: AsyncSession, group_id: int) -> WorkingGroup | None:
    return await session.get(WorkingGroup, group_id)


async def lock_group(session: AsyncSession, group_id: int) -> WorkingGroup | None:
    """The group, locked until commit: two decisions on its last place, or a moderator finishing it while someone
    joins, happen one after the other. A no-op UPDATE takes the lock on both databases (on SQLite, the write
    lock: a SELECT ... FOR UPDATE would not)."""
    await session.exec(update(WorkingGroup).where(WorkingGroup.id == group_id)
                       .values(capacity=WorkingGroup.capacity))
    query = select(WorkingGroup).where(WorkingGroup.id == group_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def groups_of_campaign(session: AsyncSession, campaign_id: int) -> list[WorkingGroup]:
    query = select(WorkingGroup).where(WorkingGroup.campaign_id == campaign_id).order_by(WorkingGroup.id)
    return list((await session.exec(query)).all())


async def member_counts(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """{group id: {member status: count}}."""
    counts: dict[int, dict[str, int]] = {group_id: {} for group_id in group_ids}
    if not group_ids:
        return counts
    query = (select(GroupMember.group_id, GroupMember.status, func.count())
             .where(GroupMember.group_id.in_(group_ids)).group_by(GroupMember.group_id, GroupMember.status))
    for group_id, status, count in (await session.exec(query)).all():
        counts[group_id][status] = count
    return counts


async def membership(session: AsyncSession, group_id: int, user_id: int) -> GroupMember | None:
    query = select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    return (await session.exec(query)).first()


async def get_member(session: AsyncSession, member_id: int) -> GroupMember | None:
    return await session.get(GroupMember, member_id)


async def members(session: AsyncSession, group_id: int, status: str | None = None) -> list[GroupMember]:
    query = select(GroupMember).where(GroupMember.group_id == group_id)
    if status is not None:
        query = query.where(GroupMember.status == status)
    return list((await session.exec(query.order_by(GroupMember.created_at, GroupMember.id))).all())


async def remove_member(session: AsyncSession, group_id: int, user_id: int) -> bool:
    """Leaving deletes the sign-up with its contact and why-text (data minimisation)."""
    statement = delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    return (await session.exec(statement)).rowcount > 0


async def forget_contacts(session: AsyncSession, group_id: int) -> int:
    """A finished group keeps who took part (for the results), not how to reach them."""
    statement = (update(GroupMember).where(GroupMember.group_id == group_id)
                 .values(contact_username=None, contact_phone=None))
    return (await session.exec(statement)).rowcount


async def meetings_between(session: AsyncSession, start: datetime, end: datetime) -> list[GroupMeeting]:
    query = (select(GroupMeeting).join(WorkingGroup, WorkingGroup.id == GroupMeeting.group_id)
             .where(GroupMeeting.starts_at >= start, GroupMeeting.starts_at < end,
                    WorkingGroup.status != GroupStatus.FINISHED)
             .order_by(GroupMeeting.starts_at))
    return list((await session.exec(query)).all())


async def approved_recipients(session: AsyncSession, group_id: int) -> list[tuple[int, str]]:
    """(resident id, language) of the group's approved members who can be reached."""
    query = (select(User.id, User.language).join(GroupMember, GroupMember.user_id == User.id)
             .where(GroupMember.group_id == group_id, GroupMember.status == MemberStatus.APPROVED,
                    User.is_reachable.is_(True), User.is_banned.is_(False))
             .order_by(User.id))
    return [(user_id, language) for user_id, language in (await session.exec(query)).all()]


async def groups_by_ids(session: AsyncSession, group_ids: Iterable[int]) -> dict[int, WorkingGroup]:
    ids = list(set(group_ids))
    if not ids:
        return {}
    return {group.id: group for group in (await session.exec(select(WorkingGroup).where(WorkingGroup.id.in_(ids))))}
