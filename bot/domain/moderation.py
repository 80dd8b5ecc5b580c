"""Moderation: who may moderate, the lifecycle of an idea, and every moderator action. No Telegram here.

Rights are checked again in every action (the handlers' router filter is the first check): a moderator is an
admin (ADMIN_IDS) or a resident with is_moderator, and never a banned one. Every change of an idea is one
transaction: a conditional UPDATE (the version and status the moderator saw), a StatusChange row when the
status changes, an AuditEntry, and the outbox messages to the author and supporters.

Texts are rendered by a `Renderer` (bot/ui/moderation_screens.py provides it and registers itself as the
default when imported; bot.app imports it through the handlers), so this module never imports aiogram."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.campaigns import Stats, collect_stats
from storage import moderation as store
from storage import outbox
from storage import search as search_store
from storage.ideas import refresh_search_text
from storage.models import (
    LANGUAGES,
    VISIBLE_STATUSES,
    AuditEntry,
    Category,
    Idea,
    IdeaStatus,
    Report,
    StatusChange,
    User,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ rules (pure)

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
MAX_DB_INT = 2**31 - 1  # idea ids are 32-bit integers in PostgreSQL
MAX_USER_ID = 2**53  # Telegram user ids fit in 52 bits


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


@dataclass(frozen=True)
class MergeArgs:
    idea_id: int
    into_id: int


@dataclass(frozen=True)
class StatusArgs:
    idea_id: int
    status: str
    note: str | None


@dataclass(frozen=True)
class RejectArgs:
    idea_id: int
    reason: str


_ID = r"#?(\d{1,12})"
_MERGE = re.compile(rf"^\s*{_ID}\s+(?:(?:into|in|to|->|→|=>)\s+)?{_ID}\s*$", re.IGNORECASE)
_ID_ONLY = re.compile(rf"^\s*{_ID}\s*$")
_ID_AND_REST = re.compile(rf"^\s*{_ID}(?:\s+(.*))?$", re.DOTALL)
_USER_ID = re.compile(r"^\s*(\d{1,16})\s*$")


def _clean_note(text: str | None) -> str | None:
    if text is None:
        return None
    note = " ".join(text.split())
    return note[:MAX_NOTE_LENGTH] or None


def parse_idea_id(args: str | None) -> int | None:
    """"12" or "#12"."""
    match = _ID_ONLY.match(args or "")
    return int(match.group(1)) if match else None


def parse_merge(args: str | None) -> MergeArgs | None:
    """"12 into 7", "12 7", "#12 -> #7": idea 12 is a duplicate of idea 7."""
    match = _MERGE.match(args or "")
    if not match:
        return None
    return MergeArgs(int(match.group(1)), int(match.group(2)))


def parse_status_code(word: str) -> str | None:
    code = word.strip().lower().replace("-", "_")
    return code if code in STATUS_COMMAND_CODES else None


def parse_status(args: str | None) -> StatusArgs | None:
    """"12 under_review The working group meets on 5 May": an idea, a status code and an optional note."""
    match = _ID_AND_REST.match(args or "")
    if not match or not match.group(2):
        return None
    word, _space, note = match.group(2).strip().partition(" ")
    status = parse_status_code(word)
    if status is None:
        return None
    return StatusArgs(int(match.group(1)), status, _clean_note(note))


def parse_reject(args: str | None) -> RejectArgs | None:
    """"12 This is about the Saeima, not the government": an idea and a reason (required: the author sees it)."""
    match = _ID_AND_REST.match(args or "")
    if not match:
        return None
    reason = _clean_note(match.group(2))
    return RejectArgs(int(match.group(1)), reason) if reason else None


def parse_user_id(args: str | None) -> int | None:
    match = _USER_ID.match(args or "")
    if not match:
        return None
    user_id = int(match.group(1))
    return user_id if 0 < user_id <= MAX_USER_ID else None


def parse_moderators(args: str | None) -> tuple[str, int | None] | None:
    """"" or "list" -> ("list", None); "add 123" / "remove 123" -> (verb, 123); anything else None."""
    words = (args or "").split()
    if not words or (len(words) == 1 and words[0].lower() == "list"):
        return "list", None
    if len(words) != 2 or words[0].lower() not in ("add", "remove"):
        return None
    user_id = parse_user_id(words[1])
    return (words[0].lower(), user_id) if user_id is not None else None


def parse_audit(args: str | None) -> tuple[str, int] | None:
    """"12" -> ("idea", 12); "user 123" -> ("user", 123)."""
    idea_id = parse_idea_id(args)
    if idea_id is not None:
        return "idea", idea_id
    words = (args or "").split()
    if len(words) == 2 and words[0].lower() == "user":
        user_id = parse_user_id(words[1])
        if user_id is not None:
            return "user", user_id
    return None


# Common reasons of a rejection, offered as buttons. The note stores "reason:<code>" and is shown in each
# reader's language (bot.ui.moderation_screens.note_text); a typed reason is stored as typed.
REJECT_REASONS = ("dup", "off", "abuse", "unclear", "notog")
REASON_PREFIX = "reason:"


def reason_note(code: str) -> str:
    return REASON_PREFIX + code


def reason_code(note: str | None) -> str | None:
    if note and note.startswith(REASON_PREFIX) and note.removeprefix(REASON_PREFIX) in REJECT_REASONS:
        return note.removeprefix(REASON_PREFIX)
    return None


# ------------------------------------------------------------------ rendering seam

@dataclass(frozen=True)
class Outgoing:
    """A rendered message for the outbox: HTML text and an inline keyboard as a plain dict."""

    text: str
    markup: dict[str, Any] | None = None


class Renderer(Protocol):
    """Renders texts in a given language; implemented by bot.ui.moderation_screens.ScreensRenderer."""

    def status_notice(self, idea: Idea, language: str, is_author: bool) -> Outgoing: ...

    def merge_notice(self, idea: Idea, target: Idea, language: str, is_author: bool) -> Outgoing: ...

    def moderation_post(self, card: ModerationCard, language: str, bot_username: str, event: str) -> Outgoing: ...


_default_renderer: Renderer | None = None


def set_default_renderer(renderer: Renderer) -> None:
    global _default_renderer
    _default_renderer = renderer


def _renderer(renderer: Renderer | None) -> Renderer:
    chosen = renderer or _default_renderer
    if chosen is None:
        raise RuntimeError("no moderation renderer: import bot.ui.moderation_screens (bot.app does) or pass one")
    return chosen


# ------------------------------------------------------------------ results

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


@dataclass(frozen=True)
class ModerationCard:
    idea: Idea
    category: Category | None
    history: list[StatusChange]
    reports: list[Report]
    merged_into: Idea | None = None

    @property
    def open_reports(self) -> list[Report]:
        return [report for report in self.reports if not report.resolved]


@dataclass(frozen=True)
class ActionResult:
    outcome: Outcome
    card: ModerationCard | None = None  # the idea as it is now (after the action, or why it was refused)
    action: str | None = None  # publish, republish, unhide, reject, status, merge, translate, edit
    status: str | None = None  # the status asked for
    target: Idea | None = None  # merge: the idea the duplicate now counts for
    notified: int = 0
    problem: str | None = None  # BAD_TEXT: "title" or "body"
    problem_detail: Any = None  # BAD_TEXT: the checked text (its problem and limits)


@dataclass(frozen=True)
class UserActionResult:
    outcome: Outcome
    user_id: int | None = None
    changed: bool = False


@dataclass(frozen=True)
class Queue:
    pending: list[Idea]
    pending_total: int
    hidden: list[Idea]
    hidden_total: int


@dataclass(frozen=True)
class AuditLog:
    subject: str  # "idea" or "user"
    subject_id: int
    entries: list[AuditEntry]
    total: int


@dataclass(frozen=True)
class ModeratorList:
    admin_ids: list[int]
    moderators: list[User] = field(default_factory=list)


# ------------------------------------------------------------------ reading

async def _has_rights(session: AsyncSession, actor_id: int, settings: Settings) -> bool:
    """Fresh from the database: a ban or a removal takes effect on the next press."""
    user = await store.get_user(session, actor_id)
    if user is None:
        return actor_id in settings.admin_ids
    return is_moderator(user, settings.admin_ids)


def _valid_idea_id(idea_id: int | None) -> bool:
    return idea_id is not None and 0 < idea_id <= MAX_DB_INT


async def _card(session: AsyncSession, idea_id: int) -> ModerationCard | None:
    idea = await store.get_idea(session, idea_id)
    if idea is None:
        return None
    category = await store.get_category(session, idea.category_id)
    merged_into = await store.get_idea(session, idea.merged_into_id) if idea.merged_into_id else None
    return ModerationCard(idea, category, await store.status_history(session, idea_id),
                          await store.reports_of(session, idea_id), merged_into)


async def moderation_card(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int) -> ActionResult:
    """/idea N, the deep link and the card's refresh."""
    if not await _has_rights(session, actor_id, settings):
        return ActionResult(Outcome.NO_RIGHTS)
    card = await _card(session, idea_id) if _valid_idea_id(idea_id) else None
    return ActionResult(Outcome.DONE if card else Outcome.NOT_FOUND, card)


