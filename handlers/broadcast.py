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
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import digest_jobs
from bot.config import Settings
from bot.domain import broadcasts as bc
from bot.job_context import JobContext
from bot.ui import broadcast_screens as bs
from bot.ui import screens
from bot.ui.broadcast_screens import BroadcastButton, BroadcastStep
from bot.ui.respond import show
from bot.ui.screens import Screen
from handlers.moderation import moderator_here
from storage.db import SessionFactory, session_factory
from storage.models import User

Clock = Callable[[], datetime]
STEP_LIFETIME = timedelta(minutes=30)  # a forgotten draft must not swallow a later message
FLOW_KEYS = ("bc_audience", "bc_text", "bc_nonce", "bc_until")


class BroadcastForm(StatesGroup):
    audience = State()
    idea = State()
    text = State()
    preview = State()


# ------------------------------------------------------------------ who and where

async def moderator_in_private_chat(event: Message | CallbackQuery, settings: Settings,
                                    user: User | None = None) -> bool:
    if not await moderator_here(event, settings, user):
        return False
    chat = event.chat if isinstance(event, Message) else event.message.chat
    return chat.type == "private"


async def _not_for_you(event: Message | CallbackQuery) -> None:
    """Rights taken away between the router's filter and the domain: as if the command did not exist."""
    if isinstance(event, Message):
        await show(event, screens.unknown_command())
    else:
        await show(event, screens.main_menu_only(), alert=screens.stale_button_text())


# ------------------------------------------------------------------ the conversation's state

def _in_flow(state_name: str | None) -> bool:
    return state_name is not None and state_name.startswith(f"{BroadcastForm.__name__}:")


async def _leave_flow(state: FSMContext) -> None:
    """Leave the broadcast conversation, keeping anything else in the state data (a resident's draft)."""
    data = {key: value for key, value in (await state.get_data()).items() if key not in FLOW_KEYS}
    if _in_flow(await state.get_state()):
        await state.set_state(None)
    await state.set_data(data)


async def _enter(state: FSMContext, step: State, clock: Clock, **values: object) -> None:
    await state.set_state(step)
    await state.update_data(bc_until=(clock() + STEP_LIFETIME).timestamp(), **values)


async def _flow_data(state: FSMContext, clock: Clock) -> dict | None:
    """The conversation's data, or None (and the conversation left) when the draft has expired."""
    data = await state.get_data()
    if clock().timestamp() > float(data.get("bc_until") or 0):
        await _leave_flow(state)
        return None
    return data


async def _expired(event: Message | CallbackQuery) -> None:
    await show(event, bs.step_expired())


# ------------------------------------------------------------------ /broadcast

async def broadcast_command(message: Message, state: FSMContext, clock: Clock) -> None:
    await _leave_flow(state)
    await _enter(state, BroadcastForm.audience, clock)
    await show(message, bs.audience_screen())


async def audience_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                          settings: Settings, state: FSMContext, clock: Clock) -> None:
    if await state.get_state() != BroadcastForm.audience.state:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    if await _flow_data(state, clock) is None:
        await _expired(query)
        return
    if callback_data.a == bs.IDEA_AUDIENCE:
        await _enter(state, BroadcastForm.idea, clock)
        await show(query, bs.idea_prompt())
        return
    audience = bs.AUDIENCE_BUTTONS.get(callback_data.a)
    if audience is None:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if check.outcome is bc.Outcome.NO_RIGHTS:
        await _leave_flow(state)
        await _not_for_you(query)
        return
    if check.outcome is not bc.Outcome.DONE:
        refusal = bs.audience_refusal(check.outcome, audience)
        await show(query, bs.audience_screen(refusal), alert=bs.alert(refusal))
        return
    await _enter(state, BroadcastForm.text, clock, bc_audience=audience.code)
    await show(query, bs.text_prompt(audience, check.recipients))


