"""aiogram routers, one module per user journey; the order of get_routers() is the matching order."""

from aiogram import Router

from bot.ui.respond import message_in_private_chat, pressed_in_private_chat
from handlers import (
    broadcasts,
    browse,
    fallback,
    groups,
    integrity,
    language,
    membership,
    moderation,
    plan,
    privacy,
    proposals,
    reports,
    search,
    sharing,
    start,
    subscriptions,
    voting,
)

# Residents' journeys happen in a private chat with the bot; in a group (the moderators' chat, or any group
# someone added the bot to) only the moderators' routers and the fallback (which answers presses) take part.
RESIDENT_JOURNEYS = (start, language, browse, voting, reports, proposals, subscriptions, privacy, search)


def private_chat_only(router: Router) -> Router:
    # Plain functions rather than magic filters: every update passes these filters of several routers, and a
    # magic filter resolves its chain of attributes through a dozen calls.
    router.message.filter(message_in_private_chat)
    router.callback_query.filter(pressed_in_private_chat)
    return router


def get_routers() -> list[Router]:
    """Fresh routers each call: a router joins one dispatcher only (tests and benchmarks build several)."""
    # Votes come first: the most frequent update, matched by its own callback data only (no command, no
    # state), so no router before it could have wanted it, and a press skips the filters of all the others.
    modules = (voting, membership, moderation, broadcasts, integrity, start, language, browse, reports, proposals,
               subscriptions, plan, groups, sharing, privacy, search,
               fallback)
    return [private_chat_only(module.create_router()) if module in RESIDENT_JOURNEYS else module.create_router()
            for module in modules]