async def queue(session: AsyncSession, settings: Settings, actor_id: int, limit: int = 20) -> Queue | None:
    """/pending: proposals oldest first, and ideas hidden by reports. None without rights."""
    if not await _has_rights(session, actor_id, settings):
        return None
    pending, pending_total = await store.pending_ideas(session, limit)
    hidden, hidden_total = await store.hidden_ideas(session, limit)
    return Queue(pending, pending_total, hidden, hidden_total)


async def stats(session: AsyncSession, settings: Settings, actor_id: int) -> Stats | None:
    """/stats: the numbers of `python -m bot stats`."""
    if not await _has_rights(session, actor_id, settings):
        return None
    return await collect_stats(session)


async def audit(session: AsyncSession, settings: Settings, actor_id: int, subject: str, subject_id: int,
                limit: int = 25) -> AuditLog | None:
    if not await _has_rights(session, actor_id, settings):
        return None
    if subject == "user":
        entries, total = await store.audit_of_user(session, subject_id, limit)
    elif _valid_idea_id(subject_id):
        entries, total = await store.audit_of_idea(session, subject_id, limit)
    else:
        entries, total = [], 0
    return AuditLog(subject, subject_id, entries, total)


async def moderator_list(session: AsyncSession, settings: Settings, actor_id: int) -> ModeratorList | None:
    if not await _has_rights(session, actor_id, settings):
        return None
    return ModeratorList(sorted(settings.admin_ids), await store.moderators(session))


