"""Every screen the resident sees: its HTML text and its buttons, in the current language.
User and campaign content is always escaped here; the handlers only send what these return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain.ideas import SORT_RANDOM, SORTS, IdeaCard, IdeaList
from bot.domain.localized import localized
from bot.domain.rules import Phase, VoteRefusal, campaign_phase, idea_start_payload
from bot.domain.search import SearchResult
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, fmt_date, fmt_datetime, fmt_number
from bot.ui import callbacks as cb
from bot.ui.status_texts import note_text, status_name
from bot.ui.text import MESSAGE_LIMIT, escape, shorten, split_text, utf16_length
from storage.ideas import SORT_NEW, SORT_TOP
from storage.models import Campaign, Category, Idea, IdeaStatus, StatusChange

# A part of an idea's text: leaves room within Telegram's 4096 for a 300-character title (600 UTF-16 units with
# emoji) and the card's own lines; the status history gets what is left (see idea_card_screen).
BODY_PART_LIMIT = 2600


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def _language_mark(language: str) -> str:
    names = {"lv": _("in Latvian"), "ru": _("in Russian"), "en": _("in English")}
    return "🌐 <i>" + _("Not translated yet, shown {language}.").format(language=names[language]) + "</i>"


def _title(row: object, language: str) -> str:
    return localized(row, "title", language).text


def supporters_text(count: int) -> str:
    return ngettext("{count} supporter", "{count} supporters", count).format(count=fmt_number(count))


def ideas_count_text(count: int) -> str:
    return ngettext("{count} idea", "{count} ideas", count).format(count=fmt_number(count))


def _menu_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🏠 Menu"), callback_data=cb.Menu(to=cb.MENU_MAIN).pack())


def main_menu_markup() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💡 Ideas"), callback_data=cb.Menu(to=cb.MENU_CATEGORIES))
    builder.button(text=_("✍️ Propose an idea"), callback_data=cb.Menu(to=cb.MENU_PROPOSE))
    builder.button(text=_("🗂 My ideas"), callback_data=cb.Menu(to=cb.MENU_MY_IDEAS))
    builder.button(text=_("🔔 Subscriptions"), callback_data=cb.Menu(to=cb.MENU_SUBSCRIPTIONS))
    builder.button(text=_("🔎 Search"), callback_data=cb.Menu(to=cb.MENU_SEARCH))
    builder.button(text=_("🌐 Language"), callback_data=cb.Menu(to=cb.MENU_LANGUAGE))
    builder.button(text=_("❓ Help"), callback_data=cb.Menu(to=cb.MENU_HELP))
    builder.adjust(1, 2, 2, 2)
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


def welcome(campaign: Campaign | None, language: str, now: datetime, offer_language: bool) -> Screen:
    lines = [_("👋 Welcome! This is ManaBalss's co-creation bot.")]
    if campaign is None:
        lines.append(_("No campaign is running right now. We will be back with the next one soon."))
    else:
        lines += [
            "",
            f"<b>{escape(_title(campaign, language))}</b>",
            escape(localized(campaign, "description", language).text),
            "",
            _("🗓 Dates: {start} – {end}").format(start=fmt_date(campaign.starts_at), end=fmt_date(campaign.ends_at)),
            campaign_dates_line(campaign, now),
            "",
            _("📌 The most supported ideas go to the State Chancellery and experts, who use them to draft the "
              "national open government action plan."),
        ]
    lines += ["", _("Read the ideas, support the ones you agree with, or type a few words to search.")]
    if offer_language:
        lines += ["", _("🌐 You can change the language at any time: /lang")]
    return Screen("\n".join(lines), main_menu_markup())


def main_menu(campaign: Campaign | None, language: str, now: datetime) -> Screen:
    lines = [_("🏠 <b>Main menu</b>")]
    if campaign is not None:
        lines += [escape(_title(campaign, language)), campaign_dates_line(campaign, now)]
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
        _("/lang – change the language"),
        _("/cancel – leave what you are doing"),
        _("/help – this help"),
    ])
    return Screen(text, main_menu_markup())


def language_screen() -> Screen:
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=cb.Language(code=code))
    builder.adjust(3)
    builder.row(_menu_button())
    # Said in all three languages: someone who cannot read the current one must still find theirs.
    return Screen("🌐 Izvēlies valodu · Выберите язык · Choose your language", builder.as_markup())


def categories_screen(campaign: Campaign, categories: list[tuple[Category, int]], language: str) -> Screen:
    lines = [f"<b>{escape(_title(campaign, language))}</b>", "", _("Choose a category:")]
    builder = InlineKeyboardBuilder()
    for category, count in categories:
        label = f"{shorten(_title(category, language), 48)} · {fmt_number(count)}"
        builder.row(InlineKeyboardButton(text=label, callback_data=cb.IdeaList(cat=category.id).pack()))
    if not categories:
        lines.append(_("There are no ideas yet."))
    builder.row(_menu_button())
    return Screen("\n".join(lines), builder.as_markup())


SORT_LABELS = {SORT_TOP: "🔥", SORT_NEW: "🆕", SORT_RANDOM: "🎲"}


def _sort_names() -> dict[str, str]:
    return {SORT_TOP: _("Most supported"), SORT_NEW: _("Newest"), SORT_RANDOM: _("Random order")}


def ideas_list_screen(page: IdeaList, language: str) -> Screen:
    names = _sort_names()
    lines = [
        f"<b>{escape(_title(page.category, language))}</b>",
        f"{ideas_count_text(page.total)} · {names[page.sort]}",
    ]
    if page.pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=fmt_number(page.page + 1),
                                                        pages=fmt_number(page.pages)))
    if not page.ideas:
        lines += ["", _("There are no ideas in this category yet.")]
    builder = InlineKeyboardBuilder()
    for idea in page.ideas:
        label = f"{shorten(_title(idea, language), 52)} · 👍 {fmt_number(idea.supporters_count)}"
        data = cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id, sort=page.sort, page=page.page)
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    pager = []
    if page.page > 0:
        pager.append(InlineKeyboardButton(
            text=_("◀️ Previous"), callback_data=cb.IdeaList(cat=page.category.id, sort=page.sort,
                                                              page=page.page - 1).pack()))
    if page.page + 1 < page.pages:
        pager.append(InlineKeyboardButton(
            text=_("Next ▶️"), callback_data=cb.IdeaList(cat=page.category.id, sort=page.sort,
                                                          page=page.page + 1).pack()))
    if pager:
        builder.row(*pager)
    builder.row(*[
        InlineKeyboardButton(text=("• " if sort == page.sort else "") + f"{SORT_LABELS[sort]} {names[sort]}",
                             callback_data=cb.IdeaList(cat=page.category.id, sort=sort).pack())
        for sort in SORTS
    ])
    builder.row(
        InlineKeyboardButton(text=_("⬅️ Categories"), callback_data=cb.Menu(to=cb.MENU_CATEGORIES).pack()),
        _menu_button(),
    )
    return Screen("\n".join(lines), builder.as_markup())


def _status_line(idea: Idea) -> str | None:
    labels = {
        IdeaStatus.UNDER_REVIEW: _("📋 Status: under review by the working group"),
        IdeaStatus.INCLUDED: _("✅ Status: included in the action plan"),
        IdeaStatus.NOT_INCLUDED: _("📋 Status: not included in the action plan"),
        IdeaStatus.IMPLEMENTED: _("🏁 Status: implemented"),
    }
    return labels.get(idea.status)


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
    return f"https://t.me/{bot_username}?start={idea_start_payload(idea_id)}"


def idea_text_lines(idea: Idea, category: Category, language: str, part: int) -> tuple[list[str], int, int]:
    """The idea as everyone sees it (title, language mark, category, status, one part of the text), with the
    part actually shown and the number of parts. Shared by the card and the proposal's preview."""
    title = localized(idea, "title", language)
    body = localized(idea, "body", language)
    parts = split_text(body.text, BODY_PART_LIMIT)
    part = min(max(part, 0), len(parts) - 1)
    lines = [f"💡 <b>{escape(title.text)}</b>"]
    if title.is_fallback or body.is_fallback:
        lines.append(_language_mark(body.language if body.is_fallback else title.language))
    lines.append(f"🏷 {escape(_title(category, language))}")
    status = _status_line(idea)
    if status:
        lines.append(status)
    lines.append("")
    if part > 0:
        lines.append("…")
    lines.append(escape(parts[part]))
    if part + 1 < len(parts):
        lines.append("…")
        lines.append(_("<i>(part {part} of {parts})</i>").format(part=part + 1, parts=len(parts)))
    return lines, part, len(parts)


