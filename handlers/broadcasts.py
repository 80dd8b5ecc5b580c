"""Moderators' broadcasts: /broadcast (audience -> text -> preview with the number of recipients -> confirm, edit or
cancel), the progress of a broadcast (refresh, pause, resume), /broadcasts (the recent ones) and /digest preview.

Only moderators in a private chat reach these handlers (the moderation router's filter, plus the private chat:
a preview in the moderators' group would go to everyone there); the domain checks the rights again on every
command and press. Anyone else falls through to the other routers: the commands get the usual "unknown
command", the buttons the usual stale-button answer. The conversation's data lives under "bc_" keys of the
conversation state, so a resident's proposal draft kept there survives a broadcast."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.domain import broadcasts as bc
from bot.domain import digests, lifecycle, texts
from bot.domain.ids import parse_id
from bot.domain.outgoing import Outgoing, language_of
from bot.i18n import rendering
from bot.ui import broadcasts_screens as bs
from bot.ui import callbacks as cb
from bot.ui.callbacks import BroadcastButton, BroadcastStep
from bot.ui.digests_screens import DigestScreens
from bot.ui.respond import show
from bot.ui.screens import Screen
from bot.ui.text import alert
from handlers.flow import Flow
from handlers.moderation_args import parse_idea_id
from handlers.moderators import moderator_here, not_for_you
from storage.db import AsyncSession
from storage.models import Broadcast, User

Clock = Callable[[], datetime]


class BroadcastForm(StatesGroup):
    audience = State()
    idea = State()
    text = State()
    preview = State()


FLOW = Flow(BroadcastForm, "bc_", timedelta(minutes=30))  # a forgotten draft must not swallow a later message


# ------------------------------------------------------------------ who and where

async def moderator_in_private_chat(event: Message | CallbackQuery, settings: Settings,
                                    user: User | None = None) -> bool:
    if not await moderator_here(event, settings, user):
        return False
    chat = event.chat if isinstance(event, Message) else event.message.chat
    return chat.type == "private"


async def _lost_rights(event: Message | CallbackQuery, state: FSMContext, outcome: bc.Outcome) -> bool:
    """Rights taken away between the router's filter and the domain: the draft is dropped, the answer is as if
    the command did not exist. True when that happened."""
    if outcome is not bc.Outcome.NO_RIGHTS:
        return False
    await FLOW.leave(state)
    await not_for_you(event)
    return True


async def _expired(event: Message | CallbackQuery) -> None:
    await show(event, bs.step_expired())


# ------------------------------------------------------------------ /broadcast

async def broadcast_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                            settings: Settings, state: FSMContext, clock: Clock) -> None:
    await FLOW.leave(state)
    group_id = parse_group_audience(command.args)
    if group_id is None:
        await FLOW.enter(state, BroadcastForm.audience, clock)
        await show(message, bs.audience_screen())
        return
    # "/broadcast group N": the members of a working group, straight to the text (the group's card says so).
    audience = bc.members_audience(group_id)
    check = await bc.check_audience(session, settings, user.id, audience)
    if await _lost_rights(message, state, check.outcome):
        return
    if check.outcome is not bc.Outcome.DONE:
        await show(message, Screen(bs.audience_refusal(check.outcome, audience)))
        return
    await FLOW.enter(state, BroadcastForm.text, clock, bc_audience=audience.code)
    await show(message, bs.text_prompt(audience, check.recipients))


def parse_group_audience(args: str | None) -> int | None:
    words = (args or "").split()
    if len(words) == 2 and words[0].lower() == "group" and words[1].isdigit():
        return int(words[1])
    return None


async def audience_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                          settings: Settings, state: FSMContext, clock: Clock) -> None:
    if await state.get_state() != BroadcastForm.audience.state:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    if await FLOW.data(state, clock) is None:
        await _expired(query)
        return
    if callback_data.a == cb.IDEA_AUDIENCE:
        await FLOW.enter(state, BroadcastForm.idea, clock)
        await show(query, bs.idea_prompt())
        return
    audience = bs.AUDIENCE_BUTTONS.get(callback_data.a)
    if audience is None:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if await _lost_rights(query, state, check.outcome):
        return
    if check.outcome is not bc.Outcome.DONE:
        refusal = bs.audience_refusal(check.outcome, audience)
        await show(query, bs.audience_screen(refusal), alert=alert(refusal))
        return
    await FLOW.enter(state, BroadcastForm.text, clock, bc_audience=audience.code)
    await show(query, bs.text_prompt(audience, check.recipients))


async def idea_typed(message: Message, session: AsyncSession, user: User, settings: Settings, state: FSMContext,
                     clock: Clock) -> None:
    if await FLOW.data(state, clock) is None:
        await _expired(message)
        return
    idea_id = parse_idea_id(message.text)
    audience = bc.supporters_audience(idea_id) if idea_id is not None else None
    if audience is None:
        await show(message, Screen(bs.idea_number_needed()))
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if await _lost_rights(message, state, check.outcome):
        return
    if check.outcome is not bc.Outcome.DONE:  # no such idea, or nobody to reach: another number, or /cancel
        await show(message, Screen(bs.audience_refusal(check.outcome, audience) + "\n" + bs.idea_number_needed()))
        return
    await FLOW.enter(state, BroadcastForm.text, clock, bc_audience=audience.code)
    await show(message, bs.text_prompt(audience, check.recipients))


async def text_typed(message: Message, session: AsyncSession, user: User, settings: Settings, state: FSMContext,
                     clock: Clock) -> None:
    """The announcement (also a new one typed at the preview, which replaces the draft)."""
    data = await FLOW.data(state, clock)
    if data is None:
        await _expired(message)
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    checked = texts.check_broadcast(message.text)
    if checked.problem is not None:
        await show(message, Screen(bs.text_problem(checked)))
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if await _lost_rights(message, state, check.outcome):
        return
    if check.outcome is not bc.Outcome.DONE:  # everyone left meanwhile: choose the audience again
        await FLOW.enter(state, BroadcastForm.audience, clock, bc_audience=None, bc_text=None)
        await show(message, bs.audience_screen(bs.audience_refusal(check.outcome, audience)))
        return
    nonce = uuid.uuid4().hex
    await FLOW.enter(state, BroadcastForm.preview, clock, bc_text=checked.text, bc_nonce=nonce)
    await show(message, bs.preview_message(checked.text))
    await show(message, bs.confirm_screen(audience, check.recipients, nonce, check.estimate))


async def not_text(message: Message) -> None:
    await show(message, Screen(bs.send_text_please()))


async def _current_draft(query: CallbackQuery, callback_data: BroadcastStep, state: FSMContext,
                         clock: Clock) -> dict | None:
    """The draft this preview's button belongs to, or None (answered) when the press is out of date."""
    if await state.get_state() != BroadcastForm.preview.state:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return None
    data = await FLOW.data(state, clock)
    if data is None:
        await _expired(query)
        return None
    if not callback_data.n or callback_data.n != data.get("bc_nonce") or not data.get("bc_text"):
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return None
    return data


