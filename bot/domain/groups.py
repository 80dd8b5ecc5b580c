"""Working groups: residents and NGOs sign up to draft the plan's commitments with the State Chancellery.
No Telegram here.

Signing up: as a person or for an NGO (its name and the resident's role), a short text on why, and a contact
the resident agrees to share after being told what it is for: their Telegram username, or a phone number
given through Telegram's contact button (never typed). A moderator approves or declines with a note the
resident reads. Leaving deletes the sign-up with its contact; a finished group forgets every contact.
Every press is checked again here: the group, its status and capacity, and the actor's rights."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.campaign_file import GROUP_STATUSES, CampaignSpec
from bot.domain.lifecycle import has_rights, valid_id
from bot.domain.localized import localized_fields
from bot.domain.outgoing import Outgoing, Recipient, fan_out, language_of
from storage import campaigns as campaign_store
from storage import groups as store
from storage import plan as plan_store
from storage.campaigns import create_or_update
from storage.models import (
    Campaign,
    Category,
    Commitment,
    GroupMeeting,
    GroupMember,
    GroupStatus,
    MemberStatus,
    User,
    WorkingGroup,
)
from storage.moderation import add_audit, users_by_ids

WHY_MIN, WHY_MAX = 10, 500
ORG_MAX = 200
NOTE_MAX = 500
M = MemberStatus


async def groups_of_commitment(session: AsyncSession, commitment_id: int) -> list[WorkingGroup]:
    return await store.groups_of_commitment(session, commitment_id)


# ------------------------------------------------------------------ reading

@dataclass(frozen=True)
class GroupCard:
    group: WorkingGroup
    topic: Commitment | Category | None
    meetings: list[GroupMeeting]
    approved: int
    pending: int
    mine: GroupMember | None  # the reader's sign-up

    @property
    def places_left(self) -> int:
        return max(self.group.capacity - self.approved, 0)


async def group_card(session: AsyncSession, group_id: int, reader_id: int, now: datetime) -> GroupCard | None:
    if not valid_id(group_id):
        return None
    group = await store.get_group(session, group_id)
    if group is None:
        return None
    if group.commitment_id:
        topic = await plan_store.get_commitment(session, group.commitment_id)
    else:
        topic = await campaign_store.get_category(session, group.category_id) if group.category_id else None
    counts = (await store.member_counts(session, [group_id]))[group_id]
    return GroupCard(group, topic, [m for m in await store.meetings_of(session, group_id) if m.starts_at >= now],
                     counts.get(M.APPROVED, 0), counts.get(M.PENDING, 0),
                     await store.membership(session, group_id, reader_id))


@dataclass(frozen=True)
class GroupLine:
    group: WorkingGroup
    approved: int
    pending: int


async def campaign_groups(session: AsyncSession, now: datetime) -> list[GroupLine]:
    campaign = await campaign_store.current_campaign(session, now)
    return await group_lines(session, campaign.id) if campaign else []


async def group_lines(session: AsyncSession, campaign_id: int) -> list[GroupLine]:
    groups = await store.groups_of_campaign(session, campaign_id)
    counts = await store.member_counts(session, [group.id for group in groups])
    return [GroupLine(group, counts[group.id].get(M.APPROVED, 0), counts[group.id].get(M.PENDING, 0))
            for group in groups]


# ------------------------------------------------------------------ signing up (the rules are pure)

class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    FINISHED = "finished"
    FULL = "full"
    ALREADY = "already"
    BANNED = "banned"


def join_refusal(card: GroupCard | None, banned: bool) -> Refusal | None:
    if card is None:
        return Refusal.NOT_FOUND
    if banned:
        return Refusal.BANNED
    if card.group.status == GroupStatus.FINISHED:
        return Refusal.FINISHED
    if card.mine is not None:
        return Refusal.ALREADY
    if card.places_left <= 0:
        return Refusal.FULL
    return None


def clean_line(text: str | None, max_chars: int) -> str | None:
    """One line of plain text, or None when it is empty or too long."""
    line = " ".join((text or "").split())
    return line if 0 < len(line) <= max_chars else None


def check_why(text: str | None) -> str | None:
    why = " ".join((text or "").split())
    return why if WHY_MIN <= len(why) <= WHY_MAX else None


@dataclass(frozen=True)
class SignUp:
    group_id: int
    why: str
    organisation: str | None = None
    role: str | None = None
    username: str | None = None
    phone: str | None = None


def valid_username(username: str | None) -> str | None:
    return username if username and 5 <= len(username) <= 32 and username.replace("_", "").isalnum() else None


async def may_join(session: AsyncSession, group_id: int, user: User, now: datetime
                   ) -> tuple[GroupCard | None, Refusal | None]:
    card = await group_card(session, group_id, user.id, now)
    return card, join_refusal(card, user.is_banned)


async def sign_up(session: AsyncSession, user: User, signup: SignUp, now: datetime
                  ) -> tuple[GroupCard | None, Refusal | None]:
    """Write the sign-up (waiting for a moderator), after checking the group again under a lock."""
    if (signup.username is None) == (signup.phone is None):
        raise ValueError("a sign-up shares exactly one contact")
    await store.lock_group(session, signup.group_id)
    card, refusal = await may_join(session, signup.group_id, user, now)
    if refusal is not None:
        return card, refusal
    session.add(GroupMember(group_id=signup.group_id, user_id=user.id, organisation=signup.organisation,
                            role=signup.role, why=signup.why, contact_username=signup.username,
                            contact_phone=signup.phone, created_at=now))
    await session.commit()
    return await group_card(session, signup.group_id, user.id, now), None


async def leave(session: AsyncSession, group_id: int, user_id: int, now: datetime) -> GroupCard | None:
    """One tap: the sign-up and its contact are deleted. None when the group does not exist."""
    if not valid_id(group_id):
        return None
    await store.remove_member(session, group_id, user_id)
    await session.commit()
    return await group_card(session, group_id, user_id, now)


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
        group, created, changed = await create_or_update(
            session, await store.group_by_key(session, campaign.id, item.key),
            partial(WorkingGroup, campaign_id=campaign.id, key=item.key, status=item.status), fields)
        known = {meeting.starts_at for meeting in await store.meetings_of(session, group.id)}
        for meeting in item.meetings:
            if meeting.starts_at not in known:
                session.add(GroupMeeting(group_id=group.id, starts_at=meeting.starts_at, place=meeting.place,
                                         online_url=meeting.online))
                changed = True
        counts["created" if created else "updated" if changed else "unchanged"] += 1
    return counts


# ------------------------------------------------------------------ messages to members (through the outbox)

class GroupRenderer(Protocol):
    """Implemented by bot.ui.groups_screens.GroupTexts; each text in the given language."""

    def decision(self, group: WorkingGroup, member: GroupMember, language: str) -> Outgoing: ...

    def meeting_reminder(self, group: WorkingGroup, meeting: GroupMeeting, language: str) -> Outgoing: ...


# ------------------------------------------------------------------ moderators

class Outcome(StrEnum):
    DONE = "done"
    NO_RIGHTS = "no_rights"
    NOT_FOUND = "not_found"
    UNCHANGED = "unchanged"
    FULL = "full"
    BAD_INPUT = "bad_input"


@dataclass(frozen=True)
class GroupResult:
    outcome: Outcome
    group: WorkingGroup | None = None
    member: GroupMember | None = None


@dataclass(frozen=True)
class GroupReview:
    card: GroupCard
    members: list[GroupMember]  # every sign-up, oldest first


async def moderator_groups(session: AsyncSession, settings: Settings, actor_id: int, now: datetime
                           ) -> list[GroupLine] | None:
    if not await has_rights(session, settings, actor_id):
        return None
    return await campaign_groups(session, now)


async def review(session: AsyncSession, settings: Settings, actor_id: int, group_id: int, now: datetime
                 ) -> GroupReview | Outcome:
    if not await has_rights(session, settings, actor_id):
        return Outcome.NO_RIGHTS
    card = await group_card(session, group_id, actor_id, now)
    if card is None:
        return Outcome.NOT_FOUND
    return GroupReview(card, await store.members(session, group_id))


async def decide(session: AsyncSession, settings: Settings, actor_id: int, member_id: int, approve: bool,
                 note: str | None, now: datetime, renderer: GroupRenderer) -> GroupResult:
    default_language = settings.default_language
    """Approve or decline a sign-up; the resident reads the decision (and the note) in their language."""
    if not await has_rights(session, settings, actor_id):
        return GroupResult(Outcome.NO_RIGHTS)
    member = await store.get_member(session, member_id) if valid_id(member_id) else None
    if member is None:
        return GroupResult(Outcome.NOT_FOUND)
    group = await store.lock_group(session, member.group_id)
    await session.refresh(member)
    status = M.APPROVED if approve else M.DECLINED
    if member.status == status:
        return GroupResult(Outcome.UNCHANGED, group, member)
    if approve:
        counts = (await store.member_counts(session, [group.id]))[group.id]
        if counts.get(M.APPROVED, 0) >= group.capacity:
            return GroupResult(Outcome.FULL, group, member)
    before = member.status
    member.status, member.note, member.decided_at = status, note, now
    await add_audit(session, moderator_id=actor_id, action="group_approve" if approve else "group_decline",
                    now=now, target_user_id=member.user_id,
                    before={"group": group.id, "member": member.id, "status": before},
                    after={"group": group.id, "member": member.id, "status": status, "note": note})
    resident = (await users_by_ids(session, [member.user_id])).get(member.user_id)
    language = language_of(resident.language if resident else None, default_language)
    recipient = Recipient(member.user_id, language, f"group:{member.id}:{status}:{int(now.timestamp())}")
    await fan_out(session, [recipient], lambda language: renderer.decision(group, member, language),
                  kind="group")
    await session.commit()
    return GroupResult(Outcome.DONE, group, member)


async def set_status(session: AsyncSession, settings: Settings, actor_id: int, group_id: int, status: str,
                     now: datetime) -> GroupResult:
    """A finished group forgets its members' contacts."""
    if not await has_rights(session, settings, actor_id):
        return GroupResult(Outcome.NO_RIGHTS)
    if status not in GROUP_STATUSES:
        return GroupResult(Outcome.BAD_INPUT)
    group = await store.lock_group(session, group_id) if valid_id(group_id) else None
    if group is None:
        return GroupResult(Outcome.NOT_FOUND)
    if group.status == status:
        return GroupResult(Outcome.UNCHANGED, group)
    before, group.status = group.status, status
    if status == GroupStatus.FINISHED:
        await store.forget_contacts(session, group_id)
    await add_audit(session, moderator_id=actor_id, action="group_status", now=now,
                    before={"group": group_id, "status": before}, after={"group": group_id, "status": status})
    await session.commit()
    return GroupResult(Outcome.DONE, group)


