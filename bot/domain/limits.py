"""Telegram's limits and the one way their lengths are counted: UTF-16 code units, as Telegram counts them (an
emoji outside the Basic Multilingual Plane is two). Used for every limit: messages, captions, button answers,
the moderators' card and broadcasts (bot/ui/text.py counts an HTML message's visible length with it). No aiogram
here."""

from __future__ import annotations

MESSAGE_LIMIT = 4096  # a message's text after its HTML entities are parsed
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit into `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def cut(text: str, limit: int) -> str:
    """`text`, or its beginning with "…" so that the whole takes at most `limit` UTF-16 units."""
    if utf16_length(text) <= limit:
        return text
    return text[: utf16_prefix(text, max(limit - 1, 1))].rstrip() + "…"
