"""Searching ideas by a few typed words."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.domain.search import SearchResult
from bot.i18n import fmt_number
from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, idea_button, main_menu_markup, menu_button
from bot.ui.text import escape


def search_prompt() -> Screen:
    return Screen(_("🔎 Type a few words from the idea you are looking for, in any language. "
                    "For example: <i>budget</i>."),
                  InlineKeyboardMarkup(inline_keyboard=[[menu_button()]]))


def search_results_screen(result: SearchResult, language: str) -> Screen:
    query = escape(result.query)
    if result.too_short:
        return Screen(_("🔎 Please type a word of at least three letters to search."), main_menu_markup())
    if not result.ideas:
        return Screen(_("🔎 Nothing found for “{query}”. Try other words or browse the categories.")
                      .format(query=query), main_menu_markup())
    lines = [_("🔎 Results for “{query}”:").format(query=query),
             ngettext("Found {count} idea.", "Found {count} ideas.", result.total)
             .format(count=fmt_number(result.total))]
    if result.total > len(result.ideas):
        lines.append(_("Showing the {count} most supported. Add words to narrow the search.")
                     .format(count=fmt_number(len(result.ideas))))
    builder = Keyboard()
    for idea in result.ideas:
        builder.row(idea_button(idea, language, cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack()))
    builder.row(menu_button())
    return Screen("\n".join(lines), builder.as_markup())
