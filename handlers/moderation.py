"""Moderators: the queue, the moderation card and its buttons, decisions, translations, bans, statistics and the
audit log.

Only moderators reach these handlers (handlers/moderators.py: the router's filter, checked on every command and
button, in a private chat or the moderators' chat); the domain checks the rights again. Anyone else falls
through to the other routers: a moderator command gets the usual "unknown command", a moderator button the
usual stale-button answer, and `/start mod_N` the usual start."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.domain import lifecycle, staff, texts
from bot.domain import moderation as mod
from bot.domain.lifecycle import Outcome
from bot.i18n import LANGUAGES
from bot.ui import callbacks as cb
from bot.ui import moderation_screens as ms
from bot.ui.callbacks import Mod
from bot.ui.screens import Screen
from bot.ui.text import alert
from handlers import moderation_args as parse
from handlers.flow import Flow
from handlers.moderators import Moderator, button, command, moderator_here, step

log = logging.getLogger(__name__)


class ModerationForm(StatesGroup):
    reason = State()
    duplicate = State()
    title = State()
    body = State()


# A forgotten prompt must not swallow a later message; every step needs the idea it is about.
FLOW = Flow(ModerationForm, "mod_", timedelta(minutes=15), required="mod_idea")


# ------------------------------------------------------------------ answers

def _mention(moderator: Moderator) -> str | None:
    """In the moderators' group a prompt names whom it asks (a ForceReply goes to that moderator)."""
    if not moderator.in_group:
        return None
    return ms.moderator_mention(moderator.event.from_user.id, moderator.event.from_user.first_name)


async def _ask(moderator: Moderator, screen: Screen) -> None:
    """A prompt after a button: a new message (a ForceReply cannot be edited in), then the query's answer."""
    query: CallbackQuery = moderator.event
    chat_id = query.message.chat.id if query.message else query.from_user.id
    prompt = await query.bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
    await moderator.state.update_data(mod_prompt=prompt.message_id)
    await query.answer()


async def answers_the_prompt(message: Message, state: FSMContext) -> bool:
    """In the moderators' group only a reply to the bot's prompt is the answer ("Labrīt!" is not a reason to
    reject an idea); in a private chat any text is."""
    if message.chat.type == "private":
        return True
    reply = message.reply_to_message
    return reply is not None and reply.message_id == (await state.get_data()).get("mod_prompt")


async def _answer(moderator: Moderator, result: mod.ActionResult, idea_id: int, *, into_id: int | None = None,
                  quiet: bool = False) -> None:
    """The card as it is now with a line on what happened; a button press also gets that line as its alert."""
    if result.outcome is Outcome.NO_RIGHTS:  # rights taken away between the filter and the domain
        await moderator.not_for_you()
        return
    notice = None if quiet and result.outcome is Outcome.DONE else ms.action_answer(result, idea_id, into_id)
    if result.card is not None:
        screen = ms.card_screen(result.card, moderator.language, moderator.bot_username, notice)
    else:
        screen = Screen(notice or "")
    pressed = isinstance(moderator.event, CallbackQuery)
    try:
        await moderator.show(screen, alert=alert(notice) if notice and pressed else None)
    except TelegramBadRequest as error:
        # The decision is committed: say what happened without the card, never "an internal error".
        log.warning("the moderation card could not be shown (%s); answering with its notice only", error.message)
        if pressed:
            await moderator.event.answer(alert(notice) if notice else None)
        elif notice:
            await moderator.event.answer(notice)


async def _prepared(moderator: Moderator, idea_id: int, intent: str,
                    seen_version: int | None) -> mod.ActionResult | None:
    """May the moderator start this on the idea as they saw it? The result (with the card), or None when the
    answer why not has been shown."""
    result = await mod.prepare(moderator.session, moderator.settings, moderator.id, idea_id, intent,
                               seen_version=seen_version)
    if result.outcome is not Outcome.DONE:
        await _answer(moderator, result, idea_id)
        return None
    return result


