"""Queries behind bans: what a ban took away (the moderator role, supports), read back from the audit log."""

from __future__ import annotations

import json

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry, Vote


async def was_moderator_when_banned(session: AsyncSession, user_id: int) -> bool:
    """True when the resident's latest ban took a moderator role away (then only an admin may lift it)."""
    statement = (
        select(AuditEntry.before).where(AuditEntry.target_user_id == user_id, AuditEntry.action == "ban")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(1)
    )
    before = (await session.exec(statement)).first()
    return bool(before and json.loads(before).get("is_moderator"))


async def delete_supports(session: AsyncSession, user_id: int) -> list[int]:
    """Delete every support of the resident; the ideas they were on (to recount in the same transaction)."""
    idea_ids = list((await session.exec(select(Vote.idea_id).where(Vote.user_id == user_id))).all())
    if idea_ids:
        await session.exec(delete(Vote).where(Vote.user_id == user_id))
    return sorted(idea_ids)
