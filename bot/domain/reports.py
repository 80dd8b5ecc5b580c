"""Residents report a published idea (offensive, spam, duplicate); enough reports hide it until a
moderator decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.announcements import announce_hidden
from bot.domain.moderation import Renderer
from storage import ideas as idea_store
from storage import reports as report_store
from storage.models import User

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
    if recorded and await report_store.count_open_reports(session, idea_id) >= settings.reports_to_hide:
        hidden = await report_store.hide(session, idea_id)
        if hidden:
            await announce_hidden(session, idea_id, settings, bot_username, renderer)
    await session.commit()
    return ReportOutcome(recorded=recorded, hidden=hidden)