async def add_meeting(session: AsyncSession, settings: Settings, actor_id: int, group_id: int,
                      starts_at: datetime, where: str, now: datetime) -> GroupResult:
    """`where`: a https:// link (online) or a place."""
    if not await has_rights(session, settings, actor_id):
        return GroupResult(Outcome.NO_RIGHTS)
    group = await store.lock_group(session, group_id) if valid_id(group_id) else None
    if group is None:
        return GroupResult(Outcome.NOT_FOUND)
    online = where if where.startswith("https://") else None
    meeting = GroupMeeting(group_id=group_id, starts_at=starts_at, online_url=online,
                           place=None if online else where)
    session.add(meeting)
    await add_audit(session, moderator_id=actor_id, action="group_meeting", now=now,
                    after={"group": group_id, "starts_at": starts_at.isoformat(), "where": where})
    await session.commit()
    return GroupResult(Outcome.DONE, group)


async def add_group(session: AsyncSession, settings: Settings, actor_id: int, commitment_id: int, capacity: int,
                    title: str, language: str, now: datetime) -> GroupResult:
    """A new group drafting a commitment (its description and meetings follow with /group N ...)."""
    if not await has_rights(session, settings, actor_id):
        return GroupResult(Outcome.NO_RIGHTS)
    commitment = await plan_store.get_commitment(session, commitment_id) if valid_id(commitment_id) else None
    if commitment is None:
        return GroupResult(Outcome.NOT_FOUND)
    group = WorkingGroup(campaign_id=commitment.campaign_id, key=f"g-{commitment_id}-{int(now.timestamp())}",
                         commitment_id=commitment_id, capacity=capacity, created_at=now,
                         **{f"title_{language}": title})
    session.add(group)
    await session.flush()
    await add_audit(session, moderator_id=actor_id, action="group_add", now=now,
                    after={"group": group.id, "commitment": commitment_id, "capacity": capacity, "title": title})
    await session.commit()
    return GroupResult(Outcome.DONE, group)


