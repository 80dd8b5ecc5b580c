"""The start of every visit: the welcome with the campaign and its dates, the main menu, help, and /cancel."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.domain.localized import localized
from bot.i18n import fmt_date_range
from bot.ui.screens import Screen, campaign_dates_line, main_menu_markup, title_of
from bot.ui.text import escape
from storage.models import Campaign


def welcome(campaign: Campaign | None, language: str, now: datetime, offer_language: bool) -> Screen:
    lines = [_("👋 Welcome! This is ManaBalss's co-creation bot.")]
    if campaign is None:
        lines.append(_("No campaign is running right now. We will be back with the next one soon."))
    else:
        lines += [
            "",
            f"<b>{escape(title_of(campaign, language))}</b>",
            escape(localized(campaign, "description", language).text),
            "",
            _("🗓 Dates: {dates}").format(dates=fmt_date_range(campaign.starts_at, campaign.ends_at)),
            campaign_dates_line(campaign, now),
            "",
            _("📌 The most supported ideas go to the State Chancellery and experts, who use them to draft the "
              "national open government action plan."),
        ]
    lines += ["", _("Read the ideas, support the ones you agree with, or type a few words to search.")]
    lines.append(_("🔒 What we keep about you and how to erase it: /privacy"))
    if offer_language:
        lines += ["", _("🌐 You can change the language at any time: /lang")]
    return Screen("\n".join(lines), main_menu_markup())


def main_menu(campaign: Campaign | None, language: str, now: datetime) -> Screen:
    lines = [_("🏠 <b>Main menu</b>")]
    if campaign is not None:
        lines += [escape(title_of(campaign, language)), campaign_dates_line(campaign, now)]
    lines += ["", _("Type a few words at any time to search the ideas.")]
    return Screen("\n".join(lines), main_menu_markup())


def help_screen() -> Screen:
    text = "\n".join([
        _("❓ <b>How it works</b>"),
        "",
        _("💡 <b>Ideas</b>: choose a category, open an idea and press “Support” if you agree with it. "
          "One resident, one support per idea."),
        _("↩️ While voting is open you can withdraw your support, unless the campaign counts a support "
          "as final, like a signature (the idea card says so)."),
        _("✍️ <b>Propose</b>: describe your own idea; a moderator reviews it, and you will hear what became of it."),
        _("🔎 <b>Search</b>: type a few words from an idea, in Latvian, Russian or English."),
        _("📤 <b>Share</b>: every idea card has a link that opens the same idea for your friends."),
        "",
        _("Commands:"),
        _("/start – welcome and campaign dates"),
        _("/menu – main menu"),
        _("/ideas – categories of ideas"),
        _("/propose – propose your own idea"),
        _("/myideas – your proposals and what became of them"),
        _("/subscribe – weekly digest, reminders and news you choose"),
        _("/unsubscribe – stop the digest, reminders and new-idea cards"),
        _("/notifications – news about my ideas: on or off"),
        _("/lang – change the language"),
        _("/cancel – leave what you are doing"),
        _("/privacy – what we keep about you; /mydata – all of it as a file; /forget – erase it"),
        _("/help – this help"),
    ])
    return Screen(text, main_menu_markup())


def cancelled() -> Screen:
    return Screen(_("Nothing to cancel. Here is the menu."), main_menu_markup())


def cancelled_done() -> Screen:
    return Screen(_("Cancelled. Here is the menu."), main_menu_markup())