async def _decided(moderator: Moderator, decide, idea_id: int, *args, into_id: int | None = None,
                   seen_version: int | None = None) -> None:
    """A decision (mod.publish, reject, set_status, merge) with the arguments every decision takes, answered."""
    result = await decide(moderator.session, moderator.settings, moderator.id, idea_id, *args, moderator.now(),
                          seen_version=seen_version, renderer=moderator.renderer)
    await _answer(moderator, result, idea_id, into_id=into_id)


async def _card(moderator: Moderator, idea_id: int) -> None:
    result = await mod.moderation_card(moderator.session, moderator.settings, moderator.id, idea_id)
    await _answer(moderator, result, idea_id, quiet=True)


def _usage(name: str):
    return lambda: ms.usage(name)


# ------------------------------------------------------------------ commands

@command(FLOW)
async def help_command(moderator: Moderator) -> None:
    await moderator.show(ms.moderator_help())


@command(FLOW)
async def pending_command(moderator: Moderator) -> None:
    found = await staff.queue(moderator.session, moderator.settings, moderator.id)
    await moderator.show_found(found, lambda queue: ms.queue_screen(queue, moderator.language))


@command(FLOW, _usage("idea"), parse.parse_idea_id)
async def idea_command(moderator: Moderator, idea_id: int) -> None:
    await _card(moderator, idea_id)


@command(FLOW, parse=lambda args: int(args.removeprefix("mod_")))
async def open_from_link(moderator: Moderator, idea_id: int) -> None:
    """/start mod_N: the "Open in the bot" button of a card in the moderators' chat."""
    await _card(moderator, idea_id)


@command(FLOW, _usage("publish"), parse.parse_idea_id)
async def publish_command(moderator: Moderator, idea_id: int) -> None:
    await _decided(moderator, mod.publish, idea_id)


@command(FLOW, _usage("reject"), parse.parse_reject)
async def reject_command(moderator: Moderator, args: parse.RejectArgs) -> None:
    await _decided(moderator, mod.reject, args.idea_id, args.reason)


@command(FLOW, _usage("merge"), parse.parse_merge)
async def merge_command(moderator: Moderator, args: parse.MergeArgs) -> None:
    await _decided(moderator, mod.merge, args.idea_id, args.into_id, into_id=args.into_id)


@command(FLOW, _usage("status"), parse.parse_status)
async def status_command(moderator: Moderator, args: parse.StatusArgs) -> None:
    await _decided(moderator, mod.set_status, args.idea_id, args.status, args.note)


@command(FLOW, _usage("translate"), parse.parse_idea_id)
async def translate_command(moderator: Moderator, idea_id: int) -> None:
    result = await _prepared(moderator, idea_id, "edit", None)
    if result is not None:
        await moderator.show(ms.edit_language_screen(result.card))


async def _user_action(moderator: Moderator, result: staff.UserActionResult, name: str) -> None:
    if result.outcome is Outcome.NO_RIGHTS:
        await moderator.not_for_you()
        return
    await moderator.show(ms.user_action_answer(result, name))


@command(FLOW, _usage("ban"), parse.parse_ban)
async def ban_command(moderator: Moderator, args: tuple[int, bool]) -> None:
    user_id, void = args
    result = await staff.set_banned(moderator.session, moderator.settings, moderator.id, user_id, True,
                                    moderator.now(), void_supports=void)
    await _user_action(moderator, result, "ban")


@command(FLOW, _usage("unban"), parse.parse_user_id)
async def unban_command(moderator: Moderator, user_id: int) -> None:
    result = await staff.set_banned(moderator.session, moderator.settings, moderator.id, user_id, False,
                                    moderator.now())
    await _user_action(moderator, result, "unban")


@command(FLOW, _usage("moderators"), parse.parse_moderators)
async def moderators_command(moderator: Moderator, args: tuple[str, int | None]) -> None:
    verb, user_id = args
    if verb == "list":
        found = await staff.moderator_list(moderator.session, moderator.settings, moderator.id)
        await moderator.show_found(found, ms.moderators_screen)
        return
    result = await staff.set_moderator(moderator.session, moderator.settings, moderator.id, user_id, verb == "add",
                                       moderator.now())
    await _user_action(moderator, result, verb)


