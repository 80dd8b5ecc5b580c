"""Working groups as residents and moderators see them."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.domain.localized import localized
from bot.ui import callbacks as cb
from bot.ui.text import shorten
from storage.plan_models import WorkingGroup


def group_button(group: WorkingGroup, language: str) -> InlineKeyboardButton:
    title = shorten(localized(group, "title", language).text, 45)
    return InlineKeyboardButton(text=_("👥 {title}").format(title=title),
                                callback_data=cb.Group(act=cb.GROUP_CARD, id=group.id).pack())
