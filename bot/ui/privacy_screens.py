"""Screens of residents' data rights: /privacy, /mydata and /forget (with its confirmation)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.domain.privacy import Erasure
from bot.i18n import fmt_number
from bot.ui.callbacks import FORGET_NO, FORGET_YES, Forget
from bot.ui.screens import Screen, main_menu_markup

EXPORT_FILE_NAME = "manabalss-my-data.json"


def privacy_screen(retention_days: int) -> Screen:
    text = "\n".join([
        _("🔒 <b>Your data and your rights</b>"),
        "",
        _("<b>What we keep</b>: your Telegram user id (not your name or phone number), the language you read in, "
          "your subscription settings, the ideas you support, your proposals and reports, and a half-written "
          "proposal while you write it."),
        _("<b>Why</b>: to count one support per person, to show you the bot in your language, to tell you what "
          "became of your ideas and to send only the messages you asked for."),
        _("<b>Who sees it</b>: the ManaBalss team and the campaign's moderators. The State Chancellery receives the "
          "ideas and their numbers of supporters, never who supported them. We publish an integrity report about "
          "unusual voting patterns, without anyone's id."),
        ngettext("<b>For how long</b>: messages we sent and finished technical records for {count} day; a "
                 "half-written proposal is forgotten after {count} day without activity; the rest as long as "
                 "the campaign's results are in use, or until you erase it.",
                 "<b>For how long</b>: messages we sent and finished technical records for {count} days; a "
                 "half-written proposal is forgotten after {count} days without activity; the rest as long as "
                 "the campaign's results are in use, or until you erase it.",
                 retention_days).format(count=fmt_number(retention_days)),
        "",
        _("📄 /mydata – everything we keep about you, as a file"),
        _("🗑 /forget – erase it: your supports are withdrawn while the campaign runs (after it closed they stay "
          "only as anonymous numbers), your published ideas stay without your name, everything else is deleted."),
    ])
    return Screen(text, main_menu_markup())


def mydata_caption() -> str:
    return _("📄 Everything we keep about you (JSON, readable in any text editor). /forget erases it.")


def nothing_stored() -> Screen:
    return Screen(_("We keep nothing about you."), main_menu_markup())


def forget_question() -> Screen:
    text = "\n".join([
        _("🗑 <b>Erase everything we keep about you?</b>"),
        "",
        _("Your supports of ideas in a running campaign are withdrawn; in a closed campaign they stay only as "
          "anonymous numbers. Your published ideas stay as part of the campaign, without your name; your other "
          "proposals, your reports, subscriptions and settings are deleted. We will not write to you again "
          "unless you write to us. This cannot be undone."),
    ])
    markup = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_("🗑 Yes, erase everything"), callback_data=Forget(act=FORGET_YES).pack())],
        [InlineKeyboardButton(text=_("✖️ No, keep it"), callback_data=Forget(act=FORGET_NO).pack())],
    ])
    return Screen(text, markup)


def forgotten(erasure: Erasure) -> Screen:
    lines = [_("✅ Done: we erased everything we kept about you.")]
    if erasure.supports_withdrawn:
        lines.append(ngettext("{count} support was withdrawn.", "{count} supports were withdrawn.",
                              erasure.supports_withdrawn).format(count=fmt_number(erasure.supports_withdrawn)))
    if erasure.ideas_kept:
        lines.append(ngettext("{count} published idea stays in the campaign without your name.",
                              "{count} published ideas stay in the campaign without your name.",
                              erasure.ideas_kept).format(count=fmt_number(erasure.ideas_kept)))
    lines.append(_("Thank you for taking part. If you write to us again, we start afresh."))
    return Screen("\n".join(lines))


def kept() -> Screen:
    return Screen(_("👍 Nothing was erased."), main_menu_markup())
