"""Moderators: the queue, the moderation card and its buttons, decisions, translations, bans, statistics and the
audit log; residents: turning status notifications off and on.

Only moderators reach the moderator handlers (a filter on their router, checked on every command and button,
in a private chat or the moderators' chat); the domain checks the rights again. Anyone else falls through to
the other routers: a moderator command gets the usual "unknown command", a moderator button the usual
stale-button answer, and `/start mod_N` the usual start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, Message
from aiogram.utils.i18n import I18n
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain import moderation as mod
from bot.i18n import LANGUAGES
from bot.ui import moderation_screens as ms
from bot.ui import screens
from bot.ui.moderation_screens import Mod, NotifyToggle
from bot.ui.respond import refuse_press, show
from bot.ui.screens import Screen
from storage.models import User

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STEP_LIFETIME = timedelta(minutes=15)  # a forgotten prompt must not swallow a later message
FLOW_KEYS = ("mod_idea", "mod_version", "mod_lang", "mod_title", "mod_until", "mod_prompt")


class ModerationForm(StatesGroup):
    reason = State()
    duplicate = State()
    title = State()
    body = State()


# ------------------------------------------------------------------ who and where

def _allowed_chat(chat: Chat | None, settings: Settings) -> bool:
    if chat is None:
        return False
    in_moderators_chat = settings.moderation_chat_id is not None and chat.id == settings.moderation_chat_id
    return chat.type == "private" or in_moderators_chat


async def moderator_here(event: Message | CallbackQuery, settings: Settings, user: User | None = None) -> bool:
    """The router's filter: a moderator (not banned), in a private chat or in the moderators' chat."""
    if not mod.is_moderator(user, settings.admin_ids):
        return False
    chat = event.chat if isinstance(event, Message) else (event.message.chat if event.message else None)
    return _allowed_chat(chat, settings)


async def in_moderators_group(message: Message, settings: Settings) -> bool:
    return (settings.moderation_chat_id is not None and message.chat.id == settings.moderation_chat_id
            and message.chat.type != "private")


# ------------------------------------------------------------------ helpers

async def _bot_username(event: Message | CallbackQuery) -> str:
    return (await event.bot.me()).username


async def _leave_flow(state: FSMContext) -> None:
    """Leave a moderator's conversation, keeping anything else in the state data (a resident's draft)."""
    current = await state.get_state()
    if current is None or not current.startswith(f"{ModerationForm.__name__}:"):
        return
    data = {key: value for key, value in (await state.get_data()).items() if key not in FLOW_KEYS}
    await state.set_state(None)
    await state.set_data(data)


async def _enter_flow(state: FSMContext, step: State, clock: Clock, **values: object) -> None:
    await state.set_state(step)
    await state.update_data(mod_until=(clock() + STEP_LIFETIME).timestamp(), **values)


async def _flow_data(state: FSMContext, clock: Clock) -> dict | None:
    """The conversation's data, or None (and the conversation left) when the step has expired."""
    data = await state.get_data()
    if not data.get("mod_idea") or clock().timestamp() > float(data.get("mod_until") or 0):
        await _leave_flow(state)
        return None
    return data


def _mention(event: Message | CallbackQuery) -> str | None:
    chat = event.chat if isinstance(event, Message) else (event.message.chat if event.message else None)
    if chat is None or chat.type == "private":
        return None
    return ms.moderator_mention(event.from_user.id, event.from_user.first_name)


