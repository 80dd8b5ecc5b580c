"""Plain-text helpers for Telegram's limits (no aiogram here)."""

from __future__ import annotations

import html

from bot.domain.limits import MESSAGE_LIMIT, cut, utf16_length, utf16_prefix

__all__ = ["MESSAGE_LIMIT", "escape", "shorten", "split_text", "utf16_length"]


def escape(text: str) -> str:
    """Every piece of user or campaign content goes through this before it joins an HTML message."""
    return html.escape(text, quote=False)


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
