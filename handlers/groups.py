"""Working groups: a resident opens a group (from a commitment's card, an idea's card or a digest), signs up as a
person or for an NGO, says why, agrees to share one contact, and leaves in one tap; moderators review the
sign-ups (/groups, /group N), approve or decline, export the approved list and manage groups and meetings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.domain import groups
from bot.domain.plan import parse_number
from bot.ui import callbacks as cb
from bot.ui import groups_screens as gs
from bot.ui.respond import message_in_private_chat, show
from bot.ui.screens import Screen, stale_button_text, unknown_command
from handlers.moderators import moderator_here
from storage.db import AsyncSession
from storage.models import User

Clock = Callable[[], datetime]
STEP_LIFETIME = timedelta(minutes=30)
FLOW_KEYS = ("wg_group", "wg_org", "wg_role", "wg_why", "wg_until")


class JoinForm(StatesGroup):
    organisation = State()
    role = State()
    why = State()
    contact = State()  # consent given for a phone number: waiting for Telegram's contact button


async def _leave_flow(state: FSMContext) -> None:
    """Leave the sign-up conversation, keeping anything else in the state data (a half-written proposal)."""
    data = {key: value for key, value in (await state.get_data()).items() if key not in FLOW_KEYS}
    await state.set_state(None)
    await state.set_data(data)


async def _flow(state: FSMContext, clock: Clock) -> dict | None:
    data = await state.get_data()
    if not data.get("wg_group") or clock().timestamp() > float(data.get("wg_until") or 0):
        await _leave_flow(state)
        return None
    return data


# ------------------------------------------------------------------ residents

async def group_button(query: CallbackQuery, callback_data: cb.Group, session: AsyncSession, user: User,
                       clock: Clock) -> None:
    card, refusal = await groups.may_join(session, callback_data.id, user, clock())
    if card is None:
        await show(query, gs.group_not_found())
        return
    await show(query, gs.group_screen(card, user.language, refusal))


async def join_button(query: CallbackQuery, callback_data: cb.Group, session: AsyncSession, user: User,
                      clock: Clock, state: FSMContext) -> None:
    card, refusal = await groups.may_join(session, callback_data.id, user, clock())
    if refusal is not None:
        await query.answer(gs.refusal_text(refusal), show_alert=True)
        return
    await _leave_flow(state)
    await state.update_data(wg_group=card.group.id, wg_until=(clock() + STEP_LIFETIME).timestamp())
    if callback_data.arg == cb.JOIN_NGO:
        await state.set_state(JoinForm.organisation)
        await show(query, gs.ask_organisation())
    else:
        await state.set_state(JoinForm.why)
        await show(query, gs.ask_why())


async def _line_typed(message: Message, state: FSMContext, clock: Clock, key: str, next_step: State,
                      prompt: Screen) -> None:
    """The organisation's name or the role: one short line, then the next question."""
    if await _flow(state, clock) is None:
        await message.answer(gs.step_expired())
        return
    line = groups.clean_line(message.text, groups.ORG_MAX)
    if line is None:
        await message.answer(gs.line_problem(groups.ORG_MAX))
        return
    await state.update_data({key: line})
    await state.set_state(next_step)
    await show(message, prompt)


async def organisation_typed(message: Message, state: FSMContext, clock: Clock) -> None:
    await _line_typed(message, state, clock, "wg_org", JoinForm.role, gs.ask_role())


async def role_typed(message: Message, state: FSMContext, clock: Clock) -> None:
    await _line_typed(message, state, clock, "wg_role", JoinForm.why, gs.ask_why())


async def why_typed(message: Message, session: AsyncSession, user: User, state: FSMContext, clock: Clock) -> None:
    data = await _flow(state, clock)
    if data is None:
        await message.answer(gs.step_expired())
        return
    why = groups.check_why(message.text)
    if why is None:
        await message.answer(gs.why_problem())
        return
    card, refusal = await groups.may_join(session, data["wg_group"], user, clock())
    if refusal is not None:
        await _leave_flow(state)
        await message.answer(gs.refusal_text(refusal))
        return
    await state.update_data(wg_why=why)
    await state.set_state(None)  # the consent is a button press; the data waits for it
    await show(message, gs.consent_screen(card.group, user.language,
                                          groups.valid_username(message.from_user.username)))


async def consent_button(query: CallbackQuery, callback_data: cb.Group, session: AsyncSession, user: User,
                         state: FSMContext, clock: Clock) -> None:
    data = await _flow(state, clock)
    if data is None or data.get("wg_group") != callback_data.id or not data.get("wg_why"):
        await query.answer(gs.step_expired(), show_alert=True)
        return
    if callback_data.arg == cb.CONTACT_PHONE:
        await state.set_state(JoinForm.contact)
        text, keyboard = gs.phone_request()
        await query.bot.send_message(query.from_user.id, text, reply_markup=keyboard)
        await query.answer()
        return
    username = groups.valid_username(query.from_user.username)
    if callback_data.arg != cb.CONTACT_USERNAME or username is None:
        await query.answer(gs.step_expired(), show_alert=True)
        return
    await _save(query, session, user, state, clock, data, username=username)


