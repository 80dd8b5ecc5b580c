"""Residents report a published idea (offensive, spam, duplicate). Every report goes to the moderators' queue
(/pending). An idea is hidden before a moderator decides only when enough residents with a history report it
(in the bot for REPORTER_MIN_AGE_DAYS and took part before), and enough relative to its support
(REPORTS_HIDE_SHARE of its supporters, at least REPORTS_TO_HIDE): three fresh accounts can hide nothing. Its
supporters keep their supports while it is hidden, and may withdraw them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.announcements import announce_hidden
from bot.domain.moderation import Renderer
from storage import ideas as idea_store
from storage import reports as report_store
from storage.models import Idea, User

REASONS = ("offensive", "spam", "duplicate")


class ReportRefusal(StrEnum):
    UNKNOWN_REASON = "unknown_reason"
    NOT_PUBLIC = "not_public"
    BANNED = "banned"


@dataclass(frozen=True)
class ReportOutcome:
    refusal: ReportRefusal | None = None
    recorded: bool = False  # False without a refusal: this resident had reported it already
    hidden: bool = False


def reports_needed(supporters: int, settings: Settings) -> int:
    """Trusted reports that hide an idea with this many supporters."""
    return max(settings.reports_to_hide, math.ceil(supporters * settings.reports_hide_share))


async def _enough_to_hide(session: AsyncSession, idea: Idea, now: datetime, settings: Settings) -> bool:
    joined_before = now - timedelta(days=settings.reporter_min_age_days)
    trusted = await report_store.count_trusted_open_reports(session, idea.id, joined_before)
    return trusted >= reports_needed(idea.supporters_count, settings)


async def report_idea(session: AsyncSession, user: User, idea_id: int, reason: str, now: datetime,
                      settings: Settings, bot_username: str, renderer: Renderer) -> ReportOutcome:
    if reason not in REASONS:
        return ReportOutcome(ReportRefusal.UNKNOWN_REASON)
    if user.is_banned:
        return ReportOutcome(ReportRefusal.BANNED)
    found = await idea_store.get_idea_with_category(session, idea_id)
    if found is None or not idea_store.is_public(found[0]):
        return ReportOutcome(ReportRefusal.NOT_PUBLIC)
    recorded = await report_store.add_report(session, idea_id, user.id, reason, now)
    hidden = False
    if recorded and await _enough_to_hide(session, found[0], now, settings):
        hidden = await report_store.hide(session, idea_id)
        if hidden:
            await announce_hidden(session, idea_id, settings, bot_username, renderer)
    await session.commit()
    return ReportOutcome(recorded=recorded, hidden=hidden)
