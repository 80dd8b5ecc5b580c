"""Moderators' decisions on an idea: the moderation card, publish, reject, a status of the action-plan lifecycle,
edits of its texts, and merging a duplicate. No Telegram here.

Rights are checked again in every action (the handlers' router filter is the first check; bot.domain.lifecycle
says who is a moderator and which moves are allowed). Every change of an idea is one transaction: a conditional
UPDATE (the version and status the moderator saw), a StatusChange row when the status changes, an AuditEntry, and
the outbox messages to the author and supporters.

Texts are rendered by the `Renderer` passed in (bot.ui.moderation_screens.ScreensRenderer; the handlers get it
from the dispatcher's workflow data), so this module never imports aiogram."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.lifecycle import (
    REPUBLISHABLE,
    STATUS_COMMAND_CODES,
    Outcome,
    can_transition,
    clean_note,
    has_rights,
    valid_id,
)
from bot.domain.outgoing import Outgoing, Recipient, fan_out, language_of
from bot.domain.texts import check_body, check_title
from storage import moderation as store
from storage import search as search_store
from storage.ideas import refresh_search_text
from storage.models import LANGUAGES, VISIBLE_STATUSES, Category, Idea, IdeaStatus, Report, StatusChange, User

log = logging.getLogger(__name__)
S = IdeaStatus

# ------------------------------------------------------------------ rendering seam

class Renderer(Protocol):
    """Renders texts in a given language; implemented by bot.ui.moderation_screens.ScreensRenderer."""

    def status_notice(self, idea: Idea, language: str, is_author: bool) -> Outgoing: ...

    def merge_notice(self, idea: Idea, target: Idea, language: str, is_author: bool) -> Outgoing: ...

    def moderation_post(self, card: ModerationCard, language: str, bot_username: str, event: str) -> Outgoing: ...


# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class ModerationCard:
    idea: Idea
    category: Category | None
    history: list[StatusChange]
    reports: list[Report]
    merged_into: Idea | None = None
    author_language: str | None = None  # the author reads the moderator's note in this language

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


# ------------------------------------------------------------------ reading

async def load_card(session: AsyncSession, idea_id: int) -> ModerationCard | None:
    idea = await store.get_idea(session, idea_id)
    if idea is None:
        return None
    category = await store.get_category(session, idea.category_id)
    merged_into = await store.get_idea(session, idea.merged_into_id) if idea.merged_into_id else None
    author = await store.get_user(session, idea.author_id) if idea.author_id is not None else None
    return ModerationCard(idea, category, await store.status_history(session, idea_id),
                          await store.reports_of(session, idea_id), merged_into,
                          author.language if author is not None else None)


async def moderation_card(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int) -> ActionResult:
    """/idea N, the deep link and the card's refresh."""
    if not await has_rights(session, settings, actor_id):
        return ActionResult(Outcome.NO_RIGHTS)
    card = await load_card(session, idea_id) if valid_id(idea_id) else None
    return ActionResult(Outcome.DONE if card else Outcome.NOT_FOUND, card)


async def status_history(session: AsyncSession, idea_id: int) -> list[StatusChange]:
    """Every status change of the idea, oldest first (for the resident's card)."""
    return await store.status_history(session, idea_id)


# ------------------------------------------------------------------ notifications

async def _notify(session: AsyncSession, idea: Idea, recipients: list[User], now: datetime,
                  render: Callable[[str, bool], Outgoing]) -> int:
    """One outbox message per recipient, in their language (author or supporter); dedupe keys make a repeat
    impossible."""
    return await fan_out(
        session,
        (Recipient(user.id, (language_of(user.language, "lv"), user.id == idea.author_id),
                   f"status:{idea.id}:{idea.version}:{user.id}") for user in recipients),
        lambda variant: render(*variant), kind="notification", not_before=now)


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
    card = await load_card(session, idea_id) if valid_id(idea_id) else None
    return ActionResult(outcome, card, **kwargs)


# ------------------------------------------------------------------ status decisions

async def publish(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, now: datetime, *,
                  seen_version: int | None = None, renderer: Renderer) -> ActionResult:
    """Pending -> published; a rejected idea published again (audited as "republish"); a public idea hidden by
    reports shown again ("unhide"). Resolves the idea's reports."""
    return await _decide(session, settings, actor_id, idea_id, S.PUBLISHED, None, now, seen_version=seen_version,
                         renderer=renderer, via_publish=True)


async def reject(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, reason: str,
                 now: datetime, *, seen_version: int | None = None, renderer: Renderer) -> ActionResult:
    """Pending or published -> rejected, with a reason the author sees (typed, or reason_note(code))."""
    return await _decide(session, settings, actor_id, idea_id, S.REJECTED, clean_note(reason), now,
                         seen_version=seen_version, renderer=renderer)


async def set_status(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, status: str,
                     note: str | None, now: datetime, *, seen_version: int | None = None,
                     renderer: Renderer) -> ActionResult:
    """/status N STATUS note: any move the lifecycle allows (merging excepted: see merge)."""
    if status not in STATUS_COMMAND_CODES:
        return ActionResult(Outcome.NOT_ALLOWED, status=status)
    return await _decide(session, settings, actor_id, idea_id, status, clean_note(note), now,
                         seen_version=seen_version, renderer=renderer)


async def _decide(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, target: str,
                  note: str | None, now: datetime, *, seen_version: int | None,
                  renderer: Renderer, via_publish: bool = False) -> ActionResult:
    if not await has_rights(session, settings, actor_id):
        return ActionResult(Outcome.NO_RIGHTS)
    idea = await store.get_idea(session, idea_id) if valid_id(idea_id) else None
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
        # The author hears at once; supporters hear in their weekly news (bot.jobs.personal_news), so that a
        # resident who supports many ideas gets one message a week, not one per moderator decision.
        recipients = await store.notification_recipients(session, idea_id, idea.author_id, supporters=False)
        notified = await _notify(session, idea, recipients, now,
                                 lambda language, is_author: renderer.status_notice(idea, language, is_author))
    await session.commit()
    return ActionResult(Outcome.DONE, await load_card(session, idea_id), action=action, status=target,
                        notified=notified)


# ------------------------------------------------------------------ merging duplicates

async def merge(session: AsyncSession, settings: Settings, actor_id: int, idea_id: int, into_id: int,
                now: datetime, *, seen_version: int | None = None, renderer: Renderer) -> ActionResult:
    """Idea N is a duplicate of idea M: N becomes MERGED (merged_into_id=M), N's supports move to M (a resident
    who supported both counts once), both counts are recomputed from the vote rows, and N's author and
    supporters are told that their idea/support now counts for M."""
    if not await has_rights(session, settings, actor_id):
        return ActionResult(Outcome.NO_RIGHTS)
    if not valid_id(idea_id):
        return ActionResult(Outcome.NOT_FOUND, action="merge")
    if idea_id == into_id:
        return await _refused(session, Outcome.SAME_IDEA, idea_id, action="merge")
    if not valid_id(into_id):
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
    notified = await _notify(session, idea, recipients, now,
                             lambda language, is_author: renderer.merge_notice(idea, target, language, is_author))
    await session.commit()
    await _absorb_late_votes(session, idea_id, into_id)
    return ActionResult(Outcome.DONE, await load_card(session, idea_id), action="merge", status=S.MERGED,
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
    if not await has_rights(session, settings, actor_id):
        return ActionResult(Outcome.NO_RIGHTS)
    idea = await store.get_idea(session, idea_id) if valid_id(idea_id) and language in LANGUAGES else None
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
    return ActionResult(Outcome.DONE, await load_card(session, idea_id), action=action)


