"""Database tables. Personal data is kept to the minimum: a Telegram id and a chosen language (and, for a working
group's member, the one contact they agreed to share)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Stable constraint names, so that Alembic's batch mode can alter SQLite tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

LANGUAGES = ("lv", "ru", "en")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _timestamp(**kwargs) -> Column:
    return Column(UTCDateTime(), **kwargs)


class IdeaStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"
    UNDER_REVIEW = "under_review"
    INCLUDED = "included"
    NOT_INCLUDED = "not_included"
    IMPLEMENTED = "implemented"
    MERGED = "merged"  # a duplicate: its supporters now count for `merged_into_id`


# Statuses in which an idea is public: it can be browsed, found and supported.
VISIBLE_STATUSES = (
    IdeaStatus.PUBLISHED,
    IdeaStatus.UNDER_REVIEW,
    IdeaStatus.INCLUDED,
    IdeaStatus.NOT_INCLUDED,
    IdeaStatus.IMPLEMENTED,
)


class User(SQLModel, table=True):
    __tablename__ = "resident"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    language: str = Field(default="lv", max_length=2)
    # True once the resident picked a language themselves (then Telegram's language_code no longer matters).
    language_chosen: bool = False
    # Subscribed to the weekly digest.
    subscribed: bool = False
    # Told when an idea they proposed or supported changes status (they can turn it off).
    notify_status: bool = True
    # Granted in the database by an admin (/moderators add); ADMIN_IDS are moderators too.
    is_moderator: bool = False
    is_banned: bool = False
    # Set when Telegram answers 403 (blocked the bot); cleared when they write again.
    is_reachable: bool = True
    # Opted in to reminders (campaign opens, a few days and one day before it closes).
    reminders: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    description_lv: str | None = None
    description_ru: str | None = None
    description_en: str | None = None
    starts_at: datetime = Field(sa_column=_timestamp(nullable=False))
    ends_at: datetime = Field(sa_column=_timestamp(nullable=False))
    votes_revocable: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class Category(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"),
                                              nullable=False, index=True))
    key: str = Field(max_length=32)
    position: int = 0
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None


class Idea(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("campaign_id", "key"),
        # The two list orders of a category page: most supported and newest.
        # `hidden` too: a category's public ideas are counted and paged from the index alone.
        Index("ix_idea_category_support", "category_id", "status", "hidden", "supporters_count"),
        Index("ix_idea_category_created", "category_id", "status", "hidden", "created_at"),
        # Search joins thousands of matches to their idea: read from this index, not from rows with long texts.
        Index("ix_idea_search_rank", "id", "campaign_id", "status", "hidden", "supporters_count"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"),
                                              nullable=False))
    category_id: int = Field(sa_column=Column(Integer, ForeignKey("category.id"), nullable=False))
    # Stable key of an imported idea, so a re-import updates it; None for residents' proposals.
    key: str | None = Field(default=None, max_length=200)
    status: str = Field(default=IdeaStatus.PUBLISHED, max_length=16)
    title_lv: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    body_lv: str | None = None
    body_ru: str | None = None
    body_en: str | None = None
    # Lower-cased, diacritics-free copy of every title and body, for search in any language.
    search_text: str = ""
    # Kept equal to the number of Vote rows in the same transaction: sorting 2M votes by a COUNT is too slow.
    supporters_count: int = 0
    author_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    # Hidden after enough residents' reports, until a moderator decides.
    hidden: bool = False
    merged_into_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("idea.id"), nullable=True))
    # The moderator's note of the latest status change (a reason for a rejection).
    status_note: str | None = None
    status_changed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    # Bumped by every moderator change: two moderators at once cannot overwrite each other unseen.
    version: int = 1
    # A resident's proposal: the key of the draft it was sent from, so a draft is submitted once (double taps).
    submission_key: str | None = Field(default=None, max_length=64, unique=True)


class StatusChange(SQLModel, table=True):
    """The history of an idea's status, shown on its card."""

    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"), nullable=False,
                                          index=True))
    status: str = Field(max_length=16)
    note: str | None = None
    moderator_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class Report(SQLModel, table=True):
    """A resident's report of a published idea; one per resident and idea."""

    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"), nullable=False,
                                          index=True))
    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("resident.id", ondelete="CASCADE"),
                                          nullable=False))
    reason: str = Field(max_length=16)
    resolved: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class AuditEntry(SQLModel, table=True):
    """Every moderator action: who, what, when, and the idea (or resident) before and after, as JSON."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    moderator_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str = Field(max_length=32)
    idea_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    target_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    before: str | None = None
    after: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class ConversationState(SQLModel, table=True):
    """aiogram's FSM state and data, kept in the database so a half-written proposal survives a restart."""

    __tablename__ = "conversation_state"

    key: str = Field(primary_key=True, max_length=200)
    state: str | None = None
    data: str = "{}"
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # the request was (maybe) made: never sent again (see bot/delivery.py)
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the resident blocked the bot
    FAILED = "failed"  # gave up after retries, or a permanent 400
    PAUSED = "paused"  # a broadcast a moderator paused