async def contact_shared(message: Message, session: AsyncSession, user: User, state: FSMContext,
                         clock: Clock) -> None:
    data = await _flow(state, clock)
    if data is None or not data.get("wg_why"):
        text, keyboard = gs.keyboard_removed(gs.step_expired())
        await message.answer(text, reply_markup=keyboard)
        return
    if message.contact.user_id != message.from_user.id:  # a forwarded or picked contact of someone else
        await message.answer(gs.not_your_contact())
        return
    await _save(message, session, user, state, clock, data, phone=message.contact.phone_number)


async def contact_typed(message: Message, state: FSMContext) -> None:
    """Anything typed at the contact step: a number is refused (it must come from Telegram); ✖️ Cancel cancels."""
    if message.text in (gs.cancel_label(), "/cancel"):
        await _leave_flow(state)
        text, keyboard = gs.keyboard_removed(gs.sign_up_cancelled())
        await message.answer(text, reply_markup=keyboard)
        return
    await message.answer(gs.phone_typed())


async def _save(event: Message | CallbackQuery, session: AsyncSession, user: User, state: FSMContext,
                clock: Clock, data: dict, *, username: str | None = None, phone: str | None = None) -> None:
    signup = groups.SignUp(group_id=data["wg_group"], why=data["wg_why"], organisation=data.get("wg_org"),
                           role=data.get("wg_role"), username=username, phone=phone)
    card, refusal = await groups.sign_up(session, user, signup, clock())
    await _leave_flow(state)
    chat_id = event.from_user.id
    text, keyboard = gs.keyboard_removed(gs.refusal_text(refusal) if refusal else gs.signed_up())
    await event.bot.send_message(chat_id, text, reply_markup=keyboard)
    if card is not None:
        screen = gs.group_screen(card, user.language, refusal or groups.Refusal.ALREADY)
        await event.bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
    if isinstance(event, CallbackQuery):
        await event.answer()


async def cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    await _leave_flow(state)
    await show(query, Screen(gs.sign_up_cancelled()))


async def leave_button(query: CallbackQuery, callback_data: cb.Group, session: AsyncSession, user: User,
                       clock: Clock) -> None:
    card = await groups.leave(session, callback_data.id, user.id, clock())
    if card is None:
        await show(query, gs.group_not_found())
        return
    _, refusal = await groups.may_join(session, callback_data.id, user, clock())
    await show(query, gs.group_screen(card, user.language, refusal), alert=gs.left_alert())


# ------------------------------------------------------------------ moderators

async def groups_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                         clock: Clock) -> None:
    found = await groups.moderator_groups(session, settings, user.id, clock())
    await show(message, gs.groups_list_screen(found, user.language) if found is not None else unknown_command())


async def group_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                        settings: Settings, clock: Clock) -> None:
    words = (command.args or "").split(maxsplit=2)
    now = clock()
    if len(words) >= 2 and words[0].lower() == "add":
        rest = (words[1] + " " + (words[2] if len(words) > 2 else "")).split(maxsplit=2)
        commitment_id, capacity = parse_number(rest[0]), parse_number(rest[1] if len(rest) > 1 else None)
        title = groups.clean_line(rest[2] if len(rest) > 2 else None, 300)
        if commitment_id is None or capacity is None or capacity > 500 or title is None:
            await show(message, Screen(gs.groups_usage()))
            return
        result = await groups.add_group(session, settings, user.id, commitment_id, capacity, title, user.language,
                                        now)
        await _group_answer(message, result, session, user, settings, now)
        return
    group_id = parse_number(words[0]) if words else None
    if group_id is None:
        await show(message, Screen(gs.groups_usage()))
        return
    verb = words[1].lower() if len(words) > 1 else ""
    if verb == "csv":
        await _send_csv(message, session, user, settings, group_id)
        return
    if verb == "status" and len(words) == 3:
        result = await groups.set_status(session, settings, user.id, group_id, words[2].strip().lower(), now)
    elif verb == "meeting" and len(words) == 3:
        starts, _, where = words[2].partition(" ")
        starts_at = _local_moment(starts, settings)
        where = groups.clean_line(where, 300)
        if starts_at is None or where is None:
            await show(message, Screen(gs.groups_usage()))
            return
        result = await groups.add_meeting(session, settings, user.id, group_id, starts_at, where, now)
    elif not verb:
        await _review(message, session, user, settings, group_id, now)
        return
    else:
        await show(message, Screen(gs.groups_usage()))
        return
    await _group_answer(message, result, session, user, settings, now)


