"""Reading ideas: the categories, a paged list and the idea card (its text in parts, status history, supporters,
the support button or why voting is closed, sharing). Every idea text is escaped here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.browse import SORT_RANDOM, SORTS, IdeaCard, IdeaList
from bot.domain.localized import Localized, localized
from bot.domain.rules import VoteRefusal, idea_link
from bot.i18n import current_language, fmt_date, fmt_datetime, fmt_number
from bot.ui import callbacks as cb
from bot.ui.groups_screens import group_button
from bot.ui.keyboard import Keyboard, button
from bot.ui.plan_screens import commitment_button, commitment_link_line
from bot.ui.screens import (
    Screen,
    campaign_dates_line,
    idea_button,
    ideas_count_text,
    language_in,
    menu_button,
    pager_row,
    supporters_text,
    title_of,
)
from bot.ui.status_texts import note_text, status_name
from bot.ui.text import MESSAGE_LIMIT, escape, shorten, split_text, utf16_length
from storage.ideas import SORT_NEW, SORT_TOP
from storage.models import Campaign, Category, Commitment, Idea, IdeaStatus, StatusChange, WorkingGroup

# A part of an idea's text: leaves room within Telegram's 4096 for a 300-character title (600 UTF-16 units with
# emoji) and the card's own lines; the status history gets what is left (see idea_card_screen).
BODY_PART_LIMIT = 2600


def _language_mark(language: str) -> str:
    return "🌐 <i>" + _("Not translated yet, shown {language}.").format(language=language_in(language)) + "</i>"


def categories_screen(campaign: Campaign, categories: list[tuple[Category, int]], language: str) -> Screen:
    lines = [f"<b>{escape(title_of(campaign, language))}</b>", "", _("Choose a category:")]
    builder = Keyboard()
    for category, count in categories:
        label = f"{shorten(title_of(category, language), 48)} · {fmt_number(count)}"
        builder.row(button(label, cb.pack(cb.IdeaList, cat=category.id)))
    if not categories:
        lines.append(_("There are no ideas yet."))
    builder.row(menu_button())
    return Screen("\n".join(lines), builder.as_markup())


SORT_LABELS = {SORT_TOP: "🔥", SORT_NEW: "🆕", SORT_RANDOM: "🎲"}


def _sort_names() -> dict[str, str]:
    return {SORT_TOP: _("Most supported"), SORT_NEW: _("Newest"), SORT_RANDOM: _("Random")}


def ideas_list_screen(page: IdeaList, language: str) -> Screen:
    names = _sort_names()
    lines = [
        f"<b>{escape(title_of(page.category, language))}</b>",
        f"{ideas_count_text(page.total)} · {names[page.sort]}",
    ]
    if page.pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=fmt_number(page.page + 1),
                                                        pages=fmt_number(page.pages)))
    if not page.ideas:
        lines += ["", _("There are no ideas in this category yet.")]
    builder = Keyboard()
    for idea in page.ideas:
        data = cb.pack(cb.IdeaAction, act=cb.ACT_OPEN, id=idea.id, sort=page.sort, page=page.page)
        builder.row(idea_button(idea, language, data))
    pager = pager_row(page.page, page.pages, _("◀️ Previous"), _("Next ▶️"),
                      lambda number: cb.pack(cb.IdeaList, cat=page.category.id, sort=page.sort, page=number))
    if pager:
        builder.row(*pager)
    builder.row(*[button(("• " if sort == page.sort else "") + f"{SORT_LABELS[sort]} {names[sort]}",
                         cb.pack(cb.IdeaList, cat=page.category.id, sort=sort)) for sort in SORTS])
    builder.row(button(_("⬅️ Categories"), cb.pack(cb.Menu, to=cb.MENU_CATEGORIES)), menu_button())
    return Screen("\n".join(lines), builder.as_markup())


def _status_line(status: IdeaStatus) -> str | None:
    labels = {
        IdeaStatus.UNDER_REVIEW: _("📋 Status: under review by the working group"),
        IdeaStatus.INCLUDED: _("✅ Status: included in the action plan"),
        IdeaStatus.NOT_INCLUDED: _("📋 Status: not included in the action plan"),
        IdeaStatus.IMPLEMENTED: _("🏁 Status: implemented"),
    }
    return labels.get(status)


def refusal_text(refusal: VoteRefusal, campaign: Campaign) -> str:
    if refusal is VoteRefusal.NOT_STARTED:
        return _("Voting has not started yet. It opens {start}.").format(start=fmt_datetime(campaign.starts_at))
    if refusal is VoteRefusal.ENDED:
        return _("Voting closed on {end}. Thank you for taking part!").format(end=fmt_date(campaign.ends_at))
    if refusal is VoteRefusal.FINAL:
        return _("In this campaign a support is final, like a signature: it cannot be withdrawn.")
    if refusal is VoteRefusal.BANNED:
        return _("Sorry, you cannot vote.")
    return _("This idea is no longer available.")


def share_link(bot_username: str, idea_id: int) -> str:
    return idea_link(bot_username, idea_id)


def idea_text_lines(idea: Idea, category: Category, language: str, part: int) -> tuple[list[str], int, int]:
    """The idea as everyone sees it (title, language mark, category, status, one part of the text), with the
    part actually shown and the number of parts. Shared by the card and the proposal's preview."""
    title = localized(idea, "title", language)
    body = localized(idea, "body", language)
    lines, part, parts = _text_lines(title, body, title_of(category, language), idea.status, part, current_language())
    return list(lines), part, parts


