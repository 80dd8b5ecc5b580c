"""Showing a screen: a new message for a command, an edit in place for a button press."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.ui.screens import Screen

log = logging.getLogger(__name__)


async def show(event: Message | CallbackQuery, screen: Screen, *, alert: str | None = None) -> None:
    if isinstance(event, Message):
        await event.answer(screen.text, reply_markup=screen.markup, disable_web_page_preview=True)
        return
    await edit_in_place(event, screen)
    await event.answer(alert)


async def edit_in_place(query: CallbackQuery, screen: Screen) -> None:
    """Edit the pressed message; send a new one when it can no longer be edited (too old, deleted)."""
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_text(screen.text, reply_markup=screen.markup, disable_web_page_preview=True)
            return
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return  # a second press on the same button: the screen is already right
            log.info("editing message failed (%s); sending a new one", error.message)
    await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup,
                                 disable_web_page_preview=True)