async def send_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                      settings: Settings, state: FSMContext, clock: Clock, i18n: I18n) -> None:
    data = await _current_draft(query, callback_data, state, clock)
    if data is None:
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    if audience is None:
        await FLOW.leave(state)
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    draft = bc.Draft(audience, str(data["bc_text"]), batch_id=f"broadcast:{data['bc_nonce']}")
    result = await bc.send(session, settings, user.id, draft, clock(), request=_approval_request(i18n, settings))
    if await _lost_rights(query, state, result.outcome):
        return
    if result.outcome is bc.Outcome.AWAITING_APPROVAL:
        await FLOW.leave(state)
        notice = bs.awaiting_approval_notice(result.view.broadcast.id)
        await show(query, bs.progress_screen(result.view, bc.delivery_rate(settings), notice),
                   alert=alert(notice))
        return
    if result.outcome is bc.Outcome.DONE or (result.outcome is bc.Outcome.ALREADY and result.view is not None):
        await FLOW.leave(state)
        notice = bs.started_notice(result.recipients) if result.outcome is bc.Outcome.DONE else \
            bs.already_sent_notice()
        await show(query, bs.progress_screen(result.view, bc.delivery_rate(settings), notice),
                   alert=alert(notice))
        return
    refusal = bs.sent_refusal(result)
    await FLOW.enter(state, BroadcastForm.audience, clock, bc_audience=None, bc_text=None, bc_nonce=None)
    await show(query, bs.audience_screen(refusal), alert=alert(refusal))


def _approval_request(i18n: I18n, settings: Settings) -> bc.ApprovalRequest:
    """Renders the request to the other moderators in their chat's language."""
    def render(broadcast: Broadcast, language: str) -> Outgoing:
        with rendering(i18n, language, settings.tz):
            return Outgoing(bs.approval_request(broadcast))

    return render


