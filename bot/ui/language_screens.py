"""Choosing the language (/lang and the menu)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGE_NAMES, LANGUAGES
from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, menu_button


def language_screen() -> Screen:
    builder = Keyboard()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=cb.Language(code=code))
    builder.adjust(3)
    builder.row(menu_button())
    # Said in all three languages: someone who cannot read the current one must still find theirs.
    return Screen("🌐 Izvēlies valodu · Выберите язык · Choose your language", builder.as_markup())


def language_changed() -> str:
    """Said in the language just chosen: each catalog names its own language ("Turpmāk rakstīsim latviski.")."""
    return _("✅ From now on we write in English.")
