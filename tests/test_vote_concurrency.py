"""Votes under concurrency on SQLite (issue 8, item 2): one writer at a time in the process, waiting in order
instead of in SQLite's sleeping busy handler, and group commit (presses queued while a commit runs share the
next one; each press returns once its vote is durable)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, func, update
from sqlmodel import select

from storage.db import create_engine, migrate, session_factory
from storage.models import Idea, User, Vote
from storage.votes import add_vote_now
from storage.writer import group_commit
from tests.conftest import CAMPAIGN_OPEN, App, load_example
from tests.i18n_helpers import t

PRESSES = 64


def no_busy_waiting(dbapi_connection, _record) -> None:
    """SQLite fails at once instead of waiting: only the process's own write lock can keep writers apart."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


async def test_two_sessions_writing_at_once_wait_for_each_other_in_the_process(sqlite_url):
    engine = create_engine(sqlite_url)
    event.listen(engine.sync_engine, "connect", no_busy_waiting)
    await migrate(engine)
    sessions = session_factory(engine)
    async with sessions() as setup:
        setup.add_all([User(id=1, language="lv"), User(id=2, language="ru")])
        await setup.commit()
    first_wrote = asyncio.Event()

    async def rename(user_id: int, language: str, *, hold: bool) -> None:
        async with sessions() as session:
            if not hold:
                await first_wrote.wait()
            await session.exec(update(User).where(User.id == user_id).values(language=language))
            if hold:
                first_wrote.set()
                await asyncio.sleep(0.05)  # a slow transaction: the other writer must wait, not fail
            await session.commit()

    await asyncio.gather(rename(1, "en", hold=True), rename(2, "en", hold=False))
    async with sessions() as session:
        assert set((await session.exec(select(User.language))).all()) == {"en"}
    await engine.dispose()


async def test_concurrent_presses_share_commits_and_all_count(fake_telegram, sqlite_url, clock):
    engine = create_engine(sqlite_url)
    await migrate(engine)
    sessions = session_factory(engine)
    await load_example(sessions)
    app = App(fake_telegram, sessions, clock)
    residents = [app.resident("lv") for _ in range(PRESSES)]
    cards = []
    for resident in residents:  # each opens the same card first, one after another
        await resident.send("/start")
        await resident.press(t("lv", "💡 Ideas"))
        listing = await resident.press("Atklātība")
        cards.append(await resident.press(listing.buttons[0]))
    async with sessions() as session:
        writer = group_commit(session)
    before = writer.batches

    supported = await asyncio.gather(*(resident.press(t("lv", "👍 Support")) for resident in residents))

    assert {reply.alerts[0].text for reply in supported} == {t("lv", "👍 Thank you! Your support is counted.")}
    assert writer.batches - before < PRESSES  # presses shared transactions
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Vote))).one() == PRESSES
        assert max((await session.exec(select(Idea.supporters_count))).all()) == PRESSES
    await app.close()
    await engine.dispose()


async def test_a_vote_is_committed_when_its_press_returns(sqlite_sessions):
    await load_example(sqlite_sessions)
    async with sqlite_sessions() as session:
        idea_id = (await session.exec(select(Idea.id))).first()
        session.add_all([User(id=user_id, language="lv") for user_id in range(1, 11)])
        await session.commit()
        writer = group_commit(session)
    before = writer.batches

    async def vote(user_id: int):
        outcome = await writer.run(lambda connection: add_vote_now(connection, idea_id, user_id, CAMPAIGN_OPEN))
        async with sqlite_sessions() as reader:  # another connection sees it at once
            assert await reader.get(Vote, (idea_id, user_id)) is not None
        return outcome

    outcomes = await asyncio.gather(*(vote(user_id) for user_id in range(1, 11)))
    assert sorted(count for _added, count in outcomes) == list(range(1, 11))
    assert writer.batches - before == 1  # queued before the writer started: one transaction for all ten