async def _ask(query: CallbackQuery, screen: Screen, state: FSMContext) -> None:
    """A prompt after a button: a new message (a ForceReply cannot be edited in), then the query's answer."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    prompt = await query.bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
    await state.update_data(mod_prompt=prompt.message_id)
    await query.answer()


async def answers_the_prompt(message: Message, state: FSMContext) -> bool:
    """In the moderators' group only a reply to the bot's prompt is the answer ("Labrīt!" is not a reason to
    reject an idea); in a private chat any text is."""
    if message.chat.type == "private":
        return True
    reply = message.reply_to_message
    return reply is not None and reply.message_id == (await state.get_data()).get("mod_prompt")


async def _answer(event: Message | CallbackQuery, result: mod.ActionResult, idea_id: int, language: str, *,
                  into_id: int | None = None, quiet: bool = False) -> None:
    """The card as it is now with a line on what happened; a button press also gets that line as its alert."""
    if result.outcome is mod.Outcome.NO_RIGHTS:  # rights taken away between the filter and the domain
        await _not_for_you(event)
        return
    notice = None if quiet and result.outcome is mod.Outcome.DONE else ms.action_answer(result, idea_id, into_id)
    if result.card is not None:
        screen = ms.card_screen(result.card, language, await _bot_username(event), notice)
    else:
        screen = Screen(notice or "")
    try:
        if isinstance(event, Message):
            await show(event, screen)
        else:
            await show(event, screen, alert=ms.alert(notice) if notice else None)
    except TelegramBadRequest as error:
        # The decision is committed: say what happened without the card, never "an internal error".
        log.warning("the moderation card could not be shown (%s); answering with its notice only", error.message)
        if notice and isinstance(event, Message):
            await event.answer(notice)
        elif isinstance(event, CallbackQuery):
            await event.answer(ms.alert(notice) if notice else None)


async def _not_for_you(event: Message | CallbackQuery) -> None:
    if isinstance(event, Message):
        await show(event, screens.unknown_command())
    else:
        await refuse_press(event, screens.main_menu_only(), screens.stale_button_text())


def _renderer(i18n: I18n) -> ms.ScreensRenderer:
    return ms.ScreensRenderer(i18n)


# ------------------------------------------------------------------ commands

async def help_command(message: Message, state: FSMContext) -> None:
    await _leave_flow(state)
    await show(message, Screen(ms.moderator_help()))


async def pending_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                          state: FSMContext) -> None:
    await _leave_flow(state)
    language = user.language
    found = await mod.queue(session, settings, user.id)
    if found is None:
        await _not_for_you(message)
        return
    await show(message, ms.queue_screen(found, language))


async def idea_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                       settings: Settings, state: FSMContext) -> None:
    await _leave_flow(state)
    idea_id = mod.parse_idea_id(command.args)
    if idea_id is None:
        await show(message, Screen(ms.usage("idea")))
        return
    language = user.language
    await _answer(message, await mod.moderation_card(session, settings, user.id, idea_id), idea_id, language,
                  quiet=True)


async def open_from_link(message: Message, command: CommandObject, session: AsyncSession, user: User,
                         settings: Settings, state: FSMContext) -> None:
    """/start mod_N: the "Open in the bot" button of a card in the moderators' chat."""
    await _leave_flow(state)
    idea_id = int(command.args.removeprefix("mod_"))
    language = user.language
    await _answer(message, await mod.moderation_card(session, settings, user.id, idea_id), idea_id, language,
                  quiet=True)


async def publish_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                          settings: Settings, clock: Clock, state: FSMContext, i18n: I18n) -> None:
    await _leave_flow(state)
    idea_id = mod.parse_idea_id(command.args)
    if idea_id is None:
        await show(message, Screen(ms.usage("publish")))
        return
    language = user.language
    result = await mod.publish(session, settings, user.id, idea_id, clock(), renderer=_renderer(i18n))
    await _answer(message, result, idea_id, language)


async def reject_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                         settings: Settings, clock: Clock, state: FSMContext, i18n: I18n) -> None:
    await _leave_flow(state)
    args = mod.parse_reject(command.args)
    if args is None:
        await show(message, Screen(ms.usage("reject")))
        return
    language = user.language
    result = await mod.reject(session, settings, user.id, args.idea_id, args.reason, clock(),
                              renderer=_renderer(i18n))
    await _answer(message, result, args.idea_id, language)


async def merge_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                        settings: Settings, clock: Clock, state: FSMContext, i18n: I18n) -> None:
    await _leave_flow(state)
    args = mod.parse_merge(command.args)
    if args is None:
        await show(message, Screen(ms.usage("merge")))
        return
    language = user.language
    result = await mod.merge(session, settings, user.id, args.idea_id, args.into_id, clock(),
                             renderer=_renderer(i18n))
    await _answer(message, result, args.idea_id, language, into_id=args.into_id)