async def status_history(session: AsyncSession, idea_id: int) -> list[StatusChange]:
    """Every status change of the idea, oldest first (for the resident's card)."""
    return await store.status_history(session, idea_id)


async def is_banned(session: AsyncSession, user_id: int) -> bool:
    """As stored now; the resident side checks it before a proposal is sent, a support and a report."""
    user = await store.get_user(session, user_id)
    return bool(user and user.is_banned)


# ------------------------------------------------------------------ notifications

async def _notify(session: AsyncSession, idea: Idea, recipients: list[User], now: datetime, render) -> int:
    """One outbox message per recipient, in their language; dedupe keys make a repeat impossible."""
    rendered: dict[tuple[str, bool], Outgoing] = {}
    messages = []
    for user in recipients:
        language = user.language if user.language in LANGUAGES else "lv"
        key = (language, user.id == idea.author_id)
        if key not in rendered:
            rendered[key] = render(language, key[1])
        out = rendered[key]
        messages.append({"chat_id": user.id, "kind": "notification", "text": out.text, "reply_markup": out.markup,
                         "dedupe_key": f"status:{idea.id}:{idea.version}:{user.id}"})
    return await outbox.enqueue_many(session, messages, not_before=now)


def _snapshot(idea: Idea) -> dict[str, Any]:
    fields = ("status", "hidden", "merged_into_id", "status_note", "version", "supporters_count")
    texts = tuple(f"{kind}_{language}" for kind in ("title", "body") for language in LANGUAGES)
    return {name: getattr(idea, name) for name in fields + texts}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in changed}, {key: after.get(key) for key in changed}


