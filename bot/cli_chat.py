"""`python -m bot chat`: the real Dispatcher and handlers, with the terminal standing in for Telegram.
Your lines become messages; the bot's messages print with numbered buttons; a number presses a button."""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import sys
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
    User,
)

from bot.app import create_bot, create_dispatcher, utc_now
from bot.config import Settings
from bot.domain.campaign_file import load_campaign_file
from bot.domain.campaigns import has_any_campaign, import_campaign, shift_to_open
from bot.i18n import create_i18n
from storage.db import close_database, open_database
from storage.users import get_or_create_user, get_user, set_language

CHAT_TOKEN = "1000000:terminal-chat-not-a-real-telegram-token"
DEMO_PHONE = "+37120000000"  # what the contact button shares in the terminal (a made-up number)
BOT_USER = User(id=1000000, is_bot=True, first_name="ManaBalss", username="manabalss_bot")
BOLD, ITALIC, RESET = "\033[1m", "\033[3m", "\033[0m"


def example_campaign_path():
    return resources.files("bot") / "data" / "atverta-latvija.yaml"


def html_to_terminal(text: str, colour: bool) -> str:
    if colour:
        text = re.sub(r"<(b|strong)>", BOLD, text)
        text = re.sub(r"<(i|em)>", ITALIC, text)
        text = re.sub(r"</(b|strong|i|em)>", RESET, text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class TerminalSession(BaseSession):
    """Answers the Bot API calls the handlers make by printing them."""

    def __init__(self, user_id: int, colour: bool) -> None:
        super().__init__()
        self.user_id = user_id
        self.colour = colour
        self.message_ids = itertools.count(1)
        self.buttons: list[tuple[int, Any]] = []  # (message id, button) by the number shown

    async def close(self) -> None:
        pass

    async def stream_content(self, url, headers=None, timeout=30, chunk_size=65536, raise_for_status=True):  # noqa: ASYNC109
        raise NotImplementedError("no files in the terminal chat")
        yield b""  # pragma: no cover

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:  # noqa: ASYNC109
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, SendMessage):
            return self._show(next(self.message_ids), method.text, method.reply_markup, edited=False)
        if isinstance(method, EditMessageText):
            return self._show(method.message_id, method.text, method.reply_markup, edited=True)
        if isinstance(method, SendPhoto | SendDocument):
            what = "photo" if isinstance(method, SendPhoto) else "document"
            return self._show(next(self.message_ids), f"({what}) {method.caption or ''}", method.reply_markup,
                              edited=False)
        if isinstance(method, EditMessageReplyMarkup):
            return True
        if isinstance(method, AnswerCallbackQuery):
            if method.text:
                print(f"  [{method.text}]")
            return True
        return True  # commands menu and the like mean nothing in a terminal

    def _show(self, message_id: int, text: str, markup: Any, edited: bool) -> Message:
        print("\n" + ("─" * 60) + (" (edited)" if edited else ""))
        print(html_to_terminal(text, self.colour))
        rows = (markup.inline_keyboard if isinstance(markup, InlineKeyboardMarkup)
                else markup.keyboard if isinstance(markup, ReplyKeyboardMarkup) else None)
        if rows is not None:
            self.buttons = []
            for row in rows:
                labels = []
                for button in row:
                    self.buttons.append((message_id, button))
                    labels.append(f"[{len(self.buttons)}] {button.text}")
                print("   ".join(labels))
        inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
        return Message(message_id=message_id, date=datetime.now(UTC), text=text, reply_markup=inline,
                       chat=Chat(id=self.user_id, type="private"), from_user=BOT_USER)


async def prepare_database(settings: Settings, user_id: int, language: str | None):
    """The database with a campaign, and the resident: (engine, sessions, whether the resident is new).
    `language` is the language of a new resident only: a returning one keeps the language they chose."""
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    async with sessions() as session:
        if not await has_any_campaign(session):
            spec = load_campaign_file(example_campaign_path())
            spec = shift_to_open(spec, utc_now(), settings.tz)
            report = await import_campaign(session, spec)
            print(f"(empty database: loaded the example campaign, open from today — {report.summary()})")
        new = await get_user(session, user_id) is None
        if new:
            await get_or_create_user(session, user_id, language or settings.default_language)
            if language:
                await set_language(session, user_id, language)
    return engine, sessions, new


async def opening_command(dp: Dispatcher, bot: Bot, user_id: int, new: bool) -> str:
    """What the chat says first: /start to a new resident; /propose to one with an unfinished proposal, so it
    reopens where it stopped; /menu to everyone else."""
    if new:
        return "/start"
    draft = await dp.storage.get_data(StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id))
    return "/propose" if draft.get("title") or draft.get("category_id") else "/menu"


async def run_chat(settings: Settings, *, language: str | None, user_id: int) -> None:
    engine, sessions, new = await prepare_database(settings, user_id, language)
    colour = sys.stdout.isatty()
    session = TerminalSession(user_id, colour)
    settings = settings.model_copy(update={"bot_token": settings.bot_token.__class__(CHAT_TOKEN)})
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(settings, sessions, create_i18n(settings.default_language))
    person = User(id=user_id, is_bot=False, first_name="Resident", language_code=language)
    chat = Chat(id=user_id, type="private")
    update_ids = itertools.count(1)

    async def feed(**event: Any) -> None:
        await dp.feed_update(bot, Update(update_id=next(update_ids), **event))

    async def say(text: str) -> None:
        await feed(message=Message(message_id=0, date=datetime.now(UTC), chat=chat, from_user=person, text=text))

    print("Type a message, a button's number to press it, or /quit to leave.")
    await say(await opening_command(dp, bot, user_id, new))
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = (await loop.run_in_executor(None, _read_line)).strip()
            if line in ("/quit", "/exit", "\x04"):
                break
            if not line:
                continue
            if line.isdigit() and 1 <= int(line) <= len(session.buttons):
                message_id, button = session.buttons[int(line) - 1]
                if isinstance(button, KeyboardButton):  # a reply keyboard's button sends a message
                    if button.request_contact:
                        print(f"  (shared the phone number {DEMO_PHONE}, made up for the terminal)")
                        contact = Contact(phone_number=DEMO_PHONE, first_name=person.first_name, user_id=user_id)
                        await feed(message=Message(message_id=0, date=datetime.now(UTC), chat=chat,
                                                   from_user=person, contact=contact))
                    else:
                        await say(button.text)
                    continue
                if button.url:
                    print(f"  (link: {button.url})")
                    continue
                message = Message(message_id=message_id, date=datetime.now(UTC), chat=chat, from_user=BOT_USER,
                                  text="")
                await feed(callback_query=CallbackQuery(id=str(next(update_ids)), from_user=person,
                                                        chat_instance="terminal", message=message,
                                                        data=button.callback_data))
            else:
                await say(line)
    finally:
        await close_database(engine)


def _read_line() -> str:
    try:
        return input("\n> ")
    except EOFError:
        return "/quit"