async def status_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                         settings: Settings, clock: Clock, state: FSMContext, i18n: I18n) -> None:
    await _leave_flow(state)
    args = mod.parse_status(command.args)
    if args is None:
        await show(message, Screen(ms.usage("status")))
        return
    language = user.language
    result = await mod.set_status(session, settings, user.id, args.idea_id, args.status, args.note, clock(),
                                  renderer=_renderer(i18n))
    await _answer(message, result, args.idea_id, language)


async def translate_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                            settings: Settings, state: FSMContext) -> None:
    await _leave_flow(state)
    idea_id = mod.parse_idea_id(command.args)
    if idea_id is None:
        await show(message, Screen(ms.usage("translate")))
        return
    language = user.language
    result = await mod.prepare(session, settings, user.id, idea_id, "edit")
    if result.outcome is not mod.Outcome.DONE:
        await _answer(message, result, idea_id, language)
        return
    await show(message, ms.edit_language_screen(result.card))


async def _user_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                        settings: Settings, clock: Clock, state: FSMContext, banned: bool) -> None:
    await _leave_flow(state)
    name = "ban" if banned else "unban"
    parsed = mod.parse_ban(command.args) if banned else mod.parse_user_id(command.args)
    if parsed is None:
        await show(message, Screen(ms.usage(name)))
        return
    target_id, void = parsed if banned else (parsed, False)
    result = await mod.set_banned(session, settings, user.id, target_id, banned, clock(), void_supports=void)
    if result.outcome is mod.Outcome.NO_RIGHTS:
        await _not_for_you(message)
        return
    await show(message, Screen(ms.user_action_answer(result, name)))


async def ban_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                      settings: Settings, clock: Clock, state: FSMContext) -> None:
    await _user_command(message, command, session, user, settings, clock, state, banned=True)


async def unban_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                        settings: Settings, clock: Clock, state: FSMContext) -> None:
    await _user_command(message, command, session, user, settings, clock, state, banned=False)


async def moderators_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                             settings: Settings, clock: Clock, state: FSMContext) -> None:
    await _leave_flow(state)
    args = mod.parse_moderators(command.args)
    if args is None:
        await show(message, Screen(ms.usage("moderators")))
        return
    verb, target_id = args
    if verb == "list":
        found = await mod.moderator_list(session, settings, user.id)
        if found is None:
            await _not_for_you(message)
            return
        await show(message, ms.moderators_screen(found))
        return
    result = await mod.set_moderator(session, settings, user.id, target_id, verb == "add", clock())
    if result.outcome is mod.Outcome.NO_RIGHTS:
        await _not_for_you(message)
        return
    await show(message, Screen(ms.user_action_answer(result, verb)))


async def stats_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                        state: FSMContext) -> None:
    await _leave_flow(state)
    found = await mod.stats(session, settings, user.id)
    if found is None:
        await _not_for_you(message)
        return
    await show(message, ms.stats_screen(found))


async def audit_command(message: Message, command: CommandObject, session: AsyncSession, user: User,
                        settings: Settings, state: FSMContext) -> None:
    await _leave_flow(state)
    args = mod.parse_audit(command.args)
    if args is None:
        await show(message, Screen(ms.usage("audit")))
        return
    found = await mod.audit(session, settings, user.id, *args)
    if found is None:
        await _not_for_you(message)
        return
    await show(message, ms.audit_screen(found))


# ------------------------------------------------------------------ the card's buttons

async def card_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                      settings: Settings, state: FSMContext) -> None:
    await _leave_flow(state)
    language = user.language
    result = await mod.moderation_card(session, settings, user.id, callback_data.id)
    await _answer(query, result, callback_data.id, language, quiet=True)


async def publish_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                         settings: Settings, clock: Clock, i18n: I18n) -> None:
    language = user.language
    result = await mod.publish(session, settings, user.id, callback_data.id, clock(),
                               seen_version=callback_data.v, renderer=_renderer(i18n))
    await _answer(query, result, callback_data.id, language)


