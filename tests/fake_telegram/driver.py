"""Story-style test driver: a Resident sends messages and presses buttons, and gets a Reply back.

Updates reach the bot through a ``feed`` function, so the same story runs against
``Dispatcher.feed_update`` (deterministic, see ``feed_via_dispatcher``), against real polling
(see ``feed_via_polling``) or against a webhook server (``feed_via_webhook``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .server import Call, FakeTelegram, Message

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

Feed = Callable[[dict], Awaitable[None]]

TEXT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})
SENT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})


def feed_via_dispatcher(dp: Dispatcher, bot: Bot) -> Feed:
    """Feeds each update straight into the dispatcher; returns once the handlers are done."""
    from aiogram.types import Update

    async def feed(update: dict) -> None:
        await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

    return feed


def feed_via_polling(fake: FakeTelegram, handled: HandledUpdates) -> Feed:
    """Queues the update for a polling bot; returns when the bot reports it handled (see HandledUpdates)."""

    async def feed(update: dict) -> None:
        fake.push_update(update)
        await handled.wait(update["update_id"])

    return feed


class HandledUpdates:
    """The updates a bot has finished. aiogram logs "Update id=N is handled" (or "not handled") once the handlers
    returned, so every request they made was answered by then: an event, where a quiet spell would be a guess.

    Fed with the log lines of a bot process (``read``) or of the bot in this process (``listening``)."""

    LINE = re.compile(r"Update id=(\d+) is (?:not )?handled")

    def __init__(self) -> None:
        self.log: list[str] = []
        self._ids: set[int] = set()
        self._changed = asyncio.Event()

    def add(self, line: str) -> None:
        self.log.append(line)
        if match := self.LINE.search(line):
            self._ids.add(int(match.group(1)))
            self._changed.set()

    async def wait(self, update_id: int, timeout: float = 60) -> None:  # noqa: ASYNC109
        """The bound only turns a hang into a clear failure: it is generous for a loaded machine."""
        try:
            async with asyncio.timeout(timeout):
                while update_id not in self._ids:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"the bot did not finish update {update_id} within {timeout:g} s") from None

    async def read(self, stream: asyncio.StreamReader) -> None:
        """Reads a bot process's log (its stderr) until the process ends."""
        async for line in stream:
            self.add(line.decode(errors="replace"))

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """Hears aiogram's log lines while a bot runs in this process."""
        logger, handler = logging.getLogger("aiogram.event"), _LineHandler(self.add)
        level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


class _LineHandler(logging.Handler):
    def __init__(self, add: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._add = add

    def emit(self, record: logging.LogRecord) -> None:
        self._add(record.getMessage())


def feed_via_webhook(fake: FakeTelegram, url: str, secret: str) -> Feed:
    """POSTs the update to a webhook server as Telegram does; returns once it was acknowledged (the bot
    answers after handling the update) and the call its response may carry was made (FakeTelegram.webhook_response)."""
    import aiohttp

    async def feed(update: dict) -> None:
        async with aiohttp.ClientSession() as http, http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        ) as response:
            assert response.status == 200, f"the webhook answered {response.status}: {await response.text()}"
            await fake.webhook_response(response.headers.get("Content-Type", ""), await response.read())

    return feed


@dataclass(frozen=True)
class Alert:
    """An answerCallbackQuery with a text: a toast, or a modal box when show_alert is set."""

    text: str
    show_alert: bool


class Reply:
    """What the bot did in one chat while handling one update."""

    def __init__(self, calls: list[Call], callback_query_id: str | None = None) -> None:
        self.calls = calls
        self.callback_query_id = callback_query_id

    @property
    def ok_calls(self) -> list[Call]:
        return [c for c in self.calls if c.ok]

    @property
    def errors(self) -> list[Call]:
        """Calls Telegram refused (the bot may have handled the error)."""
        return [c for c in self.calls if not c.ok]

    @property
    def sent(self) -> list[Message]:
        """New messages, as sent."""
        return [c.message for c in self.ok_calls if c.method in SENT_METHODS and c.message]

    @property
    def edited(self) -> list[Message]:
        """Edited messages, each as it was right after its edit."""
        return [c.message for c in self.ok_calls if c.method in EDIT_METHODS and c.message]

    @property
    def deleted(self) -> list[int]:
        return [c.params["message_id"] for c in self.ok_calls if c.method == "deleteMessage"]

    @property
    def texts(self) -> list[str]:
        """Texts of new and edited messages (captions of photos), in order."""
        texts = []
        for call in self.ok_calls:
            if call.method in TEXT_METHODS and call.message:
                text = call.message.text if call.message.text is not None else call.message.caption
                if text:
                    texts.append(text)
        return texts

    @property
    def text(self) -> str:
        """The last text the bot sent or edited in."""
        assert self.texts, f"the bot sent no text; calls: {self.describe()}"
        return self.texts[-1]

    @property
    def alerts(self) -> list[Alert]:
        return [
            Alert(c.params["text"], bool(c.params.get("show_alert")))
            for c in self.ok_calls
            if c.method == "answerCallbackQuery" and c.params.get("text")
        ]

    @property
    def answered(self) -> bool:
        return any(c.method == "answerCallbackQuery" for c in self.ok_calls)

    @property
    def keyboard_message(self) -> Message | None:
        """The last message touched in this reply that (still) has an inline keyboard."""
        latest: dict[int, Message] = {}
        for message in self.sent + self.edited:
            latest.pop(message.message_id, None)  # re-insert so order follows the latest touch
            latest[message.message_id] = message
        with_keyboard = [m for m in latest.values() if m.reply_markup]
        return with_keyboard[-1] if with_keyboard else None

    @property
    def buttons(self) -> list[str]:
        """Visible button texts of ``keyboard_message``, flattened."""
        message = self.keyboard_message
        return message.button_texts if message else []

    def describe(self) -> str:
        return "; ".join(_describe(c) for c in self.calls) or "(none)"

    def __repr__(self) -> str:
        return f"Reply({self.describe()})"