def idea_card_screen(card: IdeaCard, language: str, bot_username: str, part: int, sort: str, page: int,
                     now: datetime) -> Screen:
    idea, campaign = card.idea, card.campaign
    lines, part, parts_count = idea_text_lines(idea, card.category, language, part)
    title = localized(idea, "title", language)
    if card.merged_from:
        lines.insert(1, _("🔁 The idea you opened was merged into this one: its supporters count here."))
    footer = ["", f"👍 <b>{supporters_text(idea.supporters_count)}</b>"]
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

    def action(act: str, part_number: int = part) -> str:
        return cb.IdeaAction(act=act, id=idea.id, part=part_number, sort=sort, page=page).pack()

    builder = InlineKeyboardBuilder()
    if card.support_refusal is not None:
        builder.row(InlineKeyboardButton(text=_("🔒 Voting is not open"), callback_data=action(cb.ACT_WHY_CLOSED)))
    elif not card.supported:
        builder.row(InlineKeyboardButton(text=_("👍 Support"), callback_data=action(cb.ACT_SUPPORT)))
    elif card.withdrawal_refusal is None:
        builder.row(InlineKeyboardButton(text=_("↩️ Withdraw support"), callback_data=action(cb.ACT_WITHDRAW)))
    pager = []
    if part > 0:
        pager.append(InlineKeyboardButton(text=_("◀️ Previous part"), callback_data=action(cb.ACT_OPEN, part - 1)))
    if part + 1 < parts_count:
        pager.append(InlineKeyboardButton(text=_("📖 Read more"), callback_data=action(cb.ACT_OPEN, part + 1)))
    if pager:
        builder.row(*pager)
    share_url = f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(shorten(title.text, 200))}"
    builder.row(InlineKeyboardButton(text=_("📤 Share"), url=share_url),
                InlineKeyboardButton(text=_("⚠️ Report"), callback_data=action(cb.ACT_REPORT)))
    builder.row(
        InlineKeyboardButton(text=_("⬅️ Back to the list"),
                             callback_data=cb.IdeaList(cat=card.category.id, sort=sort, page=page).pack()),
        _menu_button(),
    )
    return Screen(text, builder.as_markup())


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


