"""Residents' data rights: /privacy (what we keep, why, for how long, who sees it), /mydata (all of it as a JSON
file) and /forget (erasure after a confirmation). Private chats only, like every resident journey."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.config import Settings
from bot.domain import privacy
from bot.ui import privacy_screens as screens
from bot.ui.callbacks import FORGET_NO, FORGET_YES, Forget
from bot.ui.respond import show
from storage.db import AsyncSession
from storage.models import User


async def privacy_command(message: Message, settings: Settings) -> None:
    await show(message, screens.privacy_screen(settings.retention_days))


async def mydata_command(message: Message, session: AsyncSession, user: User, clock: Callable[[], datetime]) -> None:
    document = await privacy.export(session, user.id, clock())
    if document is None:
        await show(message, screens.nothing_stored())
        return
    await message.answer_document(BufferedInputFile(privacy.export_json(document), screens.EXPORT_FILE_NAME),
                                  caption=screens.mydata_caption())


async def forget_command(message: Message) -> None:
    await show(message, screens.forget_question())


async def forget_confirmed(query: CallbackQuery, session: AsyncSession, user: User, state: FSMContext,
                           clock: Callable[[], datetime]) -> None:
    await state.clear()  # the draft goes first, through the conversation storage (its cache, or Redis)
    erasure = await privacy.forget(session, user.id, clock())
    await show(query, screens.forgotten(erasure))


async def forget_declined(query: CallbackQuery) -> None:
    await show(query, screens.kept())


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(mydata_command, Command("mydata"))
    router.message.register(forget_command, Command("forget"))
    router.callback_query.register(forget_confirmed, Forget.filter(F.act == FORGET_YES))
    router.callback_query.register(forget_declined, Forget.filter(F.act == FORGET_NO))
    return router
