"""Moderators' work on people and the whole: bans, granting moderators, the review queue, the audit log and the
statistics. No Telegram here; rights are checked fresh from the database in every call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.campaigns import Stats, collect_stats
from bot.domain.lifecycle import Outcome, has_rights, valid_id
from storage import moderation as store
from storage.models import AuditEntry, Idea, User


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

async def queue(session: AsyncSession, settings: Settings, actor_id: int, limit: int = 20) -> Queue | None:
    """/pending: proposals oldest first, and ideas hidden by reports. None without rights."""
    if not await has_rights(session, settings, actor_id):
        return None
    pending, pending_total = await store.pending_ideas(session, limit)
    hidden, hidden_total = await store.hidden_ideas(session, limit)
    return Queue(pending, pending_total, hidden, hidden_total)


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
                     now: datetime) -> UserActionResult:
    """/ban and /unban. Admins cannot be banned; only an admin may ban a moderator."""
    if not await has_rights(session, settings, actor_id):
        return UserActionResult(Outcome.NO_RIGHTS)
    if user_id == actor_id:
        return UserActionResult(Outcome.SELF, user_id)
    if user_id in settings.admin_ids:
        return UserActionResult(Outcome.PROTECTED, user_id)
    target = await store.get_user(session, user_id)
    if banned and target is not None and target.is_moderator and actor_id not in settings.admin_ids:
        return UserActionResult(Outcome.ADMINS_ONLY, user_id)
    return await _set_flag(session, settings, actor_id, user_id, "is_banned", banned,
                           "ban" if banned else "unban", now)


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
