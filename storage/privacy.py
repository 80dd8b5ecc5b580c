"""Residents' data rights in SQL: everything stored about one resident (for /mydata), erasing them (/forget), and
pruning what is kept only for a while (the retention job). Nothing here commits: bot/domain/privacy.py commits
each of these as one transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    VISIBLE_STATUSES,
    AuditEntry,
    Broadcast,
    Campaign,
    CategoryInterest,
    ConversationState,
    Idea,
    IdeaStatus,
    JobRun,
    OutboxMessage,
    OutboxStatus,
    Report,
    StatusChange,
    User,
    Vote,
)

_NO_SYNC = {"synchronize_session": False}
# Outbox rows whose delivery is over: kept only for RETENTION_DAYS (they hold a chat id and the full text).
FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.BLOCKED, OutboxStatus.FAILED)
# Ideas that are the campaign's public record: they stay after their author is forgotten, without the author.
RECORD_STATUSES = (*VISIBLE_STATUSES, IdeaStatus.MERGED)
# Who did something, in tables that keep what moderators did: set to this when that moderator is forgotten.
FORGOTTEN_MODERATOR = 0


# ------------------------------------------------------------------ reading (for /mydata)

async def resident(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def supports(session: AsyncSession, user_id: int) -> list[tuple[Vote, Idea]]:
    statement = select(Vote, Idea).join(Idea, Idea.id == Vote.idea_id).where(Vote.user_id == user_id) \
        .order_by(Vote.created_at, Vote.idea_id)
    return [(vote, idea) for vote, idea in (await session.exec(statement)).all()]


async def proposals(session: AsyncSession, user_id: int) -> list[tuple[Idea, list[StatusChange]]]:
    ideas = list((await session.exec(select(Idea).where(Idea.author_id == user_id).order_by(Idea.id))).all())
    if not ideas:
        return []
    changes = (await session.exec(select(StatusChange).where(StatusChange.idea_id.in_([i.id for i in ideas]))
                                  .order_by(StatusChange.created_at, StatusChange.id))).all()
    history: dict[int, list[StatusChange]] = {}
    for change in changes:
        history.setdefault(change.idea_id, []).append(change)
    return [(idea, history.get(idea.id, [])) for idea in ideas]


async def reports(session: AsyncSession, user_id: int) -> list[Report]:
    return list((await session.exec(select(Report).where(Report.user_id == user_id).order_by(Report.id))).all())


async def category_interests(session: AsyncSession, user_id: int) -> list[int]:
    statement = select(CategoryInterest.category_id).where(CategoryInterest.user_id == user_id)
    return sorted((await session.exec(statement)).all())


async def conversations(session: AsyncSession, user_id: int) -> list[ConversationState]:
    """Conversation rows of the resident (keys "<bot>:<chat>:<user>:..." hold their id as one part)."""
    candidates = await session.exec(select(ConversationState).where(ConversationState.key.contains(str(user_id))))
    return [row for row in candidates.all() if str(user_id) in row.key.split(":")]


async def waiting_messages(session: AsyncSession, user_id: int) -> list[OutboxMessage]:
    statement = select(OutboxMessage).where(OutboxMessage.chat_id == user_id,
                                            OutboxMessage.status.not_in(FINISHED_OUTBOX)).order_by(OutboxMessage.id)
    return list((await session.exec(statement)).all())


async def audit_about(session: AsyncSession, user_id: int) -> list[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.target_user_id == user_id).order_by(AuditEntry.id)
    return list((await session.exec(statement)).all())


# ------------------------------------------------------------------ erasing (for /forget)

async def withdraw_supports(session: AsyncSession, user_id: int, now: datetime) -> tuple[list[int], int]:
    """Delete every support of the resident. Ideas of campaigns still running are recounted (the support is
    withdrawn); a closed campaign's counts stay as they are (kept as anonymous counts). Returns the recounted
    ideas and the number of supports kept as counts only."""
    rows = (await session.exec(
        select(Vote.idea_id, Campaign.ends_at).join(Idea, Idea.id == Vote.idea_id)
        .join(Campaign, Campaign.id == Idea.campaign_id).where(Vote.user_id == user_id))).all()
    running = sorted(idea_id for idea_id, ends_at in rows if ends_at > now)
    await session.exec(delete(Vote).where(Vote.user_id == user_id))
    if running:
        exact = select(func.count()).select_from(Vote).where(Vote.idea_id == Idea.id).scalar_subquery()
        await session.exec(update(Idea).where(Idea.id.in_(running)).values(supporters_count=exact)
                           .execution_options(**_NO_SYNC))
    return running, len(rows) - len(running)


async def detach_or_delete_proposals(session: AsyncSession, user_id: int) -> tuple[list[int], list[int]]:
    """Published (and merged) ideas stay as the campaign's record without their author; proposals nobody else
    ever saw (pending, rejected) are deleted with their moderators' posts still waiting. Returns both id lists."""
    authored = (await session.exec(select(Idea.id, Idea.status).where(Idea.author_id == user_id))).all()
    kept = sorted(idea_id for idea_id, status in authored if status in RECORD_STATUSES)
    deleted = sorted(idea_id for idea_id, status in authored if status not in RECORD_STATUSES)
    if kept:
        await session.exec(update(Idea).where(Idea.id.in_(kept)).values(author_id=None).execution_options(**_NO_SYNC))
    if deleted:
        await session.exec(delete(OutboxMessage).where(or_(*(
            OutboxMessage.dedupe_key.startswith(f"proposal:{idea_id}") for idea_id in deleted))))
        await session.exec(delete(Idea).where(Idea.id.in_(deleted)))
    return kept, deleted


