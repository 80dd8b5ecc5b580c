"""Moderators' broadcast screens: the audience, the prompts, the preview and its confirmation, the progress of a
broadcast with its buttons, the list of recent broadcasts and the summary afterwards; and /digest preview's
answers.

The announcement itself is shown exactly as residents get it (bot.domain.broadcasts.message_html); every
other appearance of a moderator's text here is escaped too."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain import broadcasts as bc
from bot.domain import texts
from bot.domain.broadcast_cost import TELEGRAM_FREE_RATE, DeliveryEstimate
from bot.domain.outgoing import Outgoing
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, fmt_datetime, fmt_decimal, fmt_duration, fmt_number
from bot.ui.callbacks import (
    IDEA_AUDIENCE,
    PROGRESS_PAUSE,
    PROGRESS_REFRESH,
    PROGRESS_RESUME,
    STEP_AUDIENCE,
    STEP_CANCEL,
    STEP_EDIT,
    STEP_SEND,
    BroadcastButton,
    BroadcastStep,
)
from bot.ui.screens import Screen
from bot.ui.text import escape, shorten
from storage.models import Broadcast

# The audience buttons' codes (no ":" in callback values) and the audiences they stand for.
AUDIENCE_BUTTONS: dict[str, bc.Audience] = {"all": bc.ALL, "sub": bc.SUBSCRIBERS,
                                            **{code: bc.Audience("language", language=code) for code in LANGUAGES}}


# ------------------------------------------------------------------ words

def audience_name(audience: bc.Audience | None) -> str:
    if audience is None:
        return "—"
    if audience.kind == "all":
        return _("all residents")
    if audience.kind == "language":
        return _("residents reading in {language}").format(language=LANGUAGE_NAMES[audience.language])
    if audience.kind == "subscribers":
        return _("weekly digest subscribers")
    if audience.kind == "members":
        return _("members of working group #{id}").format(id=audience.group_id)
    return _("supporters of idea #{id}").format(id=audience.idea_id)


def recipients_text(count: int) -> str:
    return ngettext("{count} recipient", "{count} recipients", count).format(count=fmt_number(count))


def duration_text(left: timedelta) -> str:
    seconds = max(0, math.ceil(left.total_seconds()))
    if seconds < 60:
        return ngettext("about {count} second", "about {count} seconds", seconds).format(count=seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return ngettext("about {count} minute", "about {count} minutes", minutes).format(count=minutes)
    hours, minutes = divmod(minutes, 60)
    return _("about {hours} h {minutes} min").format(hours=hours, minutes=minutes)


def _cancel_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("✖️ Cancel"), callback_data=BroadcastStep(act=STEP_CANCEL).pack())


# ------------------------------------------------------------------ the conversation

def audience_screen(notice: str | None = None) -> Screen:
    lines = [notice, ""] if notice else []
    lines += [_("📢 <b>New broadcast</b>"), _("Who should receive it? Residents who blocked the bot or are banned "
                                            "are left out.")]
    labels = {
        "all": _("👥 All residents"),
        **{code: "🗣 " + LANGUAGE_NAMES[code] for code in LANGUAGES},
        "sub": _("📬 Weekly digest subscribers"),
        IDEA_AUDIENCE: _("👍 Supporters of an idea…"),
    }

    def button(code: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=labels[code], callback_data=BroadcastStep(act=STEP_AUDIENCE, a=code).pack())

    builder = InlineKeyboardBuilder()
    builder.row(button("all"))
    builder.row(*[button(code) for code in LANGUAGES])
    builder.row(button("sub"))
    builder.row(button(IDEA_AUDIENCE))
    builder.row(_cancel_button())
    return Screen("\n".join(lines), builder.as_markup())


def idea_prompt() -> Screen:
    return Screen("\n".join([_("👍 Supporters of which idea? Send its number, for example 12."),
                             _("/cancel to stop.")]),
                  InlineKeyboardMarkup(inline_keyboard=[[_cancel_button()]]))


def idea_number_needed() -> str:
    return _("Please send just the number of the idea, for example 12. /cancel to stop.")


def text_prompt(audience: bc.Audience, recipients: int) -> Screen:
    lines = [
        _("📢 Audience: <b>{audience}</b>, {recipients} now.").format(
            audience=escape(audience_name(audience)), recipients=recipients_text(recipients)),
        "",
        _("✍️ Now send the announcement as one message (at most {max} characters). It is sent exactly as you "
          "type it, without formatting. You will see a preview first.").format(
            max=fmt_number(texts.BROADCAST_MAX_LENGTH)),
        _("/cancel to stop."),
    ]
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[_cancel_button()]]))


def text_problem(checked: texts.BroadcastText) -> str:
    if checked.problem == "too_long":
        text = _("The announcement is too long: {length} characters, at most {max}.").format(
            length=fmt_number(checked.length), max=fmt_number(checked.maximum))
    else:
        text = _("The announcement needs some text.")
    return text + " " + _("Please send it again, or /cancel.")


def send_text_please() -> str:
    return _("Please send the announcement as a text message, or /cancel.")


def audience_refusal(outcome: bc.Outcome, audience: bc.Audience | None) -> str:
    if outcome is bc.Outcome.NOT_FOUND and audience is not None and audience.kind == "supporters":
        return _("🚫 There is no idea #{id}.").format(id=audience.idea_id)
    if outcome is bc.Outcome.NOT_FOUND and audience is not None and audience.kind == "members":
        return _("🚫 There is no working group #{id}.").format(id=audience.group_id)
    if outcome is bc.Outcome.EMPTY:
        return _("🚫 Nobody to send to: {audience} are 0 residents who can receive messages. Choose another "
                 "audience.").format(audience=escape(audience_name(audience)))
    return _("🚫 Only moderators can do this.")


def preview_message(text: str) -> Screen:
    """The announcement exactly as residents will see it."""
    return Screen(bc.message_html(text))


def delivery_lines(estimate: DeliveryEstimate) -> list[str]:
    """How long the broadcast takes at the free pace and, with paid broadcasts on, at the paid rate and for how
    many Stars."""
    free_rate = round(estimate.free_rate)
    if estimate.paid is None:
        return [ngettext("⏱ Delivery takes about {duration} at {rate} message a second.",
                         "⏱ Delivery takes about {duration} at {rate} messages a second.", free_rate).format(
            duration=fmt_duration(estimate.free_seconds), rate=fmt_number(free_rate))]
    paid = estimate.paid
    free_line = ngettext("⏱ At the free pace of {rate} message a second it would take about {duration}.",
                         "⏱ At the free pace of {rate} messages a second it would take about {duration}.",
                         free_rate).format(duration=fmt_duration(estimate.free_seconds), rate=fmt_number(free_rate))
    if paid.stars:
        paid_line = ngettext(
            "💫 Paid broadcasting is on: {rate} message a second, about {duration}, for about {stars} Telegram Stars "
            "from the bot's balance.",
            "💫 Paid broadcasting is on: {rate} messages a second, about {duration}, for about {stars} Telegram Stars "
            "from the bot's balance.", paid.rate)
    else:
        paid_line = ngettext(
            "💫 Paid broadcasting is on: {rate} message a second, about {duration}, at no cost (it stays within "
            "Telegram's free {free} a second).",
            "💫 Paid broadcasting is on: {rate} messages a second, about {duration}, at no cost (it stays within "
            "Telegram's free {free} a second).", paid.rate)
    return [free_line, paid_line.format(rate=fmt_number(paid.rate), duration=fmt_duration(paid.seconds),
                                        stars=fmt_decimal(paid.stars), free=fmt_number(TELEGRAM_FREE_RATE))]


def confirm_screen(audience: bc.Audience, recipients: int, nonce: str,
                   estimate: DeliveryEstimate | None = None) -> Screen:
    lines = [
        _("👆 This is how residents will see the announcement."),
        "",
        _("📢 Audience: <b>{audience}</b>").format(audience=escape(audience_name(audience))),
        _("👥 It will be sent to <b>{recipients}</b> (who can receive messages and are not banned).").format(
            recipients=recipients_text(recipients)),
        *(delivery_lines(estimate) if estimate is not None else []),
        "",
        _("Send it now?"),
    ]
    builder = InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text=_("✅ Confirm and send"),
                                     callback_data=BroadcastStep(act=STEP_SEND, n=nonce).pack()))
    builder.row(InlineKeyboardButton(text=_("✏️ Edit the text"),
                                     callback_data=BroadcastStep(act=STEP_EDIT, n=nonce).pack()),
                _cancel_button())
    return Screen("\n".join(lines), builder.as_markup())


def cancelled() -> Screen:
    return Screen(_("Cancelled. Nothing was sent."))


def step_out_of_date() -> str:
    return _("This step is out of date. Start again with /broadcast.")


def step_expired() -> Screen:
    return Screen(_("That broadcast draft has expired, so nothing was sent. Start again with /broadcast."))


def sent_refusal(result: bc.Result) -> str:
    if result.outcome is bc.Outcome.BAD_TEXT and result.checked is not None:
        return text_problem(result.checked)
    if result.outcome is bc.Outcome.COOLDOWN and result.next_allowed_at is not None:
        return cooldown_refusal(result.next_allowed_at)
    if result.outcome is bc.Outcome.EMPTY:
        return _("🚫 Nobody can receive it any more (everyone in the audience blocked the bot or was banned), so "
                 "nothing was sent.")
    if result.outcome is bc.Outcome.NOT_FOUND:
        return _("🚫 The idea of this audience no longer exists, so nothing was sent.")
    return _("🚫 Only moderators can do this.")


# ------------------------------------------------------------------ progress

def _counts_lines(view: bc.BroadcastView, rate_per_second: float) -> list[str]:
    progress = view.progress
    lines = [
        _("✉️ Sent: <b>{sent}</b> of {total}").format(sent=fmt_number(progress.sent),
                                                      total=fmt_number(progress.total)),
        _("🚫 Blocked the bot: {blocked} · ⚠️ Failed: {failed}").format(blocked=fmt_number(progress.blocked),
                                                                      failed=fmt_number(progress.failed)),
    ]
    if view.finished:
        lines.append(_("✅ Finished."))
    elif progress.paused:
        lines.append(_("⏸ Paused: {count} waiting.").format(count=fmt_number(progress.paused)))
    else:
        lines.append(_("⏳ Waiting: {count} · time left: {eta}").format(
            count=fmt_number(progress.waiting), eta=duration_text(progress.eta(rate_per_second))))
    return lines


def _state_icon(view: bc.BroadcastView) -> str:
    if view.broadcast.awaiting_approval:
        return "🔐"
    return "✅" if view.finished else "⏸" if view.progress.paused else "⏳"


def progress_screen(view: bc.BroadcastView, rate_per_second: float, notice: str | None = None) -> Screen:
    broadcast = view.broadcast
    lines = [notice, ""] if notice else []
    lines += [
        _("📢 <b>Broadcast #{id}</b> · {audience}").format(id=broadcast.id,
                                                          audience=escape(audience_name(view.audience))),
        _("🗓 {date}").format(date=fmt_datetime(broadcast.created_at)),
        f"<i>{escape(shorten(broadcast.text, 200))}</i>",
        "",
        *_counts_lines(view, rate_per_second),
    ]
    return Screen("\n".join(lines), progress_markup(view))


def progress_markup(view: bc.BroadcastView) -> InlineKeyboardMarkup:
    broadcast_id = view.broadcast.id
    buttons = [InlineKeyboardButton(text=_("🔄 Refresh"),
                                    callback_data=BroadcastButton(act=PROGRESS_REFRESH, id=broadcast_id).pack())]
    if view.progress.waiting:
        buttons.append(InlineKeyboardButton(text=_("⏸ Pause"),
                                            callback_data=BroadcastButton(act=PROGRESS_PAUSE, id=broadcast_id).pack()))
    if view.progress.paused:
        buttons.append(InlineKeyboardButton(
            text=_("▶️ Resume"), callback_data=BroadcastButton(act=PROGRESS_RESUME, id=broadcast_id).pack()))
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def started_notice(recipients: int) -> str:
    return _("✅ The broadcast is on its way to {recipients}.").format(recipients=recipients_text(recipients))


def already_sent_notice() -> str:
    return _("ℹ️ This broadcast was sent already.")


# ------------------------------------------------------------------ approval of mass broadcasts

def awaiting_approval_notice(broadcast_id: int) -> str:
    return _("🔐 Broadcast #{id} goes to many residents, so an admin or a second moderator has to approve it. We "
             "asked them; it goes out once one of them sends /approve {id}.").format(id=broadcast_id)


def cooldown_refusal(allowed_at: datetime) -> str:
    return _("⏳ A broadcast to everyone or to a whole language went out recently. The next one is possible from "
             "{date}.").format(date=fmt_datetime(allowed_at))


def approval_request(broadcast: Broadcast) -> str:
    """What the other moderators are asked (rendered in their chat's language)."""
    return "\n".join([
        _("🔐 <b>Broadcast #{id} waits for approval</b>").format(id=broadcast.id),
        _("Moderator <code>{moderator}</code> wants to send this to {audience} ({recipients}):").format(
            moderator=broadcast.moderator_id, audience=escape(audience_name(bc.parse_audience(broadcast.audience))),
            recipients=recipients_text(broadcast.total)),
        "",
        f"<i>{escape(shorten(broadcast.text, 1500))}</i>",
        "",
        _("Links in it will be clickable for everyone. If it is right, send /approve {id} to the bot in a private "
          "chat.").format(id=broadcast.id),
    ])


def approve_answer(result: bc.Result, broadcast_id: int) -> str:
    if result.outcome is bc.Outcome.DONE:
        return _("✅ Approved: broadcast #{id} is on its way to {recipients}.").format(
            id=broadcast_id, recipients=recipients_text(result.recipients))
    if result.outcome is bc.Outcome.SELF:
        return _("🚫 You cannot approve your own broadcast: another moderator or an admin has to.")
    if result.outcome is bc.Outcome.COOLDOWN and result.next_allowed_at is not None:
        return cooldown_refusal(result.next_allowed_at)
    if result.outcome is bc.Outcome.ALREADY:
        return _("ℹ️ Broadcast #{id} needs no approval (any more).").format(id=broadcast_id)
    return not_found()


def approve_usage() -> str:
    return "🛈 " + _("Usage: /approve N, for example /approve 3")


def paused_notice(count: int) -> str:
    return ngettext("⏸ Paused: {count} message waits.", "⏸ Paused: {count} messages wait.", count).format(
        count=fmt_number(count))


def resumed_notice(count: int) -> str:
    return ngettext("▶️ Resumed: {count} message goes out again.", "▶️ Resumed: {count} messages go out again.",
                    count).format(count=fmt_number(count))


def nothing_to_pause() -> str:
    return _("Nothing is waiting: the broadcast is finished or already paused.")


def nothing_to_resume() -> str:
    return _("Nothing is paused.")


def not_found() -> str:
    return _("🚫 There is no such broadcast.")


def recent_screen(views: list[bc.BroadcastView], rate_per_second: float) -> Screen:
    if not views:
        return Screen("\n".join([_("📢 <b>Broadcasts</b>"), "", _("No broadcast yet. /broadcast starts one.")]))
    lines = [_("📢 <b>Recent broadcasts</b> (newest first)")]
    builder = InlineKeyboardBuilder()
    for view in views:
        broadcast, progress = view.broadcast, view.progress
        lines += ["", _("{icon} <b>#{id}</b> · {date} · {audience}").format(
            icon=_state_icon(view), id=broadcast.id, date=fmt_datetime(broadcast.created_at),
            audience=escape(audience_name(view.audience)))]
        lines.append(f"<i>{escape(shorten(broadcast.text, 80))}</i>")
        lines.append(_("sent {sent} of {total} · blocked {blocked} · failed {failed}").format(
            sent=fmt_number(progress.sent), total=fmt_number(progress.total), blocked=fmt_number(progress.blocked),
            failed=fmt_number(progress.failed)))
        if progress.paused:
            lines.append(_("⏸ Paused: {count} waiting.").format(count=fmt_number(progress.paused)))
        elif not view.finished:
            lines.append(_("⏳ Waiting: {count} · time left: {eta}").format(
                count=fmt_number(progress.waiting), eta=duration_text(progress.eta(rate_per_second))))
        builder.row(InlineKeyboardButton(
            text=f"{_state_icon(view)} #{broadcast.id} · {shorten(broadcast.text, 40)}",
            callback_data=BroadcastButton(act=PROGRESS_REFRESH, id=broadcast.id).pack()))
    return Screen("\n".join(lines), builder.as_markup())


# ------------------------------------------------------------------ the summary (through the outbox)

def summary(view: bc.BroadcastView) -> Outgoing:
    """The message to the moderator once a broadcast is finished (render inside an i18n context)."""
    broadcast, progress = view.broadcast, view.progress
    lines = [
        _("📢 <b>Broadcast #{id} is finished</b> · {audience}").format(
            id=broadcast.id, audience=escape(audience_name(view.audience))),
        f"<i>{escape(shorten(broadcast.text, 200))}</i>",
        "",
        _("✉️ Sent: <b>{sent}</b> of {total}").format(sent=fmt_number(progress.sent),
                                                      total=fmt_number(progress.total)),
        _("🚫 Blocked the bot: {blocked} · ⚠️ Failed: {failed}").format(blocked=fmt_number(progress.blocked),
                                                                      failed=fmt_number(progress.failed)),
    ]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("🔄 Refresh"), callback_data=BroadcastButton(act=PROGRESS_REFRESH, id=broadcast.id).pack())]])
    return Outgoing("\n".join(lines), markup.model_dump(exclude_none=True))


# ------------------------------------------------------------------ /digest preview

def digest_preview_notice() -> str:
    return _("👀 Preview of the next weekly digest, in your language. Only you received it.")


def digest_empty() -> str:
    return _("The next weekly digest would be empty: there is nothing new to tell subscribers.")