# ------------------------------------------------------------------ the approved members' list (CSV)

CSV_COLUMNS = ("joined", "as", "organisation", "role", "why", "telegram_username", "phone")


def members_csv(members: list[GroupMember], tz: ZoneInfo) -> str:
    """The approved members, for the State Chancellery to invite them (contacts shared with consent)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for member in members:
        writer.writerow([member.created_at.astimezone(tz).date().isoformat(),
                         "ngo" if member.organisation else "person", member.organisation or "", member.role or "",
                         member.why, f"@{member.contact_username}" if member.contact_username else "",
                         member.contact_phone or ""])
    return buffer.getvalue()


async def approved_csv(session: AsyncSession, group_id: int, tz: ZoneInfo) -> tuple[WorkingGroup, str] | None:
    """For the operator's `python -m bot export-group N` (no rights to check there) and moderators."""
    group = await store.get_group(session, group_id) if valid_id(group_id) else None
    if group is None:
        return None
    return group, members_csv(await store.members(session, group_id, M.APPROVED), tz)


async def export_for(session: AsyncSession, settings: Settings, actor_id: int, group_id: int
                     ) -> tuple[WorkingGroup, str] | Outcome:
    if not await has_rights(session, settings, actor_id):
        return Outcome.NO_RIGHTS
    return await approved_csv(session, group_id, settings.tz) or Outcome.NOT_FOUND


