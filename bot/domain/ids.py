"""Strict parsing of the ids that arrive from outside (commands, shared links, button data): ASCII digits only
(Python's isdigit() and int() also accept "²" or "١٢") and within the range of the column they are looked up
in, so that a forged number gets a friendly answer instead of a database error and a traceback."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

MAX_DB_INT = 2**31 - 1  # ids of ideas, categories, broadcasts: 32-bit integers in PostgreSQL
MAX_USER_ID = 2**53  # Telegram user ids fit in 52 bits (and in a 64-bit BIGINT)
MAX_PAGE = 10_000  # a page or part number: far more than any list has

_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: str | None, maximum: int = MAX_DB_INT, *, minimum: int = 1) -> int | None:
    """The number in `text` when it is ASCII digits only and within minimum..maximum, else None."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def _ascii_digits(value: object) -> object:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("not a number of ASCII digits")
    return value


# For callback data: a press whose number is not one of ours does not match the button (the fallback answers it).
DbId = Annotated[int, BeforeValidator(_ascii_digits), Field(ge=0, le=MAX_DB_INT)]
SmallNumber = Annotated[int, BeforeValidator(_ascii_digits), Field(ge=0, le=MAX_PAGE)]
