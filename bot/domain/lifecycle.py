"""The lifecycle of an idea and who may moderate it: pure rules, plus one fresh look at the database for rights.
No Telegram here.

A moderator is an admin (ADMIN_IDS) or a resident with is_moderator, and never a banned one."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.ids import MAX_DB_INT
from storage import moderation as store
from storage.models import IdeaStatus, User

S = IdeaStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PUBLISHED, S.REJECTED, S.MERGED}),
    S.PUBLISHED: frozenset({S.UNDER_REVIEW, S.REJECTED, S.MERGED}),
    S.UNDER_REVIEW: frozenset({S.INCLUDED, S.NOT_INCLUDED}),
    S.INCLUDED: frozenset({S.IMPLEMENTED}),
    S.IMPLEMENTED: frozenset(),
    S.NOT_INCLUDED: frozenset(),
    S.REJECTED: frozenset(),
    S.MERGED: frozenset(),
}
# Final statuses stay final, with one exception: a moderator may publish a rejected idea again with /publish
# (or its button), a mistake put right; the audit log records it as "republish".
REPUBLISHABLE = frozenset({S.REJECTED})
# What /status accepts (merging has its own command, since it needs the other idea).
STATUS_COMMAND_CODES = (S.PUBLISHED, S.UNDER_REVIEW, S.INCLUDED, S.NOT_INCLUDED, S.IMPLEMENTED, S.REJECTED)

MAX_NOTE_LENGTH = 500


def valid_id(row_id: int | None) -> bool:
    """Could this be the id of a row (an idea, a category, a broadcast)? Checked before a query with it."""
    return row_id is not None and 0 < row_id <= MAX_DB_INT


class Outcome(StrEnum):
    DONE = "done"
    NO_RIGHTS = "no_rights"  # not (or no longer) a moderator
    ADMINS_ONLY = "admins_only"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"  # the lifecycle does not allow it from the current status
    ALREADY = "already"  # it is so already: another moderator was quicker
    CHANGED = "changed"  # someone changed the idea since the moderator saw it: nothing done
    SAME_IDEA = "same_idea"
    TARGET_NOT_FOUND = "target_not_found"
    TARGET_NOT_PUBLIC = "target_not_public"
    BAD_TEXT = "bad_text"
    PROTECTED = "protected"  # an admin cannot be banned or removed here
    SELF = "self"


def can_transition(current: str, target: str, *, republish: bool = False) -> bool:
    """True when the lifecycle allows current -> target (republish: the /publish exception for rejected ideas)."""
    if target in TRANSITIONS.get(current, frozenset()):
        return True
    return republish and target == S.PUBLISHED and current in REPUBLISHABLE


def next_statuses(current: str) -> frozenset[str]:
    return TRANSITIONS.get(current, frozenset())


def is_admin(user_id: int, admin_ids: frozenset[int]) -> bool:
    return user_id in admin_ids


def is_moderator(user: User | None, admin_ids: frozenset[int]) -> bool:
    """Admins (ADMIN_IDS) and residents made moderators, unless banned."""
    if user is None or user.is_banned:
        return False
    return user.id in admin_ids or bool(user.is_moderator)


def may_participate(user: User) -> bool:
    """May this resident propose, support and report? (Withdrawing a support stays possible.)"""
    return not user.is_banned


async def has_rights(session: AsyncSession, settings: Settings, actor_id: int) -> bool:
    """Fresh from the database: a ban or a removal takes effect on the next press."""
    user = await store.get_user(session, actor_id)
    if user is None:
        return actor_id in settings.admin_ids
    return is_moderator(user, settings.admin_ids)


def clean_note(text: str | None) -> str | None:
    """A moderator's note or reason: one line, at most MAX_NOTE_LENGTH characters, None when empty."""
    if text is None:
        return None
    note = " ".join(text.split())
    return note[:MAX_NOTE_LENGTH] or None


# Common reasons of a rejection, offered as buttons. The note stores "reason:<code>" and is shown in each
# reader's language (bot.ui.status_texts.note_text); a typed reason is stored as typed.
REJECT_REASONS = ("dup", "off", "abuse", "unclear", "notog")
REASON_PREFIX = "reason:"


def reason_note(code: str) -> str:
    return REASON_PREFIX + code


def reason_code(note: str | None) -> str | None:
    if note and note.startswith(REASON_PREFIX) and note.removeprefix(REASON_PREFIX) in REJECT_REASONS:
        return note.removeprefix(REASON_PREFIX)
    return None
