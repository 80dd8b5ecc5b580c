"""The press path's caches (storage/cache.py): every write that changes a cached resident or card makes the next
read fresh, in this process and, through Redis, in another; the caches are bounded; and voting and browsing
presses do not read the conversation, without losing a proposal half written."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from bot.domain import browse
from bot.domain.voting import support
from bot.ui import callbacks as cb
from storage import moderation, privacy, reports
from storage import plan as plan_store
from storage import users as user_store
from storage.cache import BoundedCache, CacheConfig, caches_of, enable_caches, statement_keys
from storage.db import create_engine, session_factory
from storage.models import Category, Commitment, Idea, IdeaCommitment, IdeaStatus, User
from tests.conftest import CAMPAIGN_OPEN, load_example
from tests.i18n_helpers import t
from tests.resident_helpers import SUPPORT, votes_of
from tests.test_e2e_proposals import BODY, TITLE, start_proposal


def test_the_records_a_statement_changes_are_told_from_its_where_clause():
    assert statement_keys(update(User).where(User.id == 5, User.is_banned.is_(False)).values(is_banned=True)) \
        == {"resident:5"}
    assert statement_keys(delete(Idea).where(Idea.id.in_([3, 4]))) == {"idea:3", "idea:4"}
    assert statement_keys(update(Idea).where(Idea.hidden.is_(False)).values(hidden=True)) == {"idea"}  # rows unknown
    assert statement_keys(update(Category).values(title_lv="x")) == {"campaign"}
    # Counts are never cached: a vote's or a recount's UPDATE changes no cached record.
    assert statement_keys(update(Idea).where(Idea.id == 3).values(supporters_count=Idea.supporters_count + 1)) == set()


def test_a_cache_keeps_at_most_its_size_least_recently_used_out_first():
    cache = BoundedCache(size=2, ttl=60)
    cache.put("a", (0,), 1)
    cache.put("b", (0,), 2)
    assert cache.get("a", (0,)) == (True, 1)  # "b" is now the least recently used
    cache.put("c", (0,), 3)
    assert list(cache.entries) == ["a", "c"]
    assert cache.get("a", (1,)) == (False, None)  # loaded under another generation: not used


def test_postgresql_without_redis_keeps_no_caches():
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never connects
    enable_caches(engine, CacheConfig())
    assert caches_of(session_factory(engine)()) is None
    enable_caches(engine, CacheConfig(redis_url="redis://127.0.0.1:6379/0"))
    assert caches_of(session_factory(engine)()) is not None


async def _first_public_idea(sessions) -> Idea:
    async with sessions() as session:
        return (await session.exec(select(Idea).where(Idea.status == IdeaStatus.PUBLISHED).order_by(Idea.id))).first()


async def _card(sessions, idea_id: int, reader: int = 1):
    async with sessions() as session:
        return await browse.open_idea(session, idea_id, reader, CAMPAIGN_OPEN)


async def _resident(sessions, user_id: int):
    async with sessions() as session:
        return await user_store.get_resident(session, user_id)


async def test_every_write_to_a_resident_makes_the_next_read_fresh(sqlite_sessions):
    sessions = sqlite_sessions
    async with sessions() as session:
        await user_store.get_or_create_user(session, 501, "lv")
    first = await _resident(sessions, 501)
    assert await _resident(sessions, 501) is first  # cached

    async with sessions() as session:
        await user_store.set_language(session, 501, "ru")
    assert (await _resident(sessions, 501)).language == "ru"

    async with sessions() as session:  # a moderator's ban
        assert await moderation.set_user_flag(session, 501, "is_banned", True)
        await session.commit()
    assert (await _resident(sessions, 501)).is_banned

    async with sessions() as session:  # Telegram's 403, written by the sender
        await user_store.set_reachable(session, 501, False)
        await session.commit()
    assert not (await _resident(sessions, 501)).is_reachable

    async with sessions() as session:  # an ORM change is seen too
        row = await session.get(User, 501)
        row.subscribed = True
        await session.commit()
    assert (await _resident(sessions, 501)).subscribed

    async with sessions() as session:  # the resident asks to be forgotten
        await privacy.delete_resident(session, 501)
        await session.commit()
    assert await _resident(sessions, 501) is None

    async with sessions() as session:  # a rolled-back write changes nothing, and invalidates nothing needlessly
        await user_store.get_or_create_user(session, 502, "lv")
    cached = await _resident(sessions, 502)
    async with sessions() as session:
        await session.exec(update(User).where(User.id == 502).values(language="en"))
        await session.rollback()
    assert await _resident(sessions, 502) is cached


async def test_every_write_to_an_idea_card_makes_the_next_read_fresh(sqlite_sessions):
    sessions = sqlite_sessions
    await load_example(sessions)
    idea = await _first_public_idea(sessions)
    async with sessions() as session:
        other = (await session.exec(select(Idea).where(Idea.status == IdeaStatus.PUBLISHED, Idea.id != idea.id,
                                                       Idea.category_id == idea.category_id))).first()
    card = await _card(sessions, idea.id)
    assert (await _card(sessions, idea.id)).idea is card.idea  # cached

    async with sessions() as session:  # a vote: the count is read fresh, nothing cached goes stale
        await user_store.get_or_create_user(session, 77, "lv")
    async with sessions() as session:
        result = await support(session, idea.id, 77, CAMPAIGN_OPEN)
    assert result.card.supporters == card.supporters + 1
    again = await _card(sessions, idea.id)
    assert again.idea is card.idea and again.supporters == card.supporters + 1
    assert (await _card(sessions, idea.id, reader=77)).supported

    async with sessions() as session:  # a moderator edits the text
        assert await moderation.update_idea(session, idea.id, seen_version=card.idea.version,
                                            from_statuses=[IdeaStatus.PUBLISHED], values={"title_lv": "Jauns"})
        await session.commit()
    assert (await _card(sessions, idea.id)).idea.title_lv == "Jauns"

    async with sessions() as session:  # the plan links it to a commitment
        commitment = (await session.exec(select(Commitment))).first()
        if commitment is not None:
            await plan_store.link_idea(session, idea.id, commitment.id)
            await session.commit()
    if commitment is not None:
        assert (await _card(sessions, idea.id)).commitment.id == commitment.id

    async with sessions() as session:  # its category is renamed (an import)
        category = await session.get(Category, idea.category_id)
        category.title_lv = "Cits nosaukums"
        await session.commit()
    assert (await _card(sessions, idea.id)).category.title_lv == "Cits nosaukums"

    async with sessions() as session:  # reports hide it
        assert await reports.hide(session, idea.id)
        await session.commit()
    assert await _card(sessions, idea.id) is None

    merged_card = await _card(sessions, other.id)
    assert merged_card is not None
    async with sessions() as session:  # another one is merged (into a hidden one, for the test: not public)
        assert await moderation.update_idea(
            session, other.id, seen_version=merged_card.idea.version, from_statuses=[IdeaStatus.PUBLISHED],
            values={"status": IdeaStatus.MERGED, "merged_into_id": idea.id})
        await session.commit()
    assert await _card(sessions, other.id) is None

    async with sessions() as session:  # a moderator's decision: unhidden and under review
        await session.exec(update(Idea).where(Idea.id == idea.id).values(hidden=False,
                                                                        status=IdeaStatus.UNDER_REVIEW))
        await session.commit()
    reopened = await _card(sessions, other.id)
    assert reopened.merged_from == other.id and reopened.idea.status == IdeaStatus.UNDER_REVIEW


async def test_a_change_made_by_another_process_is_seen_at_once_through_redis(sqlite_url, redis_url):
    """Two engines with caches of their own stand for two web workers: what one writes, the other sees at the
    very next read, because both check the generations in Redis."""
    first = create_engine(sqlite_url, caches=CacheConfig(redis_url=redis_url))
    second = create_engine(sqlite_url, caches=CacheConfig(redis_url=redis_url))
    try:
        one, two = session_factory(first), session_factory(second)
        await load_example(one)
        idea = await _first_public_idea(one)
        async with one() as session:
            await user_store.get_or_create_user(session, 601, "lv")
        resident = await _resident(one, 601)
        assert await _resident(one, 601) is resident and not resident.is_banned
        assert (await _card(one, idea.id)) is not None

        async with two() as session:
            await moderation.set_user_flag(session, 601, "is_banned", True)
            await reports.hide(session, idea.id)
            await session.commit()

        assert (await _resident(one, 601)).is_banned
        assert await _card(one, idea.id) is None
    finally:
        await first.dispose()
        await second.dispose()


async def test_presses_read_no_conversation_and_a_half_written_proposal_survives_a_vote(app, monkeypatch):
    reads = []
    original = app.dp.fsm.storage.get_state

    async def counting_get_state(key):
        reads.append(key)
        return await original(key)

    monkeypatch.setattr(app.dp.fsm.storage, "get_state", counting_get_state)
    anna = app.resident("lv")
    await start_proposal(anna)
    body_step = await anna.send(TITLE)
    assert t("lv", "Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?") \
        in body_step.text

    idea = await _first_public_idea(app.sessions)
    before = len(reads)
    card = await anna.press_data(cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack(), anna.last.message_id)
    supported = await anna.press(t("lv", SUPPORT))
    assert int(re.search(r"idea_(\d+)", supported.text).group(1)) == idea.id
    await anna.press_data(cb.IdeaList(cat=idea.category_id).pack(), anna.last.message_id)
    assert len(reads) == before  # neither the card, the vote nor the list page read the conversation
    assert await votes_of(app, anna.user_id) == [idea.id] and card.text

    preview = await anna.send(BODY)  # the proposal goes on where it stopped
    assert TITLE in preview.text and BODY in preview.text


async def test_no_filter_runs_in_a_thread_and_one_fsm_middleware_serves_every_update(app, monkeypatch):
    """bot/app.py and bot/state_middleware.py change aiogram's dispatcher through attributes that are not its
    public API (aiogram is pinned in requirements.txt): if an upgrade changed them, this fails instead of the
    bot silently running its filters in threads again or reading conversations twice."""
    from aiogram.fsm.middleware import FSMContextMiddleware

    from bot.state_middleware import PressFSMContextMiddleware

    fsm_middlewares = [m for m in app.dp.update.outer_middleware if isinstance(m, FSMContextMiddleware)]
    assert fsm_middlewares == [app.dp.fsm] and isinstance(app.dp.fsm, PressFSMContextMiddleware)
    outer = app.dp.update.outer_middleware  # iterated through its list (bot.app.iterate_middlewares_as_lists)
    assert list(reversed(outer)) == [outer[index] for index in range(len(outer) - 1, -1, -1)]
    threaded = []
    real_to_thread = asyncio.to_thread

    async def to_thread(function, *args, **kwargs):
        threaded.append(function)
        return await real_to_thread(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    anna = app.resident("lv")
    await start_proposal(anna)
    await anna.send(TITLE)
    idea = await _first_public_idea(app.sessions)
    await anna.press_data(cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack(), anna.last.message_id)
    await anna.press(t("lv", SUPPORT))
    assert await votes_of(app, anna.user_id) == [idea.id]
    assert threaded == [], "aiogram ran a filter or handler in a thread"


async def test_each_update_is_timed_once_under_the_handler_that_took_it(app):
    """The handler's name is recorded by one inner middleware on the dispatcher (inherited by every router)."""
    from prometheus_client import REGISTRY

    def timed(kind: str, handler: str) -> float:
        return REGISTRY.get_sample_value("manabalss_update_seconds_count", {"type": kind, "handler": handler}) or 0

    anna = app.resident("lv")
    idea = await _first_public_idea(app.sessions)
    await anna.send("/start")
    before = timed("callback_query", "change_vote"), timed("callback_query", "idea_card")
    await anna.press_data(cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack(), anna.last.message_id)
    await anna.press(t("lv", SUPPORT))
    assert (timed("callback_query", "change_vote"), timed("callback_query", "idea_card")) \
        == (before[0] + 1, before[1] + 1)


