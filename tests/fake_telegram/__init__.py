"""A fake Telegram Bot API server and a story-style driver for the bot's tests."""

from .driver import (
    Alert,
    HandledUpdates,
    Reply,
    Resident,
    feed_via_dispatcher,
    feed_via_polling,
    feed_via_webhook,
)
from .html_check import EntityParseError, clean_text, parse_html, parse_html_entities, utf16_len
from .server import ApiError, Call, CallbackQueryRecord, FakeTelegram, Message, UploadedFile, User

StoredMessage = Message  # an unambiguous name next to aiogram's Message

__all__ = [
    "Alert",
    "ApiError",
    "Call",
    "CallbackQueryRecord",
    "EntityParseError",
    "FakeTelegram",
    "HandledUpdates",
    "Message",
    "Reply",
    "Resident",
    "StoredMessage",
    "UploadedFile",
    "User",
    "clean_text",
    "feed_via_dispatcher",
    "feed_via_polling",
    "feed_via_webhook",
    "parse_html",
    "parse_html_entities",
    "utf16_len",
]
