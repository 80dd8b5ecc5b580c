"""Broadcasts on a real database (each test on SQLite and on PostgreSQL): who an audience reaches (never the
unreachable or the banned), an empty audience refused, the rows written once (also when Confirm is pressed twice
at once), pause and resume, and the moderator's summary written exactly once however often the job runs."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.config import Settings
from bot.domain import broadcasts as bc
from bot.domain.texts import check_broadcast
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.jobs import broadcast_summaries
from handlers.moderation_args import parse_idea_id
from storage import outbox
from storage.models import AuditEntry, Broadcast, Idea, OutboxMessage, User, Vote, utcnow
from tests.conftest import CAMPAIGN_OPEN, load_example
from tests.i18n_helpers import t

NOW = CAMPAIGN_OPEN
ADMIN, MODERATOR, RESIDENT = 9001, 9002, 9003
SETTINGS = Settings(bot_token="", admin_ids=frozenset({ADMIN}))

# id: (language, subscribed, reachable, banned)
RESIDENTS = {
    101: ("lv", True, True, False),
    102: ("lv", False, True, False),
    103: ("ru", True, True, False),
    104: ("ru", False, True, False),
    105: ("ru", True, False, False),  # blocked the bot
    106: ("ru", True, True, True),  # banned
    107: ("en", False, True, False),
}


@pytest.fixture
async def db(sessions):
    """The example campaign, an admin (lv), a moderator (ru), a resident, and the residents above; 101, 103, 105
    and 106 support the first idea."""
    await load_example(sessions)
    async with sessions() as session:
        session.add(User(id=ADMIN, language="lv"))
        session.add(User(id=MODERATOR, language="ru", is_moderator=True))
        session.add(User(id=RESIDENT, language="lv"))
        for user_id, (language, subscribed, reachable, banned) in RESIDENTS.items():
            session.add(User(id=user_id, language=language, subscribed=subscribed, is_reachable=reachable,
                             is_banned=banned))
        await session.commit()
        idea_id = (await session.exec(select(Idea.id).order_by(Idea.id))).first()
        for user_id in (101, 103, 105, 106):
            session.add(Vote(idea_id=idea_id, user_id=user_id, created_at=NOW))
        await session.commit()
    sessions.idea_id = idea_id
    return sessions


def draft(audience: bc.Audience, text: str = "Sanāksme 5. maijā <b>Rīgā</b> & online", batch: str = "b1"):
    return bc.Draft(audience, text, batch_id=f"broadcast:{batch}")


async def all_rows(sessions, model, *conditions):
    async with sessions() as session:
        return list((await session.exec(select(model).where(*conditions))).all())


async def recipients(sessions, audience: bc.Audience, actor: int = ADMIN) -> bc.AudienceCheck:
    async with sessions() as session:
        return await bc.check_audience(session, SETTINGS, actor, audience)


async def send(sessions, audience: bc.Audience, actor: int = ADMIN, **kwargs) -> bc.Result:
    async with sessions() as session:
        return await bc.send(session, SETTINGS, actor, draft(audience, **kwargs), NOW)


async def send_approved(sessions, audience: bc.Audience, actor: int) -> bc.Result:
    """A moderator's broadcast to a whole language, approved by the admin (it waits for that)."""
    assert (await send(sessions, audience, actor=actor)).outcome is bc.Outcome.AWAITING_APPROVAL
    [broadcast] = await all_rows(sessions, Broadcast)
    async with sessions() as session:
        return await bc.approve(session, SETTINGS, ADMIN, broadcast.id, NOW)


def job_context(sessions) -> JobContext:
    return JobContext(sessions=sessions, settings=SETTINGS, i18n=create_i18n(), clock=lambda: NOW,
                      bot_username="manabalss_test_bot")


