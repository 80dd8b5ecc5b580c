"""Pure rules of a campaign: no database, no Telegram. Tested directly in tests/test_rules.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.ids import parse_id
from storage.models import VISIBLE_STATUSES


class Phase(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


def campaign_phase(starts_at: datetime, ends_at: datetime, now: datetime) -> Phase:
    if now < starts_at:
        return Phase.UPCOMING
    if now < ends_at:
        return Phase.OPEN
    return Phase.CLOSED


class VoteRefusal(StrEnum):
    """Why a support (or its withdrawal) is not possible now."""

    NOT_STARTED = "not_started"
    ENDED = "ended"
    IDEA_NOT_PUBLIC = "idea_not_public"
    FINAL = "final"  # the campaign counts a support like a signature: it cannot be withdrawn
    BANNED = "banned"


@dataclass(frozen=True)
class VotingWindow:
    starts_at: datetime
    ends_at: datetime
    votes_revocable: bool


def support_refusal(window: VotingWindow, idea_status: str, now: datetime) -> VoteRefusal | None:
    """None when a resident may support the idea now, else the reason they may not."""
    if idea_status not in VISIBLE_STATUSES:
        return VoteRefusal.IDEA_NOT_PUBLIC
    phase = campaign_phase(window.starts_at, window.ends_at, now)
    if phase is Phase.UPCOMING:
        return VoteRefusal.NOT_STARTED
    if phase is Phase.CLOSED:
        return VoteRefusal.ENDED
    return None


def withdrawal_refusal(window: VotingWindow, idea_status: str, now: datetime) -> VoteRefusal | None:
    """Withdrawing follows the same dates, and only where the campaign allows it at all."""
    refusal = support_refusal(window, idea_status, now)
    if refusal is None and not window.votes_revocable:
        return VoteRefusal.FINAL
    return refusal


START_IDEA_PREFIX = "idea_"


def idea_start_payload(idea_id: int) -> str:
    return f"{START_IDEA_PREFIX}{idea_id}"


def parse_start_payload(payload: str | None) -> int | None:
    """The idea id of a shared link's payload ("idea_42"), or None for anything else."""
    if not payload or not payload.startswith(START_IDEA_PREFIX):
        return None
    return parse_id(payload.removeprefix(START_IDEA_PREFIX))


def language_for(telegram_language_code: str | None, default: str = "lv") -> str:
    """The first language of a new resident: Russian and Latvian by Telegram's setting, else `default`."""
    code = (telegram_language_code or "").lower().split("-")[0]
    if code in ("ru", "lv"):
        return code
    return default


MAX_SEARCH_LENGTH = 100
