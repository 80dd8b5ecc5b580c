"""Sharing: inline mode (typing the bot's name in any chat offers ideas as cards with an "Open in the bot"
button) and moderators' QR codes for posters (/qr N, /qr campaign)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, InlineQuery, InlineQueryResultsButton, Message
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.domain import sharing
from bot.domain.rules import language_for
from bot.ui import sharing_screens as ss
from bot.ui.respond import show
from bot.ui.screens import Screen, unknown_command
from handlers.moderators import moderator_here
from storage.db import AsyncSession
from storage.models import User

Clock = Callable[[], datetime]


async def inline_ideas(query: InlineQuery, session: AsyncSession, settings: Settings, clock: Clock, i18n: I18n,
                       user: User | None = None) -> None:
    language = user.language if user is not None else language_for(query.from_user.language_code,
                                                                   settings.default_language)
    offset = int(query.offset) if query.offset.isdigit() else 0
    found = await sharing.inline_ideas(session, query.query, offset, clock())
    bot_username = (await query.bot.me()).username
    with i18n.use_locale(language):
        results = [ss.inline_card(idea, language, bot_username) for idea in found.ideas]
        button = None if results else InlineQueryResultsButton(text=ss.inline_nothing_found(),
                                                               start_parameter="inline")
    await query.answer(results, cache_time=60, is_personal=True, button=button,
                       next_offset=str(found.next_offset) if found.next_offset is not None else "")


async def qr_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                     settings: Settings, clock: Clock) -> None:
    if not command.args:
        await show(message, Screen(ss.qr_usage()))
        return
    code = await sharing.qr_code(session, settings, user.id, command.args, (await message.bot.me()).username,
                                 clock())
    if code == "no_rights":
        await show(message, unknown_command())
    elif code == "usage":
        await show(message, Screen(ss.qr_usage()))
    elif code == "not_found":
        await show(message, Screen(ss.qr_not_found()))
    else:
        photo = BufferedInputFile(code.png, filename="manabalss-qr.png")
        await message.answer_photo(photo, caption=ss.qr_caption(code, user.language))


def create_router() -> Router:
    router = Router(name="sharing")
    router.inline_query.register(inline_ideas)
    moderators = Router(name="sharing.moderators")
    moderators.message.filter(moderator_here)
    moderators.message.register(qr_command, Command("qr"))
    router.include_router(moderators)
    return router
