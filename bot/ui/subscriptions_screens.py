"""The subscription settings a resident sees (/subscribe, "🔔 Subscriptions" in the menu), the category
sub-screen, and the answers of /unsubscribe and the digest's "Unsubscribe" button."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.domain import subscriptions as subs
from bot.i18n import fmt_number
from bot.ui import callbacks as cb
from bot.ui.callbacks import SUB_CATEGORIES, SUB_CATEGORY, SUB_HOME, SUB_OPTION, NotifyToggle, Subs
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, menu_button, title_of
from bot.ui.text import escape, shorten

ON, OFF = "✅", "▫️"


def _mark(on: bool) -> str:
    return ON if on else OFF


def _option_labels() -> dict[str, str]:
    return {subs.DIGEST: _("Weekly digest"), subs.REMINDERS: _("Reminders"),
            subs.NEWS: _("News about my ideas")}


def settings_screen(state: subs.Subscriptions, max_cards_per_day: int, quiet_hours: tuple[int, int]) -> Screen:
    lines = [
        _("🔔 <b>Subscriptions</b>"),
        _("Choose what the bot may send you. Press a button to turn it on (✅) or off (▫️)."),
        "",
        _("📰 <b>Weekly digest</b>: the week's new ideas, the most supported ones and what became of ideas."),
        _("⏰ <b>Reminders</b>: when voting opens, a few days and one day before it closes."),
        _("💬 <b>News about my ideas</b>: what became of the ideas you proposed or support."),
    ]
    cards = max_cards_per_day > 0 and state.campaign is not None and state.categories_total > 0
    if cards:
        lines.append(_("🏷 <b>New ideas in my categories</b>: each new idea of the categories you choose, with a "
                       "Support button; at most {count} a day, never between {start}:00 and {end}:00.").format(
            count=fmt_number(max_cards_per_day), start=f"{quiet_hours[0]:02d}", end=f"{quiet_hours[1]:02d}"))
    if state.banned:
        lines += ["", _("Your account cannot take part in voting, so only turning things off is possible.")]
    builder = Keyboard()
    labels = _option_labels()
    for option in (subs.DIGEST, subs.REMINDERS, subs.NEWS):
        on = state.is_on(option)
        builder.row(InlineKeyboardButton(
            text=f"{_mark(on)} {labels[option]}",
            callback_data=Subs(act=SUB_OPTION, opt=option, on=0 if on else 1).pack()))
    if cards:
        label = _("🏷 New ideas in my categories ({chosen} of {total})").format(
            chosen=fmt_number(state.categories_chosen), total=fmt_number(state.categories_total))
        builder.row(InlineKeyboardButton(text=label, callback_data=Subs(act=SUB_CATEGORIES).pack()))
    builder.row(menu_button())
    return Screen("\n".join(lines), builder.as_markup())


def categories_screen(choices: subs.CategoryChoices, language: str) -> Screen:
    chosen = sum(1 for _category, on in choices.categories if on)
    lines = [
        _("🏷 <b>New ideas in my categories</b>"),
        escape(title_of(choices.campaign, language)),
        "",
        _("Choose the categories whose new ideas you want to get as a card with a Support button."),
        ngettext("{count} category chosen.", "{count} categories chosen.", chosen).format(count=fmt_number(chosen)),
    ]
    builder = Keyboard()
    for category, on in choices.categories:
        title = shorten(title_of(category, language), 48)
        builder.row(InlineKeyboardButton(
            text=f"{_mark(on)} {title}",
            callback_data=Subs(act=SUB_CATEGORY, cat=category.id, on=0 if on else 1).pack()))
    builder.row(InlineKeyboardButton(text=_("⬅️ Back"), callback_data=Subs(act=SUB_HOME).pack()), menu_button())
    return Screen("\n".join(lines), builder.as_markup())


def no_campaign_categories() -> str:
    return _("There is no campaign with categories right now.")


def refusal_alert(outcome: subs.Outcome) -> str | None:
    if outcome is subs.Outcome.BANNED:
        return _("Sorry, your account cannot subscribe to this. You can still turn everything off.")
    if outcome is subs.Outcome.NOT_FOUND:
        return _("This button is out of date. Here is a fresh menu.")
    return None


def option_alert(option: str, on: bool) -> str:
    label = _option_labels()[option]
    return (_("✅ On: {option}.") if on else _("▫️ Off: {option}.")).format(option=label)


def _come_back() -> str:
    return _("To come back at any time: /subscribe, or “🔔 Subscriptions” in the menu.")


def unsubscribed(result: subs.Unsubscribed) -> Screen:
    if result.changed:
        lines = [_("🔕 Done: no more weekly digest, reminders or new idea cards.")]
    else:
        lines = [_("🔕 You were not subscribed to the weekly digest, reminders or new idea cards.")]
    lines.append(_come_back())
    if result.news_on:
        lines += ["", _("💬 News about your ideas still comes; /notifications turns it off.")]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("🔔 Subscriptions"), callback_data=cb.Menu(to=cb.MENU_SUBSCRIPTIONS).pack())]])
    return Screen("\n".join(lines), markup)


def digest_stopped_alert() -> str:
    """The answer to the digest's "Unsubscribe" button (an alert: at most 200 characters)."""
    return _("🔕 Done: no more weekly digest. To get it again: /subscribe.")


# ------------------------------------------------------------------ /notifications: news about my ideas

def notifications_screen(on: bool) -> Screen:
    if on:
        text = _("🔔 News about my ideas is on: we tell you when an idea you proposed or support "
                 "changes its status.")
        button = InlineKeyboardButton(text=_("🔕 Turn off"), callback_data=NotifyToggle(on=0).pack())
    else:
        text = _("🔕 News about my ideas is off.")
        button = InlineKeyboardButton(text=_("🔔 Turn on"), callback_data=NotifyToggle(on=1).pack())
    return Screen(text, InlineKeyboardMarkup(inline_keyboard=[[button]]))


def notifications_off_alert() -> str:
    return _("🔕 Done: no more news about your ideas. /notifications turns it back on.")
