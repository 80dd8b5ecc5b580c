"""bot/ui/keyboard.py makes the same markups as aiogram's InlineKeyboardBuilder, without copying the buttons."""

import pytest
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


def test_button_data_packed_without_pydantic_is_what_aiogram_packs():
    for kind, values in ((cb.IdeaAction, {"act": cb.ACT_SUPPORT, "id": 123456, "part": 2, "sort": "new", "page": 3}),
                         (cb.IdeaAction, {"act": cb.ACT_OPEN, "id": 7}),
                         (cb.IdeaList, {"cat": 4, "sort": "rnd"}),
                         (cb.Menu, {"to": cb.MENU_MAIN})):
        assert cb.pack(kind, **values) == kind(**values).pack()
        assert kind.unpack(cb.pack(kind, **values)) == kind(**values)
    for wrong in ({"act": "s"}, {"act": "s:x", "id": 1}, {"act": "s", "id": 1, "colour": 2}):
        with pytest.raises(ValueError):
            cb.pack(cb.IdeaAction, **wrong)


def test_a_kept_button_is_the_button_aiogram_would_make_and_is_made_once():
    from bot.ui.keyboard import button

    assert button("👍", "i:s:1") == InlineKeyboardButton(text="👍", callback_data="i:s:1")
    assert button("📤", url="https://t.me/share/url?url=x") == InlineKeyboardButton(
        text="📤", url="https://t.me/share/url?url=x")
    assert button("👍", "i:s:1") is button("👍", "i:s:1") and button("👍", "i:s:2") is not button("👍", "i:s:1")
