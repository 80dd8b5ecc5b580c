"""Plain-text helpers for Telegram's limits (no aiogram here)."""

from __future__ import annotations

import html
import re

from bot.domain.limits import CALLBACK_ANSWER_LIMIT, MESSAGE_LIMIT, cut, utf16_length, utf16_prefix

__all__ = ["CALLBACK_ANSWER_LIMIT", "MESSAGE_LIMIT", "alert", "escape", "plain_text", "shorten", "split_text",
           "utf16_length", "visible_length"]


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
        end = utf16_prefix(rest, limit)
        window = rest[:end]
        for separator in ("\n\n", "\n", ". ", " "):
            position = window.rfind(separator)
            if position > end // 2:
                end = position + len(separator)
                break
        parts.append(rest[:end].rstrip())
        rest = rest[end:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters (UTF-16 units, as Telegram counts), for buttons and lists."""
    return cut(" ".join(text.split()), limit)
