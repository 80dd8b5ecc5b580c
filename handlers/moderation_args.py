"""The arguments of moderators' commands, parsed from what the moderator typed. Pure: no Telegram, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.ids import MAX_USER_ID, parse_id
from bot.domain.lifecycle import STATUS_COMMAND_CODES, clean_note


@dataclass(frozen=True)
class MergeArgs:
    idea_id: int
    into_id: int


@dataclass(frozen=True)
class StatusArgs:
    idea_id: int
    status: str
    note: str | None


@dataclass(frozen=True)
class RejectArgs:
    idea_id: int
    reason: str


_ID = r"#?([0-9]{1,12})"  # ASCII digits: \d would also take "²" and other scripts' digits
_MERGE = re.compile(rf"^\s*{_ID}\s+(?:(?:into|in|to|->|→|=>)\s+)?{_ID}\s*$", re.IGNORECASE)
_ID_ONLY = re.compile(rf"^\s*{_ID}\s*$")
_ID_AND_REST = re.compile(rf"^\s*{_ID}(?:\s+(.*))?$", re.DOTALL)


def parse_idea_id(args: str | None) -> int | None:
    """"12" or "#12"."""
    match = _ID_ONLY.match(args or "")
    return int(match.group(1)) if match else None


def parse_merge(args: str | None) -> MergeArgs | None:
    """"12 into 7", "12 7", "#12 -> #7": idea 12 is a duplicate of idea 7."""
    match = _MERGE.match(args or "")
    if not match:
        return None
    return MergeArgs(int(match.group(1)), int(match.group(2)))


def parse_status_code(word: str) -> str | None:
    code = word.strip().lower().replace("-", "_")
    return code if code in STATUS_COMMAND_CODES else None


def parse_status(args: str | None) -> StatusArgs | None:
    """"12 under_review The working group meets on 5 May": an idea, a status code and an optional note."""
    match = _ID_AND_REST.match(args or "")
    if not match or not match.group(2):
        return None
    word, _space, note = match.group(2).strip().partition(" ")
    status = parse_status_code(word)
    if status is None:
        return None
    return StatusArgs(int(match.group(1)), status, clean_note(note))


def parse_reject(args: str | None) -> RejectArgs | None:
    """"12 This is about the Saeima, not the government": an idea and a reason (required: the author sees it)."""
    match = _ID_AND_REST.match(args or "")
    if not match:
        return None
    reason = clean_note(match.group(2))
    return RejectArgs(int(match.group(1)), reason) if reason else None


def parse_user_id(args: str | None) -> int | None:
    return parse_id((args or "").strip(), MAX_USER_ID)


def parse_ban(args: str | None) -> tuple[int, bool] | None:
    """"123" -> (123, False); "123 void" -> (123, True): ban and void the resident's supports."""
    words = (args or "").split()
    if len(words) not in (1, 2) or (len(words) == 2 and words[1].lower() != "void"):
        return None
    user_id = parse_user_id(words[0])
    return (user_id, len(words) == 2) if user_id is not None else None


def parse_moderators(args: str | None) -> tuple[str, int | None] | None:
    """"" or "list" -> ("list", None); "add 123" / "remove 123" -> (verb, 123); anything else None."""
    words = (args or "").split()
    if not words or (len(words) == 1 and words[0].lower() == "list"):
        return "list", None
    if len(words) != 2 or words[0].lower() not in ("add", "remove"):
        return None
    user_id = parse_user_id(words[1])
    return (words[0].lower(), user_id) if user_id is not None else None


def parse_audit(args: str | None) -> tuple[str, int] | None:
    """"12" -> ("idea", 12); "user 123" -> ("user", 123)."""
    idea_id = parse_idea_id(args)
    if idea_id is not None:
        return "idea", idea_id
    words = (args or "").split()
    if len(words) == 2 and words[0].lower() == "user":
        user_id = parse_user_id(words[1])
        if user_id is not None:
            return "user", user_id
    return None
