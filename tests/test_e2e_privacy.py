"""Residents' data rights, end to end: /privacy in their language, /mydata as a JSON file, /forget after a
confirmation (then no table holds their Telegram id), and the retention of what is kept only for a while."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from bot.config import Settings
from bot.domain import privacy
from bot.runner import create_fsm_storage
from bot.scheduler import job_specs
from storage.models import AuditEntry, CategoryInterest, ConversationState, Idea, JobRun, OutboxMessage, User
from tests.conftest import REDIS_URL, App, service_unavailable
from tests.i18n_helpers import t
from tests.test_e2e_moderation import ADMIN, proposal, public_ideas

RESIDENT = 734519262  # distinctive digits: any trace of them in any column is found by the scan below


@pytest.fixture
async def privacy_app(fake_telegram, example_sessions, clock):
    application = App(fake_telegram, example_sessions, clock, admin_ids=frozenset({ADMIN}),
                      rate_limit_per_minute=10_000)
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks()


async def _traces_of(app: App, user_id: int) -> list[str]:
    """Every column of every table (whatever the schema) holding the id, as a number or inside a text."""
    async with app.sessions() as session:
        connection = await session.connection()
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        found = []
        for table in tables:
            rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).mappings().all()
            for row in rows:
                for column, value in row.items():
                    if value == user_id or (isinstance(value, str) and str(user_id) in value):
                        found.append(f"{table}.{column}")
        return found


@pytest.mark.parametrize("language", ["lv", "ru"])
async def test_privacy_is_explained_in_the_residents_language_and_linked_from_start_and_help(privacy_app, language):
    person = privacy_app.resident(language)
    welcome = await person.send("/start")
    assert "/privacy" in welcome.text and "/privacy" in (await person.send("/help")).text
    explained = await person.send("/privacy")
    assert t(language, "🔒 <b>Your data and your rights</b>").replace("<b>", "").replace("</b>", "") in explained.text
    assert "/mydata" in explained.text and "/forget" in explained.text and "30" in explained.text


async def test_mydata_and_forget_leave_no_trace_of_the_resident(privacy_app):
    app = privacy_app
    person = app.resident("ru", user_id=RESIDENT)
    await person.send("/start")
    first, second, reported = await public_ideas(app, 3)
    for idea_id in (first, second):
        await person.send(f"/start idea_{idea_id}")
        await person.press(t("ru", "👍 Support"))
    await person.send(f"/start idea_{reported}")
    await person.press(t("ru", "⚠️ Report"))
    await person.press(t("ru", "📢 Spam or advertising"))
    pending = await proposal(app, RESIDENT)
    published = await proposal(app, RESIDENT, title_lv="Atvērti dati par pašvaldību budžetiem",
                               body_lv="Publicēt visus pašvaldību budžetus mašīnlasāmā formā katru gadu.")
    admin = app.resident("lv", user_id=ADMIN)
    await admin.send(f"/publish {published}")  # the author's notification waits in the outbox
    await admin.send(f"/ban {RESIDENT}")
    await admin.send(f"/unban {RESIDENT}")
    async with app.sessions() as session:
        category_id = (await session.get(Idea, first)).category_id
        session.add(CategoryInterest(user_id=RESIDENT, category_id=category_id))
        await session.commit()
    await person.send("/propose")  # a draft in flight
    await person.press(person.last.button_texts[0])  # a category: the draft now lives in the conversation
    before = await _traces_of(app, RESIDENT)
    assert {"resident.id", "vote.user_id", "report.user_id", "idea.author_id", "outbox.chat_id",
            "audit_log.target_user_id", "category_interest.user_id"} <= set(before)

    mine = await person.send("/mydata")
    [call] = [call for call in mine.calls if call.method == "sendDocument"]
    document = json.loads(call.params["document"].data)
    assert call.params["document"].filename == "manabalss-my-data.json"
    assert document["telegram_user_id"] == RESIDENT and document["resident"]["language"] == "ru"
    assert {support["idea"] for support in document["supports"]} == {first, second}
    assert {item["idea"] for item in document["proposals"]} == {pending, published}
    assert [report["idea"] for report in document["reports"]] == [reported]
    assert document["settings"]["new_idea_categories"] == [category_id]
    assert document["in_flight"]["conversations"] and document["moderators_actions_about_you"]
    assert b"\n  " in call.params["document"].data  # indented: readable by a person too

    question = await person.send("/forget")
    assert t("ru", "🗑 Yes, erase everything") in question.buttons
    kept = await person.press(t("ru", "✖️ No, keep it"))
    assert t("ru", "👍 Nothing was erased.") in kept.text and await _traces_of(app, RESIDENT)
    await person.send("/forget")
    done = await person.press(t("ru", "🗑 Yes, erase everything"))
    assert t("ru", "✅ Done: we erased everything we kept about you.") in done.text

    assert await _traces_of(app, RESIDENT) == []
    async with app.sessions() as session:
        assert (await session.get(Idea, published)).author_id is None  # the campaign's record stays
        assert await session.get(Idea, pending) is None
        assert [(await session.get(Idea, idea)).supporters_count for idea in (first, second)] == [0, 0]
        assert not (await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == RESIDENT))).all()
        bans = (await session.exec(select(AuditEntry).where(AuditEntry.action.in_(("ban", "unban"))))).all()
    assert len(bans) == 2 and all(json.loads(entry.after)["resident"].startswith("forgotten-") for entry in bans)


async def test_retention_prunes_old_finished_rows_once_a_day(sessions, clock):
    now = clock.now
    old, recent = now - timedelta(days=31), now - timedelta(days=1)
    async with sessions() as session:
        session.add(User(id=5, language="lv"))
        for created, status in ((old, "sent"), (old, "pending"), (recent, "sent"), (old, "failed")):
            session.add(OutboxMessage(chat_id=5, kind="digest", text="…", status=status, created_at=created,
                                      not_before=created))
        session.add(JobRun(kind="weekly_digest", run_key="2026-W40", created_at=old))
        session.add(JobRun(kind="weekly_digest", run_key="2026-W48", created_at=recent))
        session.add(ConversationState(key="1:5:5", data="{}", updated_at=old))
        session.add(ConversationState(key="1:6:6", data="{}", updated_at=recent))
        await session.commit()
    async with sessions() as session:
        counts = await privacy.prune(session, now, retention_days=30)
    assert counts == {"outbox": 2, "job_run": 1, "conversation_state": 1}
    async with sessions() as session:
        assert sorted(row.status for row in (await session.exec(select(OutboxMessage))).all()) == ["pending", "sent"]
        assert await privacy.prune(session, now, retention_days=30) is None  # once a day
    assert any(spec.func == "bot.jobs:retention" for spec in job_specs(Settings()))


async def test_redis_conversations_expire():
    settings = Settings(redis_url=REDIS_URL, retention_days=30)
    storage = create_fsm_storage(settings, sessions=None)
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    try:
        await storage.set_data(key, {"title": "Melnraksts"})
        ttl = await storage.redis.ttl(storage.key_builder.build(key, "data"))
    except OSError as error:
        service_unavailable("Redis", error)
    finally:
        await storage.close()
    assert 29 * 86400 < ttl <= 30 * 86400
