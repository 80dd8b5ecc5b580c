"""Reporting an idea from its card: the reasons, and the thanks."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.domain.browse import IdeaCard
from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, title_of
from bot.ui.text import escape


def report_reasons(card: IdeaCard, language: str) -> Screen:
    title = escape(title_of(card.idea, language))
    reasons = {"offensive": _("🤬 Offensive"), "spam": _("📢 Spam or advertising"),
               "duplicate": _("👯 A duplicate of another idea")}
    builder = Keyboard()
    for code, label in reasons.items():
        builder.row(InlineKeyboardButton(text=label, callback_data=cb.Report(id=card.idea.id, reason=code).pack()))
    builder.row(InlineKeyboardButton(text=_("⬅️ Back"),
                                     callback_data=cb.IdeaAction(act=cb.ACT_OPEN, id=card.idea.id).pack()))
    text = _("⚠️ What is wrong with the idea “{title}”? Moderators will look at it.").format(title=title)
    return Screen(text, builder.as_markup())


def report_thanks(recorded: bool) -> str:
    if recorded:
        return _("Thank you! Moderators will look at it.")
    return _("You have already reported this idea. Thank you!")