class OutboxMessage(SQLModel, table=True):
    """One message to deliver. Written in the same transaction as the event it tells of, so nothing is lost;
    `dedupe_key` makes writing the same message twice (a job run twice) impossible."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "not_before", "id"),
        # With paid broadcasts the sender claims paid and free rows apart: each claim seeks its own rows instead
        # of stepping through the other kind's (a whole broadcast).
        Index("ix_outbox_due_paid", "status", "paid", "priority", "not_before", "id"),
        # "An earlier message to this chat goes first": a lookup per claimed row.
        Index("ix_outbox_chat", "chat_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=32)  # notification, moderation, digest, broadcast, ...
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    text: str
    reply_markup: str | None = None  # JSON of an InlineKeyboardMarkup
    photo_path: str | None = None
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    # 0: personal messages and moderators' posts; 1: mass messages (digests, broadcasts), which go after them.
    priority: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False, server_default="0"))
    # Of storage.outbox.PAID_KINDS: sent with allow_paid_broadcast when PAID_BROADCAST_RATE is set.
    paid: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    last_error: str | None = None
    batch_id: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class CategoryInterest(SQLModel, table=True):
    """A category whose new ideas the resident wants to hear about (as one-tap vote cards)."""

    __tablename__ = "category_interest"

    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("resident.id", ondelete="CASCADE"),
                                          primary_key=True))
    category_id: int = Field(sa_column=Column(Integer, ForeignKey("category.id", ondelete="CASCADE"),
                                              primary_key=True, index=True))


class JobRun(SQLModel, table=True):
    """A scheduled job's run that happened, by kind and key ("weekly_digest", "2026-W48"). Claimed in the same
    transaction as the messages the run writes, so a run happens once whoever triggers it, and not at all
    if it fails before committing (then the next trigger does it)."""

    __tablename__ = "job_run"

    kind: str = Field(primary_key=True, max_length=32)
    run_key: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class DigestIdea(SQLModel, table=True):
    """An idea a weekly digest listed, per week and language, recorded when the digest is written: the personal
    news of the same week leaves out what the digest already showed a resident."""

    __tablename__ = "digest_idea"

    week: str = Field(primary_key=True, max_length=16)  # the digest's run key, "2026-W48"
    language: str = Field(primary_key=True, max_length=8)
    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"), primary_key=True))


class Broadcast(SQLModel, table=True):
    """A moderator's announcement: its audience and the outbox batch that delivers it."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(max_length=64, unique=True)
    moderator_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    audience: str = Field(max_length=32)
    text: str
    total: int = 0
    summary_sent: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    # An audience of everyone (or a whole language) by a moderator who is no admin waits for a second one.
    awaiting_approval: bool = False
    approved_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    approved_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class SchedulerLease(SQLModel, table=True):
    """Which process runs the scheduler: APScheduler 3 does not support two schedulers on one job store, so
    the process holding an unexpired lease runs it and the others wait to take over."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_column=_timestamp(nullable=False))


class Vote(SQLModel, table=True):
    """One resident's support of one idea; the primary key makes a second vote impossible."""

    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"),
                                          primary_key=True))
    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("resident.id", ondelete="CASCADE"),
                                          primary_key=True, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class SearchTerm(SQLModel, table=True):
    """One search term (storage.word_forms) of an idea's titles and texts: the index search looks words up in."""

    __tablename__ = "search_term"
    __table_args__ = (Index("ix_search_term_term", "term", "idea_id", "in_title"),)

    idea_id: int = Field(sa_column=Column(Integer, ForeignKey("idea.id", ondelete="CASCADE"), primary_key=True))
    term: str = Field(primary_key=True, max_length=40)
    in_title: bool = False


class SearchKey(SQLModel, table=True):
    """Every indexed term under itself and under each of its one-letter deletions, so that a query term finds
    the terms one typo away by exact lookups (the symmetric-delete method), alike on SQLite and PostgreSQL.
    Terms of changed texts stay: a key that leads to no idea costs nothing."""

    __tablename__ = "search_key"

    key: str = Field(primary_key=True, max_length=40)
    term: str = Field(primary_key=True, max_length=40)


class ProcessedUpdate(SQLModel, table=True):
    """A Telegram update whose effects were committed (webhook workers, bot/once.py). Written in the same
    transaction as the effect, so a redelivered update (same update_id) is recognised and has no second effect.
    Telegram redelivers for at most a day, so rows older than that are pruned."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False, index=True))


# ------------------------------------------------------------------ the action plan and its working groups
# Commitments with milestones, the ideas that fed them, residents following them, and the working groups
# residents and NGOs join. A member's contact (a Telegram username, or a phone number given through Telegram's
# contact button) lives only in `group_member` and is deleted when they leave or the group finishes.


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