async def reject_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                        settings: Settings) -> None:
    """Reject: first the choice of a reason."""
    language = user.language
    result = await mod.prepare(session, settings, user.id, callback_data.id, "reject", seen_version=callback_data.v)
    if result.outcome is not mod.Outcome.DONE:
        await _answer(query, result, callback_data.id, language)
        return
    await show(query, ms.reject_reasons_screen(result.card, language))


async def reason_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                        settings: Settings, clock: Clock, i18n: I18n) -> None:
    if callback_data.r not in mod.REJECT_REASONS:
        await _not_for_you(query)  # a forged reason
        return
    language = user.language
    result = await mod.reject(session, settings, user.id, callback_data.id, mod.reason_note(callback_data.r), clock(),
                              seen_version=callback_data.v, renderer=_renderer(i18n))
    await _answer(query, result, callback_data.id, language)


async def type_reason_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                             settings: Settings, clock: Clock, state: FSMContext) -> None:
    language = user.language
    result = await mod.prepare(session, settings, user.id, callback_data.id, "reject", seen_version=callback_data.v)
    if result.outcome is not mod.Outcome.DONE:
        await _answer(query, result, callback_data.id, language)
        return
    await _leave_flow(state)
    await _enter_flow(state, ModerationForm.reason, clock, mod_idea=callback_data.id, mod_version=callback_data.v)
    await _ask(query, ms.reason_prompt(callback_data.id, _mention(query)), state)


async def edit_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                      settings: Settings) -> None:
    language = user.language
    result = await mod.prepare(session, settings, user.id, callback_data.id, "edit", seen_version=callback_data.v)
    if result.outcome is not mod.Outcome.DONE:
        await _answer(query, result, callback_data.id, language)
        return
    await show(query, ms.edit_language_screen(result.card))


async def edit_language_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                               settings: Settings, clock: Clock, state: FSMContext) -> None:
    if callback_data.r not in LANGUAGES:
        await _not_for_you(query)
        return
    language = user.language
    result = await mod.prepare(session, settings, user.id, callback_data.id, "edit", seen_version=callback_data.v)
    if result.outcome is not mod.Outcome.DONE:
        await _answer(query, result, callback_data.id, language)
        return
    await _leave_flow(state)
    await _enter_flow(state, ModerationForm.title, clock, mod_idea=callback_data.id, mod_version=callback_data.v,
                      mod_lang=callback_data.r)
    await _ask(query, ms.title_prompt(result.card.idea, callback_data.r, mod.text_limits()["title"],
                                      _mention(query)), state)


async def duplicate_button(query: CallbackQuery, callback_data: Mod, session: AsyncSession, user: User,
                           settings: Settings, clock: Clock, state: FSMContext) -> None:
    language = user.language
    result = await mod.prepare(session, settings, user.id, callback_data.id, "merge", seen_version=callback_data.v)
    if result.outcome is not mod.Outcome.DONE:
        await _answer(query, result, callback_data.id, language)
        return
    await _leave_flow(state)
    await _enter_flow(state, ModerationForm.duplicate, clock, mod_idea=callback_data.id, mod_version=callback_data.v)
    await _ask(query, ms.duplicate_prompt(callback_data.id, _mention(query)), state)


# ------------------------------------------------------------------ the typed steps

async def reason_typed(message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock,
                       state: FSMContext, i18n: I18n) -> None:
    data = await _flow_data(state, clock)
    if data is None:
        await show(message, Screen(ms.step_expired()))
        return
    await _leave_flow(state)
    language = user.language
    idea_id = int(data["mod_idea"])
    result = await mod.reject(session, settings, user.id, idea_id, message.text, clock(),
                              seen_version=int(data["mod_version"]), renderer=_renderer(i18n))
    await _answer(message, result, idea_id, language)


async def duplicate_typed(message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock,
                          state: FSMContext, i18n: I18n) -> None:
    data = await _flow_data(state, clock)
    if data is None:
        await show(message, Screen(ms.step_expired()))
        return
    into_id = mod.parse_idea_id(message.text)
    if into_id is None:
        await show(message, Screen(ms.duplicate_number_needed()))
        return
    await _leave_flow(state)
    language = user.language
    idea_id = int(data["mod_idea"])
    result = await mod.merge(session, settings, user.id, idea_id, into_id, clock(),
                             seen_version=int(data["mod_version"]), renderer=_renderer(i18n))
    await _answer(message, result, idea_id, language, into_id=into_id)


