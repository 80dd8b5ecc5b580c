"""Tables of the action plan and its working groups (issue 11): commitments with milestones, the ideas that fed
them, residents following them, and the working groups residents and NGOs join.

Personal data is kept to the minimum: a group member's contact (a Telegram username or a phone number given
through Telegram's contact button) lives only in `group_member` and is deleted when they leave or the group
finishes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import _timestamp, utcnow


class CommitmentStatus(StrEnum):
    DRAFTING = "drafting"
    AGREED = "agreed"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class GroupStatus(StrEnum):
    FORMING = "forming"
    MEETING = "meeting"
    FINISHED = "finished"


class MemberStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Commitment(SQLModel, table=True):
    """An entry of the national open government action plan."""

    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"),
                                              nullable=False))
    key: str = Field(max_length=100)
    position: int = 0
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    description_lv: str | None = None
    description_ru: str | None = None
    description_en: str | None = None
    institution_lv: str | None = None
    institution_ru: str | None = None
    institution_en: str | None = None
    status: str = Field(default=CommitmentStatus.DRAFTING, max_length=16)
    status_changed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class Milestone(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("commitment_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(sa_column=Column(Integer, ForeignKey("commitment.id", ondelete="CASCADE"),
                                                nullable=False, index=True))
    position: int = 0
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    done: bool = False
    done_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    note: str | None = None


class IdeaCommitment(SQLModel, table=True):
    """The commitment an idea fed (at most one per idea)."""

    __tablename__ = "idea_commitment"

    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"), primary_key=True))
    commitment_id: int = Field(sa_column=Column(Integer, ForeignKey("commitment.id", ondelete="CASCADE"),
                                                nullable=False, index=True))


class CommitmentFollow(SQLModel, table=True):
    __tablename__ = "commitment_follow"

    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("resident.id", ondelete="CASCADE"),
                                          primary_key=True))
    commitment_id: int = Field(sa_column=Column(Integer, ForeignKey("commitment.id", ondelete="CASCADE"),
                                                primary_key=True, index=True))


class PlanEventKind(StrEnum):
    STATUS = "status"
    MILESTONE_DONE = "milestone_done"


class PlanEvent(SQLModel, table=True):
    """Something residents hear about in their weekly news: a commitment's new status or a completed milestone.
    (An overdue milestone needs no event: its due date passing is the event.)"""

    __tablename__ = "plan_event"

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(sa_column=Column(Integer, ForeignKey("commitment.id", ondelete="CASCADE"),
                                                nullable=False, index=True))
    kind: str = Field(max_length=16)
    milestone_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("milestone.id", ondelete="CASCADE"), nullable=True))
    status: str | None = Field(default=None, max_length=16)
    note: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False, index=True))


class WorkingGroup(SQLModel, table=True):
    """A working group drafting a commitment (or working on a category's topic)."""

    __tablename__ = "working_group"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"),
                                              nullable=False))
    key: str = Field(max_length=100)
    commitment_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("commitment.id", ondelete="SET NULL"), nullable=True))
    category_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("category.id", ondelete="SET NULL"), nullable=True))
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    description_lv: str | None = None
    description_ru: str | None = None
    description_en: str | None = None
    capacity: int = 20
    status: str = Field(default=GroupStatus.FORMING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class GroupMeeting(SQLModel, table=True):
    __tablename__ = "group_meeting"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("working_group.id", ondelete="CASCADE"),
                                           nullable=False, index=True))
    starts_at: datetime = Field(sa_column=_timestamp(nullable=False))
    place: str | None = None
    online_url: str | None = None


class GroupMember(SQLModel, table=True):
    """A resident's sign-up for a group: as a person, or for an NGO (its name and their role)."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("working_group.id", ondelete="CASCADE"),
                                           nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("resident.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    organisation: str | None = None  # None: as a person
    role: str | None = None
    why: str = ""
    contact_username: str | None = None
    contact_phone: str | None = None
    status: str = Field(default=MemberStatus.PENDING, max_length=16)
    note: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