async def _refused(session: AsyncSession, outcome: Outcome, idea_id: int, **kwargs: Any) -> ActionResult:
    # Ends the transaction (a conditional UPDATE that matched nothing still began one; on SQLite it holds the
    # write lock). Commit, not rollback: nothing was written, and a rollback would expire the resident loaded
    # for this update.
    await session.commit()
    card = await _card(session, idea_id) if _valid_idea_id(idea_id) else None
    return ActionResult(outcome, card, **kwargs)


# ------------------------------------------------------------------ status decisions

async def publish(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, now: datetime, *,
                  seen_version: int | None = None, renderer: Renderer | None = None) -> ActionResult:
    """Pending -> published; a rejected idea published again (audited as "republish"); a public idea hidden by
    reports shown again ("unhide"). Resolves the idea's reports."""
    return await _decide(session, settings, actor_id, idea_id, S.PUBLISHED, None, now, seen_version=seen_version,
                         renderer=renderer, via_publish=True)


async def reject(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, reason: str,
                 now: datetime, *, seen_version: int | None = None, renderer: Renderer | None = None) -> ActionResult:
    """Pending or published -> rejected, with a reason the author sees (typed, or reason_note(code))."""
    return await _decide(session, settings, actor_id, idea_id, S.REJECTED, _clean_note(reason), now,
                         seen_version=seen_version, renderer=renderer)


async def set_status(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, status: str,
                     note: str | None, now: datetime, *, seen_version: int | None = None,
                     renderer: Renderer | None = None) -> ActionResult:
    """/status N STATUS note: any move the lifecycle allows (merging excepted: see merge)."""
    if status not in STATUS_COMMAND_CODES:
        return ActionResult(Outcome.NOT_ALLOWED, status=status)
    return await _decide(session, settings, actor_id, idea_id, status, _clean_note(note), now,
                         seen_version=seen_version, renderer=renderer)


async def _decide(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, target: str,
                  note: str | None, now: datetime, *, seen_version: int | None,
                  renderer: Renderer | None, via_publish: bool = False) -> ActionResult:
    if not await _has_rights(session, actor_id, settings):
        return ActionResult(Outcome.NO_RIGHTS)
    idea = await store.get_idea(session, idea_id) if _valid_idea_id(idea_id) else None
    if idea is None:
        return ActionResult(Outcome.NOT_FOUND, status=target)
    # Only /publish (and its button) shows a hidden idea again or publishes a rejected one again.
    unhide = via_publish and idea.status in VISIBLE_STATUSES and idea.hidden
    republish = via_publish and idea.status in REPUBLISHABLE
    action = "unhide" if unhide else "republish" if republish else {
        S.PUBLISHED: "publish", S.REJECTED: "reject"}.get(target, "status")
    if idea.status == target and not unhide:
        return await _refused(session, Outcome.ALREADY, idea_id, status=target, action=action)
    version = idea.version if seen_version is None else seen_version
    if idea.version != version:
        return await _refused(session, Outcome.CHANGED, idea_id, status=target, action=action)
    if not unhide and not can_transition(idea.status, target, republish=republish):
        return await _refused(session, Outcome.NOT_ALLOWED, idea_id, status=target, action=action)

    before = _snapshot(idea)
    values: dict[str, Any] = {"hidden": False} if unhide else {
        "status": target, "status_note": note, "status_changed_at": now}
    if target == S.PUBLISHED:
        values["hidden"] = False
    if not await store.update_idea(session, idea_id, seen_version=version, from_statuses=[idea.status],
                                   values=values):
        current = await store.get_idea(session, idea_id)
        taken = current is not None and current.status == target and not (unhide and current.hidden)
        return await _refused(session, Outcome.ALREADY if taken else Outcome.CHANGED, idea_id, status=target,
                              action=action)
    if target in (S.PUBLISHED, S.REJECTED):
        await store.resolve_reports(session, idea_id)  # a moderator has decided on them
    if not unhide:
        await store.add_status_change(session, idea_id, target, note, actor_id, now)
    idea = await store.get_idea(session, idea_id)
    audit_before, audit_after = _diff(before, _snapshot(idea))
    await store.add_audit(session, moderator_id=actor_id, action=action, idea_id=idea_id, now=now,
                          before=audit_before, after=audit_after)
    notified = 0
    if not unhide:
        render = _renderer(renderer)
        # The author hears at once; supporters hear in their weekly news (bot/digest_jobs.personal_news), so that a
        # resident who supports many ideas gets one message a week, not one per moderator decision.
        recipients = await store.notification_recipients(session, idea_id, idea.author_id, supporters=False)
        notified = await _notify(session, idea, recipients, now,
                                 lambda language, is_author: render.status_notice(idea, language, is_author))
    await session.commit()
    return ActionResult(Outcome.DONE, await _card(session, idea_id), action=action, status=target,
                        notified=notified)