async def pseudonymise_audit(session: AsyncSession, user_id: int, pseudonym: str) -> int:
    """Audit entries about the resident keep what moderators did, with the resident as a pseudonym."""
    entries = await audit_about(session, user_id)
    for entry in entries:
        after = json.loads(entry.after) if entry.after else {}
        after["resident"] = pseudonym
        entry.after = json.dumps(after, ensure_ascii=False, sort_keys=True)
        entry.target_user_id = None
        session.add(entry)
    # A moderator who asks to be forgotten: what they did stays, not who they were.
    await session.exec(update(AuditEntry).where(AuditEntry.moderator_id == user_id)
                       .values(moderator_id=FORGOTTEN_MODERATOR).execution_options(**_NO_SYNC))
    await session.exec(update(StatusChange).where(StatusChange.moderator_id == user_id)
                       .values(moderator_id=FORGOTTEN_MODERATOR).execution_options(**_NO_SYNC))
    await session.exec(update(Broadcast).where(Broadcast.moderator_id == user_id)
                       .values(moderator_id=FORGOTTEN_MODERATOR).execution_options(**_NO_SYNC))
    await session.exec(update(Broadcast).where(Broadcast.approved_by == user_id)
                       .values(approved_by=FORGOTTEN_MODERATOR).execution_options(**_NO_SYNC))
    return len(entries)


async def delete_messages_and_conversations(session: AsyncSession, user_id: int) -> int:
    """Every outbox row to the resident (nothing of theirs is sent again), moderators' posts still waiting that
    name them, and their conversation rows. Returns the outbox rows deleted."""
    result = await session.exec(delete(OutboxMessage).where(or_(
        OutboxMessage.chat_id == user_id,
        (OutboxMessage.kind == "moderation") & OutboxMessage.text.contains(str(user_id)))))
    for row in await conversations(session, user_id):
        await session.delete(row)
    return max(result.rowcount, 0)


async def delete_resident(session: AsyncSession, user_id: int) -> None:
    """The resident row; their reports and category interests go with it (ON DELETE CASCADE, and explicitly for
    SQLite connections without foreign keys)."""
    await session.exec(delete(Report).where(Report.user_id == user_id))
    await session.exec(delete(CategoryInterest).where(CategoryInterest.user_id == user_id))
    await session.exec(delete(User).where(User.id == user_id))


# ------------------------------------------------------------------ retention

async def prune(session: AsyncSession, before: datetime) -> dict[str, int]:
    """Delete finished outbox rows, job runs and idle conversations older than `before`; counts per table."""
    outbox_rows = await session.exec(delete(OutboxMessage).where(
        OutboxMessage.status.in_(FINISHED_OUTBOX), OutboxMessage.created_at < before))
    job_runs = await session.exec(delete(JobRun).where(JobRun.created_at < before))
    conversation_rows = await session.exec(delete(ConversationState).where(ConversationState.updated_at < before))
    return {"outbox": max(outbox_rows.rowcount, 0), "job_run": max(job_runs.rowcount, 0),
            "conversation_state": max(conversation_rows.rowcount, 0)}
