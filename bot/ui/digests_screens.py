"""Texts of the weekly digest, the weekly personal news and the new-idea cards, written to the outbox by
bot/domain/digests.py. Short and scannable: numbered titles, each number a button that opens the idea as a
new message (where it can be supported). Every title, text and note is escaped here."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.domain.digests import NEWS_LIMIT, Digest, DigestItem, DigestMessage, NewsItem
from bot.domain.localized import localized
from bot.domain.outgoing import Outgoing
from bot.i18n import fmt_date_range, fmt_number, rendering
from bot.ui import callbacks as cb
from bot.ui.callbacks import SUB_STOP_DIGEST, NotifyToggle, Subs
from bot.ui.screens import Screen, campaign_dates_line, title_of
from bot.ui.status_texts import STATUS_ICONS, note_text, status_name
from bot.ui.text import MESSAGE_LIMIT, escape, shorten, utf16_length
from storage.models import Category, Idea, StatusChange

TITLE_LENGTH = 90  # characters of a title in a list
BUTTON_TITLE_LENGTH = 40
NOTE_LENGTH = 150
CARD_BODY_LENGTH = 400


def _open_button(number: int, idea: Idea, language: str) -> InlineKeyboardButton:
    label = f"{number}. {shorten(title_of(idea, language), BUTTON_TITLE_LENGTH)}"
    return InlineKeyboardButton(text=label,
                                callback_data=cb.IdeaAction(act=cb.ACT_OPEN_NEW, id=idea.id).pack())


def _status_words(change: StatusChange) -> str:
    return f"{STATUS_ICONS.get(change.status, '')} {status_name(change.status)}".strip()


def _note_line(change: StatusChange) -> str | None:
    if not change.note:
        return None
    return "   " + _("📝 Note: {note}").format(note=note_text(shorten(change.note, NOTE_LENGTH)))


def _fit(build: Callable[[int], Screen], most: int) -> tuple[Screen, int]:
    """The screen with as many items per section as fit into one message (the usual case: all of them), and
    that number."""
    for limit in range(most, 0, -1):
        screen = build(limit)
        if utf16_length(screen.text) <= MESSAGE_LIMIT:
            return screen, limit
    return build(0), 0


# ------------------------------------------------------------------ the weekly digest

def digest_screen(digest: Digest, language: str) -> tuple[Screen, frozenset[int]]:
    """The digest's message and the ideas it lists."""
    sections = digest.sections
    most = max(len(sections.new), len(sections.top), len(sections.changed), 1)
    screen, limit = _fit(lambda limit: _digest_screen(digest, language, limit), most)
    return screen, sections.listed_ids(limit)


def _digest_screen(digest: Digest, language: str, limit: int) -> Screen:
    sections = digest.sections
    campaign_title = escape(title_of(digest.campaign, language))
    lines = [_("📰 <b>The week in ideas</b> · {campaign}").format(campaign=campaign_title),
             _("🗓 {dates}").format(dates=fmt_date_range(digest.start, digest.end))]
    buttons: list[list[InlineKeyboardButton]] = []

    def add(item: DigestItem, with_count: bool) -> None:
        number = len(buttons) + 1
        line = f"{number}. {escape(shorten(title_of(item.idea, language), TITLE_LENGTH))}"
        if with_count:
            line += f" · 👍 {fmt_number(item.idea.supporters_count)}"
        if item.change is not None:
            line += f" · {_status_words(item.change)}"
        lines.append(line)
        note = _note_line(item.change) if item.change is not None else None
        if note:
            lines.append(note)
        buttons.append([_open_button(number, item.idea, language)])

    new, top, changed = sections.new[:limit], sections.top[:limit], sections.changed[:limit]
    if new:
        lines += ["", _("🆕 <b>New ideas</b>")]
        for item in new:
            add(item, with_count=True)
        more = sections.new_total - len(new)
        if more > 0:
            lines.append(ngettext("<i>…and {count} more: /ideas</i>", "<i>…and {count} more: /ideas</i>", more)
                         .format(count=fmt_number(more)))
    if top:
        lines += ["", _("🔥 <b>Most supported</b>")]
        for item in top:
            add(item, with_count=True)
    if changed:
        lines += ["", _("📋 <b>What became of ideas</b>")]
        for item in changed:
            add(item, with_count=False)
        more = sections.changed_total - len(changed)
        if more > 0:
            lines.append(ngettext("<i>…and {count} more.</i>", "<i>…and {count} more.</i>", more)
                         .format(count=fmt_number(more)))
    lines += ["", campaign_dates_line(digest.campaign, digest.end)]
    if buttons:
        lines.append(_("👇 Press a number to open the idea and support it."))
    buttons.append([InlineKeyboardButton(text=_("🔕 Unsubscribe"),
                                         callback_data=Subs(act=SUB_STOP_DIGEST).pack())])
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons))