# ------------------------------------------------------------------ merging duplicates

async def merge(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, into_id: int,
                now: datetime, *, seen_version: int | None = None, renderer: Renderer | None = None) -> ActionResult:
    """Idea N is a duplicate of idea M: N becomes MERGED (merged_into_id=M), N's supports move to M (a resident
    who supported both counts once), both counts are recomputed from the vote rows, and N's author and
    supporters are told that their idea/support now counts for M."""
    if not await _has_rights(session, actor_id, settings):
        return ActionResult(Outcome.NO_RIGHTS)
    if not _valid_idea_id(idea_id):
        return ActionResult(Outcome.NOT_FOUND, action="merge")
    if idea_id == into_id:
        return await _refused(session, Outcome.SAME_IDEA, idea_id, action="merge")
    if not _valid_idea_id(into_id):
        return await _refused(session, Outcome.TARGET_NOT_FOUND, idea_id, action="merge")
    # Both rows locked in the order of their ids, before anything is read for the decision. On PostgreSQL this
    # also waits for a support being written on either idea, so it is counted below, not lost.
    locked = await store.lock_ideas(session, (idea_id, into_id))
    idea, target = locked.get(idea_id), locked.get(into_id)
    if idea is None:
        return await _refused(session, Outcome.NOT_FOUND, idea_id, action="merge")
    if target is None:
        return await _refused(session, Outcome.TARGET_NOT_FOUND, idea_id, action="merge")
    if idea.status == S.MERGED:
        return await _refused(session, Outcome.ALREADY, idea_id, action="merge", target=target)
    version = idea.version if seen_version is None else seen_version
    if idea.version != version:
        return await _refused(session, Outcome.CHANGED, idea_id, action="merge", target=target)
    if not can_transition(idea.status, S.MERGED):
        return await _refused(session, Outcome.NOT_ALLOWED, idea_id, action="merge", status=S.MERGED,
                              target=target)
    # The target first: a no-op write that also checks it is (still) public.
    if not await store.lock_public_idea(session, into_id):
        return await _refused(session, Outcome.TARGET_NOT_PUBLIC, idea_id, action="merge", target=target)
    before = _snapshot(idea)
    values = {"status": S.MERGED, "merged_into_id": into_id, "status_note": None, "status_changed_at": now}
    if not await store.update_idea(session, idea_id, seen_version=version, from_statuses=[idea.status],
                                   values=values):
        current = await store.get_idea(session, idea_id)
        outcome = Outcome.ALREADY if current is not None and current.status == S.MERGED else Outcome.CHANGED
        return await _refused(session, outcome, idea_id, action="merge", target=target)
    # Who is told: read under the lock, before the supports move away.
    recipients = await store.notification_recipients(session, idea_id, idea.author_id)
    target_before = target.supporters_count
    await store.move_votes(session, idea_id, into_id)
    await store.recount_supporters(session, (idea_id, into_id))
    await store.resolve_reports(session, idea_id)
    await store.add_status_change(session, idea_id, S.MERGED, None, actor_id, now)
    idea = await store.get_idea(session, idea_id)
    target = await store.get_idea(session, into_id)
    audit_before, audit_after = _diff(before, _snapshot(idea))
    audit_before["target_supporters_count"] = target_before
    audit_after["target_supporters_count"] = target.supporters_count
    await store.add_audit(session, moderator_id=actor_id, action="merge", idea_id=idea_id, now=now,
                          before=audit_before, after=audit_after)
    await store.add_audit(session, moderator_id=actor_id, action="merge_in", idea_id=into_id, now=now,
                          before={"supporters_count": target_before, "merged_from": None},
                          after={"supporters_count": target.supporters_count, "merged_from": idea_id})
    render = _renderer(renderer)
    notified = await _notify(session, idea, recipients, now,
                             lambda language, is_author: render.merge_notice(idea, target, language, is_author))
    await session.commit()
    await _absorb_late_votes(session, idea_id, into_id)
    return ActionResult(Outcome.DONE, await _card(session, idea_id), action="merge", status=S.MERGED,
                        target=await store.get_idea(session, into_id), notified=notified)


