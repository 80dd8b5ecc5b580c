"""Subscriptions: /subscribe and "🔔 Subscriptions" (toggles, edited in place), the category sub-screen,
/unsubscribe, the digest's "Unsubscribe" button, /notifications (news about my ideas, also an option of
/subscribe) and its button under a notification, and opening an idea from a digest, news or card as a new
message (the message it came from stays)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.domain import browse
from bot.domain import subscriptions as subs
from bot.ui import browse_screens, screens
from bot.ui import callbacks as cb
from bot.ui import subscriptions_screens as ss
from bot.ui.callbacks import NotifyToggle, Subs
from bot.ui.respond import message_in_private_chat, show
from storage.db import AsyncSession
from storage.models import User


async def _settings_screen(session: AsyncSession, user: User, settings: Settings, now: datetime) -> screens.Screen:
    state = await subs.subscriptions(session, user.id, now)
    return ss.settings_screen(state, settings.max_new_idea_cards_per_day, settings.quiet_hours)


async def subscribe_command(message: Message, session: AsyncSession, user: User, settings: Settings,
                            clock: Callable[[], datetime]) -> None:
    await show(message, await _settings_screen(session, user, settings, clock()))


async def settings_button(query: CallbackQuery, session: AsyncSession, user: User, settings: Settings,
                          clock: Callable[[], datetime]) -> None:
    await show(query, await _settings_screen(session, user, settings, clock()))


async def option_button(query: CallbackQuery, callback_data: Subs, session: AsyncSession, user: User,
                        settings: Settings, clock: Callable[[], datetime]) -> None:
    on = bool(callback_data.on)
    change = await subs.set_option(session, user.id, callback_data.opt, on, clock())
    alert = ss.refusal_alert(change.outcome) or ss.option_alert(callback_data.opt, on)
    await show(query, ss.settings_screen(change.state, settings.max_new_idea_cards_per_day, settings.quiet_hours),
               alert=alert)


async def categories_button(query: CallbackQuery, session: AsyncSession, user: User, settings: Settings,
                            clock: Callable[[], datetime]) -> None:
    now = clock()
    choices = await subs.category_choices(session, user.id, now)
    if choices is None:
        await show(query, await _settings_screen(session, user, settings, now), alert=ss.no_campaign_categories())
        return
    await show(query, ss.categories_screen(choices, user.language))


async def category_button(query: CallbackQuery, callback_data: Subs, session: AsyncSession, user: User,
                          settings: Settings, clock: Callable[[], datetime]) -> None:
    now = clock()
    change = await subs.set_category(session, user.id, callback_data.cat, bool(callback_data.on), now)
    if change.choices is None:
        await show(query, await _settings_screen(session, user, settings, now), alert=ss.no_campaign_categories())
        return
    await show(query, ss.categories_screen(change.choices, user.language), alert=ss.refusal_alert(change.outcome))


async def unsubscribe_command(message: Message, session: AsyncSession, user: User) -> None:
    await show(message, ss.unsubscribed(await subs.unsubscribe(session, user.id)))


async def stop_digest_button(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    # Under a digest: the digest stays as it is; the answer says how to come back.
    await subs.unsubscribe_digest(session, user.id)
    await query.answer(ss.digest_stopped_alert(), show_alert=True)


async def open_as_new_message(query: CallbackQuery, callback_data: cb.IdeaAction, session: AsyncSession,
                              user: User, clock: Callable[[], datetime], bot_username: str) -> None:
    now = clock()
    card = await browse.open_idea(session, callback_data.id, user.id, now)
    if card is None:
        await query.answer(screens.idea_not_found().text, show_alert=True)
        return
    await query.answer()
    screen = browse_screens.idea_card_screen(card, user.language, bot_username, callback_data.part, callback_data.sort,
                                      callback_data.page, now)
    await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup,
                                 disable_web_page_preview=True)


async def notifications_command(message: Message, session: AsyncSession, user: User) -> None:
    """/notifications: the switch of the news about my ideas (the same setting as its /subscribe option)."""
    await show(message, ss.notifications_screen(await subs.status_notifications_on(session, user.id)))


async def notifications_button(query: CallbackQuery, callback_data: NotifyToggle, session: AsyncSession,
                               user: User) -> None:
    on = bool(callback_data.on)
    await subs.set_status_notifications(session, user.id, on)
    if callback_data.src == "n" and not on:
        # Under a notification: keep the message, say how to turn them back on.
        await query.answer(ss.notifications_off_alert(), show_alert=True)
        return
    await show(query, ss.notifications_screen(on))


def create_router() -> Router:
    router = Router(name="subscriptions")
    router.message.register(subscribe_command, Command("subscribe"), message_in_private_chat)
    router.message.register(unsubscribe_command, Command("unsubscribe"), message_in_private_chat)
    router.callback_query.register(settings_button, cb.Menu.filter(F.to == cb.MENU_SUBSCRIPTIONS))
    router.callback_query.register(settings_button, Subs.filter(F.act == cb.SUB_HOME))
    router.callback_query.register(option_button, Subs.filter((F.act == cb.SUB_OPTION) & F.opt.in_(subs.OPTIONS)))
    router.callback_query.register(categories_button, Subs.filter(F.act == cb.SUB_CATEGORIES))
    router.callback_query.register(category_button, Subs.filter(F.act == cb.SUB_CATEGORY))
    router.callback_query.register(stop_digest_button, Subs.filter(F.act == cb.SUB_STOP_DIGEST))
    router.callback_query.register(open_as_new_message, cb.IdeaAction.filter(F.act == cb.ACT_OPEN_NEW))
    router.message.register(notifications_command, Command("notifications"), message_in_private_chat)
    router.callback_query.register(notifications_button, NotifyToggle.filter())
    return router