async def idea_typed(message: Message, session: AsyncSession, user: User, settings: Settings, state: FSMContext,
                     clock: Clock) -> None:
    if await _flow_data(state, clock) is None:
        await _expired(message)
        return
    idea_id = bc.parse_idea_number(message.text)
    audience = bc.supporters_audience(idea_id) if idea_id is not None else None
    if audience is None:
        await show(message, Screen(bs.idea_number_needed()))
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if check.outcome is bc.Outcome.NO_RIGHTS:
        await _leave_flow(state)
        await _not_for_you(message)
        return
    if check.outcome is not bc.Outcome.DONE:  # no such idea, or nobody to reach: another number, or /cancel
        await show(message, Screen(bs.audience_refusal(check.outcome, audience) + "\n" + bs.idea_number_needed()))
        return
    await _enter(state, BroadcastForm.text, clock, bc_audience=audience.code)
    await show(message, bs.text_prompt(audience, check.recipients))


async def text_typed(message: Message, session: AsyncSession, user: User, settings: Settings, state: FSMContext,
                     clock: Clock) -> None:
    """The announcement (also a new one typed at the preview, which replaces the draft)."""
    data = await _flow_data(state, clock)
    if data is None:
        await _expired(message)
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    checked = bc.check_text(message.text)
    if checked.problem is not None:
        await show(message, Screen(bs.text_problem(checked)))
        return
    check = await bc.check_audience(session, settings, user.id, audience)
    if check.outcome is bc.Outcome.NO_RIGHTS:
        await _leave_flow(state)
        await _not_for_you(message)
        return
    if check.outcome is not bc.Outcome.DONE:  # everyone left meanwhile: choose the audience again
        await _enter(state, BroadcastForm.audience, clock, bc_audience=None, bc_text=None)
        await show(message, bs.audience_screen(bs.audience_refusal(check.outcome, audience)))
        return
    nonce = uuid.uuid4().hex
    await _enter(state, BroadcastForm.preview, clock, bc_text=checked.text, bc_nonce=nonce)
    await show(message, bs.preview_message(checked.text))
    await show(message, bs.confirm_screen(audience, check.recipients, nonce))


async def not_text(message: Message) -> None:
    await show(message, Screen(bs.send_text_please()))


async def _current_draft(query: CallbackQuery, callback_data: BroadcastStep, state: FSMContext,
                         clock: Clock) -> dict | None:
    """The draft this preview's button belongs to, or None (answered) when the press is out of date."""
    if await state.get_state() != BroadcastForm.preview.state:
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return None
    data = await _flow_data(state, clock)
    if data is None:
        await _expired(query)
        return None
    if not callback_data.n or callback_data.n != data.get("bc_nonce") or not data.get("bc_text"):
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return None
    return data


async def send_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                      settings: Settings, state: FSMContext, clock: Clock) -> None:
    data = await _current_draft(query, callback_data, state, clock)
    if data is None:
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    if audience is None:
        await _leave_flow(state)
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    draft = bc.Draft(audience, str(data["bc_text"]), batch_id=f"broadcast:{data['bc_nonce']}")
    result = await bc.send(session, settings, user.id, draft, clock())
    if result.outcome is bc.Outcome.NO_RIGHTS:
        await _leave_flow(state)
        await _not_for_you(query)
        return
    if result.outcome is bc.Outcome.DONE or (result.outcome is bc.Outcome.ALREADY and result.view is not None):
        await _leave_flow(state)
        notice = bs.started_notice(result.recipients) if result.outcome is bc.Outcome.DONE else \
            bs.already_sent_notice()
        await show(query, bs.progress_screen(result.view, settings.send_rate_per_second, notice),
                   alert=bs.alert(notice))
        return
    refusal = bs.sent_refusal(result)
    await _enter(state, BroadcastForm.audience, clock, bc_audience=None, bc_text=None, bc_nonce=None)
    await show(query, bs.audience_screen(refusal), alert=bs.alert(refusal))


async def edit_button(query: CallbackQuery, callback_data: BroadcastStep, session: AsyncSession, user: User,
                      settings: Settings, state: FSMContext, clock: Clock) -> None:
    data = await _current_draft(query, callback_data, state, clock)
    if data is None:
        return
    audience = bc.parse_audience(data.get("bc_audience"))
    check = await bc.check_audience(session, settings, user.id, audience)
    if check.outcome is bc.Outcome.NO_RIGHTS:
        await _leave_flow(state)
        await _not_for_you(query)
        return
    await _enter(state, BroadcastForm.text, clock, bc_nonce=None)
    await show(query, bs.text_prompt(audience, check.recipients))


async def cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    if not _in_flow(await state.get_state()):
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    await _leave_flow(state)
    await show(query, bs.cancelled())


# ------------------------------------------------------------------ progress

