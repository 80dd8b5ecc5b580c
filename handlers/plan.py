"""The action plan: residents read it (/plan, the menu's "📈 Plan"), open a commitment and follow it;
moderators change it with /commitment, /milestone, /link and /unlink (their router's filter and the domain
check the rights; anyone else gets the usual "unknown command")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.domain import plan
from bot.ui import callbacks as cb
from bot.ui import plan_screens as ps
from bot.ui.respond import message_in_private_chat, show
from bot.ui.screens import Screen, unknown_command
from handlers.moderators import moderator_here
from storage.db import AsyncSession
from storage.models import User

Clock = Callable[[], datetime]


def _today(clock: Clock, settings: Settings) -> date:
    return clock().astimezone(settings.tz).date()


async def _plan(session: AsyncSession, user: User, clock: Clock, settings: Settings) -> Screen:
    campaign = await plan.plan_campaign(session, clock())
    if campaign is None:
        return ps.no_plan()
    return ps.plan_screen(await plan.overview(session, campaign, _today(clock, settings)), user.language)


async def plan_command(message: Message, session: AsyncSession, user: User, clock: Clock,
                       settings: Settings) -> None:
    await show(message, await _plan(session, user, clock, settings))


async def plan_button(query: CallbackQuery, session: AsyncSession, user: User, clock: Clock,
                      settings: Settings) -> None:
    await show(query, await _plan(session, user, clock, settings))


async def commitment_button(query: CallbackQuery, callback_data: cb.Plan, session: AsyncSession, user: User,
                            clock: Clock, settings: Settings) -> None:
    today = _today(clock, settings)
    card = await plan.commitment_card(session, callback_data.id, user.id, today)
    if card is None:
        await show(query, ps.commitment_not_found())
        return
    await show(query, ps.commitment_screen(card, user.language, today))


async def follow_button(query: CallbackQuery, callback_data: cb.Plan, session: AsyncSession, user: User,
                        clock: Clock, settings: Settings) -> None:
    today = _today(clock, settings)
    following = callback_data.act == cb.PLAN_FOLLOW
    card = await plan.follow(session, callback_data.id, user.id, following, today)
    if card is None:
        await show(query, ps.commitment_not_found())
        return
    await show(query, ps.commitment_screen(card, user.language, today), alert=ps.follow_alert(following))


# ------------------------------------------------------------------ moderators

async def _answer(message: Message, result: plan.PlanResult, session: AsyncSession, user: User, today: date
                  ) -> None:
    if result.outcome is plan.Outcome.NO_RIGHTS:  # rights taken away between the filter and the domain
        await show(message, unknown_command())
        return
    notice = ps.plan_answer(result)
    card = (await plan.commitment_card(session, result.commitment.id, user.id, today)
            if result.commitment is not None and result.outcome is not plan.Outcome.BAD_INPUT else None)
    if card is None:
        await show(message, Screen(notice))
        return
    await show(message, ps.moderator_commitment_screen(card, user.language, today, notice))


async def commitment_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                             clock: Clock, settings: Settings) -> None:
    now, today = clock(), _today(clock, settings)
    words = (command.args or "").split(maxsplit=1)
    verb, rest = (words[0].lower() if words else ""), (words[1] if len(words) > 1 else "")
    if not verb:
        found = await plan.moderator_overview(session, settings, user.id, now, today)
        await show(message, ps.plan_screen(found, user.language, moderator=True) if found else ps.no_plan())
        return
    if plan.parse_number(verb) is not None:
        card = await plan.commitment_card(session, plan.parse_number(verb), user.id, today)
        await show(message, ps.moderator_commitment_screen(card, user.language, today) if card
                   else Screen(ps.plan_answer(plan.PlanResult(plan.Outcome.NOT_FOUND))))
        return
    result = await _change(verb, rest, session, user, settings, now)
    await _answer(message, result, session, user, today)


async def _change(verb: str, rest: str, session: AsyncSession, user: User, settings: Settings, now: datetime
                  ) -> plan.PlanResult:
    bad = plan.PlanResult(plan.Outcome.BAD_INPUT)
    if verb == "add":
        fields = plan.parse_fields(rest, user.language)
        return await plan.add_commitment(session, settings, user.id, fields, now) if fields else bad
    number, _, tail = rest.partition(" ")
    commitment_id = plan.parse_number(number)
    if commitment_id is None:
        return bad
    if verb == "edit":
        fields = plan.parse_fields(tail, user.language)
        return await plan.edit_commitment(session, settings, user.id, commitment_id, fields, now) if fields else bad
    if verb == "status":
        status_word, _, note = tail.strip().partition(" ")
        status = plan.parse_status(status_word)
        if status is None:
            return bad
        return await plan.set_commitment_status(session, settings, user.id, commitment_id, status,
                                                plan.clean_note(note), now)
    return bad


async def milestone_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                            clock: Clock, settings: Settings) -> None:
    now, today = clock(), _today(clock, settings)
    words = (command.args or "").split(maxsplit=3)
    result = plan.PlanResult(plan.Outcome.BAD_INPUT)
    if len(words) >= 4 and words[0].lower() == "add" and plan.parse_number(words[1]):
        due = plan.parse_day(words[2])
        title = plan.clean_note(words[3])
        if due is not None and title:
            result = await plan.add_milestone(session, settings, user.id, plan.parse_number(words[1]), due,
                                              title[:300], user.language, now)
    elif len(words) >= 2 and plan.parse_number(words[0]) and words[1].lower() in ("done", "undo"):
        note = plan.clean_note(" ".join(words[2:]))
        result = await plan.set_milestone_done(session, settings, user.id, plan.parse_number(words[0]),
                                               words[1].lower() == "done", note, now)
    await _answer(message, result, session, user, today)


async def link_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                       clock: Clock, settings: Settings) -> None:
    words = (command.args or "").split()
    unlinking = command.command.lower() == "unlink"
    idea_id = plan.parse_number(words[0]) if words else None
    commitment_id = plan.parse_number(words[1]) if len(words) == 2 else None
    if idea_id is None or (unlinking and len(words) != 1) or (not unlinking and commitment_id is None):
        await show(message, Screen(ps.plan_usage()))
        return
    result = await plan.link(session, settings, user.id, idea_id, None if unlinking else commitment_id, clock())
    if result.outcome is plan.Outcome.NO_RIGHTS:
        await _answer(message, result, session, user, _today(clock, settings))
        return
    await show(message, Screen(ps.link_answer(result, user.language)))


def create_router() -> Router:
    moderators = Router(name="plan.moderators")
    moderators.message.filter(moderator_here)
    moderators.message.register(commitment_command, Command("commitment"))
    moderators.message.register(milestone_command, Command("milestone"))
    moderators.message.register(link_command, Command("link", "unlink"))

    residents = Router(name="plan.residents")
    residents.message.register(plan_command, Command("plan"), message_in_private_chat)
    residents.callback_query.register(plan_button, cb.Menu.filter(F.to == cb.MENU_PLAN))
    residents.callback_query.register(plan_button, cb.Plan.filter(F.act == cb.PLAN_LIST))
    residents.callback_query.register(commitment_button, cb.Plan.filter(F.act == cb.PLAN_CARD))
    residents.callback_query.register(follow_button, cb.Plan.filter(F.act.in_({cb.PLAN_FOLLOW, cb.PLAN_UNFOLLOW})))

    router = Router(name="plan")
    router.include_routers(moderators, residents)
    return router
