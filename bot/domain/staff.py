"""Moderators' work on people and the whole: bans, granting moderators, the review queue, the audit log and the
statistics. No Telegram here; rights are checked fresh from the database in every call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.campaigns import Stats, collect_stats
from bot.domain.lifecycle import Outcome, has_rights, valid_id
from storage import bans as ban_store
from storage import moderation as store
from storage import reports as report_store
from storage.models import AuditEntry, Idea, User


@dataclass(frozen=True)
class UserActionResult:
    outcome: Outcome
    user_id: int | None = None
    changed: bool = False
    voided: int = 0  # supports deleted by "/ban N void"


@dataclass(frozen=True)
class Queue:
    pending: list[Idea]
    pending_total: int
    hidden: list[Idea]
    hidden_total: int
    reported: list[Idea] = field(default_factory=list)  # public, not hidden, with open reports
    reported_total: int = 0


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

async def queue(session: AsyncSession, settings: Settings, actor_id: int, limit: int = 20) -> Queue | None:
    """/pending: proposals oldest first, and ideas hidden by reports. None without rights."""
    if not await has_rights(session, settings, actor_id):
        return None
    pending, pending_total = await store.pending_ideas(session, limit)
    hidden, hidden_total = await store.hidden_ideas(session, limit)
    reported, reported_total = await report_store.reported_ideas(session, limit)
    return Queue(pending, pending_total, hidden, hidden_total, reported, reported_total)


async def stats(session: AsyncSession, settings: Settings, actor_id: int) -> Stats | None:
    """/stats: the numbers of `python -m bot stats`."""
    if not await has_rights(session, settings, actor_id):
        return None
    return await collect_stats(session)


async def audit(session: AsyncSession, settings: Settings, actor_id: int, subject: str, subject_id: int,
                limit: int = 25) -> AuditLog | None:
    if not await has_rights(session, settings, actor_id):
        return None
    if subject == "user":
        entries, total = await store.audit_of_user(session, subject_id, limit)
    elif valid_id(subject_id):
        entries, total = await store.audit_of_idea(session, subject_id, limit)
    else:
        entries, total = [], 0
    return AuditLog(subject, subject_id, entries, total)


async def moderator_list(session: AsyncSession, settings: Settings, actor_id: int) -> ModeratorList | None:
    if not await has_rights(session, settings, actor_id):
        return None
    return ModeratorList(sorted(settings.admin_ids), await store.moderators(session))


async def is_banned(session: AsyncSession, user_id: int) -> bool:
    """As stored now; the resident side checks it before a proposal is sent, a support and a report."""
    user = await store.get_user(session, user_id)
    return bool(user and user.is_banned)


# ------------------------------------------------------------------ bans and moderators

async def set_banned(session: AsyncSession, settings: Settings, actor_id: int, user_id: int, banned: bool,
                     now: datetime, *, void_supports: bool = False) -> UserActionResult:
    """/ban and /unban. Admins cannot be banned; only an admin may ban a moderator (which takes the role away) or
    lift such a ban. `void_supports` ("/ban N void") also deletes every support of the resident and recounts
    the ideas, in the same audited transaction."""
    if not await has_rights(session, settings, actor_id):
        return UserActionResult(Outcome.NO_RIGHTS)
    if user_id == actor_id:
        return UserActionResult(Outcome.SELF, user_id)
    if user_id in settings.admin_ids:
        return UserActionResult(Outcome.PROTECTED, user_id)
    is_admin_actor = actor_id in settings.admin_ids
    target = await store.get_user(session, user_id)
    if banned and target is not None and target.is_moderator and not is_admin_actor:
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    if not banned and not is_admin_actor and await ban_store.was_moderator_when_banned(session, user_id):
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    if not banned:
        return await _set_flag(session, settings, actor_id, user_id, "is_banned", False, "unban", now)
    await store.ensure_user(session, user_id, settings.default_language)
    changed = await store.set_user_flag(session, user_id, "is_banned", True)
    if not changed and not void_supports:
        await session.commit()
        return UserActionResult(Outcome.ALREADY, user_id)
    before: dict[str, Any] = {"is_banned": False} if changed else {}
    after: dict[str, Any] = {"is_banned": True} if changed else {}
    if await store.set_user_flag(session, user_id, "is_moderator", False):
        before["is_moderator"], after["is_moderator"] = True, False
    voided = await ban_store.delete_supports(session, user_id) if void_supports else []
    if voided:
        await store.recount_supporters(session, voided)
        after["voided_supports"] = voided
    await store.add_audit(session, moderator_id=actor_id, action="ban", target_user_id=user_id, now=now,
                          before=before, after=after)
    await session.commit()
    return UserActionResult(Outcome.DONE, user_id, changed=True, voided=len(voided))


async def set_moderator(session: AsyncSession, settings: Settings, actor_id: int, user_id: int, grant: bool,
                        now: datetime) -> UserActionResult:
    """/moderators add|remove: admins only. ADMIN_IDS are moderators by the settings, not here."""
    if not await has_rights(session, settings, actor_id):
        return UserActionResult(Outcome.NO_RIGHTS)
    if actor_id not in settings.admin_ids:
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    if user_id in settings.admin_ids:
        return UserActionResult(Outcome.PROTECTED, user_id)
    return await _set_flag(session, settings, actor_id, user_id, "is_moderator", grant,
                           "moderator_add" if grant else "moderator_remove", now)


async def _set_flag(session: AsyncSession, settings: Settings, actor_id: int, user_id: int, flag: str, value: bool,
                    action: str, now: datetime) -> UserActionResult:
    """Set the resident's flag (creating the resident when it is set: a ban can come before their first
    message) and audit it, in one transaction; ALREADY when it was so."""
    if value:
        await store.ensure_user(session, user_id, settings.default_language)
    if not await store.set_user_flag(session, user_id, flag, value):
        await session.commit()
        return UserActionResult(Outcome.ALREADY, user_id)
    await store.add_audit(session, moderator_id=actor_id, action=action, target_user_id=user_id, now=now,
                          before={flag: not value}, after={flag: value})
    await session.commit()
    return UserActionResult(Outcome.DONE, user_id, changed=True)