# ------------------------------------------------------------------ meeting reminders

REMINDER_KIND = "meeting"


def tomorrow_window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Tomorrow, local time: the meetings whose members hear about them today."""
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(), tzinfo=tz)
    return start, datetime.combine(tomorrow + timedelta(days=1), time(), tzinfo=tz)


async def write_meeting_reminders(session: AsyncSession, now: datetime, tz: ZoneInfo, renderer: GroupRenderer,
                                  default_language: str = "lv") -> int:
    """The day before a meeting, each approved member gets one reminder in their language. Safe to run often:
    the dedupe key (meeting, member) keeps it to one."""
    start, end = tomorrow_window(now, tz)
    meetings = await store.meetings_between(session, start, end)
    if not meetings:
        return 0
    groups = await store.groups_by_ids(session, [meeting.group_id for meeting in meetings])
    written = 0
    for meeting in meetings:
        recipients = [Recipient(user_id, language_of(language, default_language), f"meeting:{meeting.id}:{user_id}")
                      for user_id, language in await store.approved_recipients(session, meeting.group_id)]
        group = groups[meeting.group_id]
        written += await fan_out(session, recipients,
                                 lambda language, group=group, meeting=meeting: renderer.meeting_reminder(
                                     group, meeting, language), kind=REMINDER_KIND)
    await session.commit()
    return written
