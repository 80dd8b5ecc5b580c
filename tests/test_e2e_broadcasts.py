"""A moderator's broadcast, end to end: the real bot and HTTP session against the fake Bot API server, the real
outbox sender delivering it, the summary job telling the moderator; and residents who try the moderator's commands
and buttons, with no effect."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.delivery import Sender
from bot.domain import digests
from bot.i18n import create_i18n
from bot.job_context import JobContext
from bot.jobs import broadcast_summaries
from bot.ui.callbacks import BroadcastButton, BroadcastStep
from bot.ui.digests_screens import DigestScreens
from storage import outbox as outbox_store
from storage.models import AuditEntry, Broadcast, Category, Idea, OutboxMessage, User
from tests.conftest import BOT_USERNAME, App, eventually, load_example
from tests.i18n_helpers import t

ADMIN = 7001
TEXT = "Tikšanās rīt 18:00 <b>Rīgā</b> & online — приходите! <i>не курсив</i>"


@pytest.fixture
async def bc_app(fake_telegram, sqlite_sessions, clock):
    """The usual app with an admin (ADMIN_IDS); English for Telegram languages other than Latvian and Russian (so
    that the admin reads English); the rate limit raised for the many forged presses."""
    await load_example(sqlite_sessions)
    application = App(fake_telegram, sqlite_sessions, clock, admin_ids=frozenset({ADMIN}),
                      rate_limit_per_minute=10_000, default_language="en")
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks(), fake_telegram.unanswered_callbacks()
    refused = [call for call in fake_telegram.requests
               if not call.ok and "message is not modified" not in (call.description or "")
               and "blocked" not in (call.description or "")]
    assert not refused, [(call.method, call.description) for call in refused]


def en(msgid: str, **values) -> str:
    return t("en", msgid, **values)


async def resident(app: App, language: str, **flags):
    person = app.resident(language)
    await person.send("/start")
    if flags:
        async with app.sessions() as session:
            await session.exec(update(User).where(User.id == person.user_id).values(**flags))
            await session.commit()
    return person


def quick_sender(app: App) -> Sender:
    return Sender(app.bot, app.sessions, rate_per_second=200.0, chat_interval=0.05, idle_poll=0.05)


async def deliver(app: App) -> None:
    """Run the sender until nothing is due."""
    sender = quick_sender(app)

    async def nothing_due() -> bool:
        await sender.run_once()
        async with app.sessions() as session:
            return not await outbox_store.has_due(session)

    await eventually(nothing_due, what="everything due delivered")


def job_context(app: App) -> JobContext:
    return JobContext(sessions=app.sessions, settings=app.settings, i18n=create_i18n(), clock=app.clock,
                      bot_username=BOT_USERNAME)


def bot_texts(app: App, chat_id: int) -> list[str]:
    return [message.text or "" for message in app.fake.messages(chat_id)]


async def rows(app: App, model, *conditions) -> list:
    async with app.sessions() as session:
        return list((await session.exec(select(model).where(*conditions))).all())


async def test_a_moderator_broadcasts_to_russian_speakers_pauses_resumes_and_gets_the_summary(bc_app):
    russian = [await resident(bc_app, "ru") for _ in range(3)]
    blocks_later = await resident(bc_app, "ru")
    banned = await resident(bc_app, "ru", is_banned=True)
    gone = await resident(bc_app, "ru")
    await gone.block()  # Telegram told the bot: unreachable, not counted
    others = [await resident(bc_app, "lv"), await resident(bc_app, "en")]
    admin = bc_app.resident("en", user_id=ADMIN)

    menu = await admin.send("/broadcast")
    assert en("📢 <b>New broadcast</b>").replace("<b>", "").replace("</b>", "") in menu.text
    assert "🗣 Русский" in menu.buttons and en("👥 All residents") in menu.buttons
    prompt = await admin.press("🗣 Русский")
    assert "4 recipients now" in prompt.text  # the three Russian speakers and the one who blocks later

    previewed = await admin.send(TEXT)
    preview, confirm = previewed.sent[-2], previewed.sent[-1]
    assert preview.text == TEXT and not preview.entities and not preview.reply_markup  # literally, as residents
    assert "4 recipients" in confirm.text and "Русский" in confirm.text
    assert confirm.button_texts == [en("✅ Confirm and send"), en("✏️ Edit the text"), en("✖️ Cancel")]

    started = await admin.press(en("✅ Confirm and send"))
    assert started.edited and en("✉️ Sent: <b>{sent}</b> of {total}", sent=0, total=4).replace(
        "<b>", "").replace("</b>", "") in started.text
    assert "Waiting: 4 · time left: about 1 second" in started.text  # 4 messages at 25 a second
    [broadcast] = await rows(bc_app, Broadcast)
    assert (broadcast.audience, broadcast.total, broadcast.moderator_id) == ("lang:ru", 4, ADMIN)
    [entry] = await rows(bc_app, AuditEntry, AuditEntry.action == "broadcast")
    assert entry.moderator_id == ADMIN

    paused = await admin.press(en("⏸ Pause"))
    assert paused.alerts[0].text == "⏸ Paused: 4 messages wait."
    assert en("▶️ Resume") in paused.buttons and en("⏸ Pause") not in paused.buttons
    await deliver(bc_app)
    assert all(TEXT not in bot_texts(bc_app, person.user_id) for person in [*russian, blocks_later])

    resumed = await admin.press(en("▶️ Resume"))
    assert resumed.alerts[0].text == "▶️ Resumed: 4 messages go out again."
    bc_app.fake.block(blocks_later.user_id)  # blocked the bot after the broadcast was written
    await deliver(bc_app)

    delivered = [call for call in bc_app.fake.calls("sendMessage")
                 if call.ok and call.message.text == TEXT and call.chat_id != ADMIN]  # not the preview
    assert sorted(call.chat_id for call in delivered) == sorted(person.user_id for person in russian)
    assert {call.params["text"] for call in delivered} == {
        "Tikšanās rīt 18:00 &lt;b&gt;Rīgā&lt;/b&gt; &amp; online — приходите! &lt;i&gt;не курсив&lt;/i&gt;"}
    statuses = sorted((row.chat_id, row.status) for row in await rows(bc_app, OutboxMessage,
                                                                        OutboxMessage.kind == "broadcast"))
    assert statuses == sorted([*((person.user_id, "sent") for person in russian),
                               (blocks_later.user_id, "blocked")])
    assert not (await rows(bc_app, User, User.id == blocks_later.user_id))[0].is_reachable
    for person in [banned, gone, *others]:  # not in the audience: nothing written, nothing sent
        assert TEXT not in bot_texts(bc_app, person.user_id)

    refreshed = await admin.press(en("🔄 Refresh"))
    plain = refreshed.text
    assert "Sent: 3 of 4" in plain and "Blocked the bot: 1" in plain and "Failed: 0" in plain
    assert en("✅ Finished.") in plain

    assert await broadcast_summaries(job_context(bc_app)) == 1
    assert await broadcast_summaries(job_context(bc_app)) == 0
    await deliver(bc_app)
    summary = bc_app.fake.last_message(ADMIN)
    assert summary.text.startswith(f"📢 Broadcast #{broadcast.id} is finished")
    assert "Sent: 3 of 4" in summary.text and "Blocked the bot: 1 · ⚠️ Failed: 0" in summary.text
    assert len([text for text in bot_texts(bc_app, ADMIN) if "is finished" in text]) == 1

    listing = await admin.send("/broadcasts")
    assert f"#{broadcast.id}" in listing.text and "sent 3 of 4 · blocked 1 · failed 0" in listing.text


async def test_an_empty_audience_is_refused_and_an_unknown_idea_asked_again(bc_app):
    await resident(bc_app, "lv")
    admin = bc_app.resident("en", user_id=ADMIN)
    await admin.send("/broadcast")
    refused = await admin.press("🗣 Русский")  # nobody reads Russian here
    assert refused.alerts and "Nobody to send to" in refused.alerts[0].text
    assert "🗣 Русский" in refused.buttons  # still choosing

    asked = await admin.press(en("👍 Supporters of an idea…"))
    assert "Send its number" in asked.text
    unknown = await admin.send("999999")
    assert "There is no idea #999999." in unknown.text
    nobody = await admin.send("#1")
    assert "Nobody to send to" in nobody.text
    await admin.send("/cancel")
    assert await rows(bc_app, Broadcast) == [] and await rows(bc_app, OutboxMessage) == []


async def test_edit_replaces_the_draft_and_the_old_confirm_sends_nothing(bc_app):
    readers = [await resident(bc_app, "lv") for _ in range(2)]
    admin = bc_app.resident("en", user_id=ADMIN)
    await admin.send("/broadcast")
    await admin.press(en("👥 All residents"))
    too_long = await admin.send("ā" * 3501)
    assert "too long: 3,501 characters, at most 3,500" in too_long.text
    first = await admin.send("Pirmais teksts")
    old_confirm = next(data for row in first.sent[-1].buttons for text, data in row
                       if text == en("✅ Confirm and send"))
    await admin.press(en("✏️ Edit the text"))
    second = await admin.send("Otrais teksts")
    assert second.sent[-2].text == "Otrais teksts"
    stale = await admin.press_data(old_confirm, first.sent[-1].message_id)
    assert stale.alerts and "out of date" in stale.alerts[0].text
    assert await rows(bc_app, Broadcast) == []

    cancelled = await admin.press(en("✖️ Cancel"))
    assert en("Cancelled. Nothing was sent.") in cancelled.text
    again = await admin.press_data(old_confirm, first.sent[-1].message_id)
    assert again.alerts and await rows(bc_app, Broadcast) == []
    # The conversation is over: a text is a search again.
    assert "Otrais" not in (await admin.send("budžets")).text
    assert all(not bot_texts(bc_app, person.user_id)[1:] for person in readers)


async def test_confirm_pressed_twice_sends_once(bc_app):
    await resident(bc_app, "lv")
    admin = bc_app.resident("en", user_id=ADMIN)
    await admin.send("/broadcast")
    await admin.press(en("👥 All residents"))
    confirm = (await admin.send("Vienreiz")).sent[-1]
    data = next(data for row in confirm.buttons for text, data in row if text == en("✅ Confirm and send"))
    await asyncio.gather(admin.press_data(data, confirm.message_id), admin.press_data(data, confirm.message_id))
    assert len(await rows(bc_app, Broadcast)) == 1
    assert len(await rows(bc_app, OutboxMessage, OutboxMessage.kind == "broadcast")) == 2  # the resident, the admin


async def test_residents_cannot_broadcast_list_preview_or_press_broadcast_buttons(bc_app):
    readers = [await resident(bc_app, "ru") for _ in range(2)]
    admin = bc_app.resident("en", user_id=ADMIN)
    await admin.send("/broadcast")
    await admin.press("🗣 Русский")
    confirm = (await admin.send("Tikai moderatoriem")).sent[-1]
    nonce_data = next(data for row in confirm.buttons for text, data in row if text == en("✅ Confirm and send"))
    await admin.press(en("✅ Confirm and send"))
    [broadcast] = await rows(bc_app, Broadcast)

    async def snapshot():
        async with bc_app.sessions() as session:
            outbox = sorted((row.id, row.status) for row in (await session.exec(select(OutboxMessage))).all())
            broadcasts = [row.model_dump() for row in (await session.exec(select(Broadcast))).all()]
            audit = len((await session.exec(select(AuditEntry))).all())
        return outbox, broadcasts, audit

    before = await snapshot()
    intruder = readers[0]
    unknown = t("ru", "🤔 There is no such command. /help lists them all.")
    for command in ("/broadcast", "/broadcasts", "/digest preview", "/digest"):
        reply = await intruder.send(command)
        assert reply.text == unknown, (command, reply.describe())
    forged = [
        BroadcastButton(act="p", id=broadcast.id), BroadcastButton(act="u", id=broadcast.id),
        BroadcastButton(act="r", id=broadcast.id), BroadcastStep(act="a", a="all"),
        BroadcastStep(act="s", n="0" * 32), BroadcastStep(act="e", n="0" * 32), BroadcastStep(act="x"),
    ]
    for data in [*(item.pack() for item in forged), nonce_data]:
        reply = await intruder.press_data(data, intruder.last.message_id)
        assert reply.alerts[0].text == t("ru", "This button is out of date. Here is a fresh menu.")
    assert await snapshot() == before

    # A moderator whose rights were taken away is refused on the next press, too.
    async with bc_app.sessions() as session:
        await session.exec(update(User).where(User.id == ADMIN).values(is_banned=True))
        await session.commit()
    reply = await admin.press_data(BroadcastButton(act="p", id=broadcast.id).pack(), admin.last.message_id)
    assert reply.alerts and await snapshot() == before


async def test_the_preview_of_a_week_with_nothing_new_says_so(bc_app):
    admin = bc_app.resident("ru", user_id=ADMIN)
    assert (await admin.send("/digest preview")).text == t(
        "ru", "The next weekly digest would be empty: there is nothing new to tell subscribers.")
    assert await rows(bc_app, OutboxMessage) == []


async def test_digest_preview_sends_the_real_digest_only_to_the_moderator(bc_app):
    async with bc_app.sessions() as session:  # something new this week, so that there is a digest
        category = (await session.exec(select(Category).order_by(Category.id))).first()
        session.add(Idea(campaign_id=category.campaign_id, category_id=category.id, title_lv="Atvērti līgumi",
                         title_ru="Открытые договоры", body_lv="Publicēt visus līgumus.", body_ru="Публиковать.",
                         created_at=bc_app.clock() - timedelta(days=1)))
        await session.commit()
    reader = await resident(bc_app, "lv")
    await reader.send("/start")
    admin = bc_app.resident("ru", user_id=ADMIN)
    await admin.send("/start")
    async with bc_app.sessions() as session:
        digest = await digests.next_digest(session, bc_app.clock(), bc_app.settings.tz)
    out = DigestScreens(create_i18n()).digest(digest, "ru").out  # what the weekly job would write in Russian
    text, markup = out.text, out.markup
    assert "Открытые договоры" in text
    reply = await admin.send("/digest preview")
    assert reply.sent[-2].text == t("ru", "👀 Preview of the next weekly digest, in your language. Only you "
                                          "received it.")
    assert reply.sent[-1].html == text
    assert reply.sent[-1].button_texts == [button["text"] for row in markup["inline_keyboard"] for button in row]
    assert await rows(bc_app, OutboxMessage) == []  # a preview writes nothing
    assert len(bot_texts(bc_app, reader.user_id)) == 2  # their two /start answers, no digest


async def test_a_forgotten_draft_expires(bc_app):
    await resident(bc_app, "lv")
    admin = bc_app.resident("en", user_id=ADMIN)
    await admin.send("/broadcast")
    await admin.press(en("👥 All residents"))
    bc_app.clock.now += timedelta(hours=1)
    late = await admin.send("Novēlots teksts")
    assert "expired" in late.text and await rows(bc_app, Broadcast) == []


async def test_with_paid_broadcasts_the_broadcast_goes_paid_after_personal_and_moderators_messages(
        fake_telegram, sqlite_sessions, clock):
    """PAID_BROADCAST_RATE set: the confirmation shows both times and the Stars; the broadcast's messages carry
    allow_paid_broadcast, a resident's notification and a moderators' post queued after it do not, and go first."""
    await load_example(sqlite_sessions)
    app = App(fake_telegram, sqlite_sessions, clock, admin_ids=frozenset({ADMIN}), rate_limit_per_minute=10_000,
              default_language="en", paid_broadcast_rate=200)
    try:
        latvians = [await resident(app, "lv") for _ in range(5)]
        notified, moderators_chat = await resident(app, "ru"), await resident(app, "ru")
        admin = app.resident("en", user_id=ADMIN)
        await admin.send("/broadcast")
        await admin.press("🗣 Latviešu")
        confirm = (await admin.send("Rīt tikšanās")).sent[-1]
        assert "5 recipients" in confirm.text
        assert "⏱ At the free pace of 25 messages a second it would take about 1 second." in confirm.text
        assert ("💫 Paid broadcasting is on: 200 messages a second, about 1 second, at no cost (it stays within "
                "Telegram's free 30 a second).") in confirm.text
        await admin.press(en("✅ Confirm and send"))
        async with app.sessions() as session:  # queued after the broadcast, to residents outside its audience
            await outbox_store.enqueue(session, notified.user_id, "Your idea was published", kind="notification")
            await outbox_store.enqueue(session, moderators_chat.user_id, "A new proposal", kind="moderation")
            await session.commit()

        # One request at a time, so the order of the requests is the order of the claims.
        sender = Sender(app.bot, app.sessions, rate_per_second=50.0, paid_rate=200, max_in_flight=1,
                        chat_interval=0.05, idle_poll=0.05)

        async def nothing_due() -> bool:
            await sender.run_once()
            async with app.sessions() as session:
                return not await outbox_store.has_due(session)

        await eventually(nothing_due, what="everything due delivered")
    finally:
        await app.close()
    outgoing = [call for call in fake_telegram.calls("sendMessage") if call.ok and call.chat_id != ADMIN  # preview
                and call.params["text"] in ("Rīt tikšanās", "Your idea was published", "A new proposal")]
    assert [call.params["text"] for call in outgoing[:2]] == ["Your idea was published", "A new proposal"]
    broadcast = outgoing[2:]
    assert sorted(call.chat_id for call in broadcast) == sorted(person.user_id for person in latvians)
    assert all(call.params.get("allow_paid_broadcast") is True for call in broadcast)
    assert not any("allow_paid_broadcast" in call.params for call in outgoing[:2])
    assert all(message.paid_broadcast for person in latvians for message in fake_telegram.messages(person.user_id)
               if message.text == "Rīt tikšanās")
