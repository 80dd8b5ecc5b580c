"""Working groups as residents and moderators see them, and the texts members get through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.domain import groups
from bot.domain.localized import localized
from bot.domain.outgoing import Outgoing
from bot.i18n import fmt_datetime, fmt_number, rendering
from bot.ui import callbacks as cb
from bot.ui.keyboard import Keyboard
from bot.ui.screens import Screen
from bot.ui.text import escape, shorten
from storage.models import Commitment, GroupMeeting, GroupMember, GroupStatus, MemberStatus, WorkingGroup

G, M = GroupStatus, MemberStatus
STATUS_ICONS = {G.FORMING: "🌱", G.MEETING: "🗣", G.FINISHED: "🏁"}


def _text(row: object, field: str, language: str) -> str:
    return localized(row, field, language).text


def group_status_name(status: str) -> str:
    names = {G.FORMING: _("forming, sign-ups open"), G.MEETING: _("meeting"), G.FINISHED: _("finished")}
    return f"{STATUS_ICONS.get(status, '')} {names.get(status, status)}".strip()


def member_status_name(status: str) -> str:
    names = {M.PENDING: _("⏳ waiting for a moderator"), M.APPROVED: _("✅ approved"), M.DECLINED: _("❌ declined")}
    return names.get(status, status)


def group_button(group: WorkingGroup, language: str) -> InlineKeyboardButton:
    title = shorten(_text(group, "title", language), 45)
    return InlineKeyboardButton(text=f"👥 {title}",
                                callback_data=cb.Group(act=cb.GROUP_CARD, id=group.id).pack())


def meeting_line(meeting: GroupMeeting) -> str:
    where = escape(meeting.place) if meeting.place else _("online: {link}").format(link=escape(meeting.online_url))
    return f"• {fmt_datetime(meeting.starts_at)} — {where}"


def _menu_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🏠 Menu"), callback_data=cb.Menu(to=cb.MENU_MAIN).pack())


def group_text(card: groups.GroupCard, language: str) -> str:
    group = card.group
    lines = [f"👥 <b>{escape(_text(group, 'title', language))}</b>"]
    if card.topic is not None:
        icon = "📈" if isinstance(card.topic, Commitment) else "🏷"
        lines.append(f"{icon} {escape(_text(card.topic, 'title', language))}")
    lines += [_("Status: {status}").format(status=group_status_name(group.status)), "",
              escape(shorten(_text(group, "description", language), 1500))]
    if card.meetings:
        lines += ["", _("🗓 <b>Meetings</b>"), *[meeting_line(meeting) for meeting in card.meetings[:10]]]
    lines += ["", ngettext("{count} place left of {capacity}.", "{count} places left of {capacity}.",
                           card.places_left).format(count=fmt_number(card.places_left),
                                                    capacity=fmt_number(group.capacity))]
    if card.mine is not None:
        lines.append(_("Your sign-up: {status}").format(status=member_status_name(card.mine.status)))
        if card.mine.note:
            lines.append(_("📝 Note: {note}").format(note=escape(card.mine.note)))
    return "\n".join(lines)


def group_screen(card: groups.GroupCard, language: str, refusal: groups.Refusal | None) -> Screen:
    builder = Keyboard()
    group_id = card.group.id
    if refusal is None:
        builder.row(InlineKeyboardButton(text=_("✋ Join as a resident"), callback_data=cb.Group(
            act=cb.GROUP_JOIN, id=group_id, arg=cb.JOIN_PERSON).pack()))
        builder.row(InlineKeyboardButton(text=_("🏢 Join for an NGO"), callback_data=cb.Group(
            act=cb.GROUP_JOIN, id=group_id, arg=cb.JOIN_NGO).pack()))
    if card.mine is not None:
        builder.row(InlineKeyboardButton(text=_("🚪 Leave the group"),
                                         callback_data=cb.Group(act=cb.GROUP_LEAVE, id=group_id).pack()))
    if isinstance(card.topic, Commitment):
        builder.row(InlineKeyboardButton(text=_("📈 The commitment"),
                                         callback_data=cb.Plan(act=cb.PLAN_CARD, id=card.topic.id).pack()))
    builder.row(_menu_button())
    text = group_text(card, language)
    if refusal is groups.Refusal.FULL:
        text += "\n" + _("The group is full for now.")
    return Screen(text, builder.as_markup())


def group_not_found() -> Screen:
    return Screen(_("😕 This working group was not found."),
                  InlineKeyboardMarkup(inline_keyboard=[[_menu_button()]]))


def refusal_text(refusal: groups.Refusal) -> str:
    texts = {
        groups.Refusal.NOT_FOUND: _("😕 This working group was not found."),
        groups.Refusal.FINISHED: _("This working group has finished its work. Thank you for your interest!"),
        groups.Refusal.FULL: _("Sorry, the group is full for now."),
        groups.Refusal.ALREADY: _("You have already signed up for this group."),
        groups.Refusal.BANNED: _("Sorry, you cannot sign up."),
    }
    return texts[refusal]


# ------------------------------------------------------------------ the sign-up conversation

def cancel_label() -> str:
    return _("✖️ Cancel")


def _cancel_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=cancel_label(), callback_data=cb.Group(act=cb.GROUP_CANCEL).pack())]])


def ask_organisation() -> Screen:
    return Screen(_("🏢 Write the name of the organisation you represent."), _cancel_markup())


def ask_role() -> Screen:
    return Screen(_("What is your role in the organisation? For example: <i>board member</i>."), _cancel_markup())


def ask_why() -> Screen:
    return Screen(_("✍️ In a few words: why do you want to take part, and what would you bring to the group? "
                    "({min}–{max} characters)").format(min=groups.WHY_MIN, max=groups.WHY_MAX), _cancel_markup())


def line_problem(max_chars: int) -> str:
    return _("Please write one line of at most {max} characters.").format(max=max_chars)


def why_problem() -> str:
    return _("Please write from {min} to {max} characters.").format(min=groups.WHY_MIN, max=groups.WHY_MAX)


def consent_screen(group: WorkingGroup, language: str, username: str | None) -> Screen:
    """The purpose comes before the consent: what the contact is for, who sees it and when it is deleted."""
    title = escape(_text(group, "title", language))
    lines = [
        _("🔐 <b>Your contact</b>"),
        _("So that the organisers of “{group}” (the State Chancellery and our moderators) can invite you to its "
          "meetings, we need one way to reach you. We use it only for this group, and we delete it when you "
          "leave the group or the group finishes.").format(group=title),
        "",
        _("Which contact do you agree to share?"),
    ]
    builder = Keyboard()
    if username:
        builder.row(InlineKeyboardButton(text=_("👤 My username @{username}").format(username=username),
                                         callback_data=cb.Group(act=cb.GROUP_CONSENT, id=group.id,
                                                                arg=cb.CONTACT_USERNAME).pack()))
    builder.row(InlineKeyboardButton(text=_("📱 My phone number"), callback_data=cb.Group(
        act=cb.GROUP_CONSENT, id=group.id, arg=cb.CONTACT_PHONE).pack()))
    builder.row(InlineKeyboardButton(text=cancel_label(), callback_data=cb.Group(act=cb.GROUP_CANCEL).pack()))
    return Screen("\n".join(lines), builder.as_markup())


def phone_request() -> tuple[str, ReplyKeyboardMarkup]:
    """Telegram's contact button: the number comes from Telegram, never typed."""
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_("📱 Share my phone number"),
                                                             request_contact=True)],
                                             [KeyboardButton(text=cancel_label())]],
                                   resize_keyboard=True, one_time_keyboard=True)
    return _("Press the button below to share your phone number through Telegram."), keyboard


