"""aiogram routers, one module per user journey; the order of get_routers() is the matching order."""

from aiogram import Router

from handlers import (
    broadcasts,
    browse,
    fallback,
    language,
    membership,
    moderation,
    proposals,
    reports,
    search,
    start,
    subscriptions,
    voting,
)


def get_routers() -> list[Router]:
    """Fresh routers each call: a router joins one dispatcher only (tests and benchmarks build several)."""
    modules = (membership, moderation, broadcasts, start, language, browse, voting, reports, proposals, subscriptions,
               search, fallback)
    return [module.create_router() for module in modules]