async def finish_batch(sessions, batch_id: str, blocked: set[int] = frozenset(), failed: set[int] = frozenset()):
    """As the sender leaves a batch: every row sent, blocked or failed."""
    async with sessions() as session:
        table = OutboxMessage.__table__
        await session.exec(update(table).where(table.c.batch_id == batch_id).values(status=outbox.SENT))
        if blocked:
            await session.exec(update(table).where(table.c.batch_id == batch_id, table.c.chat_id.in_(blocked))
                               .values(status=outbox.BLOCKED))
        if failed:
            await session.exec(update(table).where(table.c.batch_id == batch_id, table.c.chat_id.in_(failed))
                               .values(status=outbox.FAILED))
        await session.commit()


# ------------------------------------------------------------------ audiences

async def test_audiences_count_only_reachable_residents_who_are_not_banned(db):
    everyone = {ADMIN, MODERATOR, RESIDENT, 101, 102, 103, 104, 107}  # not 105 (unreachable), not 106 (banned)
    expected = {
        bc.ALL: len(everyone),
        bc.language_audience("lv"): 4,  # ADMIN, RESIDENT, 101, 102
        bc.language_audience("ru"): 3,  # MODERATOR, 103, 104
        bc.language_audience("en"): 1,
        bc.SUBSCRIBERS: 2,  # 101, 103
        bc.supporters_audience(db.idea_id): 2,  # 101, 103
    }
    for audience, count in expected.items():
        check = await recipients(db, audience)
        assert (check.outcome, check.recipients) == (bc.Outcome.DONE, count), audience


async def test_an_empty_audience_or_an_unknown_idea_is_refused_and_nothing_is_written(db):
    async with db() as session:
        other_idea = (await session.exec(select(Idea.id).where(Idea.id != db.idea_id).order_by(Idea.id))).first()
    assert (await recipients(db, bc.supporters_audience(other_idea))).outcome is bc.Outcome.EMPTY
    assert (await recipients(db, bc.supporters_audience(999_999))).outcome is bc.Outcome.NOT_FOUND
    assert (await send(db, bc.supporters_audience(other_idea))).outcome is bc.Outcome.EMPTY
    assert (await send(db, bc.supporters_audience(999_999))).outcome is bc.Outcome.NOT_FOUND
    assert await all_rows(db, Broadcast) == [] and await all_rows(db, OutboxMessage) == []
    assert await all_rows(db, AuditEntry) == []


def test_audience_codes_round_trip_and_forged_ones_are_refused():
    for audience in (bc.ALL, bc.SUBSCRIBERS, bc.language_audience("ru"), bc.supporters_audience(12)):
        assert bc.parse_audience(audience.code) == audience
        assert len(audience.code) <= 32
    for forged in ("", "lang:de", "idea:0", "idea:-1", "idea:99999999999", "idea:x", "everyone", None):
        assert bc.parse_audience(forged) is None
    assert parse_idea_id(" #12 ") == 12 and parse_idea_id("12 13") is None


def test_the_text_is_shown_literally_and_limited():
    assert bc.message_html("<b>1 & 2</b>") == "&lt;b&gt;1 &amp; 2&lt;/b&gt;"
    assert check_broadcast("  \n ").problem == "empty"
    assert check_broadcast("ā" * 3500).problem is None
    assert check_broadcast("ā" * 3501).problem == "too_long"
    assert check_broadcast("😀" * 1751).problem == "too_long"  # Telegram counts UTF-16 units: 3,502
    assert check_broadcast("\n  Sveiki!  \n").text == "Sveiki!"


# ------------------------------------------------------------------ sending

