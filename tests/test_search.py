"""Search finds word forms, one-letter typos and Latin-typed Russian, ranked alike on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from bot.domain import proposals, search
from storage.models import Campaign, Category, Idea
from storage.word_forms import MAX_QUERY_WORDS, cyrillic_spelling, query_terms, term


async def _titles(session, query: str) -> list[str]:
    campaign = (await session.exec(select(Campaign))).first()
    result = await search.search(session, campaign, query)
    return [idea.title_lv or idea.title_ru for idea in result.ideas]


@pytest.mark.parametrize(("query", "expected"), [
    # Latvian: another case of the title's word, the same without diacritics, and one letter wrong.
    ("budžets", "Pašvaldību budžeti kā atvērtie dati"),
    ("pasvaldibam", "Pašvaldību budžeti kā atvērtie dati"),
    ("budžrti", "Pašvaldību budžeti kā atvērtie dati"),
    # Russian: other case forms, and one letter wrong.
    ("открытые данные", "Pašvaldību budžeti kā atvērtie dati"),
    ("бюджетов самоуправлений", "Pašvaldību budžeti kā atvērtie dati"),
    ("бюджэты", "Pašvaldību budžeti kā atvērtie dati"),
    # Russian typed in Latin letters.
    ("budzhety", "Pašvaldību budžeti kā atvērtie dati"),
])
async def test_word_forms_and_typos_find_the_idea(example_sessions, query, expected):
    async with example_sessions() as session:
        assert expected in await _titles(session, query)


async def test_both_databases_rank_alike(example_sessions):
    """Title matches first, then support: the exact order is the same on SQLite and PostgreSQL (both run)."""
    async with example_sessions() as session:
        campaign = (await session.exec(select(Campaign))).first()
        category = (await session.exec(select(Category))).first()
        in_body = Idea(campaign_id=campaign.id, category_id=category.id, title_lv="Cita ideja par skolām",
                       body_lv="Gribam redzēt, kā tiek tērēti pašvaldību budžeti.", supporters_count=900)
        in_title = Idea(campaign_id=campaign.id, category_id=category.id, title_lv="Budžeta grozījumi",
                        body_lv="Grozījumi jāpublicē laikus.", supporters_count=1)
        session.add_all([in_body, in_title])
        await session.flush()
        await search.search_store.reindex(session, [in_body.id, in_title.id])
        await session.commit()
        titles = await _titles(session, "budzets")
    # Title matches by support (1, 0, 0 then id), then text-only matches (900, 0): the same list on both.
    assert titles == ["Budžeta grozījumi", "Pašvaldību budžeti kā atvērtie dati",
                      "Līdzdalības budžets katrā pašvaldībā", "Cita ideja par skolām",
                      "Jauniešu konsultatīvās padomes ar reālu ietekmi"]


async def test_short_words_are_ignored_and_nothing_found_is_empty(example_sessions):
    async with example_sessions() as session:
        campaign = (await session.exec(select(Campaign))).first()
        assert (await search.search(session, campaign, "a kā un")).too_short
        result = await search.search(session, campaign, "zzzqqq xyzzyx")
        assert (result.ideas, result.total, result.too_short) == ([], 0, False)


def test_word_forms():
    assert {term(w) for w in ("budžets", "budžeti", "budzetu", "budžetiem")} == {"budzet"}
    assert term("открытых") == term("открытые") == term("открытый")
    assert cyrillic_spelling("otkrytye") == "открытые" and cyrillic_spelling("dannye") == "данные"
    assert cyrillic_spelling("budžets") is None
    many = " ".join(f"vards{n}" for n in range(20))
    assert len(query_terms(many)) == MAX_QUERY_WORDS
    assert query_terms("un по a") == []


async def test_similar_ideas_are_compared_off_the_event_loop(example_sessions, monkeypatch):
    threads = []
    compare = proposals._most_similar

    def spy(*args):
        threads.append(threading.current_thread())
        return compare(*args)

    monkeypatch.setattr(proposals, "_most_similar", spy)
    async with example_sessions() as session:
        campaign = (await session.exec(select(Campaign))).first()
        similar = await proposals.similar_ideas(session, campaign, "Pašvaldību budžeti atvērtie dati")
    assert similar[0].title_lv == "Pašvaldību budžeti kā atvērtie dati"
    assert threads and threads[0] is not threading.main_thread()
