"""Conversation (FSM) state rows: one per key, upserted, so a half-written proposal survives a restart."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState, utcnow
from storage.sql import upsert


async def load(session: AsyncSession, key: str) -> ConversationState | None:
    # populate_existing: the session may be an update's, whose identity map holds the row as it was before
    # an upsert of this update (upserts bypass the identity map).
    return await session.get(ConversationState, key, populate_existing=True)


async def save(session: AsyncSession, key: str, **values: Any) -> None:
    """Upsert the state and/or the data of `key` and commit."""
    if "data" in values:
        values["data"] = json.dumps(values["data"], ensure_ascii=False)
    values["updated_at"] = utcnow()
    insert = upsert(session, ConversationState).values(key=key, **{"data": "{}", **values})
    await session.exec(insert.on_conflict_do_update(index_elements=["key"], set_=values))
    await session.commit()


def decode_data(row: ConversationState | None) -> dict[str, Any]:
    return json.loads(row.data) if row and row.data else {}


async def load_all(session: AsyncSession) -> list[ConversationState]:
    """Every stored conversation: only residents in the middle of one (or with a kept draft) have a row."""
    return list((await session.exec(select(ConversationState))).all())


async def forget_if_empty(session: AsyncSession, key: str) -> None:
    """Remove the row of a finished conversation (no state, no data), so the table holds only live ones."""
    await session.exec(
        delete(ConversationState).where(ConversationState.key == key, ConversationState.state.is_(None),
                                        ConversationState.data == "{}")
    )
    await session.commit()
