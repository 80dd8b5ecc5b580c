"""Storage and domain functions on a real database: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain import browse, search, voting
from bot.domain.campaign_file import parse_campaign
from bot.domain.campaigns import collect_stats, import_campaign
from bot.domain.rules import VoteRefusal
from storage.db import async_url, sync_url
from storage.users import get_or_create_user
from tests.conftest import AFTER_CAMPAIGN, BEFORE_CAMPAIGN, CAMPAIGN_OPEN


def campaign_data(ideas_count: int = 3, revocable: bool = True, title_suffix: str = "") -> dict:
    return {"campaign": {
        "slug": "test-campaign",
        "title": {"lv": "Atvērtā Latvija" + title_suffix, "ru": "Открытая Латвия"},
        "description": {"lv": "Balso par idejām.", "ru": "Голосуйте за идеи."},
        "starts_at": "2026-11-16T00:00:00+02:00",
        "ends_at": "2026-12-20T23:59:00+02:00",
        "votes_revocable": revocable,
        "categories": [
            {"key": "transparency", "title": {"lv": "Atklātība", "ru": "Открытость"}},
            {"key": "participation", "title": {"lv": "Līdzdalība", "ru": "Участие"}},
        ],
        "ideas": [
            {"key": f"idea-{n}", "category": "transparency",
             "title": {"lv": f"Pašvaldību budžeti kā atvērtie dati {n}", "ru": f"Бюджеты самоуправлений {n}"},
             "body": {"lv": "Publicēt budžetus mašīnlasāmā formā.", "ru": "Публиковать бюджеты."}}
            for n in range(ideas_count)
        ] + [{"key": "youth", "category": "participation",
              "title": {"lv": "Jauniešu padomes", "ru": "Молодёжные советы"},
              "body": {"lv": "Katrā novadā jauniešu padome.", "ru": "Молодёжный совет в каждом крае."}}],
    }}


async def load(sessions, **kwargs):
    async with sessions() as session:
        return await import_campaign(session, parse_campaign(campaign_data(**kwargs)))


async def first_idea_id(sessions) -> int:
    async with sessions() as session:
        campaign = await browse.current_campaign(session, CAMPAIGN_OPEN)
        (category, _count), *_ = await browse.categories_overview(session, campaign)
        page = await browse.list_ideas(session, category.id, "new", 0, reader_id=1)
        return page.ideas[-1].id


async def make_users(sessions, *user_ids: int) -> None:
    async with sessions() as session:
        for user_id in user_ids:
            await get_or_create_user(session, user_id, "lv")


async def test_import_creates_then_reimport_changes_nothing(sessions):
    first = await load(sessions)
    assert first.campaign_created and first.created == {"categories": 2, "ideas": 4}
    again = await load(sessions)
    assert not again.campaign_created and not again.campaign_updated
    assert again.created == {"categories": 0, "ideas": 0} and again.unchanged == {"categories": 2, "ideas": 4}


async def test_reimport_updates_texts_and_keeps_votes(sessions):
    await load(sessions)
    idea_id = await first_idea_id(sessions)
    await make_users(sessions, 1, 2)
    async with sessions() as session:
        await voting.support(session, idea_id, 1, CAMPAIGN_OPEN)
        await voting.support(session, idea_id, 2, CAMPAIGN_OPEN)
    report = await load(sessions, ideas_count=4, title_suffix=" 2026")
    assert report.campaign_updated and report.created["ideas"] == 1 and report.unchanged["ideas"] == 4
    async with sessions() as session:
        card = await browse.open_idea(session, idea_id, 1, CAMPAIGN_OPEN)
        assert card.supporters == 2 and card.supported
        stats = await collect_stats(session)
    assert stats.votes == 2 and stats.ideas_by_status == {"published": 5}


async def test_one_vote_per_resident_and_idea_under_concurrent_presses(sessions):
    await load(sessions)
    idea_id = await first_idea_id(sessions)
    await make_users(sessions, *range(1, 11))

    async def press(user_id: int):
        async with sessions() as session:
            return await voting.support(session, idea_id, user_id, CAMPAIGN_OPEN)

    # Every resident presses five times at once, ten residents together.
    results = await asyncio.gather(*(press(user_id) for user_id in range(1, 11) for _ in range(5)))
    assert sum(result.changed for result in results) == 10
    async with sessions() as session:
        card = await browse.open_idea(session, idea_id, 1, CAMPAIGN_OPEN)
        assert card.supporters == 10
        assert (await collect_stats(session)).votes == 10


async def test_withdraw_and_the_final_support_rule(sessions):
    await load(sessions, revocable=False)
    idea_id = await first_idea_id(sessions)
    await make_users(sessions, 1)
    async with sessions() as session:
        assert (await voting.support(session, idea_id, 1, CAMPAIGN_OPEN)).changed
        refused = await voting.withdraw(session, idea_id, 1, CAMPAIGN_OPEN)
        assert refused.refusal is VoteRefusal.FINAL and refused.card.supporters == 1
    await load(sessions, revocable=True)
    async with sessions() as session:
        withdrawn = await voting.withdraw(session, idea_id, 1, CAMPAIGN_OPEN)
        assert withdrawn.changed and withdrawn.card.supporters == 0 and not withdrawn.card.supported
        again = await voting.withdraw(session, idea_id, 1, CAMPAIGN_OPEN)
        assert not again.changed and again.card.supporters == 0


async def test_no_voting_outside_the_campaign_dates(sessions):
    await load(sessions)
    idea_id = await first_idea_id(sessions)
    await make_users(sessions, 1)
    async with sessions() as session:
        early = await voting.support(session, idea_id, 1, BEFORE_CAMPAIGN)
        late = await voting.support(session, idea_id, 1, AFTER_CAMPAIGN)
        assert early.refusal is VoteRefusal.NOT_STARTED and late.refusal is VoteRefusal.ENDED
        assert (await collect_stats(session)).votes == 0


async def test_missing_idea_is_refused_without_a_vote(sessions):
    await load(sessions)
    await make_users(sessions, 1)
    async with sessions() as session:
        result = await voting.support(session, 999_999, 1, CAMPAIGN_OPEN)
        assert result.card is None and result.refusal is VoteRefusal.IDEA_NOT_PUBLIC


async def test_list_orders_and_pages(sessions):
    await load(sessions, ideas_count=14)
    async with sessions() as session:
        campaign = await browse.current_campaign(session, CAMPAIGN_OPEN)
        (category, count), (_other, other_count) = await browse.categories_overview(session, campaign)
        assert (count, other_count) == (14, 1)
        await get_or_create_user(session, 5, "lv")
        ids = [idea.id for idea in (await browse.list_ideas(session, category.id, "new", 0, 5)).ideas]
    liked = ids[-1]  # the oldest idea gets a vote and must lead the "most supported" order
    async with sessions() as session:
        await voting.support(session, liked, 5, CAMPAIGN_OPEN)
        top = await browse.list_ideas(session, category.id, "top", 0, 5)
        assert top.ideas[0].id == liked and top.pages == 3 and top.total == 14
        for sort in ("top", "new", "rnd"):
            seen = []
            for page in range(3):
                seen += [idea.id for idea in (await browse.list_ideas(session, category.id, sort, page, 5)).ideas]
            assert sorted(seen) == sorted(set(seen)) and len(seen) == 14, sort
        # A stale page number past the end shows the last page; the random order is stable per reader.
        assert (await browse.list_ideas(session, category.id, "top", 99, 5)).page == 2
        first = [i.id for i in (await browse.list_ideas(session, category.id, "rnd", 0, 5)).ideas]
        assert first == [i.id for i in (await browse.list_ideas(session, category.id, "rnd", 0, 5)).ideas]
        assert await browse.list_ideas(session, 999_999, "top", 0, 5) is None


@pytest.mark.parametrize(("query", "found"), [
    ("budžeti", 3), ("BUDZETI", 3), ("бюджеты", 3), ("Молодёжные", 1), ("jauniešu padome", 1),
    ("budžeti 2", 3), ("nekas tāds", 0), ("100%", 0),  # "2": words under three letters are ignored
])
async def test_search_in_either_language(sessions, query, found):
    await load(sessions)
    async with sessions() as session:
        campaign = await browse.current_campaign(session, CAMPAIGN_OPEN)
        result = await search.search(session, campaign, query)
        assert result.total == found and not result.too_short


async def test_search_needs_a_word_of_three_letters(sessions):
    await load(sessions)
    async with sessions() as session:
        campaign = await browse.current_campaign(session, CAMPAIGN_OPEN)
        assert (await search.search(session, campaign, " ! ")).too_short
        assert (await search.search(session, campaign, "a")).too_short
        assert (await search.search(session, campaign, "kā un")).too_short


async def test_current_campaign_prefers_open_then_upcoming_then_latest(sessions):
    await load(sessions)
    async with sessions() as session:
        assert (await browse.current_campaign(session, BEFORE_CAMPAIGN)).slug == "test-campaign"
        assert (await browse.current_campaign(session, AFTER_CAMPAIGN + timedelta(days=300))).slug == "test-campaign"


def test_database_urls_from_hosting_platforms():
    assert async_url("postgres://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    assert async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("postgresql+psycopg://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("sqlite:///manabalss.db") == "sqlite+aiosqlite:///manabalss.db"
    assert sync_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"
    assert sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://u@h/db")