async def progress_button(query: CallbackQuery, callback_data: BroadcastButton, session: AsyncSession, user: User,
                          settings: Settings, clock: Clock) -> None:
    act, broadcast_id = callback_data.act, callback_data.id
    if act == bs.PROGRESS_PAUSE:
        result = await bc.pause(session, settings, user.id, broadcast_id, clock())
    elif act == bs.PROGRESS_RESUME:
        result = await bc.resume(session, settings, user.id, broadcast_id, clock())
    elif act == bs.PROGRESS_REFRESH:
        result = await bc.progress(session, settings, user.id, broadcast_id)
    else:  # a forged code
        await query.answer(bs.step_out_of_date(), show_alert=True)
        return
    if result.outcome is bc.Outcome.NO_RIGHTS:
        await _not_for_you(query)
        return
    if result.outcome is bc.Outcome.NOT_FOUND:
        await query.answer(bs.not_found(), show_alert=True)
        return
    notice = None
    if act == bs.PROGRESS_PAUSE:
        notice = bs.paused_notice(result.changed) if result.changed else bs.nothing_to_pause()
    elif act == bs.PROGRESS_RESUME:
        notice = bs.resumed_notice(result.changed) if result.changed else bs.nothing_to_resume()
    await show(query, bs.progress_screen(result.view, settings.send_rate_per_second),
               alert=bs.alert(notice) if notice else None)


async def broadcasts_command(message: Message, session: AsyncSession, user: User, settings: Settings) -> None:
    views = await bc.recent(session, settings, user.id)
    if views is None:
        await _not_for_you(message)
        return
    await show(message, bs.recent_screen(views, settings.send_rate_per_second))


# ------------------------------------------------------------------ /digest preview

def job_context(session: AsyncSession, settings: Settings, i18n: I18n, clock: Clock, bot_username: str,
                sessions: SessionFactory | None = None) -> JobContext:
    """What a scheduled job gets, built from a handler's data. The dispatcher's session factory when it is
    there (dp["sessions"]); else a factory on the engine of this update's session (the same database)."""
    return JobContext(sessions=sessions or session_factory(session.bind), settings=settings, i18n=i18n,
                      clock=clock, bot_username=bot_username)


async def digest_preview_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                                 clock: Clock, i18n: I18n, sessions: SessionFactory | None = None) -> None:
    if not await bc.has_rights(session, settings, user.id):
        await _not_for_you(message)
        return
    me = await message.bot.me()
    await session.commit()  # hand the update's connection back: the rendering below opens its own session
    ctx = job_context(session, settings, i18n, clock, me.username, sessions)
    language = user.language
    text, markup = await digest_jobs.render_weekly_digest(ctx, language)  # the weekly job's own rendering
    if not text:
        await show(message, Screen(bs.digest_empty()))
        return
    await show(message, Screen(bs.digest_preview_notice()))
    keyboard = InlineKeyboardMarkup.model_validate(markup) if markup else None
    await show(message, Screen(text, keyboard))


# ------------------------------------------------------------------ the router

def create_router() -> Router:
    router = Router(name="broadcast")
    router.message.filter(moderator_in_private_chat)
    router.callback_query.filter(moderator_in_private_chat)
    message, button = router.message.register, router.callback_query.register

    message(broadcast_command, Command("broadcast"))
    message(broadcasts_command, Command("broadcasts"))
    message(digest_preview_command, Command("digest", magic=F.args.regexp(r"(?i)^\s*preview\s*$")))
    typed = (F.text, ~F.text.startswith("/"))  # /cancel and other commands pass through to their handlers
    message(idea_typed, BroadcastForm.idea, *typed)
    message(text_typed, BroadcastForm.text, *typed)
    message(text_typed, BroadcastForm.preview, *typed)
    message(not_text, BroadcastForm.idea, ~F.text)
    message(not_text, BroadcastForm.text, ~F.text)

    button(audience_button, BroadcastStep.filter(F.act == bs.STEP_AUDIENCE))
    button(send_button, BroadcastStep.filter(F.act == bs.STEP_SEND))
    button(edit_button, BroadcastStep.filter(F.act == bs.STEP_EDIT))
    button(cancel_button, BroadcastStep.filter(F.act == bs.STEP_CANCEL))
    button(progress_button, BroadcastButton.filter())
    return router
