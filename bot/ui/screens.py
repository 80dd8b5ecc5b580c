"""What every journey's screens share: the Screen itself, titles, counts, the main menu, the pager, and the short
answers any handler may give (not found, stale button, error). Each journey has its own bot/ui/<journey>_screens.py
(README, Development). User and campaign content is always escaped in the screens; handlers only send them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.domain.localized import localized
from bot.domain.rules import Phase, campaign_phase
from bot.i18n import fmt_date, fmt_datetime, fmt_number
from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard, button
from bot.ui.text import shorten
from storage.models import Campaign


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def title_of(row: object, language: str) -> str:
    """The title of an idea, a category or a campaign in the reader's language (or its fallback), not escaped."""
    return localized(row, "title", language).text


def language_in(code: str) -> str:
    """ "in Latvian", "in Russian", "in English" in the reader's language."""
    return {"lv": _("in Latvian"), "ru": _("in Russian"), "en": _("in English")}[code]


def idea_button(idea, language: str, data: str) -> InlineKeyboardButton:
    """An idea in a list: its support first, so that a phone's narrow button cuts the title, not the count."""
    label = f"👍 {fmt_number(idea.supporters_count)} · {shorten(title_of(idea, language), 52)}"
    return button(label, data)


def pager_row(current: int, count: int, previous: str, following: str,
              data: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """Buttons to the previous and the next page (or part), only where there is one; `data(n)` is the
    callback data of page n."""
    row = []
    if current > 0:
        row.append(button(previous, data(current - 1)))
    if current + 1 < count:
        row.append(button(following, data(current + 1)))
    return row


def supporters_text(count: int) -> str:
    return ngettext("{count} supporter", "{count} supporters", count).format(count=fmt_number(count))


def ideas_count_text(count: int) -> str:
    return ngettext("{count} idea", "{count} ideas", count).format(count=fmt_number(count))


def menu_button() -> InlineKeyboardButton:
    return button(_("🏠 Menu"), cb.pack(cb.Menu, to=cb.MENU_MAIN))


def main_menu_markup() -> InlineKeyboardMarkup:
    builder = Keyboard()
    builder.button(text=_("💡 Ideas"), callback_data=cb.Menu(to=cb.MENU_CATEGORIES))
    builder.button(text=_("✍️ Propose an idea"), callback_data=cb.Menu(to=cb.MENU_PROPOSE))
    builder.button(text=_("🗂 My ideas"), callback_data=cb.Menu(to=cb.MENU_MY_IDEAS))
    builder.button(text=_("🔔 Subscriptions"), callback_data=cb.Menu(to=cb.MENU_SUBSCRIPTIONS))
    builder.button(text=_("🔎 Search"), callback_data=cb.Menu(to=cb.MENU_SEARCH))
    builder.button(text=_("📈 Plan"), callback_data=cb.Menu(to=cb.MENU_PLAN))
    builder.button(text=_("🌐 Language"), callback_data=cb.Menu(to=cb.MENU_LANGUAGE))
    builder.button(text=_("❓ Help"), callback_data=cb.Menu(to=cb.MENU_HELP))
    builder.adjust(1, 2, 2, 2, 1)
    return builder.as_markup()


def campaign_dates_line(campaign: Campaign, now: datetime) -> str:
    phase = campaign_phase(campaign.starts_at, campaign.ends_at, now)
    if phase is Phase.UPCOMING:
        return _("🗓 Voting opens: {start}.").format(start=fmt_datetime(campaign.starts_at))
    if phase is Phase.OPEN:
        days = (campaign.ends_at - now).days
        if days < 1:
            left = _("the last day")
        else:
            left = ngettext("{count} day left", "{count} days left", days).format(count=fmt_number(days))
        return _("🗓 Voting is open until {end} ({left}).").format(end=fmt_datetime(campaign.ends_at), left=left)
    return _("🗓 Voting closed: {end}.").format(end=fmt_date(campaign.ends_at))


def no_campaign() -> Screen:
    return Screen(_("No campaign is running right now. We will be back with the next one soon."))


def idea_not_found() -> Screen:
    return Screen(_("😕 This idea was not found. It may have been removed, or the link is wrong."),
                  main_menu_markup())


def unexpected_message() -> Screen:
    return Screen(_("🤔 We can only read text. Type a few words to search the ideas, or use the menu."),
                  main_menu_markup())


def stale_button_text() -> str:
    return _("This button is out of date. Here is a fresh menu.")


def error_text() -> str:
    return _("😕 Something went wrong on our side. Your earlier votes are safe; please try again.")


def main_menu_only() -> Screen:
    return Screen(_("🏠 <b>Main menu</b>"), main_menu_markup())


def unknown_command() -> Screen:
    return Screen(_("🤔 There is no such command. /help lists them all."), main_menu_markup())


def slow_down_text() -> str:
    return _("🐢 That was a lot at once. Please wait a minute, then continue.")