def phone_typed() -> str:
    return _("Please use the button below: we take the number only through Telegram's button, so that it is "
             "really yours.")


def not_your_contact() -> str:
    return _("This is someone else's contact. Please share your own with the button below.")


def keyboard_removed(text: str) -> tuple[str, ReplyKeyboardRemove]:
    return text, ReplyKeyboardRemove()


def signed_up() -> str:
    return _("✅ Thank you! Your sign-up is waiting for a moderator; we will tell you their decision.")


def sign_up_cancelled() -> str:
    return _("Cancelled. Nothing was saved.")


def left_alert() -> str:
    return _("You left the group; we deleted your contact.")


def step_expired() -> str:
    return _("This sign-up step has expired. Open the group again to start over.")


# ------------------------------------------------------------------ moderators

def groups_list_screen(lines: list[groups.GroupLine], language: str) -> Screen:
    text = [_("👥 <b>Working groups</b>")]
    for line in lines:
        group = line.group
        text.append(f"#{group.id} · {escape(shorten(_text(group, 'title', language), 70))} · "
                    f"{group_status_name(group.status)} · ✅ {fmt_number(line.approved)}/{fmt_number(group.capacity)}"
                    f" · ⏳ {fmt_number(line.pending)}")
    if not lines:
        text.append(_("There are no working groups yet."))
    text += ["", groups_usage()]
    return Screen("\n".join(text))