@command(FLOW)
async def stats_command(moderator: Moderator) -> None:
    found = await staff.stats(moderator.session, moderator.settings, moderator.id)
    await moderator.show_found(found, ms.stats_screen)


@command(FLOW, _usage("audit"), parse.parse_audit)
async def audit_command(moderator: Moderator, args: tuple[str, int]) -> None:
    found = await staff.audit(moderator.session, moderator.settings, moderator.id, *args)
    await moderator.show_found(found, ms.audit_screen)


# ------------------------------------------------------------------ the card's buttons

@button
async def card_button(moderator: Moderator, data: Mod) -> None:
    await FLOW.leave(moderator.state)
    await _card(moderator, data.id)


@button
async def publish_button(moderator: Moderator, data: Mod) -> None:
    await _decided(moderator, mod.publish, data.id, seen_version=data.v)


@button
async def reject_button(moderator: Moderator, data: Mod) -> None:
    """Reject: first the choice of a reason."""
    result = await _prepared(moderator, data.id, "reject", data.v)
    if result is not None:
        await moderator.show(ms.reject_reasons_screen(result.card, moderator.language))


@button
async def reason_button(moderator: Moderator, data: Mod) -> None:
    if data.r not in lifecycle.REJECT_REASONS:
        await moderator.not_for_you()  # a forged reason
        return
    await _decided(moderator, mod.reject, data.id, lifecycle.reason_note(data.r), seen_version=data.v)


@button
async def type_reason_button(moderator: Moderator, data: Mod) -> None:
    prepared = await _prepared(moderator, data.id, "reject", data.v)
    if prepared is None:
        return
    await FLOW.leave(moderator.state)
    await FLOW.enter(moderator.state, ModerationForm.reason, moderator.clock, mod_idea=data.id, mod_version=data.v)
    author_language = prepared.card.author_language if prepared.card else None
    await _ask(moderator, ms.reason_prompt(data.id, _mention(moderator), author_language))


@button
async def edit_button(moderator: Moderator, data: Mod) -> None:
    result = await _prepared(moderator, data.id, "edit", data.v)
    if result is not None:
        await moderator.show(ms.edit_language_screen(result.card))


@button
async def edit_language_button(moderator: Moderator, data: Mod) -> None:
    if data.r not in LANGUAGES:
        await moderator.not_for_you()
        return
    result = await _prepared(moderator, data.id, "edit", data.v)
    if result is None:
        return
    await FLOW.leave(moderator.state)
    await FLOW.enter(moderator.state, ModerationForm.title, moderator.clock, mod_idea=data.id, mod_version=data.v,
                     mod_lang=data.r)
    await _ask(moderator, ms.title_prompt(result.card.idea, data.r, texts.TITLE_LIMITS,
                                          _mention(moderator)))


@button
async def duplicate_button(moderator: Moderator, data: Mod) -> None:
    if await _prepared(moderator, data.id, "merge", data.v) is None:
        return
    await FLOW.leave(moderator.state)
    await FLOW.enter(moderator.state, ModerationForm.duplicate, moderator.clock, mod_idea=data.id,
                     mod_version=data.v)
    await _ask(moderator, ms.duplicate_prompt(data.id, _mention(moderator)))


# ------------------------------------------------------------------ the typed steps

def _typed(moderator: Moderator) -> str:
    message: Message = moderator.event
    return message.text


@step(FLOW, ms.step_expired)
async def reason_typed(moderator: Moderator, data: dict) -> None:
    await FLOW.leave(moderator.state)
    await _decided(moderator, mod.reject, int(data["mod_idea"]), _typed(moderator),
                   seen_version=int(data["mod_version"]))


@step(FLOW, ms.step_expired)
async def duplicate_typed(moderator: Moderator, data: dict) -> None:
    into_id = parse.parse_idea_id(_typed(moderator))
    if into_id is None:
        await moderator.show(ms.duplicate_number_needed())
        return
    await FLOW.leave(moderator.state)
    await _decided(moderator, mod.merge, int(data["mod_idea"]), into_id, into_id=into_id,
                   seen_version=int(data["mod_version"]))


