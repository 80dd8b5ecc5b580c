"""aiogram routers, one module per user journey; the order of get_routers() is the matching order."""

from aiogram import Router

from handlers import browse, fallback, language, search, start, voting


def get_routers() -> list[Router]:
    return [start.router, language.router, browse.router, voting.router, search.router, fallback.router]