# Kept by what they show (the texts themselves, not the idea: a proposal's preview passes an idea being edited) and
# by `language`, the one gettext translates into now: every press on a card renders the same few lines again.
@lru_cache(maxsize=2048)
def _text_lines(title: Localized, body: Localized, category_title: str, status: IdeaStatus, part: int,
                language: str) -> tuple[tuple[str, ...], int, int]:
    parts = split_text(body.text, BODY_PART_LIMIT)
    part = min(max(part, 0), len(parts) - 1)
    lines = [f"💡 <b>{escape(title.text)}</b>"]
    if title.is_fallback or body.is_fallback:
        lines.append(_language_mark(body.language if body.is_fallback else title.language))
    lines.append(f"🏷 {escape(category_title)}")
    status_line = _status_line(status)
    if status_line:
        lines.append(status_line)
    lines.append("")
    if part > 0:
        lines.append("…")
    lines.append(escape(parts[part]))
    if part + 1 < len(parts):
        lines.append("…")
        lines.append(_("<i>(part {part} of {parts})</i>").format(part=part + 1, parts=len(parts)))
    return tuple(lines), part, len(parts)


# An idea the plan took up invites its readers to the working group drafting the commitment.
INVITING_STATUSES = frozenset({IdeaStatus.INCLUDED, IdeaStatus.IMPLEMENTED})


def idea_card_screen(card: IdeaCard, language: str, bot_username: str, part: int, sort: str, page: int,
                     now: datetime) -> Screen:
    idea, campaign = card.idea, card.campaign
    lines, part, parts_count = idea_text_lines(idea, card.category, language, part)
    title = localized(idea, "title", language)
    if card.merged_from:
        lines.insert(1, _("🔁 The idea you opened was merged into this one: its supporters count here."))
    footer = ["", f"👍 <b>{supporters_text(card.supporters)}</b>"]
    invite = card.commitment is not None and idea.status in INVITING_STATUSES and card.groups
    if card.commitment is not None:
        footer.insert(1, commitment_link_line(card.commitment, language))
    if invite:
        footer.insert(2, _("👥 A working group drafts this commitment: you can join it."))
    if card.supported:
        footer.append(_("✅ You support this idea."))
    if card.support_refusal is None:
        footer.append(campaign_dates_line(campaign, now))
        if not campaign.votes_revocable and not card.supported:
            footer.append(_("⚠️ A support is final in this campaign: like a signature, it cannot be withdrawn."))
    else:
        footer.append(refusal_text(card.support_refusal, campaign))
    link = share_link(bot_username, idea.id)
    footer += ["", _("🔗 Link to this idea: {link}").format(link=link)]
    # The newest history entries that still fit into one message.
    for shown in range(min(len(card.history), HISTORY_SHOWN), -1, -1):
        text = "\n".join([*lines, *history_lines(card.history[len(card.history) - shown:]), *footer])
        if utf16_length(text) <= MESSAGE_LIMIT:
            break

    place = CardPlace(idea.id, card.category.id, part, parts_count, sort, page)
    if card.commitment is None:  # most cards: the same keyboard for every reader in the same state
        markup = _plain_card_markup(place, _vote_button(card), link, title.text, current_language())
    else:
        markup = _card_markup(place, _vote_button(card), link, title.text, card.commitment,
                              card.groups if invite else [], language)
    return Screen(text, markup)


