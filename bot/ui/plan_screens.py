"""The action plan as residents and moderators see it: commitments by status with their progress, and a
commitment's card with milestones, institution, the ideas that fed it and its working groups."""

from __future__ import annotations

from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date

from bot.domain import plan
from bot.domain.localized import localized
from bot.domain.plan_news import MILESTONE_OVERDUE, PlanNewsItem
from bot.i18n import current_language, fmt_number
from bot.ui import callbacks as cb
from bot.ui.groups_screens import group_button
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen, supporters_text
from bot.ui.text import MESSAGE_LIMIT, escape, shorten, utf16_length
from storage.models import Commitment, CommitmentStatus, Milestone

C = CommitmentStatus
STATUS_ICONS = {C.DRAFTING: "📝", C.AGREED: "🤝", C.IN_PROGRESS: "🚧", C.DONE: "🏁", C.DROPPED: "✖️"}
IDEAS_SHOWN = 8


def status_name(status: str) -> str:
    names = {
        C.DRAFTING: _("being drafted"),
        C.AGREED: _("agreed"),
        C.IN_PROGRESS: _("in progress"),
        C.DONE: _("done"),
        C.DROPPED: _("dropped"),
    }
    return names.get(status, status)


def status_words(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '')} {status_name(status)}".strip()


def day(value: date) -> str:
    return format_date(value, format="long", locale=current_language())


def text_of(row: object, field: str, language: str) -> str:
    return localized(row, field, language).text


def progress_text(progress: plan.Progress) -> str:
    if not progress.total:
        return _("no milestones yet")
    text = _("milestones: {done} of {total}").format(done=fmt_number(progress.done),
                                                     total=fmt_number(progress.total))
    if progress.next_due is not None:
        text += " · " + _("next due: {date}").format(date=day(progress.next_due))
    if progress.overdue:
        text += " · ⚠️ " + ngettext("{count} overdue", "{count} overdue", progress.overdue).format(
            count=fmt_number(progress.overdue))
    return text


def _menu_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_("🏠 Menu"), callback_data=cb.Menu(to=cb.MENU_MAIN).pack())]


def plan_screen(overview: plan.PlanOverview, language: str, *, moderator: bool = False) -> Screen:
    lines = [_("📈 <b>The action plan</b>"),
             _("How the national open government action plan is being drafted and carried out, and what "
               "became of the ideas.")]
    builder = Keyboard()
    for status, entries in overview.by_status:
        lines += ["", f"<b>{status_words(status)}</b>"]
        for entry in entries:
            commitment = entry.commitment
            number = f"#{commitment.id} " if moderator else ""
            title = escape(shorten(text_of(commitment, "title", language), 90))
            lines.append(f"• {number}{title}")
            lines.append("   " + progress_text(entry.progress))
            label = f"{STATUS_ICONS.get(status, '')} {shorten(text_of(commitment, 'title', language), 50)}"
            builder.row(InlineKeyboardButton(text=label,
                                             callback_data=cb.Plan(act=cb.PLAN_CARD, id=commitment.id).pack()))
    if not overview.lines:
        lines += ["", _("The plan has no commitments yet. We will publish them here as they are drafted.")]
    builder.row(*_menu_row())
    return Screen("\n".join(lines), builder.as_markup())


def no_plan() -> Screen:
    return Screen(_("📈 The action plan is not published yet. We will show it here as soon as it is drafted."),
                  InlineKeyboardMarkup(inline_keyboard=[_menu_row()]))


def commitment_not_found() -> Screen:
    return Screen(_("😕 This commitment was not found. Here is the plan."),
                  InlineKeyboardMarkup(inline_keyboard=[[_plan_button()], _menu_row()]))


def _plan_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("⬅️ The plan"), callback_data=cb.Plan(act=cb.PLAN_LIST).pack())


def milestone_line(milestone: Milestone, language: str, today: date, *, moderator: bool = False) -> str:
    if milestone.done:
        icon = "✅"
    elif milestone.due_date < today:
        icon = "⚠️"
    else:
        icon = "⬜"
    number = f"[{milestone.id}] " if moderator else ""
    line = f"{icon} {number}{escape(text_of(milestone, 'title', language))} ({day(milestone.due_date)})"
    if milestone.due_date < today and not milestone.done:
        line += " — " + _("overdue")
    if milestone.note:
        line += "\n     📝 " + escape(shorten(milestone.note, 200))
    return line


def commitment_text(card: plan.CommitmentCard, language: str, today: date, *, moderator: bool = False) -> str:
    commitment = card.commitment
    head = [f"📈 <b>{escape(text_of(commitment, 'title', language))}</b>"]
    if moderator:
        head[0] += f" · #{commitment.id}"
    head += [_("Status: {status}").format(status=status_words(commitment.status)),
             _("🏛 Responsible: {institution}").format(
                 institution=escape(text_of(commitment, "institution", language) or "—")),
             progress_text(card.progress).capitalize(), ""]
    description = escape(shorten(text_of(commitment, "description", language), 1200))
    milestones = ["", _("🗓 <b>Milestones</b>")] if card.milestones else []
    milestones += [milestone_line(m, language, today, moderator=moderator) for m in card.milestones]
    ideas = ["", _("💡 <b>Ideas that fed this commitment</b>")] if card.ideas else []
    for number, idea in enumerate(card.ideas[:IDEAS_SHOWN], start=1):
        ideas.append(f"{number}. {escape(shorten(text_of(idea, 'title', language), 90))} · "
                     f"👍 {supporters_text(idea.supporters_count)}")
    footer = [""]
    if card.groups:
        footer.append(_("👥 A working group drafts this commitment: you can join it."))
    footer.append(ngettext("{count} resident follows this commitment.", "{count} residents follow this commitment.",
                           card.followers).format(count=fmt_number(card.followers)))
    if card.following:
        footer.append(_("🔔 You follow it: its news comes in your weekly news."))
    text = "\n".join([*head, description, *milestones, *ideas, *footer])
    if utf16_length(text) > MESSAGE_LIMIT:  # very long milestone lists: the description gives way
        text = "\n".join([*head, *milestones[:30], *ideas, *footer])
    return text


