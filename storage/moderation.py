"""Moderation queries: the queue, the card's parts, conditional changes of ideas, votes moved by a merge,
reports, the audit log, bans and moderators.

Nothing here commits: bot/domain/moderation.py commits each action as one transaction. Every change of an
idea is a conditional UPDATE (its version and status as the moderator saw them), so two moderators acting at
once cannot overwrite each other: the second one's UPDATE matches no row."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    VISIBLE_STATUSES,
    AuditEntry,
    Category,
    Idea,
    IdeaStatus,
    Report,
    StatusChange,
    User,
    Vote,
    utcnow,
)
from storage.sql import insert_ignoring_conflicts

# Core updates here never touch the session's objects; the domain re-reads what it shows.
_NO_SYNC = {"synchronize_session": False}


# ------------------------------------------------------------------ reading

async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The resident as stored now (not as loaded earlier in this session)."""
    statement = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


async def get_idea(session: AsyncSession, idea_id: int) -> Idea | None:
    """The idea as stored now."""
    statement = select(Idea).where(Idea.id == idea_id).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


async def lock_ideas(session: AsyncSession, idea_ids: Iterable[int]) -> dict[int, Idea]:
    """Read and lock these ideas until the transaction ends, always in the order of their ids (two merges of the
    same pair in opposite directions cannot deadlock). PostgreSQL: SELECT ... FOR UPDATE, which also waits
    for a vote being written on them. SQLite ignores FOR UPDATE: there the first write of a transaction
    takes the database's single write lock, which serialises the same way."""
    statement = (
        select(Idea).where(Idea.id.in_(sorted(set(idea_ids)))).order_by(Idea.id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return {idea.id: idea for idea in (await session.exec(statement)).all()}


async def get_category(session: AsyncSession, category_id: int) -> Category | None:
    return await session.get(Category, category_id)


async def pending_ideas(session: AsyncSession, limit: int) -> tuple[list[Idea], int]:
    """Proposals waiting for a decision, oldest first, and how many there are."""
    condition = Idea.status == IdeaStatus.PENDING
    total = (await session.exec(select(func.count()).select_from(Idea).where(condition))).one()
    rows = await session.exec(select(Idea).where(condition).order_by(Idea.created_at, Idea.id).limit(limit))
    return list(rows.all()), total


async def hidden_ideas(session: AsyncSession, limit: int) -> tuple[list[Idea], int]:
    """Public ideas hidden by residents' reports, waiting for a moderator; oldest first."""
    condition = and_(Idea.hidden.is_(True), Idea.status.in_(VISIBLE_STATUSES))
    total = (await session.exec(select(func.count()).select_from(Idea).where(condition))).one()
    rows = await session.exec(select(Idea).where(condition).order_by(Idea.created_at, Idea.id).limit(limit))
    return list(rows.all()), total


async def status_history(session: AsyncSession, idea_id: int) -> list[StatusChange]:
    statement = (
        select(StatusChange).where(StatusChange.idea_id == idea_id)
        .order_by(StatusChange.created_at, StatusChange.id)
    )
    return list((await session.exec(statement)).all())


async def reports_of(session: AsyncSession, idea_id: int) -> list[Report]:
    statement = select(Report).where(Report.idea_id == idea_id).order_by(Report.created_at, Report.id)
    return list((await session.exec(statement)).all())


async def vote_user_ids(session: AsyncSession, idea_id: int) -> set[int]:
    return set((await session.exec(select(Vote.user_id).where(Vote.idea_id == idea_id))).all())


async def count_vote_rows(session: AsyncSession, idea_id: int) -> int:
    return (await session.exec(select(func.count()).select_from(Vote).where(Vote.idea_id == idea_id))).one()


async def audit_of_idea(session: AsyncSession, idea_id: int, limit: int) -> tuple[list[AuditEntry], int]:
    """The newest `limit` entries of an idea's audit log, oldest first, and how many there are in all."""
    total = (await session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.idea_id == idea_id)
                                )).one()
    rows = await session.exec(
        select(AuditEntry).where(AuditEntry.idea_id == idea_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return list(reversed(rows.all())), total


async def audit_of_user(session: AsyncSession, user_id: int, limit: int) -> tuple[list[AuditEntry], int]:
    """The newest `limit` actions on a resident (bans, moderator rights), oldest first, and the total."""
    condition = AuditEntry.target_user_id == user_id
    total = (await session.exec(select(func.count()).select_from(AuditEntry).where(condition))).one()
    rows = await session.exec(
        select(AuditEntry).where(condition).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return list(reversed(rows.all())), total


async def notification_recipients(session: AsyncSession, idea_id: int, author_id: int | None, *,
                                  supporters: bool = True) -> list[User]:
    """The author (and, with `supporters`, every supporter) of the idea who wants status notifications and can
    be reached."""
    if not supporters:
        if author_id is None:
            return []
        who = User.id == author_id
    else:
        voters = select(Vote.user_id).where(Vote.idea_id == idea_id)
        who = User.id.in_(voters) if author_id is None else or_(User.id.in_(voters), User.id == author_id)
    statement = (
        select(User).where(who, User.notify_status.is_(True), User.is_reachable.is_(True)).order_by(User.id)
    )
    return list((await session.exec(statement)).all())


async def moderators(session: AsyncSession) -> list[User]:
    """Residents made moderators in the database (ADMIN_IDS come from the settings)."""
    return list((await session.exec(select(User).where(User.is_moderator.is_(True)).order_by(User.id))).all())


async def users_by_ids(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, User]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {user.id: user for user in (await session.exec(select(User).where(User.id.in_(ids)))).all()}


# ------------------------------------------------------------------ writing ideas

async def update_idea(
    session: AsyncSession,
    idea_id: int,
    *,
    seen_version: int,
    from_statuses: Sequence[str],
    values: dict[str, Any],
) -> bool:
    """Change the idea only if it is still at `seen_version` and in one of `from_statuses`; bumps its version.
    False when it matched no row (another moderator changed it first)."""
    statement = (
        update(Idea)
        .where(Idea.id == idea_id, Idea.version == seen_version, Idea.status.in_(list(from_statuses)))
        .values(**values, version=Idea.version + 1)
        .execution_options(**_NO_SYNC)
    )
    result = await session.exec(statement)
    return result.rowcount == 1


async def lock_public_idea(session: AsyncSession, idea_id: int) -> bool:
    """Take the write lock of a public idea (a merge's target) without changing it; False when it is not
    public (any more)."""
    statement = (
        update(Idea)
        .where(Idea.id == idea_id, Idea.status.in_(VISIBLE_STATUSES), Idea.hidden.is_(False))
        .values(supporters_count=Idea.supporters_count)
        .execution_options(**_NO_SYNC)
    )
    return (await session.exec(statement)).rowcount == 1


async def move_votes(session: AsyncSession, from_idea_id: int, to_idea_id: int) -> int:
    """Move every support of one idea to another: a resident who supported both keeps one vote (the primary key
    refuses the second, the older one stays). Returns how many votes were added to the target."""
    moved = (
        select(literal(to_idea_id), Vote.user_id, Vote.created_at).where(Vote.idea_id == from_idea_id)
    )
    insert = (
        insert_ignoring_conflicts(session, Vote)
        .from_select(["idea_id", "user_id", "created_at"], moved)
    )
    added = (await session.exec(insert)).rowcount
    await session.exec(delete(Vote).where(Vote.idea_id == from_idea_id).execution_options(**_NO_SYNC))
    return max(added, 0)


async def recount_supporters(session: AsyncSession, idea_ids: Iterable[int]) -> None:
    """Set supporters_count exactly from the vote rows (after votes moved in bulk)."""
    exact = select(func.count()).select_from(Vote).where(Vote.idea_id == Idea.id).scalar_subquery()
    statement = (
        update(Idea).where(Idea.id.in_(sorted(set(idea_ids)))).values(supporters_count=exact)
        .execution_options(**_NO_SYNC)
    )
    await session.exec(statement)


async def add_status_change(
    session: AsyncSession, idea_id: int, status: str, note: str | None, moderator_id: int | None, now: datetime
) -> None:
    session.add(StatusChange(idea_id=idea_id, status=status, note=note, moderator_id=moderator_id, created_at=now))


async def resolve_reports(session: AsyncSession, idea_id: int) -> int:
    statement = (
        update(Report).where(Report.idea_id == idea_id, Report.resolved.is_(False)).values(resolved=True)
        .execution_options(**_NO_SYNC)
    )
    return (await session.exec(statement)).rowcount


# ------------------------------------------------------------------ residents

async def ensure_user(session: AsyncSession, user_id: int, language: str) -> None:
    """Create the resident row if they never wrote to the bot (a ban can come first)."""
    statement = (
        insert_ignoring_conflicts(session, User).values(id=user_id, language=language, created_at=utcnow())
    )
    await session.exec(statement)


async def set_user_flag(session: AsyncSession, user_id: int, flag: str, value: bool) -> bool:
    """Set is_banned / is_moderator / notify_status; False when it already had that value (or no such row)."""
    column = getattr(User, flag)
    statement = (
        update(User).where(User.id == user_id, column.is_(not value)).values(**{flag: value})
        .execution_options(**_NO_SYNC)
    )
    return (await session.exec(statement)).rowcount == 1


# ------------------------------------------------------------------ audit and outbox

async def add_audit(
    session: AsyncSession,
    *,
    moderator_id: int,
    action: str,
    now: datetime,
    idea_id: int | None = None,
    target_user_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    def dump(value: dict[str, Any] | None) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    session.add(AuditEntry(moderator_id=moderator_id, action=action, idea_id=idea_id, target_user_id=target_user_id,
                           before=dump(before), after=dump(after), created_at=now))