def search_prompt() -> Screen:
    return Screen(_("🔎 Type a few words from the idea you are looking for, in any language. "
                    "For example: <i>budget</i>."),
                  InlineKeyboardMarkup(inline_keyboard=[[_menu_button()]]))


def search_results_screen(result: SearchResult, language: str) -> Screen:
    query = escape(result.query)
    if result.too_short:
        return Screen(_("🔎 Please type at least two letters to search."), main_menu_markup())
    if not result.ideas:
        return Screen(_("🔎 Nothing found for “{query}”. Try other words or browse the categories.")
                      .format(query=query), main_menu_markup())
    lines = [_("🔎 Results for “{query}”:").format(query=query),
             ngettext("Found {count} idea.", "Found {count} ideas.", result.total)
             .format(count=fmt_number(result.total))]
    if result.total > len(result.ideas):
        lines.append(_("Showing the {count} most supported. Add words to narrow the search.")
                     .format(count=fmt_number(len(result.ideas))))
    builder = InlineKeyboardBuilder()
    for idea in result.ideas:
        label = f"{shorten(_title(idea, language), 52)} · 👍 {fmt_number(idea.supporters_count)}"
        builder.row(InlineKeyboardButton(text=label, callback_data=cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack()))
    builder.row(_menu_button())
    return Screen("\n".join(lines), builder.as_markup())


def no_campaign() -> Screen:
    return Screen(_("No campaign is running right now. We will be back with the next one soon."))


def idea_not_found() -> Screen:
    return Screen(_("😕 This idea was not found. It may have been removed, or the link is wrong."),
                  main_menu_markup())


def unexpected_message() -> Screen:
    return Screen(_("🤔 I can only read text. Type a few words to search the ideas, or use the menu."),
                  main_menu_markup())


def stale_button_text() -> str:
    return _("This button is out of date. Here is a fresh menu.")


def error_text() -> str:
    return _("😕 Something went wrong on our side. Your earlier votes are safe; please try again.")


def cancelled() -> Screen:
    return Screen(_("Nothing to cancel. Here is the menu."), main_menu_markup())


def cancelled_done() -> Screen:
    return Screen(_("Cancelled. Here is the menu."), main_menu_markup())


def language_changed(language: str) -> str:
    return _("✅ Language: {language}.").format(language=LANGUAGE_NAMES[language])


def main_menu_only() -> Screen:
    return Screen(_("🏠 <b>Main menu</b>"), main_menu_markup())


def unknown_command() -> Screen:
    return Screen(_("🤔 I do not know this command. /help lists what I can do."), main_menu_markup())


def report_reasons(card: IdeaCard, language: str) -> Screen:
    title = escape(localized(card.idea, "title", language).text)
    reasons = {"offensive": _("🤬 Offensive"), "spam": _("📢 Spam or advertising"),
               "duplicate": _("👯 A duplicate of another idea")}
    builder = InlineKeyboardBuilder()
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


def slow_down_text() -> str:
    return _("🐢 That was a lot at once. Please wait a minute, then continue.")