async def approve_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                          settings: Settings, clock: Clock) -> None:
    broadcast_id = parse_id((command.args or "").strip().lstrip("#"))
    if broadcast_id is None:
        await show(message, Screen(bs.approve_usage()))
        return
    result = await bc.approve(session, settings, user.id, broadcast_id, clock())
    if result.outcome is bc.Outcome.NO_RIGHTS:
        await not_for_you(message)
        return
    await show(message, Screen(bs.approve_answer(result, broadcast_id)))


async def edit_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                      settings: Settings, state: FSMContext, clock: Clock) -> None:
    data = await _current_draft(query, callback_data, state, clock)
    if data is None:
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    check = await bc.check_audience(session, settings, user.id, audience)
    if await _lost_rights(query, state, check.outcome):
        return
    await FLOW.enter(state, BroadcastForm.text, clock, bc_nonce=None)
    await show(query, bs.text_prompt(audience, check.recipients))


async def cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    if not await FLOW.active(state):
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    await FLOW.leave(state)
    await show(query, bs.cancelled())


# ------------------------------------------------------------------ progress

async def progress_button(query: CallbackQuery, callback_data: BroadcastButton, session: AsyncSession, user: User,
                          settings: Settings, clock: Clock) -> None:
    act, broadcast_id = callback_data.act, callback_data.id
    if act == cb.PROGRESS_PAUSE:
        result = await bc.pause(session, settings, user.id, broadcast_id, clock())
    elif act == cb.PROGRESS_RESUME:
        result = await bc.resume(session, settings, user.id, broadcast_id, clock())
    elif act == cb.PROGRESS_REFRESH:
        result = await bc.progress(session, settings, user.id, broadcast_id)
    else:  # a forged code
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    if result.outcome is bc.Outcome.NO_RIGHTS:
        await not_for_you(query)
        return
    if result.outcome is bc.Outcome.NOT_FOUND:
        await query.answer(bs.not_found(), show_alert=True)
        return
    notice = None
    if act == cb.PROGRESS_PAUSE:
        notice = bs.paused_notice(result.changed) if result.changed else bs.nothing_to_pause()
    elif act == cb.PROGRESS_RESUME:
        notice = bs.resumed_notice(result.changed) if result.changed else bs.nothing_to_resume()
    await show(query, bs.progress_screen(result.view, bc.delivery_rate(settings)),
               alert=alert(notice) if notice else None)


async def broadcasts_command(message: Message, session: AsyncSession, user: User, settings: Settings) -> None:
    views = await bc.recent(session, settings, user.id)
    if views is None:
        await not_for_you(message)
        return
    await show(message, bs.recent_screen(views, bc.delivery_rate(settings)))


# ------------------------------------------------------------------ /digest preview

async def digest_preview_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                                 clock: Clock, i18n: I18n) -> None:
    """The next weekly digest, rendered as the weekly job renders it, in the moderator's language; only to them."""
    if not await lifecycle.has_rights(session, settings, user.id):
        await not_for_you(message)
        return
    digest = await digests.next_digest(session, clock(), settings.tz)
    if digest is None:
        await show(message, Screen(bs.digest_empty()))
        return
    out = DigestScreens(i18n, settings.tz).digest(digest, language_of(user.language, settings.default_language)).out
    await show(message, Screen(bs.digest_preview_notice()))
    await show(message, Screen(out.text, InlineKeyboardMarkup.model_validate(out.markup)))


# ------------------------------------------------------------------ the router

def create_router() -> Router:
    router = Router(name="broadcast")
    router.message.filter(moderator_in_private_chat)
    router.callback_query.filter(moderator_in_private_chat)
    message, button = router.message.register, router.callback_query.register

    message(broadcast_command, Command("broadcast"))
    message(broadcasts_command, Command("broadcasts"))
    message(approve_command, Command("approve"))
    message(digest_preview_command, Command("digest", magic=F.args.regexp(r"(?i)^\s*preview\s*$")))
    typed = (F.text, ~F.text.startswith("/"))  # /cancel and other commands pass through to their handlers
    message(idea_typed, BroadcastForm.idea, *typed)
    message(text_typed, BroadcastForm.text, *typed)
    message(text_typed, BroadcastForm.preview, *typed)
    message(not_text, BroadcastForm.idea, ~F.text)
    message(not_text, BroadcastForm.text, ~F.text)

    button(audience_button, BroadcastStep.filter(F.act == cb.STEP_AUDIENCE))
    button(send_button, BroadcastStep.filter(F.act == cb.STEP_SEND))
    button(edit_button, BroadcastStep.filter(F.act == cb.STEP_EDIT))
    button(cancel_button, BroadcastStep.filter(F.act == cb.STEP_CANCEL))
    button(progress_button, BroadcastButton.filter())
    return router
