"""/integrity [SLUG]: the campaign's integrity report, for moderators (in a private chat or their chat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.domain import integrity
from bot.ui import integrity_screens as screens
from bot.ui import screens as common
from bot.ui.respond import show
from handlers.moderators import moderator_here
from storage.db import AsyncSession
from storage.models import User


async def integrity_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                            settings: Settings, clock: Callable[[], datetime]) -> None:
    slug = (command.args or "").strip() or None
    report = await integrity.report_for_moderator(session, settings, user.id, slug, clock())
    if report is False:  # rights taken away between the router's filter and the domain
        await show(message, common.unknown_command())
    elif report is None:
        await show(message, screens.no_campaign())
    else:
        await show(message, screens.report_screen(report))


def create_router() -> Router:
    router = Router(name="integrity")
    router.message.filter(moderator_here)
    router.message.register(integrity_command, Command("integrity"))
    return router
