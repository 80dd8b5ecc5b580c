"""Issue 9, authorization and strict input: stories of a hostile group member, a rogue moderator and forged
numbers, each of which misbehaved before (see the issue's numbered findings)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.domain import staff, voting
from bot.domain.lifecycle import Outcome
from bot.ui import callbacks as cb
from handlers import moderation_args as parse
from storage.models import AuditEntry, Idea, IdeaStatus, User
from storage.users import get_or_create_user
from tests import test_e2e_broadcasts as broadcast_stories
from tests import test_e2e_moderation as moderation_stories
from tests.conftest import CAMPAIGN_OPEN, App, load_example
from tests.i18n_helpers import t
from tests.test_e2e_moderation import ADMIN, proposal, public_ideas, resident, support_via_bot

mod_app = moderation_stories.mod_app  # the moderators' app fixture

GROUP = {"id": -1009988776655, "type": "supergroup", "title": "ManaBalss moderators"}
OTHER_GROUP = {"id": -1001122334455, "type": "supergroup", "title": "Kaimiņi"}
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}


@pytest.fixture
async def group_app(fake_telegram, sqlite_sessions, clock):
    """The bot with a moderators' group (the fake keeps its messages like a chat's)."""
    await load_example(sqlite_sessions)
    fake_telegram.add_user(GROUP["id"], first_name="ManaBalss moderators")
    application = App(fake_telegram, sqlite_sessions, clock, admin_ids=frozenset({ADMIN}),
                      moderation_chat_id=GROUP["id"])
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks(), fake_telegram.unanswered_callbacks()


def _group_press(app: App, user_id: int, data: str, message_id: int = 77) -> dict:
    """A press on a (moderation) message of the group, as Telegram delivers it."""
    update = app.fake.callback_update(user_id, message_id, data)
    update["callback_query"]["message"] = {"message_id": message_id, "date": int(time.time()), "chat": GROUP,
                                           "from": app.fake.bot_user(), "text": "🛡 Idea #1"}
    return update


async def _user(app: App, user_id: int) -> User:
    async with app.sessions() as session:
        return await session.get(User, user_id)


# ------------------------------------------------------------------ 1. shared messages are never edited

async def test_a_forbidden_press_in_the_group_is_answered_without_touching_the_card(group_app, caplog):
    idea_id = await proposal(group_app, 4001)
    member = group_app.resident("lv")
    for data in (cb.Mod(act=cb.MOD_PUBLISH, id=idea_id, v=1).pack(), "i:s:1", "forged"):
        update = _group_press(group_app, member.user_id, data)
        await group_app.feed(update)
        assert group_app.fake.callbacks[update["callback_query"]["id"]].answered
    methods = {call.method for call in group_app.fake.requests}
    assert "editMessageText" not in methods and "sendMessage" not in methods, methods
    async with group_app.sessions() as session:
        assert (await session.get(Idea, idea_id)).status == IdeaStatus.PENDING


# ------------------------------------------------------------------ 2. bans of moderators

async def test_banning_a_moderator_revokes_the_role_and_only_an_admin_lifts_it(mod_app):
    admin = await resident(mod_app, user_id=ADMIN)
    rogue, colleague = await resident(mod_app, user_id=5101), await resident(mod_app, user_id=5102)
    await admin.send("/moderators add 5101")
    await admin.send("/moderators add 5102")
    banned = await admin.send("/ban 5101")
    assert t("lv", "🚫 Resident {user} is banned: they can no longer propose, support or report ideas.",
             user=5101) in banned.text
    user = await _user(mod_app, 5101)
    assert user.is_banned and not user.is_moderator
    refused = await colleague.send("/unban 5101")
    assert t("lv", "🚫 Only an admin can do this.") in refused.text
    assert (await _user(mod_app, 5101)).is_banned
    # The rogue has no moderator command left, also after an admin lifts the ban (the role stays revoked).
    assert t("lv", "🛡 <b>Moderator commands</b>").replace("<b>", "").replace("</b>", "") not in \
        (await rogue.send("/modhelp")).text
    await admin.send("/unban 5101")
    user = await _user(mod_app, 5101)
    assert not user.is_banned and not user.is_moderator


# A banned moderator is rate limited like anyone: tests/test_rate_limit.py (the limiter lives in bot/rate_limit.py).


# ------------------------------------------------------------------ 4. only a reply to the prompt is a reason

async def test_in_the_group_only_a_reply_to_the_prompt_rejects(group_app):
    idea_id = await proposal(group_app, 4001)
    admin = group_app.resident("lv", user_id=ADMIN)
    await group_app.feed(_group_press(group_app, ADMIN, cb.Mod(act=cb.MOD_TYPE_REASON, id=idea_id, v=1).pack()))
    prompt = group_app.fake.last_message(GROUP["id"])
    assert prompt is not None and str(idea_id) in prompt.text
    await admin.send("Labrīt! Paskatīšos vēlāk…", chat=GROUP)
    async with group_app.sessions() as session:
        assert (await session.get(Idea, idea_id)).status == IdeaStatus.PENDING
    reply_to = {"message_id": prompt.message_id, "date": int(time.time()), "chat": GROUP,
                "from": group_app.fake.bot_user(), "text": prompt.text}
    await admin.send("Tas attiecas uz Saeimu, nevis valdību", chat=GROUP, reply_to_message=reply_to)
    async with group_app.sessions() as session:
        idea = await session.get(Idea, idea_id)
    assert idea.status == IdeaStatus.REJECTED and idea.status_note == "Tas attiecas uz Saeimu, nevis valdību"


# ------------------------------------------------------------------ 5. no resident, no journey; groups are quiet

async def test_updates_without_a_resident_and_resident_commands_in_groups_are_dropped_quietly(app, caplog):
    update = app.fake.message_update(4242, "/start", chat=OTHER_GROUP, sender_chat=OTHER_GROUP,
                                     **{"from": ANONYMOUS_ADMIN})
    person = app.resident("lv")
    with caplog.at_level(logging.ERROR):
        await app.feed(update)
        await person.send("/start", chat=OTHER_GROUP)
        await person.send("/propose", chat=OTHER_GROUP)
        await person.send("budžets", chat=OTHER_GROUP)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [call.method for call in app.fake.requests if call.method != "getMe"] == []


# ------------------------------------------------------------------ 6. leaving a group is no block

async def test_removing_the_bot_from_a_group_does_not_mark_the_remover_unreachable(app):
    person = await resident(app, "lv")
    update = app.fake.my_chat_member_update(person.user_id, "kicked")
    update["my_chat_member"]["chat"] = OTHER_GROUP
    app.fake.unblock(person.user_id)
    await app.feed(update)
    assert (await _user(app, person.user_id)).is_reachable
    await person.block()  # blocking in the private chat still counts
    assert not (await _user(app, person.user_id)).is_reachable


# ------------------------------------------------------------------ 9. ban and void; a banned resident withdraws

async def test_ban_and_void_recounts_in_one_audited_step_and_a_banned_resident_can_withdraw(example_sessions):
    sessions = example_sessions
    async with sessions() as session:
        idea_ids = [idea.id for idea in (await session.exec(
            select(Idea).where(Idea.status == IdeaStatus.PUBLISHED).order_by(Idea.id).limit(3))).all()]
        for user_id in (6001, 6002):
            await get_or_create_user(session, user_id, "lv")
        for idea_id in idea_ids:
            assert (await voting.support(session, idea_id, 6001, CAMPAIGN_OPEN)).changed
        assert (await voting.support(session, idea_ids[0], 6002, CAMPAIGN_OPEN)).changed
    settings = Settings(admin_ids=frozenset({ADMIN}))
    async with sessions() as session:
        result = await staff.set_banned(session, settings, ADMIN, 6001, True, CAMPAIGN_OPEN, void_supports=True)
    assert result.outcome is Outcome.DONE and result.voided == 3
    async with sessions() as session:
        counts = [(await session.get(Idea, idea_id)).supporters_count for idea_id in idea_ids]
        assert counts == [1, 0, 0]
        [entry] = (await session.exec(select(AuditEntry).where(AuditEntry.target_user_id == 6001))).all()
        assert entry.action == "ban" and "voided_supports" in entry.after
    # Banned without voiding: supports stay, the resident may take one back but not give a new one.
    async with sessions() as session:
        await staff.set_banned(session, settings, ADMIN, 6002, True, CAMPAIGN_OPEN)
    async with sessions() as session:
        assert (await voting.support(session, idea_ids[1], 6002, CAMPAIGN_OPEN, banned=True)).refusal is not None
        withdrawn = await voting.withdraw(session, idea_ids[0], 6002, CAMPAIGN_OPEN, banned=True)
    assert withdrawn.changed and withdrawn.refusal is None
    assert withdrawn.card.supporters == 0


# ------------------------------------------------------------------ 11. forged numbers

FORGED_COMMANDS = ("/start idea_²", "/start idea_2147483648", "/start idea_99999999999", "/start idea_١٢")
FORGED_PRESSES = ("i:s:2147483648", "i:s:9223372036854775808", "l:99999999999:top:0", "i:o:²", "l:1:top:99999999",
                  "r:2147483648:spam", "p:cat:9223372036854775808")


async def test_forged_numbers_get_a_friendly_answer_and_no_traceback(fake_telegram, example_sessions, clock, caplog):
    app = App(fake_telegram, example_sessions, clock, rate_limit_per_minute=10_000)
    try:
        person = await resident(app, "lv")
        with caplog.at_level(logging.ERROR):
            for command in FORGED_COMMANDS:
                reply = await person.send(command)
                assert reply.text.startswith(t("lv", "😕 This idea was not found. It may have been removed, or the "
                                                     "link is wrong.")), (command, reply.text)
            for data in FORGED_PRESSES:
                reply = await person.press_data(data, person.last.message_id)
                assert [alert.text for alert in reply.alerts] == [t("lv", "This button is out of date. Here is a "
                                                                          "fresh menu.")], (data, reply.describe())
        assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    finally:
        await app.close()


def test_ids_are_parsed_strictly():
    from bot.domain.ids import parse_id
    from bot.domain.rules import parse_start_payload

    assert parse_start_payload("idea_12") == 12
    assert [parse_start_payload(p) for p in ("idea_²", "idea_١٢", "idea_2147483648", "idea_0", "idea_+1")] == \
        [None] * 5
    assert parse.parse_idea_id("#12") == 12 and parse.parse_idea_id("١٢") is None
    assert parse.parse_user_id("123456789") == 123456789 and parse.parse_user_id("²") is None
    assert parse_id("9223372036854775808", 2**63 - 1) is None
    assert parse.parse_ban("123 void") == (123, True) and parse.parse_ban("123 now") is None


async def test_a_supporter_withdraws_from_an_idea_hidden_by_reports(mod_app):
    [idea_id] = await public_ideas(mod_app, 1)
    supporter = await resident(mod_app, "lv")
    await support_via_bot(supporter, idea_id)
    card_message = supporter.last
    async with mod_app.sessions() as session:
        idea = await session.get(Idea, idea_id)
        idea.hidden = True
        session.add(idea)
        await session.commit()
    reply = await supporter.press(t("lv", "↩️ Withdraw support"), message=card_message)
    assert [alert.text for alert in reply.alerts] == [t("lv", "Your support is withdrawn.")]
    async with mod_app.sessions() as session:
        assert (await session.get(Idea, idea_id)).supporters_count == 0


# ------------------------------------------------------------------ 3. mass broadcasts need a second person

bc_app = broadcast_stories.bc_app  # the broadcast app fixture (English for the admin)


async def _broadcast_to_everyone(person, text: str):
    await person.send("/broadcast")
    await person.press(broadcast_stories.en("👥 All residents"))
    await person.send(text)
    return await person.press(broadcast_stories.en("✅ Confirm and send"))


async def test_a_moderator_broadcast_to_everyone_waits_for_a_second_person_and_a_cooldown(bc_app):
    from storage.models import Broadcast, OutboxMessage

    en = broadcast_stories.en
    residents = [await broadcast_stories.resident(bc_app, "lv") for _ in range(3)]
    admin = bc_app.resident("en", user_id=broadcast_stories.ADMIN)
    await admin.send("/start")
    moderator = await broadcast_stories.resident(bc_app, "en")
    await admin.send(f"/moderators add {moderator.user_id}")

    asked = await _broadcast_to_everyone(moderator, "Phishing? https://example.invalid")
    [broadcast] = await broadcast_stories.rows(bc_app, Broadcast)
    assert broadcast.awaiting_approval and asked.alerts
    assert await broadcast_stories.rows(bc_app, OutboxMessage, OutboxMessage.kind == "broadcast") == []
    [request] = await broadcast_stories.rows(bc_app, OutboxMessage, OutboxMessage.kind == "moderation")
    assert request.chat_id == broadcast_stories.ADMIN and f"/approve {broadcast.id}" in request.text
    own = await moderator.send(f"/approve {broadcast.id}")
    assert own.text == en("🚫 You cannot approve your own broadcast: another moderator or an admin has to.")
    assert await broadcast_stories.rows(bc_app, OutboxMessage, OutboxMessage.kind == "broadcast") == []

    approved = await admin.send(f"/approve {broadcast.id}")
    assert approved.text.startswith(en("✅ Approved: broadcast #{id} is on its way to {recipients}.", id=broadcast.id,
                                       recipients="")[:20])
    written = await broadcast_stories.rows(bc_app, OutboxMessage, OutboxMessage.kind == "broadcast")
    assert {row.chat_id for row in written} >= {person.user_id for person in residents}
    assert (await admin.send(f"/approve {broadcast.id}")).text == en(
        "ℹ️ Broadcast #{id} needs no approval (any more).", id=broadcast.id)

    # Even an admin waits for the cooldown before the next mass broadcast; a small audience needs no wait.
    refused = await _broadcast_to_everyone(admin, "Vēlreiz visiem")
    assert refused.alerts and refused.alerts[0].text.startswith("⏳")
    assert len(await broadcast_stories.rows(bc_app, Broadcast)) == 1
    bc_app.clock.now += timedelta(hours=25)
    await _broadcast_to_everyone(admin, "Pēc dienas visiem")
    assert len(await broadcast_stories.rows(bc_app, Broadcast)) == 2