async def _absorb_late_votes(session: AsyncSession, idea_id: int, into_id: int) -> None:
    """A safety net after the merge: a support that checked the idea before the merge but wrote its vote after
    it (the resident side reads first and writes later) is moved too."""
    if await store.count_vote_rows(session, idea_id) == 0:
        return
    await store.lock_ideas(session, (idea_id, into_id))
    await store.move_votes(session, idea_id, into_id)
    await store.recount_supporters(session, (idea_id, into_id))
    await session.commit()
    log.info("moved supports written on idea %s after its merge into %s", idea_id, into_id)


# ------------------------------------------------------------------ texts

def _proposal_rules():
    # Imported here: bot.domain.proposals imports this module (announce_proposal). The same limits as proposals.
    from bot.domain import proposals

    return proposals


def text_limits() -> dict[str, tuple[int, int]]:
    rules = _proposal_rules()
    return {"title": rules.TITLE_LIMITS, "body": rules.BODY_LIMITS}


def check_title(raw: str):
    """A title as a proposal's (cleaned, 10..120 characters): bot.domain.proposals.CheckedText."""
    return _proposal_rules().check_title(raw)


def check_body(raw: str):
    return _proposal_rules().check_body(raw)


# What a moderator is about to do from a card's button (the answer comes in a later message).
INTENTS = {"reject": S.REJECTED, "merge": S.MERGED}


async def prepare(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, intent: str, *,
                  seen_version: int | None = None) -> ActionResult:
    """May the moderator start this (reject with a typed reason, name the duplicate's original, edit a text)
    on the idea as they saw it? DONE with the card, or why not (nothing is changed either way)."""
    found = await moderation_card(session, settings, actor_id, idea_id)
    if found.outcome is not Outcome.DONE:
        return found
    idea = found.card.idea
    if seen_version is not None and idea.version != seen_version:
        return ActionResult(Outcome.CHANGED, found.card, action=intent)
    target = INTENTS.get(intent)
    if target is not None and not can_transition(idea.status, target):
        outcome = Outcome.ALREADY if idea.status == target else Outcome.NOT_ALLOWED
        return ActionResult(outcome, found.card, action=intent, status=target)
    if intent == "edit" and idea.status == S.MERGED:
        return ActionResult(Outcome.NOT_ALLOWED, found.card, action=intent, status=S.MERGED)
    return ActionResult(Outcome.DONE, found.card, action=None)


@dataclass(frozen=True)
class TitleStep:
    result: ActionResult  # DONE: go on to the text
    title: Any = None  # CheckedText of the new title; None when the current one is kept


