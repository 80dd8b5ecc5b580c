"""A fake Telegram Bot API server for tests.

The bot under test talks to it through aiogram's real AiohttpSession, so requests go over HTTP exactly
as in production. Answers, including errors and their descriptions, copy Telegram's, so bugs such as
bad HTML, over-long texts, unanswered callback queries or no-op edits fail tests. A call carried by the response
to a webhook POST is made as Telegram makes it (``webhook_response``), so a webhook bot's calls are all seen.
"""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
import itertools
import json
import math
import re
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from .html_check import EntityParseError, clean_text, parse_html_entities, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes of UTF-8
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MAX_INLINE_RESULTS = 50
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip
BUTTON_KINDS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)  # fmt: skip

# Form fields arrive as strings; these are decoded the way Telegram reads them.
JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope",
        "menu_button", "link_preview_options", "reply_parameters", "results", "button",
    }
)  # fmt: skip
INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "user_id"})
BOOL_FIELDS = frozenset(
    {"show_alert", "disable_notification", "protect_content", "drop_pending_updates", "has_spoiler",
     "allow_paid_broadcast"}
)


class ApiError(Exception):
    """An error answer: raised inside method handlers, turned into Telegram's JSON error body."""

    def __init__(self, error_code: int, description: str | None = None, *, retry_after: int | None = None):
        self.error_code = error_code
        self.description = description or DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        self.retry_after = retry_after
        super().__init__(self.description)

    def body(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# ---------------------------------------------------------------- records the tests look at


@dataclass
class UploadedFile:
    filename: str
    size: int
    content_type: str | None = None
    data: bytes = b""


@dataclass
class Message:
    """The fake's record of one message in a private chat (current state, edits applied)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    html: str | None = None  # the text or caption as the bot sent it, before parsing
    entities: list[dict] = field(default_factory=list)
    reply_markup: dict | None = None  # inline keyboard only, as Telegram echoes it
    reply_keyboard: dict | None = None  # ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply
    photo: bool = False
    photo_size: int | None = None  # bytes of an uploaded photo
    upload: UploadedFile | None = None  # the uploaded photo or document itself
    caption: str | None = None
    paid_broadcast: bool = False  # sent with allow_paid_broadcast
    edit_date: int | None = None
    extra: dict = field(default_factory=dict)  # other fields of incoming user messages

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Rows of (visible text, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data", b.get("url"))) for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    def content(self) -> tuple:
        """What Telegram compares to decide whether an edit changes anything."""
        return (self.text, self.caption, self.entities, self.reply_markup)


@dataclass
class Call:
    """One request the bot made, with the answer it got."""

    method: str
    params: dict
    response: dict
    ok: bool
    chat_id: int | None = None
    message: Message | None = None  # snapshot of the message the call created or edited
    at: float = 0.0
    in_webhook_response: bool = False  # carried by the response to a webhook POST (see webhook_response)

    @property
    def error_code(self) -> int | None:
        return self.response.get("error_code")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    message_id: int
    data: str
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


@dataclass
class User:
    user_id: int
    first_name: str = "Anna"
    language_code: str | None = "lv"
    username: str | None = None
    blocked: bool = False
    deactivated: bool = False
    messages: dict[int, Message] = field(default_factory=dict)  # the private chat with the bot
    next_message_id: int = 1

    def to_api(self) -> dict:
        user = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_api(self) -> dict:
        chat = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat

    def new_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class _Fault:
    method: str  # lower-case method name, or "*"
    error_code: int
    description: str | None
    retry_after: int | None
    times: int
    chat_id: int | None

    def matches(self, method: str, chat_id: int | None) -> bool:
        return self.method in ("*", method.lower()) and self.chat_id in (None, chat_id)


@dataclass
class _RateLimits:
    """Free sends are held to `global_` a second; sends with allow_paid_broadcast to `paid_global` a second
    counting every send (Telegram's paid broadcasts); each chat to `per_chat` whatever the flag."""

    per_chat: float
    global_: float
    methods: frozenset[str]
    paid_global: float = 1000
    per_chat_sent: dict[int, deque[float]] = field(default_factory=dict)
    global_sent: deque[float] = field(default_factory=deque)  # free sends
    all_sent: deque[float] = field(default_factory=deque)

    def check(self, chat_id: int, now: float, paid: bool = False) -> None:
        """Raises 429 when one more send would exceed a limit within the sliding 1-second window."""
        chat_sent = self.per_chat_sent.setdefault(chat_id, deque())
        for sent in (chat_sent, self.global_sent, self.all_sent):
            while sent and sent[0] <= now - 1:
                sent.popleft()
        if len(chat_sent) >= self.per_chat:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        window, limit = (self.all_sent, self.paid_global) if paid else (self.global_sent, self.global_)
        if len(window) >= limit:
            wait = max(1, math.ceil(window[0] + 1 - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def record(self, chat_id: int, now: float, paid: bool = False) -> None:
        self.per_chat_sent.setdefault(chat_id, deque()).append(now)
        self.all_sent.append(now)
        if not paid:
            self.global_sent.append(now)


Handler = Callable[[dict, Call], Awaitable[Any]]
_API_METHODS: dict[str, str] = {}  # lower-case name -> name of the FakeTelegram method that serves it


def api_method(name: str) -> Callable:
    """Registers a FakeTelegram method as the handler of Bot API method ``name``."""

    def register(func: Callable) -> Callable:
        _API_METHODS[name.lower()] = func.__name__
        func.api_name = name
        return func

    return register


# ---------------------------------------------------------------- the server


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "manabalss_test_bot",
        *,
        bot_first_name: str = "ManaBalss Test",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.requests: list[Call] = []
        self.users: dict[int, User] = {}
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.my_commands: dict[tuple[str, str], list[dict]] = {}
        self.inline_answers: dict[str, dict] = {}  # inline query id -> answerInlineQuery's parameters
        self.menu_buttons: dict[int | None, dict] = {}
        self.webhook_url = ""
        self.base_url = ""
        self._updates: list[dict] = []
        self._last_update_id = 0  # the last update_id handed out (by a builder or push_update)
        self._last_queued_id = 0  # queued update_ids must increase, as Telegram's do
        self._confirmed_below = 0  # every update_id below this was confirmed by getUpdates(offset)
        self._poll_generation = 0
        self._faults: list[_Fault] = []
        self._paid_refusal: tuple[int, str] | None = None  # see refuse_paid_broadcasts
        self._delays: list[list] = []  # [lower-case method, seconds, times left]
        self._hold: list | None = None  # [lower-case method, calls still answered before holding]
        self._released = asyncio.Event()
        self.held = 0  # calls waiting for release()
        self._rate_limits: _RateLimits | None = None
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def stop(self) -> None:
        self._stopping.set()
        self.release()
        self._notify()  # long polls return at once instead of holding up shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ users and chats

    def add_user(
        self, user_id: int, first_name: str = "Anna", language_code: str | None = "lv", username: str | None = None
    ) -> User:
        """Registers a user and their private chat with the bot (updates the profile if known)."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = User(user_id)
        user.first_name, user.language_code, user.username = first_name, language_code, username
        return user

    def block(self, user_id: int) -> None:
        self._user(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self._user(user_id).blocked = False

    def deactivate(self, user_id: int) -> None:
        self._user(user_id).deactivated = True

    def messages(self, chat_id: int) -> list[Message]:
        """The bot's messages in that chat, current state (edits applied, deleted ones gone), oldest first."""
        user = self.users.get(chat_id)
        return [m for m in user.messages.values() if m.from_bot] if user else []

    def last_message(self, chat_id: int) -> Message | None:
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int, message_id: int) -> Message | None:
        user = self.users.get(chat_id)
        return user.messages.get(message_id) if user else None

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.requests
            if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
        ]

    def unanswered_callbacks(self) -> list[CallbackQueryRecord]:
        return [q for q in self.callbacks.values() if not q.answered]

    def _user(self, user_id: int) -> User:
        return self.users.get(user_id) or self.add_user(user_id)

    # ------------------------------------------------------------ fault injection and limits

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" for any), optionally only to ``chat_id``, fail."""
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        self._faults.append(_Fault(method.lower(), error_code, description, retry_after, times, chat_id))

    def refuse_paid_broadcasts(self, error_code: int = 400,
                               description: str = "Bad Request: not enough Stars for a paid broadcast") -> None:
        """From now on every send with allow_paid_broadcast fails, as when the bot's Stars ran out or it may not
        broadcast paid (Telegram does not document its exact answer: the bot must not depend on the text)."""
        self._paid_refusal = (error_code, description)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer only after ``seconds`` (to provoke timeouts)."""
        self._delays.append([method.lower(), seconds, times])

    def hold(self, method: str, *, after: int = 0) -> None:
        """Calls of ``method`` after the next ``after`` get no answer until ``release()``: the client is left with
        requests in flight for as long as the test needs, however fast or slow the machine is."""
        self._hold = [method.lower(), after]
        self._released = asyncio.Event()

    def release(self) -> None:
        """Answers the held calls (and stops holding)."""
        self._hold = None
        self._released.set()

    def enable_rate_limits(
        self,
        per_chat_per_second: float = 1,
        global_per_second: float = 30,
        *,
        methods: frozenset[str] | set[str] = SEND_METHODS,
        paid_per_second: float = 1000,
    ) -> None:
        """Telegram-like flood limits on ``methods`` (sends by default); raise the numbers for benchmarks.
        Sends with allow_paid_broadcast are held to ``paid_per_second`` of all sends instead of the global limit."""
        self._rate_limits = _RateLimits(per_chat_per_second, global_per_second, frozenset(methods),
                                        paid_per_second)

    def disable_rate_limits(self) -> None:
        self._rate_limits = None

    # ------------------------------------------------------------ updates and long polling

    def push_update(self, update: dict) -> dict:
        """Queues an update for getUpdates; gives it a new update_id unless it has one above the queued ones."""
        floor = max(self._last_queued_id, self._confirmed_below - 1)
        if update.get("update_id", 0) <= floor:
            self._last_update_id = max(self._last_update_id, floor)
            update["update_id"] = self._new_update_id()
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self._last_queued_id = update["update_id"]
        self._updates.append(update)
        self._notify()
        return update

    @property
    def polls_received(self) -> int:
        """How many getUpdates calls arrived, finished or still waiting."""
        return self._poll_generation

    @property
    def pending_updates(self) -> list[dict]:
        return list(self._updates)

    # The timeouts of the waits below only turn a hang into a failure: generous, for a loaded machine.
    async def wait_confirmed(self, update_id: int, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Waits until the bot called getUpdates with an offset past ``update_id``."""
        await self._wait_until(lambda: self._confirmed_below > update_id, timeout, f"update {update_id} confirmed")

    async def wait_idle(self, quiet: float = 0.05, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Waits until, from now on, no request (other than getUpdates) ran or arrived for ``quiet`` s."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            idle_for = time.monotonic() - max(self._last_activity, started)
            if self._in_flight == 0 and idle_for >= quiet:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot was still busy after {timeout}s")
            await asyncio.sleep(max(quiet - idle_for, 0.01))

    async def _wait_until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        try:
            async with asyncio.timeout(seconds):
                while not condition():
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"timed out after {seconds}s waiting for {what}") from None

    def _notify(self) -> None:
        # Waiters hold the old event; a fresh one avoids clearing it under their feet.
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------ builders of incoming updates

    def message_update(self, user_id: int, text: str, **extra: Any) -> dict:
        """A private message from the user; ``extra`` is merged into the message object."""
        message = self._incoming_message(user_id, text=text, **extra)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message.setdefault("entities", [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}])
        return self._update(message=message)

    def sticker_update(self, user_id: int, emoji: str = "👍") -> dict:
        sticker = {
            "file_id": f"sticker-{next(self._ids)}",
            "file_unique_id": f"s{next(self._ids)}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._update(message=self._incoming_message(user_id, sticker=sticker))

    def photo_update(self, user_id: int, caption: str | None = None) -> dict:
        photo = _photo_sizes(f"user-photo-{next(self._ids)}", 40_000)
        extra = {"caption": caption} if caption else {}
        return self._update(message=self._incoming_message(user_id, photo=photo, **extra))

    def contact_update(self, user_id: int, phone_number: str, *, contact_user_id: int | None = None) -> dict:
        """The user shares a contact with the bot's request_contact button (their own unless told otherwise)."""
        user = self._user(user_id)
        contact = {"phone_number": phone_number, "first_name": user.first_name,
                   "user_id": user_id if contact_user_id is None else contact_user_id}
        return self._update(message=self._incoming_message(user_id, contact=contact))

    def inline_query_update(self, user_id: int, query: str, offset: str = "") -> dict:
        """The user typed "@bot query" in some chat: the bot answers with answerInlineQuery."""
        user = self._user(user_id)
        query_id = str(5_000_000_000 + next(self._ids))
        return self._update(inline_query={"id": query_id, "from": user.to_api(), "query": query,
                                          "offset": offset, "chat_type": "sender"})

    def callback_update(self, user_id: int, message_id: int, data: str) -> dict:
        """A press on an inline button of the bot's message ``message_id`` (need not exist: forged presses)."""
        user = self._user(user_id)
        query_id = str(4_000_000_000 + next(self._ids))
        self.callbacks[query_id] = CallbackQueryRecord(query_id, user_id, message_id, data)
        stored = user.messages.get(message_id)
        if stored is not None:
            message = self._message_api(stored)
        else:  # Telegram sends an InaccessibleMessage (date 0) for messages it cannot show
            message = {"chat": user.chat_api(), "message_id": message_id, "date": 0}
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": str(-(10**12) - user_id),
            "data": data,
        }
        return self._update(callback_query=query)

    def my_chat_member_update(self, user_id: int, status: str) -> dict:
        """The user blocked ("kicked") or restarted ("member") the bot; also blocks/unblocks sends."""
        user = self._user(user_id)
        user.blocked = status == "kicked"
        old_status = "member" if status == "kicked" else "kicked"
        return self._update(
            my_chat_member={
                "chat": user.chat_api(),
                "from": user.to_api(),
                "date": int(time.time()),
                "old_chat_member": self._bot_member(old_status),
                "new_chat_member": self._bot_member(status),
            }
        )

    def _bot_member(self, status: str) -> dict:
        member = {"user": self.bot_user(), "status": status}
        if status == "kicked":
            member["until_date"] = 0
        return member

    def _incoming_message(self, user_id: int, **fields: Any) -> dict:
        user = self._user(user_id)
        stored = Message(user_id, user.new_message_id(), int(time.time()), from_bot=False)
        stored.text = fields.get("text")
        stored.photo = "photo" in fields
        stored.caption = fields.get("caption")
        stored.extra = {k: v for k, v in fields.items() if k not in ("text", "caption")}
        user.messages[stored.message_id] = stored
        return {
            "message_id": stored.message_id,
            "from": user.to_api(),
            "chat": user.chat_api(),
            "date": stored.date,
            **fields,
        }

    def _update(self, **payload: Any) -> dict:
        return {"update_id": self._new_update_id(), **payload}

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    # ------------------------------------------------------------ Telegram object shapes

    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _message_api(self, message: Message) -> dict:
        user = self.users[message.chat_id]
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_user() if message.from_bot else user.to_api(),
            "chat": user.chat_api(),
            "date": message.date,
        }
        if message.edit_date:
            result["edit_date"] = message.edit_date
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        if message.photo:
            result["photo"] = message.extra.get("photo") or _photo_sizes(f"photo-{message.message_id}", 0)
        document = message.extra.get("document")
        if isinstance(document, UploadedFile):
            result["document"] = {"file_id": f"document-{message.message_id}",
                                  "file_unique_id": f"d{message.message_id}", "file_name": document.filename,
                                  "file_size": document.size}
        if message.caption:
            result["caption"] = message.caption
            if message.entities:
                result["caption_entities"] = message.entities
        if not message.from_bot:
            result.update({k: v for k, v in message.extra.items() if k not in result})
        if message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result

    # ------------------------------------------------------------ HTTP plumbing

    async def webhook_response(self, content_type: str, body: bytes) -> Call | None:
        """What Telegram does with the response to a webhook POST: a response may carry one Bot API call (a
        "method" field with the method's parameters, as JSON, a form or multipart), which Telegram makes, telling
        the bot nothing of its result. Made and recorded here like a request of the bot's, marked
        `in_webhook_response`; None when the response carries no call (aiogram's is then `{}`)."""
        params = _body_params(content_type, body)
        method = str(params.pop("method", "") or "")
        if not method:
            return None
        call = Call(method, params, {}, ok=False, at=time.monotonic(), in_webhook_response=True)
        self._in_flight += 1
        try:
            await self._execute(call, _API_METHODS.get(method.lower()))
        finally:
            self._in_flight -= 1
            self._last_activity = time.monotonic()
        self.requests.append(call)
        self._notify()
        return call

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401).body(), status=401)
        name = _API_METHODS.get(method.lower())
        track = name != "_on_get_updates"  # long polls are not bot activity
        if track:
            self._in_flight += 1
        try:
            call = Call(method, {}, {}, ok=False, at=time.monotonic())
            try:
                call.params = await _read_params(request)
            except ApiError as error:
                call.response = error.body()
            else:
                await self._execute(call, name)
        finally:
            if track:
                self._in_flight -= 1
                self._last_activity = time.monotonic()
        self.requests.append(call)
        self._notify()
        return web.json_response(call.response, status=call.response.get("error_code", 200))

    async def _execute(self, call: Call, name: str | None) -> None:
        """Answers ``call`` (its method and parameters read) into ``call.response``."""
        method = call.method
        try:
            if name is None:
                raise ApiError(404, "Not Found: method not found")
            handler: Handler = getattr(self, name)
            call.method = handler.api_name  # type: ignore[attr-defined]
            call.chat_id = self._chat_of(call.params)
            await self._apply_delay(method)
            await self._apply_hold(method)
            self._apply_fault(method, call.chat_id)
            call.response = {"ok": True, "result": await handler(call.params, call)}
            call.ok = True
        except ApiError as error:
            call.response = error.body()

    def _chat_of(self, params: dict) -> int | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        query = self.callbacks.get(str(params.get("callback_query_id")))
        return query.user_id if query else None

    async def _apply_delay(self, method: str) -> None:
        for delay in self._delays:
            if delay[0] in ("*", method.lower()) and delay[2] > 0:
                delay[2] -= 1
                try:  # cut short on stop() so shutdown is not held up
                    await asyncio.wait_for(self._stopping.wait(), delay[1])
                except TimeoutError:
                    pass
                return

    async def _apply_hold(self, method: str) -> None:
        if self._hold is None or self._hold[0] not in ("*", method.lower()):
            return
        if self._hold[1] > 0:
            self._hold[1] -= 1
            return
        self.held += 1
        self._notify()
        try:
            await self._released.wait()
        finally:
            self.held -= 1

    def _apply_fault(self, method: str, chat_id: int | None) -> None:
        for fault in self._faults:
            if fault.times > 0 and fault.matches(method, chat_id):
                fault.times -= 1
                raise ApiError(fault.error_code, fault.description, retry_after=fault.retry_after)

    # ------------------------------------------------------------ shared checks

    def _chat(self, params: dict, *, sending: bool = True) -> User:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise bad_request("chat not found")
        if sending and user.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if sending and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _check_rate(self, method: str, chat_id: int, paid: bool = False) -> None:
        if paid and self._paid_refusal is not None:
            raise ApiError(*self._paid_refusal)
        if self._rate_limits and method in self._rate_limits.methods:
            self._rate_limits.check(chat_id, time.monotonic(), paid)

    def _record_send(self, method: str, chat_id: int, paid: bool = False) -> None:
        if self._rate_limits and method in self._rate_limits.methods:
            self._rate_limits.record(chat_id, time.monotonic(), paid)

    def _stored(self, user: User, params: dict, missing: str) -> Message:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
        message = user.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise bad_request(missing)
        return message

    # ------------------------------------------------------------ API methods: bot and setup

    @api_method("getMe")
    async def _on_get_me(self, params: dict, call: Call) -> dict:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @api_method("logOut")
    async def _on_log_out(self, params: dict, call: Call) -> bool:
        return True

    @api_method("close")
    async def _on_close(self, params: dict, call: Call) -> bool:
        return True

    @api_method("setWebhook")
    async def _on_set_webhook(self, params: dict, call: Call) -> bool:
        self.webhook_url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            self._drop_updates()
        return True

    @api_method("deleteWebhook")
    async def _on_delete_webhook(self, params: dict, call: Call) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._drop_updates()
        return True

    @api_method("getWebhookInfo")
    async def _on_get_webhook_info(self, params: dict, call: Call) -> dict:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    @api_method("setMyCommands")
    async def _on_set_my_commands(self, params: dict, call: Call) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            _check_command(command)
        self.my_commands[_commands_key(params)] = commands
        return True

    @api_method("deleteMyCommands")
    async def _on_delete_my_commands(self, params: dict, call: Call) -> bool:
        self.my_commands.pop(_commands_key(params), None)
        return True

    @api_method("getMyCommands")
    async def _on_get_my_commands(self, params: dict, call: Call) -> list[dict]:
        return self.my_commands.get(_commands_key(params), [])

    @api_method("setChatMenuButton")
    async def _on_set_chat_menu_button(self, params: dict, call: Call) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._chat(params, sending=False)
        self.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    @api_method("getChatMenuButton")
    async def _on_get_chat_menu_button(self, params: dict, call: Call) -> dict:
        return self.menu_buttons.get(params.get("chat_id"), self.menu_buttons.get(None, {"type": "default"}))

    @api_method("getChat")
    async def _on_get_chat(self, params: dict, call: Call) -> dict:
        user = self._chat(params, sending=False)
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
            True,
        )
        return {**user.chat_api(), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    # ------------------------------------------------------------ API methods: messages

    @api_method("sendMessage")
    async def _on_send_message(self, params: dict, call: Call) -> dict:
        user = self._chat(params)
        text, entities = self._formatted(params, "text", "entities")
        inline, other = _check_markup(params.get("reply_markup"))
        paid = bool(params.get("allow_paid_broadcast"))
        self._check_rate("sendMessage", user.user_id, paid)
        message = Message(user.user_id, user.new_message_id(), int(time.time()), from_bot=True, paid_broadcast=paid)
        message.text, message.html, message.entities = text, params.get("text"), entities
        message.reply_markup, message.reply_keyboard = inline, other
        return self._store_sent(user, message, "sendMessage", call)

    @api_method("sendPhoto")
    async def _on_send_photo(self, params: dict, call: Call) -> dict:
        user = self._chat(params)
        photo = params.get("photo")
        if not photo:
            raise bad_request("there is no photo in the request")
        if isinstance(photo, UploadedFile) and photo.size == 0:
            raise bad_request("file must be non-empty")
        caption, entities = self._formatted(params, "caption", "caption_entities")
        inline, other = _check_markup(params.get("reply_markup"))
        paid = bool(params.get("allow_paid_broadcast"))
        self._check_rate("sendPhoto", user.user_id, paid)
        message = Message(user.user_id, user.new_message_id(), int(time.time()), from_bot=True, photo=True,
                          paid_broadcast=paid)
        message.caption, message.html, message.entities = caption or None, params.get("caption"), entities
        message.photo_size = photo.size if isinstance(photo, UploadedFile) else None
        message.upload = photo if isinstance(photo, UploadedFile) else None
        message.reply_markup, message.reply_keyboard = inline, other
        message.extra["photo"] = _photo_sizes(f"photo-{user.user_id}-{message.message_id}", message.photo_size)
        return self._store_sent(user, message, "sendPhoto", call)

    @api_method("sendDocument")
    async def _on_send_document(self, params: dict, call: Call) -> dict:
        user = self._chat(params)
        document = params.get("document")
        if not isinstance(document, UploadedFile) or document.size == 0:
            raise bad_request("there is no document in the request")
        caption, entities = self._formatted(params, "caption", "caption_entities")
        self._check_rate("sendDocument", user.user_id)
        message = Message(user.user_id, user.new_message_id(), int(time.time()), from_bot=True)
        message.caption, message.html, message.entities = caption or None, params.get("caption"), entities
        message.extra["document"] = document
        message.upload = document
        return self._store_sent(user, message, "sendDocument", call)

    def _store_sent(self, user: User, message: Message, method: str, call: Call) -> dict:
        user.messages[message.message_id] = message
        self._record_send(method, user.user_id, message.paid_broadcast)
        call.message = copy.deepcopy(message)
        return self._message_api(message)

    @api_method("editMessageText")
    async def _on_edit_message_text(self, params: dict, call: Call) -> dict:
        user = self._chat(params)
        message = self._stored(user, params, "message to edit not found")
        text, entities = self._formatted(params, "text", "entities")
        inline, _ = _check_markup(params.get("reply_markup"), inline_only=True)
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        self._check_rate("editMessageText", user.user_id)
        if (text, message.caption, entities, inline) == message.content():
            raise bad_request(NOT_MODIFIED)
        message.text, message.html, message.entities, message.reply_markup = text, params["text"], entities, inline
        return self._store_edit(user, message, "editMessageText", call)

    @api_method("editMessageReplyMarkup")
    async def _on_edit_message_reply_markup(self, params: dict, call: Call) -> dict:
        user = self._chat(params)
        message = self._stored(user, params, "message to edit not found")
        inline, _ = _check_markup(params.get("reply_markup"), inline_only=True)
        if not message.from_bot:
            raise bad_request("message can't be edited")
        self._check_rate("editMessageReplyMarkup", user.user_id)
        if inline == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = inline
        return self._store_edit(user, message, "editMessageReplyMarkup", call)

    def _store_edit(self, user: User, message: Message, method: str, call: Call) -> dict:
        message.edit_date = int(time.time())
        self._record_send(method, user.user_id)
        call.message = copy.deepcopy(message)
        return self._message_api(message)

    @api_method("deleteMessage")
    async def _on_delete_message(self, params: dict, call: Call) -> bool:
        user = self._chat(params)
        message = self._stored(user, params, "message to delete not found")
        del user.messages[message.message_id]
        call.message = message
        return True

    @api_method("sendChatAction")
    async def _on_send_chat_action(self, params: dict, call: Call) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @api_method("answerInlineQuery")
    async def _on_answer_inline_query(self, params: dict, call: Call) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        if not query_id.startswith("5") or query_id in self.inline_answers:
            raise bad_request(QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen = set()
        for result in results:
            result_id = str(result.get("id", ""))
            if not result_id or len(result_id.encode()) > 64 or result_id in seen:
                raise bad_request("RESULT_ID_INVALID" if result_id not in seen else "RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content") or {}
            if "message_text" not in content:
                raise bad_request("MESSAGE_EMPTY")
            self._formatted(content, "message_text", "entities")
            _check_markup(result.get("reply_markup"), inline_only=True)
        self.inline_answers[query_id] = params
        return True

    @api_method("answerCallbackQuery")
    async def _on_answer_callback_query(self, params: dict, call: Call) -> bool:
        query = self.callbacks.get(str(params.get("callback_query_id")))
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text") or None
        if text and utf16_len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered, query.answer_text, query.show_alert = True, text, bool(params.get("show_alert"))
        return True

    # ------------------------------------------------------------ API methods: updates

    @api_method("getUpdates")
    async def _on_get_updates(self, params: dict, call: Call) -> list[dict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # wakes an older poll so it can see it was superseded
        offset, limit = params.get("offset") or 0, min(max(params.get("limit") or 100, 1), 100)
        self._confirm(offset)
        deadline = time.monotonic() + max(params.get("timeout") or 0, 0)
        while True:
            changed = self._changed
            if generation != self._poll_generation:
                raise ApiError(409)  # a newer getUpdates took over, as Telegram does
            pending = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if pending or remaining <= 0 or self._stopping.is_set():
                return pending
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    def _confirm(self, offset: int) -> None:
        if offset < 0:  # the last -offset updates are kept, earlier ones forgotten
            keep = self._updates[offset:]
            offset = keep[0]["update_id"] if keep else self._last_queued_id + 1
        if offset > self._confirmed_below:
            self._confirmed_below = offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._notify()

    def _drop_updates(self) -> None:
        self._confirm(self._last_queued_id + 1)

    # ------------------------------------------------------------ text checks

    def _formatted(self, params: dict, name: str, entities_name: str) -> tuple[str, list[dict]]:
        """The stored text/caption after parse_mode, with Telegram's emptiness and length checks."""
        is_caption = name == "caption"
        raw = params.get(name)
        if raw is None or raw == "":
            if is_caption:
                return "", []
            raise bad_request("message text is empty")
        text, entities = _parse(str(raw), params.get("parse_mode"), params.get(entities_name))
        text, entities = clean_text(text, entities)
        if not text and not is_caption:
            raise bad_request("message text is empty")
        if utf16_len(text) > (MAX_CAPTION if is_caption else MAX_TEXT):
            raise bad_request("message caption is too long" if is_caption else "message is too long")
        return text, entities


def _parse(raw: str, parse_mode: Any, entities: Any) -> tuple[str, list[dict]]:
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html_entities(raw)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error.description}") from None
    if mode in ("markdown", "markdownv2"):
        return raw, []  # not modelled: the bot uses HTML; text is stored as sent
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return raw, list(entities) if isinstance(entities, list) else []


def _check_markup(markup: Any, *, inline_only: bool = False) -> tuple[dict | None, dict | None]:
    """Validates reply_markup like Telegram; returns (inline keyboard or None, other keyboard or None)."""
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only or not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise bad_request("can't parse inline keyboard markup JSON object")
        return None, markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_button(button)
    rows = [row for row in rows if row]
    return ({"inline_keyboard": rows} if rows else None), None


def _check_button(button: Any) -> None:
    def unparsable(reason: str) -> ApiError:
        return bad_request(f"can't parse inline keyboard button: {reason}")

    if not isinstance(button, dict):
        raise unparsable("InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise unparsable('Field "text" must be of type String')
    if not button["text"].strip():
        raise unparsable("Text must be non-empty")
    if not any(kind in button for kind in BUTTON_KINDS):
        raise unparsable("Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _valid_url(button["url"]):
        raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme == "tg":
        return True
    return parts.scheme in ("http", "https") and ("." in parts.hostname if parts.hostname else False)


def _check_command(command: Any) -> None:
    if not isinstance(command, dict):
        raise bad_request("can't parse BotCommand JSON object")
    if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", "")).lstrip("/")):
        raise bad_request("BOT_COMMAND_INVALID")
    if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def _commands_key(params: dict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code") or ""


def _photo_sizes(file_id: str, size: int | None) -> list[dict]:
    return [
        {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id}-s", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960, "file_size": size or 1},
    ]


async def _read_params(request: web.Request) -> dict:
    """Parameters from the query string and a form-data, urlencoded or JSON body, typed like Telegram."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        raw.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        raw.update(await request.post())
    return _typed_params({key: _uploaded(value) if isinstance(value, web.FileField) else value
                          for key, value in raw.items()})


def _body_params(content_type: str, body: bytes) -> dict:
    """The fields of a webhook response's body (JSON, urlencoded or multipart), typed like a request's."""
    mime = content_type.partition(";")[0].strip().lower()
    raw: dict[str, Any] = {}
    if mime == "application/json":
        loaded = json.loads(body or b"{}")
        raw = loaded if isinstance(loaded, dict) else {}
    elif mime == "application/x-www-form-urlencoded":
        raw = dict(parse_qsl(body.decode(), keep_blank_values=True))
    elif mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        for part in email.message_from_bytes(head + body, policy=email.policy.HTTP).iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                data = part.get_payload(decode=True)
                raw[name] = UploadedFile(part.get_filename(), len(data), part.get_content_type(), data)
            else:
                raw[name] = part.get_content()
    return _typed_params(raw)


def _typed_params(raw: dict[str, Any]) -> dict:
    files = {key: value for key, value in raw.items() if isinstance(value, UploadedFile)}
    return {key: _typed(key, value, files) for key, value in raw.items()
            if key not in files or key in ("photo", "document")}


def _typed(key: str, value: Any, files: dict[str, UploadedFile]) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("attach://") and value.removeprefix("attach://") in files:
        return files[value.removeprefix("attach://")]
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _uploaded(part: web.FileField) -> UploadedFile:
    data = part.file.read()
    return UploadedFile(part.filename, len(data), part.content_type, data)