VOTE_CLOSED, VOTE_SUPPORT, VOTE_WITHDRAW = "closed", "support", "withdraw"


def _vote_button(card: IdeaCard) -> str | None:
    """The card's vote button: why voting is closed, Support, Withdraw, or none (a support that is final)."""
    if card.support_refusal is not None:
        return VOTE_CLOSED
    if not card.supported:
        return VOTE_SUPPORT
    return VOTE_WITHDRAW if card.withdrawal_refusal is None else None


@dataclass(frozen=True)
class CardPlace:
    """Where a card's buttons lead: the idea, its part shown, and the list (category, order, page) it came from."""

    idea_id: int
    category_id: int
    part: int
    parts: int
    sort: str
    page: int

    def action(self, act: str, part: int | None = None) -> str:
        return cb.pack(cb.IdeaAction, act=act, id=self.idea_id, part=self.part if part is None else part,
                       sort=self.sort, page=self.page)


@lru_cache(maxsize=4096)
def _plain_card_markup(place: CardPlace, vote_button: str | None, link: str, title: str,
                       language: str) -> InlineKeyboardMarkup:
    """The keyboard of a card without a plan link, kept: its buttons depend only on these (`language`: the one
    gettext translates into now)."""
    return _card_markup(place, vote_button, link, title, None, [], language)


def _card_markup(place: CardPlace, vote_button: str | None, link: str, title: str, commitment: Commitment | None,
                 groups: list[WorkingGroup], language: str) -> InlineKeyboardMarkup:
    builder = Keyboard()
    if vote_button == VOTE_CLOSED:
        builder.row(button(_("🔒 Voting is not open"), place.action(cb.ACT_WHY_CLOSED)))
    elif vote_button == VOTE_SUPPORT:
        builder.row(button(_("👍 Support"), place.action(cb.ACT_SUPPORT)))
    elif vote_button == VOTE_WITHDRAW:
        builder.row(button(_("↩️ Withdraw support"), place.action(cb.ACT_WITHDRAW)))
    pager = pager_row(place.part, place.parts, _("◀️ Previous part"), _("📖 Read more"),
                      lambda number: place.action(cb.ACT_OPEN, number))
    if pager:
        builder.row(*pager)
    if commitment is not None:
        builder.row(commitment_button(commitment, language))
    for group in groups:
        builder.row(group_button(group, language))
    share_url = f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(shorten(title, 200))}"
    builder.row(button(_("📤 Share"), url=share_url), button(_("⚠️ Report"), place.action(cb.ACT_REPORT)))
    builder.row(button(_("⬅️ Back to the list"),
                       cb.pack(cb.IdeaList, cat=place.category_id, sort=place.sort, page=place.page)),
                menu_button())
    return builder.as_markup()


HISTORY_SHOWN = 5


def history_lines(history: list[StatusChange]) -> list[str]:
    """What became of the idea, newest last: each status change with its date and note."""
    if not history:
        return []
    lines = ["", _("📜 <b>What happened to this idea</b>")]
    for change in history:
        line = f"• {fmt_date(change.created_at)}: {status_name(change.status)}"
        if change.note:
            line += f" — {note_text(shorten(change.note, 200))}"
        lines.append(line)
    return lines
