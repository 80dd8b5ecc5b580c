"""The campaign calendar: the opening reminder, the closing reminders with the categories a resident has not
looked at, the results digest (chart, caption, text), each once, in the reader's language, also when ticked
again, concurrently, or late after downtime."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from babel.numbers import format_decimal
from sqlalchemy import func, update
from sqlmodel import select

from bot.config import Settings
from bot.delivery import Sender
from bot.domain import campaign_events as events
from bot.domain.campaign_events import EventKind, Results, campaign_tick, closing_moment, plan_events, quiet_until
from bot.domain.limits import CAPTION_LIMIT
from bot.domain.localized import localized
from bot.i18n import create_i18n, fmt_datetime
from bot.ui.campaign_events_screens import CampaignEventRenderer, results_text
from bot.ui.text import MESSAGE_LIMIT, escape, visible_length
from storage import votes as vote_store
from storage.campaign_events import Totals
from storage.db import SessionFactory
from storage.models import Campaign, Category, Idea, IdeaStatus, JobRun, OutboxMessage, User
from tests.conftest import BOT_USERNAME, TEST_TOKEN, load_example
from tests.fake_telegram.html_check import parse_html_entities
from tests.i18n_helpers import t

RIGA = ZoneInfo("Europe/Riga")
SLUG = "atverta-latvija"
# The example campaign: 2026-11-16 00:00 .. 2026-12-20 23:59, Riga winter time (+02:00).
STARTS = datetime(2026, 11, 15, 22, 0, tzinfo=UTC)
ENDS = datetime(2026, 12, 20, 21, 59, tzinfo=UTC)
CLOSING_3 = datetime(2026, 12, 17, 21, 59, tzinfo=UTC)
CLOSING_1 = datetime(2026, 12, 19, 21, 59, tzinfo=UTC)


# ---------------------------------------------------------------- helpers


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(media_dir=str(tmp_path / "media"), reminder_days=(3, 1))


@pytest.fixture(scope="module")
def renderer() -> CampaignEventRenderer:
    return CampaignEventRenderer(create_i18n(), bot_username=BOT_USERNAME)


async def add_users(sessions: SessionFactory, *users: User) -> None:
    async with sessions() as session:
        session.add_all(users)
        await session.commit()


async def campaign_data(sessions: SessionFactory) -> tuple[Campaign, list[Category], dict[int, list[Idea]]]:
    async with sessions() as session:
        campaign = (await session.exec(select(Campaign).where(Campaign.slug == SLUG))).one()
        categories = list((await session.exec(
            select(Category).where(Category.campaign_id == campaign.id).order_by(Category.position))).all())
        ideas = list((await session.exec(select(Idea).where(Idea.campaign_id == campaign.id).order_by(Idea.id))).all())
    by_category = {category.id: [idea for idea in ideas if idea.category_id == category.id] for category in categories}
    return campaign, categories, by_category


async def vote(sessions: SessionFactory, user_id: int, *ideas: Idea) -> None:
    async with sessions() as session:
        for idea in ideas:
            await vote_store.add_vote(session, idea.id, user_id, STARTS + timedelta(days=1))
        await session.commit()


async def outbox_rows(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def job_runs(sessions: SessionFactory) -> set[tuple[str, str]]:
    async with sessions() as session:
        return {(run.kind, run.run_key) for run in (await session.exec(select(JobRun))).all()}


def title(row: object, language: str) -> str:
    return escape(localized(row, "title", language).text)


def formatted_end(renderer: CampaignEventRenderer, language: str) -> str:
    """The close as Babel writes it in the language ("20 декабря 2026 г. в 23:59", Riga time)."""
    with renderer.i18n.context(), renderer.i18n.use_locale(language):
        return fmt_datetime(ENDS, RIGA)


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def html_ok(text: str) -> str:
    plain, _entities = parse_html_entities(text)  # raises on markup Telegram would refuse
    return plain


# ---------------------------------------------------------------- the plan (pure)


def _campaign(starts: datetime = STARTS, ends: datetime = ENDS) -> Campaign:
    return Campaign(slug=SLUG, starts_at=starts, ends_at=ends)


def _plan(now: datetime, **kwargs) -> dict[str, bool]:
    return {item.event.job_kind: item.send for item in plan_events(_campaign(), now, (3, 1), RIGA, **kwargs)}


def test_plan_sends_the_latest_due_reminder_and_skips_stale_ones():
    assert _plan(STARTS - timedelta(seconds=1)) == {}
    assert _plan(STARTS) == {"opened": True}
    assert _plan(CLOSING_3 - timedelta(minutes=1)) == {"opened": True}
    # Down from before the opening until after the 3-day moment: the opening reminder is stale.
    assert _plan(CLOSING_3 + timedelta(hours=5)) == {"opened": False, "closing_3d": True}
    assert _plan(CLOSING_1) == {"opened": False, "closing_3d": False, "closing_1d": True}
    assert _plan(ENDS - timedelta(seconds=1)) == {"opened": False, "closing_3d": False, "closing_1d": True}
    # Closed: no reminder is sent late; the results are, within a week.
    assert _plan(ENDS) == {"opened": False, "closing_3d": False, "closing_1d": False, "results": True}
    assert _plan(ENDS + timedelta(days=6))["results"] is True
    assert _plan(ENDS + timedelta(days=8))["results"] is False


def test_closing_moments_follow_riga_wall_clock_across_daylight_saving():
    ends = datetime(2026, 3, 30, 12, 0, tzinfo=RIGA)  # summer time (+03:00) since 29 March
    moment = closing_moment(ends.astimezone(UTC), 3, RIGA)
    assert moment.astimezone(RIGA).replace(tzinfo=None) == datetime(2026, 3, 27, 12, 0)
    assert moment.astimezone(UTC) == datetime(2026, 3, 27, 10, 0, tzinfo=UTC)  # winter time (+02:00)


def test_a_closing_reminder_before_the_opening_is_left_out():
    short = _campaign(STARTS, STARTS + timedelta(days=2))
    kinds = [event.job_kind for event in events.campaign_events(short, (3, 1), RIGA)]
    assert kinds == ["opened", "closing_1d", "results"]
    assert [event.kind for event in events.campaign_events(short, (), RIGA)] == [EventKind.OPENED, EventKind.RESULTS]


def test_quiet_hours_hold_messages_until_the_morning():
    def riga(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 12, day, hour, minute, tzinfo=RIGA)

    assert quiet_until(riga(20, 23, 59), (22, 8), RIGA) == riga(21, 8)
    assert quiet_until(riga(16, 0, 0), (22, 8), RIGA) == riga(16, 8)
    assert quiet_until(riga(16, 7, 59), (22, 8), RIGA) == riga(16, 8)
    assert quiet_until(riga(16, 8, 0), (22, 8), RIGA) is None
    assert quiet_until(riga(16, 21, 59), (22, 8), RIGA) is None
    assert quiet_until(riga(16, 3), (1, 5), RIGA) == riga(16, 5)
    assert quiet_until(riga(16, 23), (1, 5), RIGA) is None
    assert quiet_until(riga(16, 3), (0, 0), RIGA) is None


# ---------------------------------------------------------------- the whole calendar, on both databases


async def test_calendar_sends_each_message_once_in_the_readers_language(sessions, settings, renderer):
    await load_example(sessions)
    campaign, categories, by_category = await campaign_data(sessions)
    await add_users(
        sessions,
        User(id=1, language="lv", reminders=True),
        User(id=2, language="ru", reminders=True),
        User(id=3, language="en", reminders=True),
        User(id=4, language="lv", reminders=False),  # did not opt in
        User(id=5, language="ru", reminders=True, is_reachable=False),  # blocked the bot
    )

    async def tick(now: datetime) -> int:
        return (await campaign_tick(sessions, settings, renderer, now)).written

    assert await tick(STARTS - timedelta(minutes=1)) == 0
    assert await tick(STARTS + timedelta(seconds=30)) == 3
    assert await tick(STARTS + timedelta(minutes=1)) == 0  # ticked again: nothing twice
    rows = await outbox_rows(sessions)
    assert {row.chat_id: row.dedupe_key for row in rows} == {
        user: f"opened:{SLUG}:{user}" for user in (1, 2, 3)}
    for row, language in zip(rows, ("lv", "ru", "en"), strict=True):
        expected = t(language, "🗳 <b>Voting is open: {title}</b>", title=title(campaign, language))
        assert row.text.startswith(expected), row.text
        assert row.kind == "reminder" and row.photo_path is None
        assert "Menu" not in row.reply_markup and "m:cats" in row.reply_markup
        assert row.not_before == datetime(2026, 11, 16, 8, 0, tzinfo=RIGA)  # opened at midnight: sent at 8
        html_ok(row.text)
    assert "Открытая Латвия" in rows[1].text and "Atvērtā Latvija" in rows[0].text

    # Resident 1 supported ideas in the first two categories; resident 2 in every category.
    await vote(sessions, 1, by_category[categories[0].id][0], by_category[categories[1].id][0])
    await vote(sessions, 2, *(by_category[category.id][0] for category in categories))

    assert await tick(CLOSING_3 + timedelta(minutes=1)) == 3
    assert await tick(CLOSING_3 + timedelta(minutes=2)) == 0
    closing = {row.chat_id: row for row in await outbox_rows(sessions) if row.dedupe_key.startswith("closing:")}
    assert set(closing) == {1, 2, 3}
    unseen_1 = ", ".join(title(category, "lv") for category in categories[2:])
    assert t("lv", "👀 Have a look here too: {categories}", categories=unseen_1) in closing[1].text
    assert title(categories[0], "lv") not in closing[1].text
    assert t("ru", "✅ You have supported ideas in every category. Thank you!") in closing[2].text
    unseen_3 = ", ".join(title(category, "en") for category in categories)
    assert t("en", "👀 Have a look here too: {categories}", categories=unseen_3) in closing[3].text
    assert t("en", "⏳ <b>{title}</b>: voting closes in {count} days, on {end}.", title="Open Latvia", count=3,
             end=formatted_end(renderer, "en")) in closing[3].text

    assert await tick(CLOSING_1 + timedelta(minutes=1)) == 3
    last = [row for row in await outbox_rows(sessions) if row.dedupe_key == f"closing:{SLUG}:1:2"]
    assert last[0].text.startswith(t("ru", "⏳ <b>{title}</b>: last chance! Voting closes on {end}.",
                                     title="Открытая Латвия", end=formatted_end(renderer, "ru")))
    assert await tick(ENDS + timedelta(minutes=1)) > 0  # the results (tested in detail below)
    written = len(await outbox_rows(sessions))
    for moment in (CLOSING_1, ENDS, ENDS + timedelta(days=1)):
        assert await tick(moment + timedelta(minutes=5)) == 0
    assert len(await outbox_rows(sessions)) == written
    assert await job_runs(sessions) == {("opened", SLUG), ("closing_3d", SLUG), ("closing_1d", SLUG),
                                        ("results", SLUG)}


async def test_concurrent_ticks_write_each_message_once(sessions, settings, renderer):
    await load_example(sessions)
    await add_users(sessions, *(User(id=100 + n, language=("lv", "ru")[n % 2], reminders=True) for n in range(20)))
    reports = await asyncio.gather(*(
        campaign_tick(sessions, settings, renderer, STARTS + timedelta(seconds=n)) for n in range(5)))
    assert sum(report.written for report in reports) == 20
    assert sum(1 for report in reports if report.sent) == 1
    rows = await outbox_rows(sessions)
    assert sorted(row.chat_id for row in rows) == list(range(100, 120))
    assert await job_runs(sessions) == {("opened", SLUG)}


# ---------------------------------------------------------------- catch-up after downtime


async def test_catch_up_sends_the_relevant_reminder_once_and_skips_the_stale_one(sqlite_sessions, settings, renderer):
    sessions = sqlite_sessions
    await load_example(sessions)
    await add_users(sessions, User(id=1, language="lv", reminders=True, subscribed=True))

    # Down from before the opening until a day after the 3-day moment: only the 3-day reminder goes out.
    report = await campaign_tick(sessions, settings, renderer, CLOSING_3 + timedelta(days=1))
    assert report.sent == [("closing_3d", SLUG)] and report.skipped == [("opened", SLUG)]
    assert [row.dedupe_key for row in await outbox_rows(sessions)] == [f"closing:{SLUG}:3:1"]
    assert await job_runs(sessions) == {("opened", SLUG), ("closing_3d", SLUG)}
    assert (await campaign_tick(sessions, settings, renderer, CLOSING_3 + timedelta(days=1, minutes=1))).written == 0

    # Down again over the 1-day moment and the close: the results go out, the 1-day reminder never does.
    report = await campaign_tick(sessions, settings, renderer, ENDS + timedelta(hours=3))
    assert report.sent == [("results", SLUG)] and report.skipped == [("closing_1d", SLUG)]
    keys = [row.dedupe_key for row in await outbox_rows(sessions)]
    assert not any(key.startswith(f"closing:{SLUG}:1:") for key in keys)
    assert keys[1:] == [f"results:{SLUG}:1:photo", f"results:{SLUG}:1:text"]


async def test_a_campaign_closed_long_ago_sends_nothing(sqlite_sessions, settings, renderer):
    await load_example(sqlite_sessions)
    await add_users(sqlite_sessions, User(id=1, language="lv", reminders=True, subscribed=True))
    report = await campaign_tick(sqlite_sessions, settings, renderer, ENDS + timedelta(days=30))
    assert report.written == 0 and not report.sent
    assert len(report.skipped) == 4
    assert await outbox_rows(sqlite_sessions) == []


# ---------------------------------------------------------------- the results digest


async def test_results_digest_reaches_subscribers_and_participants_with_a_chart(sqlite_sessions, settings, renderer):
    sessions = sqlite_sessions
    await load_example(sessions)
    campaign, categories, by_category = await campaign_data(sessions)
    first, second = by_category[categories[0].id][:2]
    await add_users(
        sessions,
        User(id=1, language="lv", subscribed=True),  # subscriber who did not vote
        User(id=2, language="ru"),  # voter
        User(id=3, language="en"),  # author of a proposal
        User(id=4, language="ru", is_reachable=False, subscribed=True),  # blocked the bot
        User(id=5, language="lv"),  # neither
        User(id=6, language="ru", subscribed=True, is_banned=True),
    )
    async with sessions() as session:
        proposal = Idea(campaign_id=campaign.id, category_id=categories[1].id, title_lv="Mana <ideja> & cits",
                        title_en="My <idea> & more", body_lv="x", status=IdeaStatus.PUBLISHED, author_id=3)
        session.add(proposal)
        await session.commit()
    await vote(sessions, 2, first, second, proposal)
    async with sessions() as session:
        # A big number, to see Babel's formatting in each language.
        await session.exec(update(Idea).where(Idea.id == first.id).values(supporters_count=12345))
        await session.commit()

    report = await campaign_tick(sessions, settings, renderer, ENDS + timedelta(minutes=1))
    assert report.sent == [("results", SLUG)] and report.written == 6
    rows = await outbox_rows(sessions)
    by_user: dict[int, list[OutboxMessage]] = {}
    for row in rows:
        by_user.setdefault(row.chat_id, []).append(row)
    assert set(by_user) == {1, 2, 3}
    languages = {1: "lv", 2: "ru", 3: "en"}
    for user, (photo, text) in by_user.items():
        language = languages[user]
        assert photo.id < text.id  # the chart first, then the text
        assert photo.dedupe_key == f"results:{SLUG}:{user}:photo" and text.dedupe_key == f"results:{SLUG}:{user}:text"
        assert photo.kind == text.kind == "results" and text.photo_path is None
        path = Path(photo.photo_path)
        assert path.is_absolute() and is_png(path)
        assert path.name == f"results-{SLUG}-{language}.png"
        assert visible_length(photo.text) <= CAPTION_LIMIT
        assert photo.text.startswith(t(language, "📊 <b>{title}</b>: the results", title=title(campaign, language)))
        html_ok(photo.text)
        assert visible_length(text.text) <= MESSAGE_LIMIT
        plain = html_ok(text.text)
        assert t(language, "📌 <b>What happens next</b>").replace("<b>", "").replace("</b>", "") in plain
        assert t(language, "🛡 We checked the voting for manipulation (new accounts, sudden bursts, vote farms) and "
                           "publish an integrity report for this campaign, without anyone's identity.") in plain
        assert title(first, language) in text.text
        assert format_decimal(12345, locale=language) in text.text  # "12 345", "12,345"
        assert f'href="https://t.me/{BOT_USERNAME}?start=idea_{first.id}"' in text.text
    assert "My &lt;idea&gt; &amp; more" in by_user[3][1].text  # the proposal, escaped
    # One image per language, shared by its readers.
    assert len({row.photo_path for row in rows if row.photo_path}) == 3
    assert (await campaign_tick(sessions, settings, renderer, ENDS + timedelta(minutes=2))).written == 0


def _fake_results(categories: int, title_length: int) -> Results:
    campaign = Campaign(id=1, slug=SLUG, title_lv="K" * 300, starts_at=STARTS, ends_at=ENDS)
    cats = [Category(id=n, campaign_id=1, key=f"c{n}", position=n, title_lv=f"Kategorija {n} " + "ž" * 200)
            for n in range(categories)]
    ideas = {n: [Idea(id=10 * n + k, campaign_id=1, category_id=n, title_lv="Ā<&>" * (title_length // 4),
                      supporters_count=1000 - k) for k in range(2)] for n in range(categories)}
    top = [idea for pair in ideas.values() for idea in pair][:5]
    return Results(campaign, Totals(123456, 789, 1234567), top, cats, ideas, top)


@pytest.mark.parametrize("categories", [3, 30])
def test_results_text_always_fits_one_message(renderer, categories):
    results = _fake_results(categories, 300)
    for language in ("lv", "ru", "en"):
        with renderer.i18n.context(), renderer.i18n.use_locale(language):
            text = results_text(results, language, BOT_USERNAME)
        assert visible_length(text) <= MESSAGE_LIMIT
        html_ok(text)
        assert renderer.results_caption(results, language)
        assert visible_length(renderer.results_caption(results, language)) <= CAPTION_LIMIT


async def test_results_are_delivered_as_a_photo_and_a_message(sqlite_sessions, settings, renderer, fake_telegram):
    sessions = sqlite_sessions
    settings = settings.model_copy(update={"quiet_hours": (0, 0)})  # the sender runs now, not at 8 in the morning
    await load_example(sessions)
    campaign, categories, by_category = await campaign_data(sessions)
    for user_id, language in ((1, "lv"), (2, "ru")):
        fake_telegram.add_user(user_id, language_code=language)
    await add_users(sessions, User(id=1, language="lv", subscribed=True), User(id=2, language="ru"))
    await vote(sessions, 2, *(by_category[category.id][0] for category in categories))
    await campaign_tick(sessions, settings, renderer, ENDS + timedelta(minutes=1))

    bot = Bot(TEST_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    try:
        sender = Sender(bot, sessions, rate_per_second=100.0, chat_interval=0.05, idle_poll=0.05)
        await sender.run_once()
    finally:
        await bot.session.close()
    async with sessions() as session:
        statuses = (await session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
    assert dict(statuses) == {"sent": 4}
    for user_id, language in ((1, "lv"), (2, "ru")):
        photo, text = fake_telegram.messages(user_id)
        assert photo.photo and photo.photo_size > 1000
        assert localized(campaign, "title", language).text in photo.caption
        assert not text.photo and localized(by_category[categories[0].id][0], "title", language).text[:40] in text.text


class _BrokenChart(CampaignEventRenderer):
    def results_chart(self, results, language, path):
        raise RuntimeError("no fonts today")


class _BrokenOpening(CampaignEventRenderer):
    def opened(self, campaign, language):
        raise RuntimeError("a bug in a text")


async def test_a_broken_chart_still_sends_the_text_and_a_broken_event_is_retried(sqlite_sessions, settings):
    sessions = sqlite_sessions
    await load_example(sessions)
    await add_users(sessions, User(id=1, language="lv", subscribed=True, reminders=True))
    i18n = create_i18n()

    report = await campaign_tick(sessions, settings, _BrokenOpening(i18n), STARTS + timedelta(minutes=1))
    assert report.failed == [("opened", SLUG)] and await outbox_rows(sessions) == []
    assert await job_runs(sessions) == set()  # not claimed: the next tick tries again
    report = await campaign_tick(sessions, settings, CampaignEventRenderer(i18n), STARTS + timedelta(minutes=2))
    assert report.sent == [("opened", SLUG)] and report.written == 1

    report = await campaign_tick(sessions, settings, _BrokenChart(i18n), ENDS + timedelta(hours=10))
    assert report.sent == [("results", SLUG)]
    results = [row for row in await outbox_rows(sessions) if row.kind == "results"]
    assert [row.dedupe_key for row in results] == [f"results:{SLUG}:1:text"]
