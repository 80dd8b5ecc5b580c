"""The outbox: messages waiting to be delivered by bot/delivery.py.

`enqueue` does not commit: the caller commits it together with the event it tells of (a status change, a
new proposal), so a message is written if and only if its event is."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, utcnow


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    kind: str,
    reply_markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    batch_id: str | None = None,
    photo_path: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add one message; False when a message with the same dedupe_key exists already (written before)."""
    values = {
        "chat_id": chat_id,
        "kind": kind,
        "text": text,
        "reply_markup": json.dumps(reply_markup, ensure_ascii=False) if reply_markup else None,
        "dedupe_key": dedupe_key,
        "batch_id": batch_id,
        "photo_path": photo_path,
        "not_before": not_before or utcnow(),
        "created_at": utcnow(),
    }
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).values(**values).on_conflict_do_nothing()
    result = await session.exec(statement)
    return result.rowcount == 1