def commitment_screen(card: plan.CommitmentCard, language: str, today: date) -> Screen:
    builder = Keyboard()
    for number, idea in enumerate(card.ideas[:IDEAS_SHOWN], start=1):
        label = f"{number}. 💡 {shorten(text_of(idea, 'title', language), 45)}"
        builder.row(InlineKeyboardButton(text=label,
                                         callback_data=cb.IdeaAction(act=cb.ACT_OPEN_NEW, id=idea.id).pack()))
    for group in card.groups:
        builder.row(group_button(group, language))
    act, label = ((cb.PLAN_UNFOLLOW, _("🔕 Stop following")) if card.following
                  else (cb.PLAN_FOLLOW, _("🔔 Follow")))
    builder.row(InlineKeyboardButton(text=label, callback_data=cb.Plan(act=act, id=card.commitment.id).pack()))
    builder.row(_plan_button(), *_menu_row())
    return Screen(commitment_text(card, language, today), builder.as_markup())


def follow_alert(following: bool) -> str:
    if following:
        return _("🔔 You follow this commitment: its news comes in your weekly news.")
    return _("🔕 You no longer follow this commitment.")


def commitment_link_line(commitment: Commitment, language: str) -> str:
    """On an idea's card: the commitment of the action plan the idea fed."""
    return _("📈 In the action plan: {title}").format(title=escape(text_of(commitment, "title", language)))


def commitment_button(commitment: Commitment, language: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=f"📈 {shorten(text_of(commitment, 'title', language), 50)}",
                                callback_data=cb.Plan(act=cb.PLAN_CARD, id=commitment.id).pack())


# ------------------------------------------------------------------ moderators

def moderator_commitment_screen(card: plan.CommitmentCard, language: str, today: date,
                                notice: str | None = None) -> Screen:
    text = commitment_text(card, language, today, moderator=True)
    if notice:
        text = notice + "\n\n" + text
    return Screen(text, InlineKeyboardMarkup(inline_keyboard=[[_plan_button()]]))


def plan_usage() -> str:
    return "\n".join([
        _("📈 <b>The action plan: moderators' commands</b>"),
        _("/commitment – the commitments with their numbers"),
        _("/commitment N – one commitment with its milestones' numbers"),
        _("/commitment add [lv|ru|en] Title | Institution | Description"),
        _("/commitment edit N [lv|ru|en] Title | Institution | Description (leave a part empty to keep it)"),
        _("/commitment status N drafting|agreed|in_progress|done|dropped [note]"),
        _("/milestone add N YYYY-MM-DD Title – a milestone of commitment N"),
        _("/milestone M done|undo [note] – milestone M done, or not done after all"),
        _("/link IDEA COMMITMENT – the idea fed this commitment; /unlink IDEA"),
    ])


def plan_answer(result: plan.PlanResult) -> str:
    outcome = result.outcome
    if outcome is plan.Outcome.NOT_FOUND:
        return _("😕 Not found: check the number.")
    if outcome is plan.Outcome.BAD_INPUT:
        return plan_usage()
    if outcome is plan.Outcome.UNCHANGED:
        return _("ℹ️ Nothing changed: it is already so.")
    return _("✅ Saved.")


def link_answer(result: plan.PlanResult, language: str) -> str:
    if result.outcome is not plan.Outcome.DONE or result.idea is None:
        return plan_answer(result)
    idea_title = escape(shorten(text_of(result.idea, "title", language), 80))
    if result.commitment is None:
        return _("✅ Idea #{id} “{title}” is no longer linked to a commitment.").format(id=result.idea.id,
                                                                                     title=idea_title)
    return _("✅ Idea #{id} “{title}” is linked to commitment #{commitment}.").format(
        id=result.idea.id, title=idea_title, commitment=result.commitment.id)


# ------------------------------------------------------------------ in the weekly news

def plan_news_lines(items: list[PlanNewsItem], language: str) -> tuple[list[str], list[InlineKeyboardButton]]:
    """The action plan's part of a resident's weekly news: what happened to the commitments they follow or whose
    ideas they support; one button per commitment."""
    lines = ["", _("📈 <b>The action plan</b>")]
    buttons: dict[int, InlineKeyboardButton] = {}
    for item in items:
        title = escape(shorten(text_of(item.commitment, "title", language), 90))
        if item.kind == MILESTONE_OVERDUE:
            event = _("⚠️ overdue: {milestone} ({date})").format(
                milestone=escape(text_of(item.milestone, "title", language)), date=day(item.milestone.due_date))
        elif item.milestone is not None:
            event = _("✅ milestone done: {milestone}").format(
                milestone=escape(text_of(item.milestone, "title", language)))
        else:
            event = _("status: {status}").format(status=status_words(item.status))
        lines += [f"• <b>{title}</b>", f"   {event}"]
        if item.note:
            lines.append("   📝 " + escape(shorten(item.note, 150)))
        buttons.setdefault(item.commitment.id, commitment_button(item.commitment, language))
    return lines, list(buttons.values())