def _local_moment(text: str, settings: Settings) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


async def _review(message: Message, session: AsyncSession, user: User, settings: Settings, group_id: int,
                  now: datetime, notice: str | None = None) -> None:
    found = await groups.review(session, settings, user.id, group_id, now)
    if found is groups.Outcome.NO_RIGHTS:
        await show(message, unknown_command())
    elif found is groups.Outcome.NOT_FOUND:
        await show(message, Screen(gs.group_answer(groups.GroupResult(found))))
    else:
        screen = gs.review_screen(found, user.language)
        await show(message, Screen(f"{notice}\n\n{screen.text}" if notice else screen.text, screen.markup))


async def _group_answer(message: Message, result: groups.GroupResult, session: AsyncSession, user: User,
                        settings: Settings, now: datetime) -> None:
    if result.outcome is groups.Outcome.NO_RIGHTS:
        await show(message, unknown_command())
    elif result.group is not None:
        await _review(message, session, user, settings, result.group.id, now, gs.group_answer(result))
    else:
        await show(message, Screen(gs.group_answer(result)))


async def _send_csv(message: Message, session: AsyncSession, user: User, settings: Settings, group_id: int) -> None:
    found = await groups.export_for(session, settings, user.id, group_id)
    if found is groups.Outcome.NO_RIGHTS:
        await show(message, unknown_command())
        return
    if found is groups.Outcome.NOT_FOUND:
        await show(message, Screen(gs.group_answer(groups.GroupResult(found))))
        return
    group, text = found
    document = BufferedInputFile(text.encode("utf-8-sig"), filename=f"working-group-{group.id}.csv")
    await message.answer_document(document, caption=gs.csv_caption(group, user.language))


async def decision_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                           settings: Settings, clock: Clock, i18n: I18n) -> None:
    """/signup M approve|decline [note]."""
    words = (command.args or "").split(maxsplit=2)
    member_id = parse_number(words[0]) if words else None
    verb = words[1].lower() if len(words) > 1 else ""
    if member_id is None or verb not in ("approve", "decline"):
        await show(message, Screen(gs.groups_usage()))
        return
    note = words[2] if len(words) > 2 else None
    result = await groups.decide(session, settings, user.id, member_id, verb == "approve",
                                 groups.clean_line(note, groups.NOTE_MAX), clock(), gs.GroupTexts(i18n, settings.tz))
    await _group_answer(message, result, session, user, settings, clock())


async def decision_button(query: CallbackQuery, callback_data: cb.Group, session: AsyncSession, user: User,
                          settings: Settings, clock: Clock, i18n: I18n) -> None:
    result = await groups.decide(session, settings, user.id, callback_data.id,
                                 callback_data.act == cb.GROUP_APPROVE, None, clock(), gs.GroupTexts(i18n, settings.tz))
    if result.outcome is groups.Outcome.NO_RIGHTS:
        await query.answer(stale_button_text(), show_alert=True)
        return
    found = await groups.review(session, settings, user.id, result.group.id, clock()) if result.group else None
    if isinstance(found, groups.GroupReview):
        await show(query, gs.review_screen(found, user.language), alert=gs.group_answer(result))
    else:
        await query.answer(gs.group_answer(result), show_alert=True)


def create_router() -> Router:
    moderators = Router(name="groups.moderators")
    moderators.message.filter(moderator_here)
    moderators.callback_query.filter(moderator_here)
    moderators.message.register(groups_command, Command("groups"))
    moderators.message.register(group_command, Command("group"))
    moderators.message.register(decision_command, Command("signup"))
    moderators.callback_query.register(
        decision_button, cb.Group.filter(F.act.in_({cb.GROUP_APPROVE, cb.GROUP_DECLINE})))

    residents = Router(name="groups.residents")
    residents.message.filter(message_in_private_chat)
    residents.callback_query.register(group_button, cb.Group.filter(F.act == cb.GROUP_CARD))
    residents.callback_query.register(join_button, cb.Group.filter(F.act == cb.GROUP_JOIN))
    residents.callback_query.register(consent_button, cb.Group.filter(F.act == cb.GROUP_CONSENT))
    residents.callback_query.register(cancel_button, cb.Group.filter(F.act == cb.GROUP_CANCEL))
    residents.callback_query.register(leave_button, cb.Group.filter(F.act == cb.GROUP_LEAVE))
    typed = (F.text, ~F.text.startswith("/"))
    residents.message.register(organisation_typed, JoinForm.organisation, *typed)
    residents.message.register(role_typed, JoinForm.role, *typed)
    residents.message.register(why_typed, JoinForm.why, *typed)
    residents.message.register(contact_shared, JoinForm.contact, F.contact)
    residents.message.register(contact_typed, JoinForm.contact, F.text)

    router = Router(name="groups")
    router.include_routers(moderators, residents)
    return router