async def test_a_broadcast_writes_its_row_one_message_per_recipient_and_an_audit_entry(db):
    result = await send_approved(db, bc.language_audience("ru"), actor=MODERATOR)
    assert result.outcome is bc.Outcome.DONE and result.recipients == 3
    [broadcast] = await all_rows(db, Broadcast)
    assert (broadcast.moderator_id, broadcast.audience, broadcast.total, broadcast.summary_sent) == (
        MODERATOR, "lang:ru", 3, False)
    assert broadcast.text == "Sanāksme 5. maijā <b>Rīgā</b> & online"  # as typed
    rows = await all_rows(db, OutboxMessage)
    assert sorted(row.chat_id for row in rows) == [103, 104, MODERATOR]
    for row in rows:
        assert row.kind == "broadcast" and row.batch_id == broadcast.batch_id and row.status == outbox.PENDING
        assert row.dedupe_key == f"broadcast:{broadcast.id}:{row.chat_id}"
        assert row.text == "Sanāksme 5. maijā &lt;b&gt;Rīgā&lt;/b&gt; &amp; online"
    [entry] = await all_rows(db, AuditEntry, AuditEntry.action == "broadcast")
    assert (entry.moderator_id, entry.action) == (MODERATOR, "broadcast")
    after = json.loads(entry.after)
    assert after["broadcast_id"] == broadcast.id and after["recipients"] == 3 and after["audience"] == "lang:ru"
    assert result.view.progress.total == 3 and result.view.progress.waiting == 3


async def test_supporters_audience_is_audited_on_the_idea(db):
    result = await send(db, bc.supporters_audience(db.idea_id))
    assert result.recipients == 2
    [entry] = await all_rows(db, AuditEntry)
    assert entry.idea_id == db.idea_id
    assert sorted(row.chat_id for row in await all_rows(db, OutboxMessage)) == [101, 103]


async def test_confirm_pressed_twice_writes_the_broadcast_once(db):
    first = await send(db, bc.SUBSCRIBERS)
    again = await send(db, bc.SUBSCRIBERS)
    assert first.outcome is bc.Outcome.DONE and again.outcome is bc.Outcome.ALREADY
    assert again.view.broadcast.id == first.view.broadcast.id
    # And twice at the same moment (two updates handled concurrently), with another draft.
    results = await asyncio.gather(send(db, bc.ALL, batch="b2"), send(db, bc.ALL, batch="b2"))
    assert sorted(result.outcome for result in results) == sorted([bc.Outcome.DONE, bc.Outcome.ALREADY])
    assert len(await all_rows(db, Broadcast)) == 2
    assert len(await all_rows(db, OutboxMessage)) == 2 + 8
    assert len(await all_rows(db, AuditEntry)) == 2


async def test_only_moderators_broadcast(db):
    async with db() as session:
        await session.exec(update(User).where(User.id == MODERATOR).values(is_banned=True))
        await session.commit()
    for actor in (RESIDENT, MODERATOR, 424242):  # a resident, a banned moderator, an unknown id
        assert (await send(db, bc.ALL, actor=actor)).outcome is bc.Outcome.NO_RIGHTS
        assert (await recipients(db, bc.ALL, actor=actor)).outcome is bc.Outcome.NO_RIGHTS
        async with db() as session:
            assert await bc.recent(session, SETTINGS, actor) is None
    assert await all_rows(db, Broadcast) == [] and await all_rows(db, OutboxMessage) == []


# ------------------------------------------------------------------ progress, pause, resume

async def test_pause_and_resume_move_only_the_waiting_messages(db):
    sent = await send(db, bc.ALL)
    broadcast = sent.view.broadcast
    async with db() as session:
        claimed = await outbox.claim_due(session, 2, now=NOW)  # two in flight
        await session.commit()
    assert len(claimed) == 2
    async with db() as session:
        paused = await bc.pause(session, SETTINGS, ADMIN, broadcast.id, NOW)
    assert (paused.outcome, paused.changed, paused.view.progress.paused, paused.view.progress.sent) == (
        bc.Outcome.DONE, 6, 6, 2)
    async with db() as session:
        assert (await bc.pause(session, SETTINGS, ADMIN, broadcast.id, NOW)).outcome is bc.Outcome.NOTHING
        assert (await bc.pause(session, SETTINGS, RESIDENT, broadcast.id, NOW)).outcome is bc.Outcome.NO_RIGHTS
        assert (await bc.resume(session, SETTINGS, RESIDENT, broadcast.id, NOW)).outcome is bc.Outcome.NO_RIGHTS
        assert (await bc.progress(session, SETTINGS, ADMIN, 999_999)).outcome is bc.Outcome.NOT_FOUND
        resumed = await bc.resume(session, SETTINGS, MODERATOR, broadcast.id, NOW)
    assert (resumed.outcome, resumed.changed, resumed.view.progress.waiting) == (bc.Outcome.DONE, 6, 6)
    actions = [entry.action for entry in await all_rows(db, AuditEntry)]
    assert actions == ["broadcast", "broadcast_pause", "broadcast_resume"]
    async with db() as session:
        [view] = await bc.recent(session, SETTINGS, ADMIN)
    assert view.broadcast.id == broadcast.id and view.progress.total == 8 and not view.finished


