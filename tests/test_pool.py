"""No update holds one pooled connection while it waits for another: a crowd larger than the pool still gets
every answer (issue 8, item 1), on SQLite and on PostgreSQL (where every conversation read goes to the
database). The pool here is tiny, so a deadlock, if any, shows at once."""

from __future__ import annotations

import asyncio

import pytest

from storage.db import PoolSize, create_engine, migrate, session_factory
from tests.conftest import App, load_example
from tests.i18n_helpers import t

PROPOSE = "✍️ Propose an idea"
TINY_POOL = PoolSize(size=3, overflow=0, timeout=10)
CROWD = 20


@pytest.fixture
async def tiny_pool_app(fake_telegram, database_url, clock):
    engine = create_engine(database_url, TINY_POOL)
    await migrate(engine)
    sessions = session_factory(engine)
    await load_example(sessions)
    application = App(fake_telegram, sessions, clock)
    yield application
    await application.close()
    await engine.dispose()
    assert not fake_telegram.unanswered_callbacks()


async def test_a_crowd_larger_than_the_pool_proposes_at_once(tiny_pool_app):
    residents = [tiny_pool_app.resident("lv") for _ in range(CROWD)]

    async def up_to_the_title(resident):
        await resident.send("/start")
        await resident.press(t("lv", PROPOSE))
        return await resident.press("Atklātība")

    asked = await asyncio.gather(*(up_to_the_title(resident) for resident in residents))
    assert all(t("lv", "Step 2 of 3: send a short title for your idea, from 10 to 120 characters.") in reply.text
               for reply in asked)
    titled = await asyncio.gather(*(resident.send(f"Atklāti dati numur {n}") for n, resident in
                                    enumerate(residents)))
    body_step = t("lv", "Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?")
    assert [body_step in reply.text for reply in titled] == [True] * CROWD
