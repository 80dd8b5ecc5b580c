"""Showing a screen: a new message for a command, an edit in place for a button press."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText
from aiogram.types import CallbackQuery, Message

from bot.ui.screens import Screen

log = logging.getLogger(__name__)


class EditInPlace(EditMessageText):
    """editMessageText whose answer is kept as Telegram's JSON: nobody reads the edited message, and parsing it
    into aiogram's Message (a dozen pydantic objects for a card and its keyboard) took ~0.2 ms of every press."""

    __returning__ = Any


async def show(event: Message | CallbackQuery, screen: Screen, *, alert: str | None = None) -> Message | None:
    """The sent message for a Message event (a prompt's id is kept to recognise replies to it)."""
    if isinstance(event, Message):
        return await event.answer(screen.text, reply_markup=screen.markup, disable_web_page_preview=True)
    await edit_in_place(event, screen)
    await event.answer(alert)
    return None


def message_in_private_chat(message: Message) -> bool:
    return message.chat.type == "private"


def pressed_in_private_chat(query: CallbackQuery) -> bool:
    return query.message is not None and query.message.chat.type == "private"


async def refuse_press(query: CallbackQuery, screen: Screen, alert: str) -> None:
    """A stale or forbidden press: in a private chat the screen replaces the pressed message; in a group only the
    presser sees the alert, since the pressed message (a moderation card) is shared with everyone there."""
    if pressed_in_private_chat(query):
        await show(query, screen, alert=alert)
    else:
        await query.answer(alert, show_alert=True)


async def edit_in_place(query: CallbackQuery, screen: Screen) -> None:
    """Edit the pressed message; send a new one when it can no longer be edited (too old, deleted)."""
    message = query.message
    if isinstance(message, Message):
        try:
            await query.bot(EditInPlace(chat_id=message.chat.id, message_id=message.message_id, text=screen.text,
                                        reply_markup=screen.markup, disable_web_page_preview=True))
            return
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return  # a second press on the same button: the screen is already right
            log.info("editing message failed (%s); sending a new one", error.message)
    await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup,
                                 disable_web_page_preview=True)
