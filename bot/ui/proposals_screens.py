"""Screens of the proposal conversation and "My ideas"."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.domain.proposals import ProposalRefusal
from bot.domain.texts import CheckedText, TextProblem
from bot.i18n import fmt_date, fmt_number
from bot.ui import callbacks as cb
from bot.ui.browse_screens import idea_text_lines
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, idea_button, main_menu_markup, menu_button, supporters_text, title_of
from bot.ui.status_texts import note_text, status_name
from bot.ui.text import escape, shorten
from storage.models import Campaign, Category, Idea, IdeaStatus


def _button(text: str, act: str, item_id: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.Proposal(act=act, id=item_id).pack())


def _back_and_cancel() -> list[InlineKeyboardButton]:
    return [_button(_("⬅️ Back"), cb.PROPOSAL_BACK), _button(_("✖️ Cancel"), cb.PROPOSAL_CANCEL)]


def refusal(reason: ProposalRefusal, campaign: Campaign | None, max_pending: int) -> Screen:
    texts = {
        ProposalRefusal.NO_CAMPAIGN: _("No campaign is running right now. We will be back with the next one soon."),
        ProposalRefusal.NOT_STARTED: _("Proposals open together with voting, on {start}."),
        ProposalRefusal.ENDED: _("The campaign has ended, so new proposals are no longer accepted. "
                                 "Thank you for taking part!"),
        ProposalRefusal.BANNED: _("Sorry, you cannot submit proposals."),
        ProposalRefusal.TOO_MANY_PENDING: ngettext(
            "You already have {count} proposal waiting for review. Please wait until the moderators have "
            "looked at it, then propose more.",
            "You already have {count} proposals waiting for review. Please wait until the moderators have "
            "looked at them, then propose more.", max_pending),
    }
    text = texts[reason].format(start=fmt_date(campaign.starts_at) if campaign else "",
                                count=fmt_number(max_pending))
    return Screen("✍️ " + text, main_menu_markup())


def _steps_markup(keep_label: str | None) -> InlineKeyboardMarkup:
    """Back and cancel, and "keep" first when the step shows a current value."""
    rows = [[_button(keep_label, cb.PROPOSAL_KEEP)]] if keep_label else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _back_and_cancel()])


def _kept_note(restored: bool) -> list[str]:
    return [_("Your unfinished proposal is kept; you can continue it."), ""] if restored else []


def choose_category(categories: list[Category], language: str, restored: bool,
                    current: Category | None = None) -> Screen:
    lines = [_("✍️ <b>Propose an idea</b>")]
    if restored:
        lines.append(_("Your unfinished proposal is kept; you can continue it."))
    lines += ["", _("Step 1 of 3: choose a category for your idea.")]
    if current is not None:
        lines += ["", _("Current category: {category}").format(
            category=escape(title_of(current, language)))]
    builder = Keyboard()
    if current is not None:
        builder.row(_button(_("✅ Keep this category"), cb.PROPOSAL_KEEP))
    for category in categories:
        title = title_of(category, language)
        builder.row(_button(shorten(title, 60), cb.PROPOSAL_CATEGORY, category.id))
    builder.row(_button(_("✖️ Cancel"), cb.PROPOSAL_CANCEL))
    return Screen("\n".join(lines), builder.as_markup())


def ask_title(category: Category, language: str, draft: str | None, restored: bool = False) -> Screen:
    lines = [
        *_kept_note(restored),
        _("✍️ Category: <b>{category}</b>").format(category=escape(title_of(category, language))),
        "",
        _("Step 2 of 3: send a short title for your idea, from 10 to 120 characters."),
    ]
    if draft:
        lines += ["", _("Current title: {title}").format(title=escape(draft))]
    return Screen("\n".join(lines), _steps_markup(_("✅ Keep this title") if draft else None))


def ask_body(title: str, draft: str | None, restored: bool = False) -> Screen:
    lines = [
        *_kept_note(restored),
        _("✍️ Title: <b>{title}</b>").format(title=escape(title)),
        "",
        _("Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?"),
    ]
    if draft:
        lines += ["", _("Current text:"), escape(shorten(draft, 300))]
    return Screen("\n".join(lines), _steps_markup(_("✅ Keep this text") if draft else None))


def text_problem(checked: CheckedText, what: str) -> str:
    """A friendly explanation of why a title or text was not taken, with its limits."""
    if checked.problem is TextProblem.EMPTY:
        return _("This message has no text we can use. Please write it in words.")
    if checked.problem is TextProblem.NO_WORDS:
        return _("Please write it in words: a few letters or only emoji are not enough.")
    values = {"length": fmt_number(checked.length), "minimum": fmt_number(checked.minimum),
              "maximum": fmt_number(checked.maximum)}
    if what == "title":
        if checked.problem is TextProblem.TOO_SHORT:
            return _("The title is too short ({length} characters). Please use at least {minimum}.").format(**values)
        return _("The title is too long ({length} characters). Please keep it within {maximum}.").format(**values)
    if checked.problem is TextProblem.TOO_SHORT:
        return _("The text is too short ({length} characters). Please use at least {minimum}.").format(**values)
    return _("The text is too long ({length} characters). Please keep it within {maximum}.").format(**values)


def send_text_please() -> str:
    return _("Please send it as a text message.")


def use_the_buttons() -> str:
    return _("Please use the buttons above to continue your proposal, or /cancel to discard it.")


def similar(ideas: list[Idea], language: str) -> Screen:
    lines = [_("🔎 Before you send it: these ideas look similar. If one of them says the same, support it "
               "instead: together your voices weigh more."), ""]
    builder = Keyboard()
    for idea in ideas:
        builder.row(idea_button(idea, language, cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack()))
    builder.row(_button(_("➡️ Mine is different: continue"), cb.PROPOSAL_ANYWAY))
    builder.row(*_back_and_cancel())
    return Screen("\n".join([*lines, _("Your proposal is kept while you look.")]), builder.as_markup())


def preview(idea: Idea, category: Category, language: str) -> Screen:
    lines, _part, _parts = idea_text_lines(idea, category, language, 0)
    text = "\n".join([
        _("👀 <b>Preview</b>: this is how others will see your idea once a moderator publishes it."),
        "",
        *lines,
        "",
        f"👍 <b>{supporters_text(0)}</b>",
    ])
    builder = Keyboard()
    builder.row(_button(_("✅ Send"), cb.PROPOSAL_SEND))
    builder.row(_button(_("✏️ Title"), cb.PROPOSAL_EDIT_TITLE), _button(_("✏️ Text"), cb.PROPOSAL_EDIT_BODY),
                _button(_("🏷 Category"), cb.PROPOSAL_EDIT_CATEGORY))
    builder.row(_button(_("✖️ Cancel"), cb.PROPOSAL_CANCEL))
    return Screen(text, builder.as_markup())


def submitted() -> Screen:
    return Screen(_("🙏 Thank you! Your proposal is sent. A moderator will review it soon, and we will tell you "
                    "what they decided. You can follow it under “My ideas”."), main_menu_markup())


def cancelled() -> Screen:
    return Screen(_("Your proposal is discarded. Here is the menu."), main_menu_markup())


def step_out_of_date() -> str:
    return _("This step is already behind you. Continue below, or start again with /propose.")


def my_ideas(ideas: list[Idea], language: str) -> Screen:
    if not ideas:
        text = _("🗂 You have not proposed any ideas yet. Share yours: it may become part of the action plan!")
        builder = Keyboard()
        builder.row(InlineKeyboardButton(text=_("✍️ Propose an idea"),
                                         callback_data=cb.Menu(to=cb.MENU_PROPOSE).pack()))
        builder.row(menu_button())
        return Screen(text, builder.as_markup())
    lines = [_("🗂 <b>My ideas</b>"), ""]
    builder = Keyboard()
    for idea in ideas:
        # Shortened so that the newest ten always fit into one message.
        title = escape(shorten(title_of(idea, language), 100))
        lines.append(f"• <b>{title}</b> — {status_name(idea.status)}")
        if idea.status_note:
            note = note_text(shorten(idea.status_note, 200))
            lines.append("  " + _("Moderator's note: {note}").format(note=note))
        if idea.status not in (IdeaStatus.PENDING, IdeaStatus.REJECTED):
            target = idea.merged_into_id or idea.id
            builder.row(InlineKeyboardButton(text=shorten(title_of(idea, language), 60),
                                             callback_data=cb.IdeaAction(act=cb.ACT_OPEN, id=target).pack()))
    builder.row(menu_button())
    return Screen("\n".join(lines), builder.as_markup())
