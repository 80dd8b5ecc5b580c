"""Broadcasts: a moderator's announcement to an audience of residents, delivered through the outbox. No Telegram here.

A broadcast is prepared in the moderator's conversation (audience, text, preview with the number of recipients)
and written on confirmation in one transaction: the Broadcast row, one outbox row per recipient (same batch,
dedupe key "broadcast:{broadcast_id}:{user_id}") and an audit entry "broadcast". The draft carries a batch id
chosen when the preview is shown, so pressing "Confirm" twice writes one broadcast.

Rights are checked again in every action (the handlers' router filter is the first check), fresh from the
database: a moderator who was removed or banned meanwhile can do nothing.

The text is the moderator's, shown literally: residents receive it HTML-escaped (the bot sends HTML), so
"<b>" arrives as the four characters "<b>". `message_html` is the only place that turns a text into what
residents get; the preview uses it too."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.announcements import moderator_recipients
from bot.domain.broadcast_cost import DeliveryEstimate, estimate
from bot.domain.ids import parse_id
from bot.domain.lifecycle import has_rights, valid_id
from bot.domain.outgoing import Outgoing, Recipient, fan_out, language_of
from bot.domain.texts import BroadcastText, check_broadcast
from storage import broadcasts as store
from storage import moderation as moderation_store
from storage import outbox
from storage.models import LANGUAGES, Broadcast
from storage.outbox import BatchProgress

RECENT_LIMIT = 10
# A row `sending` for longer than this was left by a crash (the sender's requests time out after 30 s): it counts
# as sent and will never change, so it does not hold the summary back.
STUCK_AFTER = timedelta(minutes=10)


class Outcome(StrEnum):
    DONE = "done"
    NO_RIGHTS = "no_rights"
    NOT_FOUND = "not_found"  # the broadcast, or the idea whose supporters were asked for
    EMPTY = "empty"  # an audience of nobody (reachable and not banned)
    BAD_TEXT = "bad_text"
    ALREADY = "already"  # this draft was sent already (a second press of Confirm)
    NOTHING = "nothing"  # pause / resume found nothing to pause or resume
    AWAITING_APPROVAL = "awaiting_approval"  # a mass audience: written, waits for an admin or a second moderator
    COOLDOWN = "cooldown"  # a mass broadcast went out too recently
    SELF = "self"  # a moderator cannot approve their own broadcast


# ------------------------------------------------------------------ audiences (pure)

@dataclass(frozen=True)
class Audience:
    kind: str  # storage.broadcasts.AUDIENCE_KINDS
    language: str | None = None
    idea_id: int | None = None
    group_id: int | None = None  # "members": the approved members of a working group

    @property
    def code(self) -> str:
        """As stored in Broadcast.audience (at most 32 characters)."""
        if self.kind == "language":
            return f"lang:{self.language}"
        if self.kind == "supporters":
            return f"idea:{self.idea_id}"
        if self.kind == "members":
            return f"group:{self.group_id}"
        return self.kind

    @property
    def argument(self) -> str | int | None:
        return {"language": self.language, "supporters": self.idea_id, "members": self.group_id}.get(self.kind)


ALL = Audience("all")
SUBSCRIBERS = Audience("subscribers")
# One compromised moderator account must not be able to write to 400,000 people: these audiences need an admin or
# a second moderator's approval, and a pause (MASS_BROADCAST_COOLDOWN_HOURS) between two of them.
MASS_KINDS = frozenset({"all", "language"})


def delivery_rate(settings: Settings) -> float:
    """Messages a second a broadcast goes out at: the paid rate when paid broadcasts are on (bot/delivery.py)."""
    return settings.paid_broadcast_rate or settings.send_rate_per_second


def is_mass(audience: Audience | None) -> bool:
    return audience is not None and audience.kind in MASS_KINDS


def language_audience(language: str) -> Audience | None:
    return Audience("language", language=language) if language in LANGUAGES else None


def supporters_audience(idea_id: int) -> Audience | None:
    return Audience("supporters", idea_id=idea_id) if valid_id(idea_id) else None


def members_audience(group_id: int) -> Audience | None:
    return Audience("members", group_id=group_id) if valid_id(group_id) else None


def parse_audience(code: str | None) -> Audience | None:
    """The inverse of Audience.code; None for anything else (a forged or outdated value)."""
    code = code or ""
    if code in ("all", "subscribers"):
        return Audience(code)
    if code.startswith("lang:"):
        return language_audience(code.removeprefix("lang:"))
    idea_id = parse_id(code.removeprefix("idea:")) if code.startswith("idea:") else None
    if idea_id is not None:
        return supporters_audience(idea_id)
    group_id = parse_id(code.removeprefix("group:")) if code.startswith("group:") else None
    if group_id is not None:
        return members_audience(group_id)
    return None


def message_html(text: str) -> str:
    """What residents receive (the bot sends HTML): the text escaped, so it shows literally."""
    return html.escape(text, quote=False)


# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class AudienceCheck:
    outcome: Outcome
    audience: Audience | None = None
    recipients: int = 0
    estimate: DeliveryEstimate | None = None  # how long it takes (and costs, with paid broadcasts)


@dataclass(frozen=True)
class Draft:
    audience: Audience
    text: str
    batch_id: str


@dataclass(frozen=True)
class BroadcastView:
    broadcast: Broadcast
    progress: BatchProgress

    @property
    def audience(self) -> Audience | None:
        return parse_audience(self.broadcast.audience)

    @property
    def finished(self) -> bool:
        """Nothing waits or is paused (rows in flight count as sent, as in BatchProgress)."""
        return self.progress.done


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    view: BroadcastView | None = None
    recipients: int = 0
    changed: int = 0  # pause / resume: how many messages
    checked: BroadcastText | None = None
    next_allowed_at: datetime | None = None  # COOLDOWN: when a mass broadcast is possible again


# Renders the request to approve a broadcast in a language (the other moderators are asked in theirs).
ApprovalRequest = Callable[[Broadcast, str], Outgoing]


async def _view(session: AsyncSession, broadcast: Broadcast) -> BroadcastView:
    return BroadcastView(broadcast, await outbox.batch_progress(session, broadcast.batch_id))


# ------------------------------------------------------------------ preparing

async def check_audience(session: AsyncSession, settings: Settings, actor_id: int,
                         audience: Audience | None) -> AudienceCheck:
    """How many residents the audience reaches now; NOT_FOUND for an unknown idea, EMPTY for nobody."""
    if not await has_rights(session, settings, actor_id):
        return AudienceCheck(Outcome.NO_RIGHTS)
    if audience is None:
        return AudienceCheck(Outcome.NOT_FOUND)
    if audience.kind == "supporters" and not await store.idea_exists(session, audience.idea_id):
        return AudienceCheck(Outcome.NOT_FOUND, audience)
    if audience.kind == "members" and not await store.group_exists(session, audience.group_id):
        return AudienceCheck(Outcome.NOT_FOUND, audience)
    count = await store.count_recipients(session, audience.kind, audience.argument)
    return AudienceCheck(Outcome.DONE if count else Outcome.EMPTY, audience, count,
                         estimate(count, settings.send_rate_per_second, settings.paid_broadcast_rate))


# ------------------------------------------------------------------ sending

async def cooldown_until(session: AsyncSession, settings: Settings, excluding: int | None = None) -> datetime | None:
    """When the next mass broadcast (MASS_KINDS) may go out after the latest one; None when there was none."""
    latest = await store.latest_mass_broadcast_at(session, excluding)
    if latest is None:
        return None
    return latest + timedelta(hours=settings.mass_broadcast_cooldown_hours)


async def send(session: AsyncSession, settings: Settings, actor_id: int, draft: Draft, now: datetime,
               request: ApprovalRequest | None = None) -> Result:
    """Write the broadcast: its row, one outbox row per recipient and the audit entry, in one transaction.

    The audience is counted again inside the transaction (residents may have blocked the bot since the
    preview); nobody left is refused and nothing is written. A mass audience by a moderator who is no admin is
    written without recipients and waits for approval (`request` renders what the other moderators are asked)."""
    if not await has_rights(session, settings, actor_id):
        return Result(Outcome.NO_RIGHTS)
    checked = check_broadcast(draft.text)
    if checked.problem is not None:
        return Result(Outcome.BAD_TEXT, checked=checked)
    existing = await store.broadcast_by_batch(session, draft.batch_id)
    if existing is not None:
        return Result(Outcome.ALREADY, await _view(session, existing), recipients=existing.total)
    check = await check_audience(session, settings, actor_id, draft.audience)
    if check.outcome is not Outcome.DONE:
        return Result(check.outcome)
    audience = draft.audience
    needs_approval = is_mass(audience) and actor_id not in settings.admin_ids
    broadcast = await store.add_broadcast(session, batch_id=draft.batch_id, moderator_id=actor_id,
                                          audience=audience.code, text=checked.text, now=now,
                                          awaiting_approval=needs_approval)
    if broadcast is None:  # another press of the same Confirm got there first
        await session.rollback()
        existing = await store.broadcast_by_batch(session, draft.batch_id)
        return Result(Outcome.ALREADY, await _view(session, existing) if existing else None)
    if is_mass(audience):  # checked after the row: a second press of the same Confirm is ALREADY, not COOLDOWN
        allowed_at = await cooldown_until(session, settings, excluding=broadcast.id)
        if allowed_at is not None and allowed_at > now:
            await session.rollback()
            return Result(Outcome.COOLDOWN, next_allowed_at=allowed_at)
    if needs_approval:
        return await _ask_for_approval(session, settings, broadcast, check.recipients, now, request)
    total = await store.enqueue_recipients(session, broadcast, audience.kind, audience.argument,
                                           message_html(checked.text), now)
    if total == 0:  # everyone left between the count and the insert
        await session.rollback()
        return Result(Outcome.EMPTY)
    await store.set_total(session, broadcast.id, total)
    await moderation_store.add_audit(
        session, moderator_id=actor_id, action="broadcast", now=now, idea_id=audience.idea_id,
        after={"broadcast_id": broadcast.id, "audience": audience.code, "recipients": total,
               "batch_id": broadcast.batch_id, "text": checked.text})
    await session.commit()
    broadcast = await store.get_broadcast(session, broadcast.id)
    return Result(Outcome.DONE, await _view(session, broadcast), recipients=total)


async def _ask_for_approval(session: AsyncSession, settings: Settings, broadcast: Broadcast, recipients: int,
                            now: datetime, request: ApprovalRequest | None) -> Result:
    await store.set_total(session, broadcast.id, recipients)
    await moderation_store.add_audit(
        session, moderator_id=broadcast.moderator_id, action="broadcast", now=now,
        after={"broadcast_id": broadcast.id, "audience": broadcast.audience, "recipients": recipients,
               "batch_id": broadcast.batch_id, "text": broadcast.text, "awaiting_approval": True})
    if request is not None:
        recipients = await moderator_recipients(session, settings, f"broadcast-approval:{broadcast.id}")
        await fan_out(session, [recipient for recipient in recipients if recipient.chat_id != broadcast.moderator_id],
                      lambda language: request(broadcast, language), kind="moderation")
    await session.commit()
    broadcast = await store.get_broadcast(session, broadcast.id)
    return Result(Outcome.AWAITING_APPROVAL, await _view(session, broadcast), recipients=recipients)


async def approve(session: AsyncSession, settings: Settings, actor_id: int, broadcast_id: int,
                  now: datetime) -> Result:
    """/approve N: an admin or a moderator other than its author lets a mass broadcast go out (the audience is
    counted again now); audited as "broadcast_approve"."""
    found = await progress(session, settings, actor_id, broadcast_id)
    if found.outcome is not Outcome.DONE:
        return found
    broadcast = found.view.broadcast
    if not broadcast.awaiting_approval:
        return Result(Outcome.ALREADY, found.view, recipients=broadcast.total)
    if broadcast.moderator_id == actor_id:
        return Result(Outcome.SELF, found.view)
    allowed_at = await cooldown_until(session, settings, excluding=broadcast.id)
    if allowed_at is not None and allowed_at > now:
        return Result(Outcome.COOLDOWN, found.view, next_allowed_at=allowed_at)
    audience = parse_audience(broadcast.audience)
    if audience is None or not await store.claim_approval(session, broadcast.id, actor_id, now):
        await session.rollback()
        return Result(Outcome.ALREADY, await _view(session, broadcast))
    total = await store.enqueue_recipients(session, broadcast, audience.kind, audience.argument,
                                           message_html(broadcast.text), now)
    await store.set_total(session, broadcast.id, total)
    await moderation_store.add_audit(
        session, moderator_id=actor_id, action="broadcast_approve", now=now,
        after={"broadcast_id": broadcast.id, "audience": broadcast.audience, "recipients": total,
               "requested_by": broadcast.moderator_id})
    await session.commit()
    broadcast = await store.get_broadcast(session, broadcast.id)
    return Result(Outcome.DONE, await _view(session, broadcast), recipients=total)


# ------------------------------------------------------------------ progress, pause, resume

async def progress(session: AsyncSession, settings: Settings, actor_id: int, broadcast_id: int) -> Result:
    if not await has_rights(session, settings, actor_id):
        return Result(Outcome.NO_RIGHTS)
    broadcast = await store.get_broadcast(session, broadcast_id) if valid_id(broadcast_id) else None
    if broadcast is None:
        return Result(Outcome.NOT_FOUND)
    return Result(Outcome.DONE, await _view(session, broadcast))


async def pause(session: AsyncSession, settings: Settings, actor_id: int, broadcast_id: int,
                now: datetime) -> Result:
    """Stop the messages still waiting (those in flight finish); audited as "broadcast_pause"."""
    return await _move(session, settings, actor_id, broadcast_id, now, outbox.pause_batch, "broadcast_pause")


async def resume(session: AsyncSession, settings: Settings, actor_id: int, broadcast_id: int,
                 now: datetime) -> Result:
    return await _move(session, settings, actor_id, broadcast_id, now, outbox.resume_batch, "broadcast_resume")


async def _move(session: AsyncSession, settings: Settings, actor_id: int, broadcast_id: int, now: datetime,
                change: Callable[[AsyncSession, str], Any], action: str) -> Result:
    found = await progress(session, settings, actor_id, broadcast_id)
    if found.outcome is not Outcome.DONE:
        return found
    broadcast = found.view.broadcast
    moved = await change(session, broadcast.batch_id)
    if moved:
        await moderation_store.add_audit(session, moderator_id=actor_id, action=action, now=now,
                                         after={"broadcast_id": broadcast.id, "messages": moved})
    await session.commit()
    return Result(Outcome.DONE if moved else Outcome.NOTHING, await _view(session, broadcast), changed=moved)


async def recent(session: AsyncSession, settings: Settings, actor_id: int,
                 limit: int = RECENT_LIMIT) -> list[BroadcastView] | None:
    """/broadcasts: the latest broadcasts, newest first, with their progress. None without rights."""
    if not await has_rights(session, settings, actor_id):
        return None
    broadcasts = await store.recent_broadcasts(session, limit)
    progress_by_batch = await store.progress_of(session, [broadcast.batch_id for broadcast in broadcasts])
    return [BroadcastView(broadcast, progress_by_batch[broadcast.batch_id]) for broadcast in broadcasts]


# ------------------------------------------------------------------ the summary afterwards

@dataclass(frozen=True)
class Summary:
    view: BroadcastView
    moderator_language: str | None  # as stored for the moderator, None when they have no resident row


async def _over(session: AsyncSession, view: BroadcastView, now: datetime) -> bool:
    """Delivery is over: nothing pending or paused, and no request in flight that could still end in a retry."""
    if not view.progress.done:
        return False
    if not view.progress.counts.get(outbox.SENDING):
        return True
    return await store.in_flight_since(session, view.broadcast.batch_id, now - STUCK_AFTER) == 0


async def finished_without_summary(session: AsyncSession, now: datetime, limit: int = 1000) -> list[BroadcastView]:
    """Broadcasts whose delivery is over and whose moderator has not been told yet. `now`: the outbox's time
    (real time, as the sender's claims are stamped)."""
    waiting = await store.awaiting_summary(session, limit)
    progress_by_batch = await store.progress_of(session, [broadcast.batch_id for broadcast in waiting])
    views = [BroadcastView(broadcast, progress_by_batch[broadcast.batch_id]) for broadcast in waiting]
    return [view for view in views if await _over(session, view, now)]


async def moderator_language(session: AsyncSession, moderator_id: int, default: str) -> str:
    user = await moderation_store.get_user(session, moderator_id)
    return language_of(user.language if user is not None else None, default)


async def write_summary(session: AsyncSession, broadcast_id: int,
                        render: Callable[[BroadcastView], Outgoing], now: datetime) -> bool:
    """In one transaction: mark the summary sent and write it to the moderator's outbox. True for exactly one
    caller, however often and however concurrently the job runs; False when it was done already or the
    broadcast is not finished (then nothing is written)."""
    if not await store.claim_summary(session, broadcast_id):  # the first statement: takes the write lock
        await session.rollback()
        return False
    broadcast = await store.get_broadcast(session, broadcast_id)
    view = await _view(session, broadcast)
    if not await _over(session, view, now):  # a moderator resumed it meanwhile: next time
        await session.rollback()
        return False
    await fan_out(session, [Recipient(broadcast.moderator_id, None, f"broadcast-summary:{broadcast.id}")],
                  lambda _variant: render(view), kind="broadcast_summary")
    await session.commit()
    return True
