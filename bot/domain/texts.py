"""Rules of a valid text, shared by residents' proposals, moderators' edits and broadcasts. Pure: no database,
no Telegram."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.limits import utf16_length

TITLE_LIMITS = (10, 120)
BODY_LIMITS = (30, 2000)
# Fewer letters than this is no title or text, whatever its length: "!!!!!!!!!!", a row of emoji.
MIN_LETTERS = {"title": 5, "body": 15}
BROADCAST_MAX_LENGTH = 3500  # characters as Telegram counts them (UTF-16 units); Telegram allows 4096


class TextProblem(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"


@dataclass(frozen=True)
class CheckedText:
    text: str  # cleaned
    problem: TextProblem | None
    minimum: int
    maximum: int

    @property
    def length(self) -> int:
        return len(self.text)


_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(raw: str, *, multiline: bool) -> str:
    """Drop invisible and control characters (zero-width spaces, bidi marks, soft hyphens), fold runs of spaces,
    keep at most one empty line between paragraphs; a title becomes one line."""
    text = unicodedata.normalize("NFC", raw)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char == "\n":
            kept.append("\n" if multiline else " ")
        elif category in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            kept.append(" " if category in ("Cc", "Zl", "Zp") else "")
        else:
            kept.append(char)
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(kept).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _check(raw: str, limits: tuple[int, int], letters_needed: int, multiline: bool) -> CheckedText:
    text = clean_text(raw, multiline=multiline)
    minimum, maximum = limits
    if not text:
        problem = TextProblem.EMPTY
    elif len(text) > maximum:
        problem = TextProblem.TOO_LONG
    elif len(text) < minimum:
        problem = TextProblem.TOO_SHORT
    elif sum(char.isalpha() for char in text) < letters_needed:
        problem = TextProblem.NO_WORDS
    else:
        problem = None
    return CheckedText(text, problem, minimum, maximum)


def check_title(raw: str) -> CheckedText:
    """An idea's title (a proposal's, or a moderator's edit): cleaned, one line, 10..120 characters."""
    return _check(raw, TITLE_LIMITS, MIN_LETTERS["title"], multiline=False)


def check_body(raw: str) -> CheckedText:
    return _check(raw, BODY_LIMITS, MIN_LETTERS["body"], multiline=True)


@dataclass(frozen=True)
class BroadcastText:
    text: str
    problem: str | None  # "empty" or "too_long"
    length: int
    maximum: int = BROADCAST_MAX_LENGTH


def check_broadcast(raw: str | None) -> BroadcastText:
    """An announcement as typed (surrounding blank lines dropped, as Telegram drops them), at most 3,500."""
    text = (raw or "").strip()
    length = utf16_length(text)
    if not text:
        return BroadcastText(text, "empty", 0)
    if length > BROADCAST_MAX_LENGTH:
        return BroadcastText(text, "too_long", length)
    return BroadcastText(text, None, length)
