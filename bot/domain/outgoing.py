"""Messages to residents through the outbox: the one rendered-message type every renderer returns, and the one
fan-out that renders each distinct message once and writes one outbox row per recipient. No Telegram here."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.models import LANGUAGES


def language_of(language: str | None, default: str) -> str:
    """The language to write to a resident in: theirs when the bot speaks it, else the default."""
    return language if language in LANGUAGES else default


@dataclass(frozen=True)
class Outgoing:
    """HTML text and an inline keyboard as a plain dict (as stored in the outbox row); with `photo_path` the
    text is the photo's caption."""

    text: str
    markup: dict[str, Any] | None = None
    photo_path: str | None = None


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    variant: Hashable  # recipients with the same variant read the same message (a language, and what it tells)
    dedupe_key: str  # a message with this key is never written twice


async def fan_out(session: AsyncSession, recipients: Iterable[Recipient], render: Callable[[Any], Outgoing], *,
                  kind: str, batch_id: str | None = None, not_before: datetime | None = None) -> int:
    """Render each variant once, write one outbox row per recipient (in their order) and return how many rows
    were written (a repeated dedupe key writes nothing). Not committed: the caller commits it together with
    what the message tells of."""
    rendered: dict[Hashable, Outgoing] = {}
    rows = []
    for recipient in recipients:
        if recipient.variant not in rendered:
            rendered[recipient.variant] = render(recipient.variant)
        out = rendered[recipient.variant]
        rows.append({"chat_id": recipient.chat_id, "kind": kind, "text": out.text, "reply_markup": out.markup,
                     "photo_path": out.photo_path, "dedupe_key": recipient.dedupe_key, "batch_id": batch_id})
    return await outbox.enqueue_many(session, rows, not_before=not_before)