# ------------------------------------------------------------------ personal news

def news_screen(items: list[NewsItem], language: str) -> Screen:
    return _fit(lambda limit: _news_screen(items, language, limit), min(len(items), NEWS_LIMIT))[0]


def _news_screen(items: list[NewsItem], language: str, limit: int) -> Screen:
    lines = [_("🔔 <b>Your ideas this week</b>"), _("What became of the ideas you proposed or support:")]
    buttons: list[list[InlineKeyboardButton]] = []
    shown = items[:limit]
    for number, item in enumerate(shown, start=1):
        title = escape(shorten(title_of(item.idea, language), TITLE_LENGTH))
        mine = " " + _("(your idea)") if item.is_author else ""
        lines += ["", f"{number}. 💡 <b>{title}</b>{mine}", "   " + _status_words(item.change)]
        note = _note_line(item.change)
        if note:
            lines.append(note)
        if item.public:
            buttons.append([_open_button(number, item.idea, language)])
    if len(items) > len(shown):
        more = len(items) - len(shown)
        lines += ["", ngettext("<i>…and {count} more.</i>", "<i>…and {count} more.</i>", more)
                  .format(count=fmt_number(more))]
    buttons.append([InlineKeyboardButton(text=_("🔕 Turn off news about my ideas"),
                                         callback_data=NotifyToggle(on=0, src="n").pack())])
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons))


# ------------------------------------------------------------------ new-idea cards

def new_idea_card_screen(idea: Idea, category: Category, language: str) -> Screen:
    title = title_of(idea, language)
    body = localized(idea, "body", language).text
    lines = [_("🆕 <b>A new idea in “{category}”</b>").format(category=escape(title_of(category, language))), "",
             f"💡 <b>{escape(title)}</b>", escape(shorten(body, CARD_BODY_LENGTH))]
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("👍 Support"),
                             callback_data=cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea.id).pack()),
        InlineKeyboardButton(text=_("💡 Open the idea"),
                             callback_data=cb.IdeaAction(act=cb.ACT_OPEN_NEW, id=idea.id).pack()),
    ]])
    return Screen("\n".join(lines), markup)


# ------------------------------------------------------------------ the renderer

def _dump(markup: InlineKeyboardMarkup | None) -> dict | None:
    return markup.model_dump(exclude_none=True) if markup is not None else None


class DigestScreens:
    """bot.domain.digests.DigestRenderer: each text in the given language, in an i18n context of its own."""

    def __init__(self, i18n: I18n, tz: ZoneInfo | None = None) -> None:
        self.i18n = i18n
        self.tz = tz  # the TIMEZONE setting

    def _render(self, language: str, build: Callable[[], Screen]) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            screen = build()
        return Outgoing(screen.text, _dump(screen.markup))

    def digest(self, digest: Digest, language: str) -> DigestMessage:
        with rendering(self.i18n, language, self.tz):
            screen, listed = digest_screen(digest, language)
        return DigestMessage(Outgoing(screen.text, _dump(screen.markup)), listed)

    def news(self, items: list[NewsItem], language: str) -> Outgoing:
        return self._render(language, lambda: news_screen(items, language))

    def new_idea_card(self, idea: Idea, category: Category, language: str) -> Outgoing:
        return self._render(language, lambda: new_idea_card_screen(idea, category, language))