async def title_step(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, language: str,
                     raw_title: str, *, seen_version: int | None) -> TitleStep:
    """The title step of /translate and "Edit text": "." keeps the current title (when there is one)."""
    found = await prepare(session, settings, actor_id, idea_id, "edit", seen_version=seen_version)
    if found.outcome is not Outcome.DONE or language not in LANGUAGES:
        return TitleStep(found)
    keep = raw_title.strip() == "." and getattr(found.card.idea, f"title_{language}")
    if keep:
        return TitleStep(found)
    checked = check_title("" if raw_title.strip() == "." else raw_title)
    if checked.problem is not None:
        return TitleStep(ActionResult(Outcome.BAD_TEXT, found.card, problem="title", problem_detail=checked),
                         checked)
    return TitleStep(found, checked)


async def edit_texts(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, language: str,
                     title: str | None, body: str | None, now: datetime, *,
                     seen_version: int | None = None) -> ActionResult:
    """/translate and "Edit text": add or correct one language's title and text (the proposals' limits).
    None (or ".") keeps the current title or text of that language."""
    if not await _has_rights(session, actor_id, settings):
        return ActionResult(Outcome.NO_RIGHTS)
    idea = await store.get_idea(session, idea_id) if _valid_idea_id(idea_id) and language in LANGUAGES else None
    if idea is None:
        return ActionResult(Outcome.NOT_FOUND)
    had_text = bool(getattr(idea, f"title_{language}") or getattr(idea, f"body_{language}"))
    action = "edit" if had_text else "translate"
    if idea.status == S.MERGED:  # its texts no longer show anywhere; edit the idea it counts for
        return await _refused(session, Outcome.NOT_ALLOWED, idea_id, action=action, status=S.MERGED)
    if title is None or title.strip() == ".":
        title = getattr(idea, f"title_{language}") or ""
    if body is None or body.strip() == ".":
        body = getattr(idea, f"body_{language}") or ""
    checked_title, checked_body = check_title(title), check_body(body)
    for name, checked in (("title", checked_title), ("body", checked_body)):
        if checked.problem is not None:
            return await _refused(session, Outcome.BAD_TEXT, idea_id, action=action, problem=name,
                                  problem_detail=checked)
    version = idea.version if seen_version is None else seen_version
    if idea.version != version:
        return await _refused(session, Outcome.CHANGED, idea_id, action=action)
    before = _snapshot(idea)
    texts = {f"{kind}_{lang}": getattr(idea, f"{kind}_{lang}") for kind in ("title", "body") for lang in LANGUAGES}
    texts[f"title_{language}"], texts[f"body_{language}"] = checked_title.text, checked_body.text
    probe = Idea(**texts)  # not added to the session: only to compute the search text
    refresh_search_text(probe)
    values = {f"title_{language}": checked_title.text, f"body_{language}": checked_body.text,
              "search_text": probe.search_text}
    if not await store.update_idea(session, idea_id, seen_version=version, from_statuses=[idea.status],
                                   values=values):
        return await _refused(session, Outcome.CHANGED, idea_id, action=action)
    await search_store.reindex(session, [idea_id])
    idea = await store.get_idea(session, idea_id)
    audit_before, audit_after = _diff(before, _snapshot(idea))
    await store.add_audit(session, moderator_id=actor_id, action=action, idea_id=idea_id, now=now,
                          before=audit_before, after=audit_after)
    await session.commit()
    return ActionResult(Outcome.DONE, await _card(session, idea_id), action=action)


# ------------------------------------------------------------------ residents: bans and moderators

async def set_banned(session: AsyncSession, settings: Settings, actor_id: int, user_id: int, banned: bool,
                     now: datetime) -> UserActionResult:
    """/ban and /unban. Admins cannot be banned; only an admin may ban a moderator."""
    if not await _has_rights(session, actor_id, settings):
        return UserActionResult(Outcome.NO_RIGHTS)
    if user_id == actor_id:
        return UserActionResult(Outcome.SELF, user_id)
    if user_id in settings.admin_ids:
        return UserActionResult(Outcome.PROTECTED, user_id)
    target = await store.get_user(session, user_id)
    if banned and target is not None and target.is_moderator and actor_id not in settings.admin_ids:
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    if banned:
        await store.ensure_user(session, user_id, settings.default_language)
    if not await store.set_user_flag(session, user_id, "is_banned", banned):
        await session.commit()
        return UserActionResult(Outcome.ALREADY, user_id)
    await store.add_audit(session, moderator_id=actor_id, action="ban" if banned else "unban",
                          target_user_id=user_id, now=now, before={"is_banned": not banned},
                          after={"is_banned": banned})
    await session.commit()
    return UserActionResult(Outcome.DONE, user_id, changed=True)