async def test_a_vote_press_on_sqlite_makes_no_orm_session_and_a_write_still_commits(app, monkeypatch):
    """Sessions are opened for every update, but their ORM session only on first use (storage/writer.py): a
    press served by the caches and the group commit makes none, and a session that is used works as before."""
    from storage.cache import TrackingSession

    made = []
    original_init = TrackingSession.__init__

    def counting_init(self, *args, **kwargs):
        made.append(self)
        original_init(self, *args, **kwargs)

    anna = app.resident("lv")
    await anna.send("/start")  # a first contact writes the resident
    async with app.sessions() as session:  # an idea the plan took up reads its commitment through the ORM
        in_plan = select(IdeaCommitment.idea_id)
        idea = (await session.exec(select(Idea).where(Idea.status == IdeaStatus.PUBLISHED, Idea.id.not_in(in_plan))
                                   .order_by(Idea.id))).first()
    await anna.press_data(cb.IdeaAction(act=cb.ACT_OPEN, id=idea.id).pack(), anna.last.message_id)
    monkeypatch.setattr(TrackingSession, "__init__", counting_init)
    await anna.press(t("lv", SUPPORT))
    assert made == []
    assert await votes_of(app, anna.user_id) == [idea.id]
    made.clear()
    async with app.sessions() as session:
        session.add(Category(campaign_id=idea.campaign_id, key="new", title_lv="Jauna", title_ru="Новая",
                             title_en="New"))
        await session.commit()
    assert len(made) == 1
    async with app.sessions() as session:
        assert (await session.exec(select(Category).where(Category.key == "new"))).one().title_en == "New"