class Resident:
    """A Telegram user talking to the bot in a private chat."""

    def __init__(
        self,
        fake: FakeTelegram,
        feed: Feed,
        user_id: int,
        *,
        first_name: str = "Anna",
        language_code: str | None = "lv",
        username: str | None = None,
    ) -> None:
        self.fake = fake
        self.feed = feed
        self.user_id = user_id
        fake.add_user(user_id, first_name=first_name, language_code=language_code, username=username)

    @property
    def messages(self) -> list[Message]:
        """The bot's messages in this chat, current state."""
        return self.fake.messages(self.user_id)

    @property
    def last(self) -> Message | None:
        return self.fake.last_message(self.user_id)

    async def send(self, text: str, **extra: Any) -> Reply:
        return await self._deliver(self.fake.message_update(self.user_id, text, **extra))

    async def send_sticker(self) -> Reply:
        return await self._deliver(self.fake.sticker_update(self.user_id))

    async def send_photo(self, caption: str | None = None) -> Reply:
        return await self._deliver(self.fake.photo_update(self.user_id, caption))

    async def share_contact(self, phone_number: str, *, contact_user_id: int | None = None) -> Reply:
        """Shares a phone number with Telegram's contact button (another person's when contact_user_id is set)."""
        return await self._deliver(self.fake.contact_update(self.user_id, phone_number,
                                                            contact_user_id=contact_user_id))

    async def inline_query(self, query: str) -> dict:
        """Types "@bot query" in a chat; returns answerInlineQuery's parameters (results, button, ...)."""
        update = self.fake.inline_query_update(self.user_id, query)
        await self.feed(update)
        answer = self.fake.inline_answers.get(update["inline_query"]["id"])
        assert answer is not None, f"the bot did not answer the inline query {query!r}"
        return answer

    async def block(self) -> Reply:
        """Blocks the bot: Telegram sends my_chat_member "kicked" and refuses further sends."""
        return await self._deliver(self.fake.my_chat_member_update(self.user_id, "kicked"))

    async def unblock(self) -> Reply:
        return await self._deliver(self.fake.my_chat_member_update(self.user_id, "member"))

    async def press(self, button_text: str, *, message: Message | int | None = None) -> Reply:
        """Presses the inline button labelled ``button_text`` and checks the bot answered the query."""
        target = self._keyboard_message(message)
        data = _find_button(target, button_text)
        return await self.press_data(data, target.message_id, label=button_text)

    async def press_data(
        self, data: str, message_id: int, *, expect_answer: bool = True, label: str | None = None
    ) -> Reply:
        """Sends a callback query with any data for any message id (forged or stale presses)."""
        update = self.fake.callback_update(self.user_id, message_id, data)
        query_id = update["callback_query"]["id"]
        reply = await self._deliver(update, query_id)
        if expect_answer:
            what = f"button {label!r}" if label else f"callback data {data!r}"
            assert self.fake.callbacks[query_id].answered, (
                f"the bot did not answer the callback query of {what}; calls: {reply.describe()}"
            )
        return reply

    async def _deliver(self, update: dict, callback_query_id: str | None = None) -> Reply:
        start = len(self.fake.requests)
        await self.feed(update)
        calls = [c for c in self.fake.requests[start:] if c.chat_id == self.user_id]
        return Reply(calls, callback_query_id)

    def _keyboard_message(self, message: Message | int | None) -> Message:
        if isinstance(message, Message):
            message = message.message_id
        if message is not None:
            found = self.fake.message(self.user_id, message)
            assert found is not None, f"message {message} is not in the chat with {self.user_id}"
            return found
        with_keyboard = [m for m in self.messages if m.reply_markup]
        assert with_keyboard, f"no bot message with an inline keyboard in the chat with {self.user_id}"
        return with_keyboard[-1]


def _find_button(message: Message, label: str) -> str:
    """callback_data of the button labelled ``label``: exact text, else a unique substring."""
    buttons = [button for row in message.buttons for button in row]
    matches = [b for b in buttons if b[0] == label] or [b for b in buttons if label in b[0]]
    shown = ", ".join(repr(text) for text, _ in buttons) or "(none)"
    assert matches, f"no button {label!r} in message {message.message_id}; buttons: {shown}"
    assert len(matches) == 1, f"button {label!r} is ambiguous in message {message.message_id}; buttons: {shown}"
    raw = next(b for row in message.reply_markup["inline_keyboard"] for b in row if b["text"] == matches[0][0])
    assert "callback_data" in raw, f"button {label!r} has no callback_data (it is {raw}); it cannot be pressed"
    return raw["callback_data"]


def _describe(call: Call) -> str:
    if not call.ok:
        return f"{call.method} -> {call.error_code} {call.description}"
    if call.message is not None and call.method in TEXT_METHODS:
        text = call.message.text if call.message.text is not None else call.message.caption
        return f"{call.method}({text!r}, buttons={call.message.button_texts})"
    if call.method == "answerCallbackQuery":
        return f"answerCallbackQuery({call.params.get('text')!r})"
    return call.method