async def title_typed(message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock,
                      state: FSMContext) -> None:
    data = await _flow_data(state, clock)
    if data is None:
        await show(message, Screen(ms.step_expired()))
        return
    language = user.language
    idea_id, text_language = int(data["mod_idea"]), str(data["mod_lang"])
    step = await mod.title_step(session, settings, user.id, idea_id, text_language, message.text,
                                seen_version=int(data["mod_version"]))
    if step.result.outcome is mod.Outcome.BAD_TEXT:
        await show(message, Screen(ms.text_problem("title", step.result.problem_detail)))
        return
    if step.result.outcome is not mod.Outcome.DONE:
        await _leave_flow(state)
        await _answer(message, step.result, idea_id, language)
        return
    await state.update_data(mod_title=step.title.text if step.title is not None else None)
    await state.set_state(ModerationForm.body)
    prompt = await show(message, ms.body_prompt(step.result.card.idea, text_language, mod.text_limits()["body"],
                                                _mention(message)))
    await state.update_data(mod_prompt=prompt.message_id)


async def body_typed(message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock,
                     state: FSMContext) -> None:
    data = await _flow_data(state, clock)
    if data is None:
        await show(message, Screen(ms.step_expired()))
        return
    language = user.language
    idea_id = int(data["mod_idea"])
    result = await mod.edit_texts(session, settings, user.id, idea_id, str(data["mod_lang"]), data.get("mod_title"),
                                  message.text, clock(), seen_version=int(data["mod_version"]))
    if result.outcome is mod.Outcome.BAD_TEXT and result.problem == "body":
        await show(message, Screen(ms.text_problem("body", result.problem_detail)))
        return
    await _leave_flow(state)
    await _answer(message, result, idea_id, language)


# ------------------------------------------------------------------ residents: status notifications

async def notifications_command(message: Message, session: AsyncSession, user: User) -> None:
    await show(message, ms.notifications_screen(await mod.status_notifications_on(session, user.id)))


async def notifications_button(query: CallbackQuery, callback_data: NotifyToggle, session: AsyncSession,
                               user: User) -> None:
    on = bool(callback_data.on)
    await mod.set_status_notifications(session, user.id, on)
    if callback_data.src == "n" and not on:
        # Under a notification: keep the message, say how to turn them back on.
        await query.answer(ms.notifications_off_alert(), show_alert=True)
        return
    await show(query, ms.notifications_screen(on))


async def ignore_group_chatter(message: Message) -> None:
    """Moderators talk among themselves in their chat (and reply to the bot's posts): the bot stays quiet."""


def create_router() -> Router:
    moderators = Router(name="moderation.moderators")
    moderators.message.filter(moderator_here)
    moderators.callback_query.filter(moderator_here)
    message, button = moderators.message.register, moderators.callback_query.register

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

    button(card_button, Mod.filter(F.act == ms.MOD_CARD))
    button(publish_button, Mod.filter(F.act == ms.MOD_PUBLISH))
    button(reject_button, Mod.filter(F.act == ms.MOD_REJECT))
    button(reason_button, Mod.filter(F.act == ms.MOD_REASON))
    button(type_reason_button, Mod.filter(F.act == ms.MOD_TYPE_REASON))
    button(edit_button, Mod.filter(F.act == ms.MOD_EDIT))
    button(edit_language_button, Mod.filter(F.act == ms.MOD_EDIT_LANGUAGE))
    button(duplicate_button, Mod.filter(F.act == ms.MOD_DUPLICATE))

    residents = Router(name="moderation.notifications")
    residents.message.register(notifications_command, Command("notifications"), F.chat.type == "private")
    residents.callback_query.register(notifications_button, NotifyToggle.filter())

    chat = Router(name="moderation.chat")
    chat.message.register(ignore_group_chatter, in_moderators_group)

    router = Router(name="moderation")
    router.include_routers(moderators, residents, chat)
    return router