@step(FLOW, ms.step_expired)
async def title_typed(moderator: Moderator, data: dict) -> None:
    idea_id, text_language = int(data["mod_idea"]), str(data["mod_lang"])
    found = await mod.title_step(moderator.session, moderator.settings, moderator.id, idea_id, text_language,
                                 _typed(moderator), seen_version=int(data["mod_version"]))
    if found.result.outcome is Outcome.BAD_TEXT:
        await moderator.show(ms.text_problem("title", found.result.problem_detail))
        return
    if found.result.outcome is not Outcome.DONE:
        await FLOW.leave(moderator.state)
        await _answer(moderator, found.result, idea_id)
        return
    await moderator.state.update_data(mod_title=found.title.text if found.title is not None else None)
    await moderator.state.set_state(ModerationForm.body)
    prompt = await moderator.show(ms.body_prompt(found.result.card.idea, text_language, texts.BODY_LIMITS,
                                                 _mention(moderator)))
    await moderator.state.update_data(mod_prompt=prompt.message_id)


@step(FLOW, ms.step_expired)
async def body_typed(moderator: Moderator, data: dict) -> None:
    idea_id = int(data["mod_idea"])
    result = await mod.edit_texts(moderator.session, moderator.settings, moderator.id, idea_id,
                                  str(data["mod_lang"]), data.get("mod_title"), _typed(moderator), moderator.now(),
                                  seen_version=int(data["mod_version"]))
    if result.outcome is Outcome.BAD_TEXT and result.problem == "body":
        await moderator.show(ms.text_problem("body", result.problem_detail))
        return
    await FLOW.leave(moderator.state)
    await _answer(moderator, result, idea_id)


async def ignore_group_chatter(message: Message) -> None:
    """Moderators talk among themselves in their chat (and reply to the bot's posts): the bot stays quiet."""


async def in_moderators_group(message: Message, settings: Settings) -> bool:
    return (settings.moderation_chat_id is not None and message.chat.id == settings.moderation_chat_id
            and message.chat.type != "private")


def create_router() -> Router:
    moderators = Router(name="moderation.moderators")
    moderators.message.filter(moderator_here)
    moderators.callback_query.filter(moderator_here)
    message, press = moderators.message.register, moderators.callback_query.register

    message(open_from_link, CommandStart(deep_link=True, magic=F.args.regexp(r"^mod_[0-9]{1,12}$")))
    message(help_command, Command("modhelp"))
    message(pending_command, Command("pending"))
    message(idea_command, Command("idea"))
    message(publish_command, Command("publish"))
    message(reject_command, Command("reject"))
    message(merge_command, Command("merge"))
    message(translate_command, Command("translate"))
    message(status_command, Command("status"))
    message(ban_command, Command("ban"))
    message(unban_command, Command("unban"))
    message(moderators_command, Command("moderators"))
    message(stats_command, Command("stats"))
    message(audit_command, Command("audit"))
    # /cancel and other commands pass through to their handlers; in the group only replies to the prompt count.
    typed = (F.text, ~F.text.startswith("/"), answers_the_prompt)
    message(reason_typed, ModerationForm.reason, *typed)
    message(duplicate_typed, ModerationForm.duplicate, *typed)
    message(title_typed, ModerationForm.title, *typed)
    message(body_typed, ModerationForm.body, *typed)

    press(card_button, Mod.filter(F.act == cb.MOD_CARD))
    press(publish_button, Mod.filter(F.act == cb.MOD_PUBLISH))
    press(reject_button, Mod.filter(F.act == cb.MOD_REJECT))
    press(reason_button, Mod.filter(F.act == cb.MOD_REASON))
    press(type_reason_button, Mod.filter(F.act == cb.MOD_TYPE_REASON))
    press(edit_button, Mod.filter(F.act == cb.MOD_EDIT))
    press(edit_language_button, Mod.filter(F.act == cb.MOD_EDIT_LANGUAGE))
    press(duplicate_button, Mod.filter(F.act == cb.MOD_DUPLICATE))

    chat = Router(name="moderation.chat")
    chat.message.register(ignore_group_chatter, in_moderators_group)

    router = Router(name="moderation")
    router.include_routers(moderators, chat)
    return router
