"""Inline keyboards, built without copies: aiogram's InlineKeyboardBuilder deep-copies every button when it makes
the markup (copy.deepcopy of pydantic models, ~0.2 ms for a card's keyboard), and a screen is made on every
press. Nothing changes a button once made, so the markup takes them as they are, and the buttons of the screens
made on every press (`button`) are kept and shared."""

from __future__ import annotations

from functools import lru_cache
from itertools import chain, repeat
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

MAX_WIDTH = 8  # Telegram's limit of buttons in a row


@lru_cache(maxsize=4096)
def button(text: str, data: str | None = None, url: str | None = None) -> InlineKeyboardButton:
    """A callback (`data`) or link (`url`) button, made once for each text and target: pydantic validates each new
    button (~15 microseconds), and a card has seven."""
    return InlineKeyboardButton(text=text, callback_data=data, url=url)


class Keyboard:
    """The subset of InlineKeyboardBuilder the screens use: row(), button(), adjust(), as_markup()."""

    def __init__(self) -> None:
        self.rows: list[list[InlineKeyboardButton]] = []

    def row(self, *buttons: InlineKeyboardButton, width: int = MAX_WIDTH) -> Keyboard:
        """Buttons as a new row (split into rows of `width`, as the builder does)."""
        self.rows.extend(list(buttons[start:start + width]) for start in range(0, len(buttons), width))
        return self

    def button(self, *, text: str, callback_data: CallbackData | str | None = None, **kwargs: Any) -> Keyboard:
        """A button after the last one (in its row while there is room); adjust() arranges them."""
        if isinstance(callback_data, CallbackData):
            callback_data = callback_data.pack()
        button = InlineKeyboardButton(text=text, callback_data=callback_data, **kwargs)
        if self.rows and len(self.rows[-1]) < MAX_WIDTH:
            self.rows[-1].append(button)
        else:
            self.rows.append([button])
        return self

    def adjust(self, *sizes: int) -> Keyboard:
        """Arrange all buttons in rows of `sizes`, the last size repeated for the rest (as the builder does)."""
        buttons = [button for row in self.rows for button in row]
        widths = chain(sizes or (MAX_WIDTH,), repeat((sizes or (MAX_WIDTH,))[-1]))
        self.rows = []
        while buttons:
            width = next(widths)
            self.rows.append(buttons[:width])
            buttons = buttons[width:]
        return self

    def as_markup(self) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=self.rows)