# ------------------------------------------------------------------ the summary

async def test_the_summary_is_written_once_when_the_batch_is_done(db):
    ctx = job_context(db)
    result = await send_approved(db, bc.language_audience("ru"), actor=MODERATOR)
    batch_id = result.view.broadcast.batch_id
    assert await broadcast_summaries(ctx) == 0  # still waiting
    async with db() as session:
        await bc.pause(session, SETTINGS, ADMIN, result.view.broadcast.id, NOW)
    assert await broadcast_summaries(ctx) == 0  # paused is not finished
    async with db() as session:
        await bc.resume(session, SETTINGS, ADMIN, result.view.broadcast.id, NOW)
        await outbox.claim_due(session, 10, now=utcnow())
        await session.commit()
    assert await broadcast_summaries(ctx) == 0  # in flight: a row may still be retried

    await finish_batch(db, batch_id, blocked={103}, failed={104})
    assert await broadcast_summaries(ctx) == 1
    assert await broadcast_summaries(ctx) == 0  # the job again: nothing more
    [summary] = await all_rows(db, OutboxMessage, OutboxMessage.kind == "broadcast_summary")
    assert summary.chat_id == MODERATOR and summary.dedupe_key == f"broadcast-summary:{result.view.broadcast.id}"
    # In the moderator's language (Russian), with the counts: 1 sent, 1 blocked, 1 failed, of 3.
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert i18n.gettext("🚫 Blocked the bot: {blocked} · ⚠️ Failed: {failed}").format(
            blocked=1, failed=1) in summary.text
        assert i18n.gettext("✉️ Sent: <b>{sent}</b> of {total}").format(sent=1, total=3) in summary.text
    [broadcast] = await all_rows(db, Broadcast)
    assert broadcast.summary_sent


async def test_rows_left_sending_by_a_crash_do_not_hold_the_summary_back(db):
    result = await send(db, bc.SUBSCRIBERS)
    async with db() as session:  # claimed long ago by a sender that was killed: never sent again
        assert len(await outbox.claim_due(session, 10, now=utcnow() - bc.STUCK_AFTER - timedelta(minutes=1))) == 2
        await session.commit()
    assert await broadcast_summaries(job_context(db)) == 1
    [summary] = await all_rows(db, OutboxMessage, OutboxMessage.kind == "broadcast_summary")
    assert f"#{result.view.broadcast.id}" in summary.text
    assert t("lv", "✉️ Sent: <b>{sent}</b> of {total}", sent=2, total=2) in summary.text  # the admin reads Latvian


async def test_the_summary_job_running_concurrently_writes_each_summary_once(db):
    ctx = job_context(db)
    batches = []
    for batch in ("c1", "c2", "c3"):
        result = await send(db, bc.SUBSCRIBERS, batch=batch)
        batches.append(result.view.broadcast.batch_id)
    for batch_id in batches:
        await finish_batch(db, batch_id)
    written = await asyncio.gather(*(broadcast_summaries(job_context(db)) for _ in range(4)))
    assert sum(written) == 3
    assert await broadcast_summaries(ctx) == 0
    summaries = await all_rows(db, OutboxMessage, OutboxMessage.kind == "broadcast_summary")
    assert sorted(row.dedupe_key for row in summaries) == sorted(
        f"broadcast-summary:{broadcast.id}" for broadcast in await all_rows(db, Broadcast))
    assert all(row.chat_id == ADMIN for row in summaries)
