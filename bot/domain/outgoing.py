"""A message rendered for the outbox, the one type every renderer returns (no Telegram here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """HTML text and an inline keyboard as a plain dict (as stored in the outbox row)."""

    text: str
    markup: dict[str, Any] | None = None
