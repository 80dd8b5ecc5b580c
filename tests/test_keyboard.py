"""bot/ui/keyboard.py makes the same markups as aiogram's InlineKeyboardBuilder, without copying the buttons."""

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard


def _fill(builder):
    builder.row(InlineKeyboardButton(text="a", callback_data="a"))
    builder.row(*[InlineKeyboardButton(text=str(n), callback_data=str(n)) for n in range(10)])  # split at 8
    for code in ("lv", "ru", "en", "de"):
        builder.button(text=code, callback_data=cb.Language(code=code))
    return builder


def test_rows_buttons_and_adjust_give_the_builders_markup():
    assert _fill(Keyboard()).as_markup() == _fill(InlineKeyboardBuilder()).as_markup()
    assert _fill(Keyboard()).adjust(1, 2, 3).as_markup() == _fill(InlineKeyboardBuilder()).adjust(1, 2, 3).as_markup()


def test_the_markup_holds_the_buttons_themselves():
    button = InlineKeyboardButton(text="👍", callback_data="i:s:1")
    assert Keyboard().row(button).as_markup().inline_keyboard[0][0] is button
