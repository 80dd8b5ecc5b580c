"""A vote on PostgreSQL is one statement that commits on its own, on connections of its own
(storage/pg_direct.py): it sees what the press's session wrote, never lands on an idea that stopped counting,
and outlives a connection the server cut. The press caches read their misses there too."""

from __future__ import annotations

import asyncio

from sqlalchemy import text, update
from sqlmodel import select

from bot.domain.campaigns import collect_stats
from storage.cache import CacheConfig
from storage.db import close_database, open_database
from storage.ideas import card_parts
from storage.models import Campaign, Idea, User
from storage.pg_direct import direct_connections
from storage.users import get_resident
from storage.votes import record_vote
from tests.conftest import CAMPAIGN_OPEN
from tests.test_storage import first_idea_id, load, make_users


async def test_a_vote_never_lands_on_an_idea_that_stopped_counting(sessions):
    await load(sessions)
    idea_id = await first_idea_id(sessions)
    await make_users(sessions, 1, 2)
    async with sessions() as session:
        assert await record_vote(session, idea_id, 1, CAMPAIGN_OPEN, add=True) == (True, 1)
        assert await record_vote(session, idea_id, 1, CAMPAIGN_OPEN, add=True) == (False, 1)  # a double tap
    async with sessions() as session:  # hidden by reports
        await session.exec(update(Idea).where(Idea.id == idea_id).values(hidden=True))
        await session.commit()
    async with sessions() as session:
        assert await record_vote(session, idea_id, 2, CAMPAIGN_OPEN, add=True) is None
        # ... but its supporters may still take theirs back
        assert await record_vote(session, idea_id, 1, CAMPAIGN_OPEN, add=False) == (True, 0)
        assert await record_vote(session, idea_id, 1, CAMPAIGN_OPEN, add=False) == (False, 0)
        assert (await collect_stats(session)).votes == 0
    async with sessions() as session:  # merged into another idea: it counts no more at all
        await session.exec(update(Idea).where(Idea.id == idea_id).values(hidden=False, status="merged"))
        await session.commit()
    async with sessions() as session:
        assert await record_vote(session, idea_id, 2, CAMPAIGN_OPEN, add=True) is None
        assert await record_vote(session, idea_id, 2, CAMPAIGN_OPEN, add=False) is None
        assert (await session.get(Idea, idea_id)).supporters_count == 0


async def test_a_vote_commits_what_its_session_wrote_first(postgres_url):
    """A new resident's row, flushed but not committed, must be committed before the vote that refers to it is
    written on another connection (which would otherwise wait for the session's transaction for ever)."""
    engine, sessions = await open_database(postgres_url)
    try:
        await load(sessions)
        idea_id = await first_idea_id(sessions)
        async with sessions() as session:
            session.add(User(id=7, language="lv"))
            await session.flush()
            async with asyncio.timeout(30):
                assert await record_vote(session, idea_id, 7, CAMPAIGN_OPEN, add=True) == (True, 1)
    finally:
        await close_database(engine)


async def test_a_vote_outlives_a_connection_the_server_cut(postgres_url):
    engine, sessions = await open_database(postgres_url)
    try:
        await load(sessions)
        idea_id = await first_idea_id(sessions)
        await make_users(sessions, 1, 2)
        async with sessions() as session:
            assert await record_vote(session, idea_id, 1, CAMPAIGN_OPEN, add=True) == (True, 1)
        writer = direct_connections(engine)
        pids = [connection.get_server_pid() for connection in writer.idle]
        assert pids, "the vote's connection is kept for the next vote"
        async with sessions() as session:
            for pid in pids:
                await session.exec(text(f"SELECT pg_terminate_backend({pid})"))
            await session.commit()
        async with sessions() as session:
            assert await record_vote(session, idea_id, 2, CAMPAIGN_OPEN, add=True) == (True, 2)
            assert (await collect_stats(session)).votes == 2
    finally:
        await close_database(engine)
    assert not writer.idle, "closing the database closes the votes' connections"


async def test_the_caches_read_residents_and_cards_without_the_session(postgres_url, redis_url):
    engine, sessions = await open_database(postgres_url, caches=CacheConfig(redis_url=redis_url))
    try:
        await load(sessions)
        idea_id = await first_idea_id(sessions)
        await make_users(sessions, 1)
        async with sessions() as session:
            resident = await get_resident(session, 1)
            parts = await card_parts(session, idea_id)
            assert not session.in_transaction(), "nothing was read through the session's pooled connection"
            idea, campaign = await session.get(Idea, idea_id), (await session.exec(select(Campaign))).one()
        assert (resident.id, resident.language, resident.is_banned) == (1, "lv", False)
        assert resident.created_at.tzinfo is not None
        assert (parts.idea.id, parts.idea.title_lv, parts.idea.status, parts.idea.hidden) == \
               (idea.id, idea.title_lv, idea.status, False)
        assert parts.idea.created_at == idea.created_at and parts.campaign.ends_at == campaign.ends_at
        assert parts.campaign.votes_revocable is campaign.votes_revocable
        assert parts.category.id == idea.category_id and parts.commitment_id is None
    finally:
        await close_database(engine)
