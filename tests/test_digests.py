"""The weekly digest, weekly personal news and new-idea cards.

Pure rules first (week keys at year boundaries and across DST, quiet hours, the "no idea listed twice"
selection); then the jobs on a real database (SQLite and PostgreSQL): written once per subscriber however often
and however concurrently they run, rendered once per language, the right sections, news that does not repeat the
digest, cards within the daily cap and never at night."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import jobs
from bot.config import Settings
from bot.domain import digests as dg
from bot.domain.outgoing import Outgoing
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.ui import callbacks as cb
from bot.ui import screens
from bot.ui.digests_screens import DigestScreens
from storage import digests as digest_store
from storage.models import (
    Campaign,
    Category,
    CategoryInterest,
    Idea,
    IdeaStatus,
    JobRun,
    OutboxMessage,
    StatusChange,
    User,
    Vote,
)
from tests.i18n_helpers import t

RIGA = ZoneInfo("Europe/Riga")
S = IdeaStatus


def riga(*args) -> datetime:
    return datetime(*args, tzinfo=RIGA).astimezone(UTC)


# ------------------------------------------------------------------ pure: weeks, quiet hours, selection

@pytest.mark.parametrize(("moment", "key"), [
    (riga(2026, 11, 30, 10), "2026-W49"),
    (riga(2026, 12, 31, 12), "2026-W53"),  # 2026 has 53 ISO weeks
    (riga(2027, 1, 3, 23, 59), "2026-W53"),  # Sunday 3 January still belongs to 2026's last week
    (riga(2027, 1, 4, 0, 0), "2027-W01"),
    (riga(2024, 12, 30, 10), "2025-W01"),  # Monday 30 December 2024 starts 2025's first week
    (riga(2025, 12, 29, 10), "2026-W01"),
])
def test_week_keys_follow_iso_weeks_in_riga(moment, key):
    assert dg.week_key(moment, RIGA) == key


def test_week_key_uses_riga_time_not_utc():
    # 22:30 UTC on Sunday 3 January 2027 is already Monday 00:30 in Riga: the new ISO week.
    moment = datetime(2027, 1, 3, 22, 30, tzinfo=UTC)
    assert dg.week_key(moment, RIGA) == "2027-W01"
    assert dg.week_key(moment, ZoneInfo("UTC")) == "2026-W53"


@pytest.mark.parametrize(("now", "hours"), [
    (riga(2026, 11, 30, 10), 168),
    (riga(2026, 3, 30, 10), 167),  # summer time began on 29 March: a week of wall-clock time is an hour shorter
    (riga(2026, 10, 26, 10), 169),  # and it ended on 25 October
])
def test_the_week_is_seven_days_of_riga_wall_clock_time(now, hours):
    start, end = dg.week_window(now, RIGA)
    assert end == now
    assert start.astimezone(RIGA).replace(tzinfo=None) == now.astimezone(RIGA).replace(tzinfo=None) - timedelta(days=7)
    assert end - start == timedelta(hours=hours)


@pytest.mark.parametrize(("moment", "quiet"), [
    (riga(2026, 11, 27, 21, 59), False),
    (riga(2026, 11, 27, 22, 0), True),
    (riga(2026, 11, 28, 3, 0), True),
    (riga(2026, 11, 28, 7, 59), True),
    (riga(2026, 11, 28, 8, 0), False),
    (riga(2026, 7, 1, 22, 30), True),  # summer time: still Riga's 22:00, not UTC's
    (riga(2026, 7, 1, 20, 30), False),
])
def test_quiet_hours_are_from_22_to_8_riga_time(moment, quiet):
    assert dg.in_quiet_hours(moment, RIGA, (22, 8)) is quiet


def test_quiet_hours_within_a_day_and_none():
    assert dg.in_quiet_hours(riga(2026, 11, 27, 3), RIGA, (0, 6))
    assert not dg.in_quiet_hours(riga(2026, 11, 27, 6), RIGA, (0, 6))
    assert not dg.in_quiet_hours(riga(2026, 11, 27, 3), RIGA, (8, 8))


def test_quiet_hours_end_at_the_next_morning():
    assert dg.quiet_hours_end(riga(2026, 11, 27, 23), RIGA, (22, 8)) == riga(2026, 11, 28, 8)
    assert dg.quiet_hours_end(riga(2026, 11, 28, 3), RIGA, (22, 8)) == riga(2026, 11, 28, 8)
    assert dg.quiet_hours_end(riga(2026, 11, 28, 9), RIGA, (22, 8)) is None
    # The night the clocks go forward (29 March 2026, 03:00 -> 04:00): 08:00 summer time is 05:00 UTC.
    assert dg.quiet_hours_end(riga(2026, 3, 29, 1), RIGA, (22, 8)) == datetime(2026, 3, 29, 5, tzinfo=UTC)


def _idea(idea_id: int, supporters: int = 0, status: str = S.PUBLISHED) -> Idea:
    return Idea(id=idea_id, campaign_id=1, category_id=1, title_lv=f"Ideja {idea_id}", status=status,
                supporters_count=supporters)


def _change(idea_id: int, status: str, change_id: int | None = None) -> StatusChange:
    return StatusChange(id=change_id or idea_id, idea_id=idea_id, status=status)


def test_no_idea_is_listed_twice():
    new = [_idea(1, 50), _idea(2, 1)]
    top = [_idea(1, 50), _idea(3, 40), _idea(4, 30), _idea(2, 1)]
    changes = [(_change(3, S.INCLUDED), top[1]), (_change(5, S.UNDER_REVIEW), _idea(5)), (_change(1, S.UNDER_REVIEW),
                                                                                           new[0])]
    sections = dg.select_sections(new, top, changes)
    listed = [item.idea.id for item in sections.items]
    assert listed == [1, 2, 3, 4, 5]
    assert len(listed) == len(set(listed))
    assert [item.idea.id for item in sections.new] == [1, 2]
    assert [item.idea.id for item in sections.top] == [3, 4]  # the top ideas that are not new
    assert [item.idea.id for item in sections.changed] == [5]  # the others' changes show where they are listed
    changed_where_listed = {item.idea.id: item.change.status for item in sections.items if item.change}
    assert changed_where_listed == {1: S.UNDER_REVIEW, 3: S.INCLUDED, 5: S.UNDER_REVIEW}
    assert sections.shown_change_idea_ids == {1, 3, 5}
    assert not sections.empty


def test_limits_count_the_rest_and_an_unlisted_new_idea_may_be_among_the_top():
    new = [_idea(i) for i in range(1, 9)]  # 8 new ideas, 5 listed
    top = [_idea(8, 99), _idea(1, 50), _idea(20, 10)]
    changes = [(_change(i, S.UNDER_REVIEW), _idea(i)) for i in range(30, 37)]  # 7 changes, 5 listed
    sections = dg.select_sections(new, top, changes, new_limit=5, top_limit=5, changed_limit=5)
    assert [item.idea.id for item in sections.new] == [1, 2, 3, 4, 5] and sections.new_total == 8
    assert [item.idea.id for item in sections.top] == [8, 20]
    assert [item.idea.id for item in sections.changed] == [30, 31, 32, 33, 34] and sections.changed_total == 7


def test_a_week_without_new_ideas_or_changes_is_empty_even_with_top_ideas():
    sections = dg.select_sections([], [_idea(1, 5)], [])
    assert sections.empty and [item.idea.id for item in sections.top] == [1]
    # A status change shown with a top idea is news, though.
    assert not dg.select_sections([], [_idea(1, 5)], [(_change(1, S.INCLUDED), _idea(1, 5))]).empty


def test_the_listed_ideas_are_those_within_the_limit_of_each_section():
    new = [_idea(i) for i in range(1, 4)]
    changes = [(_change(i, S.UNDER_REVIEW), _idea(i)) for i in range(30, 33)]
    sections = dg.select_sections(new, [_idea(20, 9)], changes)
    assert sections.listed_ids(2) == {1, 2, 20, 30, 31}
    assert sections.listed_ids(0) == frozenset()


# ------------------------------------------------------------------ the database

NOW = riga(2026, 11, 30, 10)  # Monday 10:00 in Riga: the digest's hour
WEEK = "2026-W49"
SETTINGS = Settings(bot_token="")

SUBSCRIBERS = {101: "lv", 102: "ru", 103: "ru", 104: "en"}
NEWS_READER, NO_NEWS, AUTHOR, UNREACHABLE, BANNED, NOT_SUBSCRIBED = 107, 108, 201, 105, 106, 109


class Data:
    """Ids of the ideas the fixture made."""


@pytest.fixture
async def db(sessions):
    """A campaign open 16 Nov - 20 Dec 2026 with ideas of every kind, and residents of every kind."""
    data = Data()
    async with sessions() as session:
        campaign = Campaign(slug="c", title_lv="Atvērtā Latvija", title_ru="Открытая Латвия", title_en="Open Latvia",
                            starts_at=riga(2026, 11, 16), ends_at=riga(2026, 12, 20))
        session.add(campaign)
        await session.flush()
        category = Category(campaign_id=campaign.id, key="a", title_lv="Atklātība", title_ru="Открытость",
                            title_en="Transparency")
        other = Category(campaign_id=campaign.id, key="b", title_lv="Līdzdalība", title_ru="Участие",
                         title_en="Participation", position=1)
        session.add_all([category, other])
        await session.flush()
        data.campaign_id, data.category_id, data.other_category_id = campaign.id, category.id, other.id
        for user_id, language in SUBSCRIBERS.items():
            session.add(User(id=user_id, language=language, subscribed=True))
        session.add_all([
            User(id=UNREACHABLE, language="lv", subscribed=True, is_reachable=False),
            User(id=BANNED, language="lv", subscribed=True, is_banned=True),
            User(id=NEWS_READER, language="lv"),
            User(id=NO_NEWS, language="lv", notify_status=False),
            User(id=AUTHOR, language="lv"),
            User(id=NOT_SUBSCRIBED, language="lv"),
        ])
        await session.flush()

        def idea(name: str, created: datetime, supporters: int = 0, status: str = S.PUBLISHED, **extra) -> Idea:
            row = Idea(campaign_id=campaign.id, category_id=category.id, title_lv=f"{name} <b>&</b>",
                       title_ru=f"{name} ру", body_lv="Teksts", status=status, supporters_count=supporters,
                       created_at=created, **extra)
            session.add(row)
            return row

        imported = riga(2026, 11, 10)
        ideas = {
            "top1": idea("top1", imported, 10),
            "included": idea("included", imported, 7, S.INCLUDED, status_changed_at=riga(2026, 11, 25)),
            "review": idea("review", imported, 0, S.UNDER_REVIEW, status_changed_at=riga(2026, 11, 26)),
            "top3": idea("top3", imported, 3),
            "old_change": idea("old_change", imported, 0, S.NOT_INCLUDED, status_changed_at=riga(2026, 11, 15)),
            "new_imported": idea("new_imported", riga(2026, 11, 25, 12), 2),
            "new_proposal": idea("new_proposal", riga(2026, 11, 20), 0, author_id=AUTHOR,
                                 status_changed_at=riga(2026, 11, 27)),
            "pending": idea("pending", riga(2026, 11, 25), 0, S.PENDING, author_id=AUTHOR),
            "hidden": idea("hidden", riga(2026, 11, 25), 0, hidden=True),
            "rejected": idea("rejected", riga(2026, 11, 21), 0, S.REJECTED, author_id=AUTHOR,
                             status_note="reason:off", status_changed_at=riga(2026, 11, 26)),
            "late": idea("late", riga(2026, 11, 30, 11), 0),  # after the digest's moment
        }
        await session.flush()
        ids = {name: row.id for name, row in ideas.items()}
        session.add_all([
            StatusChange(idea_id=ids["included"], status=S.UNDER_REVIEW, created_at=riga(2026, 11, 20)),
            StatusChange(idea_id=ids["included"], status=S.INCLUDED, note="Saistību <3> & plāns",
                         created_at=riga(2026, 11, 25)),
            StatusChange(idea_id=ids["review"], status=S.UNDER_REVIEW, created_at=riga(2026, 11, 26)),
            StatusChange(idea_id=ids["old_change"], status=S.NOT_INCLUDED, created_at=riga(2026, 11, 15)),
            StatusChange(idea_id=ids["new_proposal"], status=S.PUBLISHED, created_at=riga(2026, 11, 27)),
            StatusChange(idea_id=ids["rejected"], status=S.REJECTED, note="reason:off", created_at=riga(2026, 11, 26)),
        ])
        # 101 (a subscriber) supports the two ideas whose changes the digest shows; NEWS_READER supports one.
        for user_id, name in [(101, "included"), (101, "review"), (NEWS_READER, "included"), (NO_NEWS, "included"),
                              (UNREACHABLE, "included")]:
            session.add(Vote(idea_id=ids[name], user_id=user_id, created_at=riga(2026, 11, 18)))
        await session.commit()
    data.ids = ids
    sessions.data = data
    return sessions


def context(sessions, now: datetime = NOW, settings: Settings = SETTINGS) -> JobContext:
    return JobContext(sessions=sessions, settings=settings, i18n=create_i18n(), clock=lambda: now,
                      bot_username="manabalss_test_bot")


class CountingRenderer:
    """The real screens, counting each render."""

    def __init__(self) -> None:
        self.screens = DigestScreens(create_i18n())
        self.calls: list[tuple[str, str]] = []

    def digest(self, digest, language):
        self.calls.append(("digest", language))
        return self.screens.digest(digest, language)

    def news(self, items, language):
        self.calls.append(("news", language))
        return self.screens.news(items, language)

    def new_idea_card(self, idea, category, language):
        self.calls.append(("card", idea.id, language))
        return self.screens.new_idea_card(idea, category, language)



async def preview(sessions, language: str, now: datetime = NOW) -> Outgoing | None:
    """The digest as /digest preview shows it (the domain's next digest, the job's screens)."""
    async with sessions() as session:
        digest = await dg.next_digest(session, now, SETTINGS.tz)
    return None if digest is None else DigestScreens(create_i18n()).digest(digest, language).out


def opened_ideas(row: OutboxMessage) -> set[int]:
    """The ideas a written message has "open" buttons for."""
    buttons = [button for line in json.loads(row.reply_markup)["inline_keyboard"] for button in line]
    return {cb.IdeaAction.unpack(button["callback_data"]).id for button in buttons
            if button["callback_data"].startswith("i:")}


async def test_the_digest_records_the_ideas_it_lists_in_each_language(db):
    await jobs.weekly_digest(context(db))
    async with db() as session:
        listed = await digest_store.listed_ideas(session, WEEK)
    assert sorted(listed) == ["en", "lv", "ru"]
    for row in await outbox_rows(db, "digest"):
        assert opened_ideas(row) in listed.values()


async def outbox_rows(sessions, kind: str | None = None) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.chat_id, OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.exec(query)).all())


async def test_the_digest_goes_once_to_each_reachable_subscriber_rendered_once_per_language(db):
    renderer = CountingRenderer()
    assert await jobs.weekly_digest(context(db), renderer=renderer) == 4
    rows = await outbox_rows(db, "digest")
    assert [row.chat_id for row in rows] == [101, 102, 103, 104]  # not the unreachable, banned or unsubscribed
    assert sorted(renderer.calls) == [("digest", "en"), ("digest", "lv"), ("digest", "ru")]
    assert {row.dedupe_key for row in rows} == {f"digest:{WEEK}:{user_id}" for user_id in SUBSCRIBERS}
    assert {row.batch_id for row in rows} == {f"digest:{WEEK}"}
    assert rows[1].text == rows[2].text  # both Russian readers share one text
    # Run again (a second trigger, another process): nothing more.
    assert await jobs.weekly_digest(context(db), renderer=renderer) == 0
    assert len(await outbox_rows(db, "digest")) == 4 and len(renderer.calls) == 3
    async with db() as session:
        runs = (await session.exec(select(JobRun))).all()
    assert [(run.kind, run.run_key) for run in runs] == [("weekly_digest", WEEK)]


async def test_two_digest_runs_at_once_write_each_message_once(db):
    results = await asyncio.gather(*(jobs.weekly_digest(context(db)) for _ in range(3)))
    assert sorted(results) == [0, 0, 4]
    rows = await outbox_rows(db, "digest")
    assert sorted(row.chat_id for row in rows) == [101, 102, 103, 104]


async def test_the_digest_sections_newest_first_with_statuses_and_days_left(db):
    ids = db.data.ids
    await jobs.weekly_digest(context(db))
    latvian = next(row for row in await outbox_rows(db, "digest") if row.chat_id == 101)
    text = latvian.text
    new_at, top_at, changed_at = (text.index(t("lv", header)) for header in (
        "🆕 <b>New ideas</b>", "🔥 <b>Most supported</b>", "📋 <b>What became of ideas</b>"))
    assert new_at < top_at < changed_at
    new_part, top_part, changed_part = text[new_at:top_at], text[top_at:changed_at], text[changed_at:]
    # New: the published proposal (27 Nov) before the imported idea (24 Nov): newest first.
    assert new_part.index("new_proposal") < new_part.index("new_imported")
    # Most supported, without the new ones; the included idea shows its change where it is listed.
    assert "top1" in top_part and "included" in top_part and "top3" in top_part and "new_imported" not in top_part
    assert t("lv", "included in the action plan") in top_part
    assert "Saistību &lt;3&gt; &amp; plāns" in top_part  # the note, escaped
    # Changes: the idea under review (no supporters, so not among the top); not last week's change.
    assert "review" in changed_part and t("lv", "under review by the working group") in changed_part
    assert "old_change" not in text
    for name in ("pending", "hidden", "rejected", "late"):
        assert f"{name} " not in text
    assert "top1 &lt;b&gt;&amp;&lt;/b&gt;" in text  # titles escaped
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("lv"):
        async with db() as session:
            campaign = await session.get(Campaign, db.data.campaign_id)
        assert screens.campaign_dates_line(campaign, NOW) in text  # the closing date and the days left
    for name in ids:
        assert text.count(f"{name} &lt;") <= 1, name  # no idea twice
    markup = json.loads(latvian.reply_markup)
    buttons = [button for row in markup["inline_keyboard"] for button in row]
    assert buttons[-1]["text"] == t("lv", "🔕 Unsubscribe")
    opened = [cb.IdeaAction.unpack(button["callback_data"]) for button in buttons[:-1]]
    assert all(action.act == cb.ACT_OPEN_NEW for action in opened)
    assert [action.id for action in opened] == [ids["new_proposal"], ids["new_imported"], ids["top1"],
                                                ids["included"], ids["top3"], ids["review"]]
    assert all(len(button["callback_data"].encode()) <= 64 for button in buttons)
    assert [button["text"].split(".")[0] for button in buttons[:-1]] == ["1", "2", "3", "4", "5", "6"]
    russian = next(row for row in await outbox_rows(db, "digest") if row.chat_id == 102)
    assert "top1 ру" in russian.text and t("ru", "🔥 <b>Most supported</b>") in russian.text


async def test_a_week_with_nothing_new_sends_no_digest_but_is_decided(db):
    quiet_week = NOW + timedelta(days=21)  # 21 Dec: the campaign closed yesterday, nothing happened since
    assert await jobs.weekly_digest(context(db, quiet_week)) == 0
    assert await outbox_rows(db, "digest") == []
    async with db() as session:
        runs = (await session.exec(select(JobRun.run_key))).all()
    assert runs == ["2026-W52"]
    assert await preview(db, "lv", quiet_week) is None


async def test_no_campaign_within_the_week_no_digest_and_no_claim(db):
    later = riga(2027, 2, 1, 10)
    assert await jobs.weekly_digest(context(db, later)) == 0
    async with db() as session:
        assert (await session.exec(select(JobRun))).all() == []


async def test_a_closed_campaign_gets_one_last_digest_within_a_week(db):
    ids = db.data.ids
    closed = riga(2026, 12, 22, 10)  # closed on 20 Dec
    async with db() as session:
        session.add(StatusChange(idea_id=ids["review"], status=S.INCLUDED, created_at=riga(2026, 12, 21)))
        await session.exec(update(Idea).where(Idea.id == ids["review"]).values(status=S.INCLUDED))
        await session.commit()
    assert await jobs.weekly_digest(context(db, closed)) == 4
    text = next(row.text for row in await outbox_rows(db, "digest") if row.chat_id == 104)
    assert "Voting closed" in text and "included in the action plan" in text


async def test_a_digest_written_at_night_waits_for_the_morning(db):
    night = riga(2026, 11, 30, 23)
    assert await jobs.weekly_digest(context(db, night)) == 4
    assert {row.not_before for row in await outbox_rows(db, "digest")} == {riga(2026, 12, 1, 8)}


async def test_preview_renders_without_writing(db):
    out = await preview(db, "ru")
    text, markup = out.text, out.markup
    assert t("ru", "🆕 <b>New ideas</b>") in text and markup["inline_keyboard"][-1][0]["text"] == t(
        "ru", "🔕 Unsubscribe")
    assert await outbox_rows(db) == []


async def test_long_titles_still_fit_one_message(db):
    async with db() as session:
        await session.exec(update(Idea).values(title_lv="Ā👍" * 150))
        await session.exec(update(StatusChange).values(note="Piezīme " * 60))
        await session.commit()
    text = (await preview(db, "lv")).text
    assert 0 < len(text.encode("utf-16-le")) // 2 <= 4096
    await jobs.weekly_digest(context(db))
    async with db() as session:
        listed = await digest_store.listed_ideas(session, WEEK)
    [row] = [row for row in await outbox_rows(db, "digest") if row.chat_id == 101]  # a Latvian reader
    assert listed["lv"] == opened_ideas(row) and listed["lv"] <= listed["ru"]  # what fitted


# ------------------------------------------------------------------ personal news

async def test_personal_news_after_the_digest_does_not_repeat_it(db):
    ids = db.data.ids
    renderer = CountingRenderer()
    await jobs.weekly_digest(context(db))
    news_time = NOW + timedelta(hours=1)
    assert await jobs.personal_news(context(db, news_time), renderer=renderer) == 2
    rows = {row.chat_id: row for row in await outbox_rows(db, "news")}
    # 101 got the digest, which showed both of their ideas' changes; NO_NEWS turned news off; UNREACHABLE blocked.
    assert set(rows) == {NEWS_READER, AUTHOR}
    assert rows[AUTHOR].dedupe_key == f"news:{WEEK}:{AUTHOR}"
    author_text = rows[AUTHOR].text
    # Newest first: published on 27 Nov, rejected on 26 Nov (with the reason in words); not the pending idea.
    assert author_text.index("new_proposal") < author_text.index("rejected")
    assert t("lv", "It is not about the topic of this campaign.") in author_text
    assert "pending" not in author_text
    buttons = [b for row in json.loads(rows[AUTHOR].reply_markup)["inline_keyboard"] for b in row]
    # The rejected idea is not public: no button to open it; the last button stops these messages.
    assert [cb.IdeaAction.unpack(b["callback_data"]).id for b in buttons[:-1]] == [ids["new_proposal"]]
    assert buttons[-1]["text"] == t("lv", "🔕 Turn off news about my ideas")
    reader_text = rows[NEWS_READER].text
    assert "included" in reader_text and "Saistību &lt;3&gt; &amp; plāns" in reader_text
    assert sorted(renderer.calls) == [("news", "lv"), ("news", "lv")]
    # Once a week.
    assert await jobs.personal_news(context(db, news_time + timedelta(days=2))) == 0
    assert len(await outbox_rows(db, "news")) == 2


async def test_personal_news_tells_a_change_that_came_after_the_digest(db):
    ids = db.data.ids
    await jobs.weekly_digest(context(db))
    news_time = NOW + timedelta(hours=1)
    async with db() as session:  # between the digest and the news, the idea under review is included
        session.add(StatusChange(idea_id=ids["review"], status=S.INCLUDED, created_at=NOW + timedelta(minutes=30)))
        await session.exec(update(Idea).where(Idea.id == ids["review"]).values(status=S.INCLUDED))
        await session.commit()
    await jobs.personal_news(context(db, news_time))
    rows = {row.chat_id: row for row in await outbox_rows(db, "news")}
    assert "review &lt;" in rows[101].text and "included &lt;" not in rows[101].text  # only the new change


async def test_personal_news_without_a_digest_tells_everything(db):
    assert await jobs.personal_news(context(db)) == 3
    rows = {row.chat_id for row in await outbox_rows(db, "news")}
    assert rows == {101, NEWS_READER, AUTHOR}


async def test_personal_news_runs_once_even_concurrently(db):
    results = await asyncio.gather(*(jobs.personal_news(context(db)) for _ in range(3)))
    assert sorted(results) == [0, 0, 3]


# ------------------------------------------------------------------ new-idea cards

CARD_NOW = riga(2026, 11, 27, 14)  # a Friday afternoon
CARD_SETTINGS = Settings(bot_token="", max_new_idea_cards_per_day=3)
CHOOSER, BANNED_CHOOSER, SUPPORTER_CHOOSER = 301, 302, 303


@pytest.fixture
async def cards_db(db):
    """Five ideas of category A published today, one yesterday's (before the lookback's end), one of category B;
    residents who chose category A."""
    data = db.data
    async with db() as session:
        session.add_all([User(id=CHOOSER, language="ru"), User(id=BANNED_CHOOSER, language="lv", is_banned=True),
                         User(id=SUPPORTER_CHOOSER, language="lv")])
        await session.flush()
        fresh = []
        for hour in range(5):
            idea = Idea(campaign_id=data.campaign_id, category_id=data.category_id, title_lv=f"Jauna {hour}",
                        title_ru=f"Новая {hour}", body_lv="Teksts " * 200, created_at=riga(2026, 11, 27, 8 + hour))
            session.add(idea)
            fresh.append(idea)
        session.add(Idea(campaign_id=data.campaign_id, category_id=data.other_category_id, title_lv="Cita",
                         created_at=riga(2026, 11, 27, 9)))
        await session.flush()
        for user_id in (CHOOSER, BANNED_CHOOSER, SUPPORTER_CHOOSER, AUTHOR):
            session.add(CategoryInterest(user_id=user_id, category_id=data.category_id))
        session.add(Vote(idea_id=fresh[0].id, user_id=SUPPORTER_CHOOSER, created_at=CARD_NOW))
        await session.commit()
    data.fresh = [idea.id for idea in fresh]
    return db


async def cards_of(sessions, user_id: int) -> list[int]:
    rows = [row for row in await outbox_rows(sessions, "new_idea") if row.chat_id == user_id]
    return [int(row.dedupe_key.split(":")[1]) for row in rows]


async def test_new_idea_cards_respect_the_daily_cap_and_go_once(cards_db):
    data = cards_db.data
    renderer = CountingRenderer()
    written = await jobs.new_idea_cards(context(cards_db, CARD_NOW, CARD_SETTINGS), renderer=renderer)
    # Oldest first, at most 3 a day each. AUTHOR's own new proposal (category A, published 27 Nov) is not sent to
    # them; the banned resident gets nothing; the supporter does not get the idea they support.
    assert await cards_of(cards_db, CHOOSER) == [data.ids["new_imported"], data.ids["new_proposal"], data.fresh[0]]
    assert await cards_of(cards_db, SUPPORTER_CHOOSER) == [data.ids["new_imported"], data.ids["new_proposal"],
                                                           data.fresh[1]]
    assert await cards_of(cards_db, AUTHOR) == [data.ids["new_imported"], data.fresh[0], data.fresh[1]]
    assert await cards_of(cards_db, BANNED_CHOOSER) == []
    assert written == 9
    # Rendered once per idea and language (not once per resident): 4 ideas, 7 pairs, for 9 cards.
    assert len(renderer.calls) == len(set(renderer.calls)) == 7
    card = next(row for row in await outbox_rows(cards_db, "new_idea") if row.chat_id == CHOOSER)
    assert "Atklātība" not in card.text and "Открытость" in card.text  # the resident's language (ru)
    buttons = [b for row in json.loads(card.reply_markup)["inline_keyboard"] for b in row]
    assert [cb.IdeaAction.unpack(b["callback_data"]).act for b in buttons] == [cb.ACT_SUPPORT, cb.ACT_OPEN_NEW]
    assert len(card.text) < 1200

    # Later the same day: the cap is reached, nothing more; the next morning the rest comes.
    later = CARD_NOW + timedelta(hours=3)
    assert await jobs.new_idea_cards(context(cards_db, later, CARD_SETTINGS)) == 0
    next_morning = riga(2026, 11, 28, 8, 0)
    assert await jobs.new_idea_cards(context(cards_db, next_morning, CARD_SETTINGS)) > 0
    assert await cards_of(cards_db, CHOOSER) == [data.ids["new_imported"], data.ids["new_proposal"], *data.fresh[:4]]
    everything = await outbox_rows(cards_db, "new_idea")
    assert len({row.dedupe_key for row in everything}) == len(everything)


async def test_no_new_idea_cards_at_night_the_morning_catches_up(cards_db):
    settings = CARD_SETTINGS
    for night in (riga(2026, 11, 27, 22, 0), riga(2026, 11, 28, 3, 0), riga(2026, 11, 28, 7, 59)):
        assert await jobs.new_idea_cards(context(cards_db, night, settings)) == 0
    assert await outbox_rows(cards_db, "new_idea") == []
    assert await jobs.new_idea_cards(context(cards_db, riga(2026, 11, 28, 8, 0), settings)) == 9


async def test_concurrent_card_runs_write_each_card_once(cards_db):
    ctx = context(cards_db, CARD_NOW, CARD_SETTINGS)
    results = await asyncio.gather(*(jobs.new_idea_cards(ctx) for _ in range(3)))
    assert sum(results) == 9
    assert len(await outbox_rows(cards_db, "new_idea")) == 9


async def test_no_cards_once_voting_closed_or_for_ideas_published_before_it_opened(cards_db):
    closed = riga(2026, 12, 21, 10)
    assert await jobs.new_idea_cards(context(cards_db, closed, CARD_SETTINGS)) == 0
    async with cards_db() as session:  # the campaign opens at noon: ideas loaded before are not "new"
        await session.exec(update(Campaign).values(starts_at=riga(2026, 11, 27, 12)))
        await session.commit()
    assert await jobs.new_idea_cards(context(cards_db, CARD_NOW, CARD_SETTINGS)) == 3
    assert {card for user_id in (CHOOSER, SUPPORTER_CHOOSER, AUTHOR) for card in await cards_of(cards_db, user_id)} \
        == {cards_db.data.fresh[4]}