async def set_moderator(session: AsyncSession, settings: Settings, actor_id: int, user_id: int, grant: bool,
                        now: datetime) -> UserActionResult:
    """/moderators add|remove: admins only. ADMIN_IDS are moderators by the settings, not here."""
    if not await _has_rights(session, actor_id, settings):
        return UserActionResult(Outcome.NO_RIGHTS)
    if actor_id not in settings.admin_ids:
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    if user_id in settings.admin_ids:
        return UserActionResult(Outcome.PROTECTED, user_id)
    if grant:
        await store.ensure_user(session, user_id, settings.default_language)
    if not await store.set_user_flag(session, user_id, "is_moderator", grant):
        await session.commit()
        return UserActionResult(Outcome.ALREADY, user_id)
    await store.add_audit(session, moderator_id=actor_id, action="moderator_add" if grant else "moderator_remove",
                          target_user_id=user_id, now=now, before={"is_moderator": not grant},
                          after={"is_moderator": grant})
    await session.commit()
    return UserActionResult(Outcome.DONE, user_id, changed=True)


async def set_status_notifications(session: AsyncSession, user_id: int, on: bool) -> bool:
    """A resident turns status notifications off (the button under a notification) or on (/notifications).
    Returns whether it changed."""
    changed = await store.set_user_flag(session, user_id, "notify_status", on)
    await session.commit()
    return changed


async def status_notifications_on(session: AsyncSession, user_id: int) -> bool:
    user = await store.get_user(session, user_id)
    return bool(user is None or user.notify_status)


# ------------------------------------------------------------------ announcements to the moderators

async def _announce(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str, event: str,
                    dedupe: str, renderer: Renderer | None) -> int:
    card = await _card(session, idea_id)
    if card is None:
        return 0
    render = _renderer(renderer)
    if settings.moderation_chat_id is not None:
        targets = [(settings.moderation_chat_id, settings.default_language, dedupe)]
    else:
        admins = await store.users_by_ids(session, settings.admin_ids)
        targets = []
        for admin_id in sorted(settings.admin_ids):
            admin = admins.get(admin_id)
            language = admin.language if admin is not None and admin.language in LANGUAGES else \
                settings.default_language
            targets.append((admin_id, language, f"{dedupe}:{admin_id}"))
    added = 0
    for chat_id, language, key in targets:
        out = render.moderation_post(card, language, bot_username, event)
        added += await outbox.enqueue(session, chat_id, out.text, kind="moderation", reply_markup=out.markup,
                                      dedupe_key=key)
    return added


async def announce_proposal(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str,
                            renderer: Renderer | None = None) -> None:
    """Post a new proposal's moderation card (with its buttons) to the moderators' chat, or to each admin when
    there is none. Not committed: the caller commits it with the proposal."""
    await _announce(session, idea_id, settings, bot_username, "proposal", f"proposal:{idea_id}", renderer)


async def announce_hidden(session: AsyncSession, idea_id: int, settings: Settings, bot_username: str,
                          renderer: Renderer | None = None) -> None:
    """Tell the moderators that reports hid an idea (its card, reports included). Call it in the transaction
    that hides the idea; not committed. Once per hiding: un-hiding bumps the idea's version."""
    idea = await store.get_idea(session, idea_id)
    if idea is None:
        return
    await _announce(session, idea_id, settings, bot_username, "hidden", f"hidden:{idea_id}:{idea.version}",
                    renderer)
