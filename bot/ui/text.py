"""Plain-text helpers for Telegram's limits (no aiogram here)."""

from __future__ import annotations

import html
import re

from bot.domain.texts import utf16_length

MESSAGE_LIMIT = 4096  # UTF-16 code units, counted after HTML entities are parsed
CALLBACK_ANSWER_LIMIT = 200  # a button's answer (an alert): characters, without HTML


def escape(text: str) -> str:
    """Every piece of user or campaign content goes through this before it joins an HTML message."""
    return html.escape(text, quote=False)


def plain_text(html_text: str) -> str:
    """An HTML message as Telegram shows it: without the tags, the entities parsed."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def visible_length(html_text: str) -> int:
    """Length of an HTML message as Telegram counts it: after the tags and entities are parsed, in UTF-16 units."""
    return utf16_length(plain_text(html_text))


def alert(html_text: str) -> str:
    """A line of a screen as a button's answer: Telegram shows at most 200 characters, without HTML."""
    return shorten(plain_text(html_text), CALLBACK_ANSWER_LIMIT)


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-16 units, at a paragraph, line or word break when one
    is near, so that a long idea reads naturally over several screens."""
    parts: list[str] = []
    rest = text.strip()
    while utf16_length(rest) > limit:
        cut = _longest_prefix(rest, limit)
        window = rest[:cut]
        for separator in ("\n\n", "\n", ". ", " "):
            position = window.rfind(separator)
            if position > cut // 2:
                cut = position + len(separator)
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _longest_prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit into `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, for buttons and lists."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