def groups_usage() -> str:
    return "\n".join([
        _("/group N – the sign-ups of group N; /group N csv – the approved members as a CSV file"),
        _("/group N status forming|meeting|finished (finishing deletes the contacts)"),
        _("/group N meeting YYYY-MM-DDTHH:MM place or https:// link"),
        _("/group add COMMITMENT CAPACITY Title"),
        _("/signup M approve|decline [note] – decide on sign-up M; the resident reads the note"),
        _("/broadcast group N – a message to the approved members of group N"),
    ])


def member_line(member: GroupMember) -> str:
    who = (_("NGO: {organisation} ({role})").format(organisation=escape(member.organisation),
                                                   role=escape(member.role or "—"))
           if member.organisation else _("resident"))
    contact = (f"@{escape(member.contact_username)}" if member.contact_username
               else escape(member.contact_phone or "—"))
    return f"#{member.id} · {who} · {member_status_name(member.status)} · {contact}\n   “{escape(member.why)}”"


def review_screen(found: groups.GroupReview, language: str) -> Screen:
    lines = [group_text(found.card, language), "", _("📋 <b>Sign-ups</b>")]
    builder = Keyboard()
    for member in found.members[:40]:
        lines.append(member_line(member))
        if member.status == M.PENDING:
            builder.row(
                InlineKeyboardButton(text=_("✅ Approve #{id}").format(id=member.id),
                                     callback_data=cb.Group(act=cb.GROUP_APPROVE, id=member.id).pack()),
                InlineKeyboardButton(text=_("❌ Decline #{id}").format(id=member.id),
                                     callback_data=cb.Group(act=cb.GROUP_DECLINE, id=member.id).pack()))
    if not found.members:
        lines.append(_("No sign-ups yet."))
    return Screen("\n".join(lines), builder.as_markup() if found.members else None)


def group_answer(result: groups.GroupResult) -> str:
    texts = {
        groups.Outcome.DONE: _("✅ Saved."),
        groups.Outcome.NOT_FOUND: _("😕 Not found: check the number."),
        groups.Outcome.UNCHANGED: _("ℹ️ Nothing changed: it is already so."),
        groups.Outcome.FULL: _("The group is full: decline someone or raise its capacity first."),
        groups.Outcome.BAD_INPUT: groups_usage(),
    }
    return texts.get(result.outcome, groups_usage())


def csv_caption(group: WorkingGroup, language: str) -> str:
    return _("👥 Approved members of “{group}”").format(group=escape(shorten(_text(group, "title", language), 200)))


# ------------------------------------------------------------------ messages through the outbox

def decision_screen(group: WorkingGroup, member: GroupMember, language: str) -> Screen:
    title = escape(_text(group, "title", language))
    if member.status == M.APPROVED:
        lines = [_("✅ Welcome to the working group “{group}”! The organisers will invite you to its meetings.")
                 .format(group=title)]
    else:
        lines = [_("We could not take you into the working group “{group}” this time. Thank you for your "
                   "interest!").format(group=title)]
    if member.note:
        lines.append(_("📝 Note: {note}").format(note=escape(member.note)))
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("👥 Open the group"), callback_data=cb.Group(act=cb.GROUP_CARD, id=group.id).pack())]])
    return Screen("\n".join(lines), markup)


def reminder_screen(group: WorkingGroup, meeting: GroupMeeting, language: str) -> Screen:
    lines = [_("⏰ <b>Tomorrow: a meeting of “{group}”</b>").format(group=escape(_text(group, "title", language))),
             meeting_line(meeting), "", _("If you can no longer take part, you can leave the group in one tap.")]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("👥 Open the group"), callback_data=cb.Group(act=cb.GROUP_CARD, id=group.id).pack())]])
    return Screen("\n".join(lines), markup)


class GroupTexts:
    """bot.domain.groups.GroupRenderer: each text in the given language and the TIMEZONE setting."""

    def __init__(self, i18n: I18n, tz: ZoneInfo | None = None) -> None:
        self.i18n = i18n
        self.tz = tz

    def _render(self, language: str, build: Callable[[], Screen]) -> Outgoing:
        with rendering(self.i18n, language, self.tz):
            screen = build()
        return Outgoing(screen.text, screen.markup.model_dump(exclude_none=True) if screen.markup else None)

    def decision(self, group: WorkingGroup, member: GroupMember, language: str) -> Outgoing:
        return self._render(language, lambda: decision_screen(group, member, language))

    def meeting_reminder(self, group: WorkingGroup, meeting: GroupMeeting, language: str) -> Outgoing:
        return self._render(language, lambda: reminder_screen(group, meeting, language))
