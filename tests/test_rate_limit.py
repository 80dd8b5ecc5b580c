"""The rate limit (bot/rate_limit.py, issue 9 finding 14): an update over the limit costs no database work, and
with Redis every process counts together."""

from __future__ import annotations

from sqlalchemy import event

from storage.models import User
from tests.conftest import App, load_example
from tests.i18n_helpers import t

SLOW_DOWN = "🐢 That was a lot at once. Please wait a minute, then continue."


class StatementCounter:
    def __init__(self, sessions) -> None:
        self.count = 0
        event.listen(sessions.kw["bind"].sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.count += 1


async def test_an_update_over_the_limit_costs_no_database_work(fake_telegram, sqlite_sessions, clock):
    await load_example(sqlite_sessions)
    app = App(fake_telegram, sqlite_sessions, clock, rate_limit_per_minute=10)
    anna = app.resident("lv")
    for _ in range(10):
        await anna.send("budžets")
    assert (await anna.send("budžets")).text == t("lv", SLOW_DOWN)
    statements = StatementCounter(sqlite_sessions)
    for _ in range(20):
        assert not (await anna.send("budžets")).calls  # dropped quietly after the one answer
    assert statements.count == 0
    await app.close()


async def test_a_banned_moderator_is_limited_like_anyone(fake_telegram, sqlite_sessions, clock):
    await load_example(sqlite_sessions)
    async with sqlite_sessions() as session:
        session.add(User(id=77, language="ru", is_moderator=True))
        session.add(User(id=78, language="ru", is_moderator=True, is_banned=True))
        await session.commit()
    app = App(fake_telegram, sqlite_sessions, clock, rate_limit_per_minute=5)
    moderator, banned = app.resident("ru", user_id=77), app.resident("ru", user_id=78)
    for _ in range(8):
        await moderator.send("/help")
        await banned.send("/help")
    assert t("ru", SLOW_DOWN) not in [message.text for message in moderator.messages]
    assert t("ru", SLOW_DOWN) in [message.text for message in banned.messages]
    await app.close()


async def test_with_redis_every_process_counts_together(fake_telegram, sqlite_sessions, clock, redis_url):
    await load_example(sqlite_sessions)
    first = App(fake_telegram, sqlite_sessions, clock, rate_limit_per_minute=10, redis_url=redis_url)
    second = App(fake_telegram, sqlite_sessions, clock, rate_limit_per_minute=10, redis_url=redis_url)
    in_first, in_second = first.resident("lv", user_id=501), second.resident("lv", user_id=501)
    for _ in range(5):
        await in_first.send("budžets")
        await in_second.send("budžets")
    assert (await in_first.send("budžets")).text == t("lv", SLOW_DOWN)
    assert not (await in_second.send("budžets")).calls, "one polite answer, whichever process gave it"
    await first.close()
    await second.close()
