"""Moderators' stories, end to end: the real bot and HTTP session against the fake Bot API server.

Proposals are created directly in the database here (the residents' proposal flow has its own stories)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.domain.campaigns import collect_stats
from bot.ui import callbacks as cb
from storage.models import AuditEntry, Category, Idea, IdeaStatus, OutboxMessage, StatusChange, User, Vote
from storage.users import get_or_create_user
from tests.conftest import App, load_example
from tests.i18n_helpers import t

S = IdeaStatus
ADMIN, SECOND_ADMIN = 7001, 7002
SUPPORT = "👍 Support"


@pytest.fixture
async def mod_app(fake_telegram, sqlite_sessions, clock):
    """The usual app, with two admins (ADMIN_IDS) and no moderators' chat (posts go to the admins). The residents
    here press many forged buttons in a minute: the rate limit is raised so that every press reaches the bot."""
    await load_example(sqlite_sessions)
    application = App(fake_telegram, sqlite_sessions, clock, admin_ids=frozenset({ADMIN, SECOND_ADMIN}),
                      rate_limit_per_minute=10_000)
    yield application
    await application.close()
    assert not fake_telegram.unanswered_callbacks(), fake_telegram.unanswered_callbacks()
    # Every text was valid HTML within Telegram's limits (the fake refuses what Telegram refuses).
    refused = [call for call in fake_telegram.requests
               if not call.ok and "message is not modified" not in (call.description or "")]
    assert not refused, [(call.method, call.description) for call in refused]


async def resident(app: App, language: str = "lv", user_id: int | None = None):
    """A resident who has started the bot (so they have a row and a language)."""
    person = app.resident(language, user_id=user_id)
    await person.send("/start")
    return person


async def proposal(app: App, author_id: int, **texts) -> int:
    """A pending proposal, as the residents' proposal flow leaves it."""
    async with app.sessions() as session:
        await get_or_create_user(session, author_id, "lv")
        category = (await session.exec(select(Category).order_by(Category.id))).first()
        fields = texts or {"title_lv": "Atvērti dati par pašvaldību iepirkumiem",
                           "body_lv": "Publicēt visus pašvaldību iepirkumus mašīnlasāmā formā katru mēnesi."}
        idea = Idea(campaign_id=category.campaign_id, category_id=category.id, status=S.PENDING,
                    author_id=author_id, created_at=app.clock(), **fields)
        session.add(idea)
        await session.commit()
        return idea.id


async def public_ideas(app: App, count: int) -> list[int]:
    async with app.sessions() as session:
        rows = await session.exec(select(Idea.id).where(Idea.status == S.PUBLISHED).order_by(Idea.id).limit(count))
        return list(rows.all())


async def idea_of(app: App, idea_id: int) -> Idea:
    async with app.sessions() as session:
        return await session.get(Idea, idea_id)


async def voters(app: App, idea_id: int) -> set[int]:
    async with app.sessions() as session:
        return set((await session.exec(select(Vote.user_id).where(Vote.idea_id == idea_id))).all())


async def outbox(app: App, kind: str) -> list[OutboxMessage]:
    async with app.sessions() as session:
        rows = await session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
        return list(rows.all())


async def snapshot(app: App) -> tuple:
    """Everything a moderator could change."""
    async with app.sessions() as session:
        ideas = [idea.model_dump() for idea in (await session.exec(select(Idea).order_by(Idea.id))).all()]
        users = [(user.id, user.is_banned, user.is_moderator, user.notify_status)
                 for user in (await session.exec(select(User).order_by(User.id))).all()]
        votes = sorted((vote.idea_id, vote.user_id) for vote in (await session.exec(select(Vote))).all())
        counts = [len((await session.exec(select(model))).all()) for model in (AuditEntry, StatusChange, OutboxMessage)]
        return ideas, users, votes, counts


async def support_via_bot(person, idea_id: int) -> None:
    await person.send(f"/start idea_{idea_id}")
    reply = await person.press(t("lv", SUPPORT))
    assert reply.alerts, reply.describe()


def answer(language: str, msgid: str, **values) -> str:
    return t(language, msgid, **values)


# ------------------------------------------------------------------ publishing

async def test_a_moderator_publishes_by_button_and_by_command(mod_app):
    author = await resident(mod_app, "ru")
    first, second = await proposal(mod_app, author.user_id), await proposal(mod_app, author.user_id)
    admin = mod_app.resident("lv", user_id=ADMIN)

    queue = await admin.send("/pending")
    assert f"#{first} ·" in queue.text and f"#{second} ·" in queue.text
    assert queue.text.index(f"#{first} ·") < queue.text.index(f"#{second} ·")  # oldest first

    card = await admin.press(f"#{first} ·")
    assert card.edited and answer("lv", "🛡 <b>Idea #{id}</b> · {icon} {status}", id=first, icon="⏳",
                                  status=t("lv", "pending review")).replace("<b>", "").replace("</b>", "") in card.text
    assert "Atvērti dati par pašvaldību iepirkumiem" in card.text
    assert f"https://t.me/manabalss_test_bot?start=mod_{first}" in [url for row in admin.last.buttons
                                                                       for _text, url in row]
    stale_publish = next(data for row in admin.last.buttons for text, data in row if text == t("lv", "✅ Publish"))

    published = await admin.press(t("lv", "✅ Publish"))
    assert published.alerts[0].text.startswith(answer("lv", "✅ Idea #{id} is published.", id=first))
    assert t("lv", "published") in published.text and t("lv", "✅ Publish") not in published.buttons
    assert (await idea_of(mod_app, first)).status == S.PUBLISHED
    [notice] = await outbox(mod_app, "notification")
    assert notice.chat_id == author.user_id and "Atvērti dati" in notice.text

    # The old button again (a double tap, or a second moderator): nothing happens twice.
    again = await admin.press_data(stale_publish, admin.last.message_id)
    assert again.alerts[0].text.startswith(answer("lv", "ℹ️ Idea #{id} is already {status}: another moderator was "
                                                        "quicker.", id=first, status=t("lv", "published")))
    assert len(await outbox(mod_app, "notification")) == 1

    by_command = await admin.send(f"/publish {second}")
    assert answer("lv", "✅ Idea #{id} is published.", id=second) in by_command.text
    assert (await idea_of(mod_app, second)).status == S.PUBLISHED

    # Now public: residents find it.
    reader = await resident(mod_app)
    assert "Atvērti dati" in (await reader.send(f"/start idea_{first}")).text


async def test_two_moderators_press_publish_at_once(mod_app):
    idea_id = await proposal(mod_app, 4001)
    first, second = mod_app.resident("lv", user_id=ADMIN), mod_app.resident("lv", user_id=SECOND_ADMIN)
    await first.send(f"/idea {idea_id}")
    await second.send(f"/idea {idea_id}")
    replies = await asyncio.gather(first.press(t("lv", "✅ Publish")), second.press(t("lv", "✅ Publish")))
    alerts = sorted(reply.alerts[0].text for reply in replies)
    assert alerts[0].startswith(answer("lv", "ℹ️ Idea #{id} is already {status}: another moderator was quicker.",
                                       id=idea_id, status=t("lv", "published")))
    assert alerts[1].startswith(answer("lv", "✅ Idea #{id} is published.", id=idea_id))
    async with mod_app.sessions() as session:
        changes = (await session.exec(select(StatusChange).where(StatusChange.idea_id == idea_id))).all()
    assert len(changes) == 1 and len(await outbox(mod_app, "notification")) == 1


# ------------------------------------------------------------------ rejecting

async def test_rejecting_with_a_reason_from_the_list_and_with_a_typed_reason(mod_app):
    author = await resident(mod_app, "ru")
    listed, typed = await proposal(mod_app, author.user_id), await proposal(mod_app, author.user_id)
    admin = mod_app.resident("lv", user_id=ADMIN)

    await admin.send(f"/idea {listed}")
    reasons = await admin.press(t("lv", "❌ Reject"))
    assert answer("lv", "Choose the reason. The author will see it.") in reasons.text
    for label in ("Duplicate", "Off-topic", "Offensive", "Unclear", "Not about open government", "✍️ Type a reason"):
        assert t("lv", label) in reasons.buttons
    rejected = await admin.press(t("lv", "Not about open government"))
    assert rejected.alerts[0].text.startswith(answer("lv", "❌ Idea #{id} is rejected.", id=listed))
    idea = await idea_of(mod_app, listed)
    assert idea.status == S.REJECTED and idea.status_note == "reason:notog"
    [notice] = await outbox(mod_app, "notification")
    assert t("ru", "It is not about open government.") in notice.text  # in the author's language

    card = await admin.send(f"/idea {typed}")
    # The card says which language the author reads, and the typed reason is asked for in that language.
    in_russian = t("lv", "in Russian")
    assert t("lv", "👤 Author: <code>{author}</code>, reads {language}").format(
        author=author.user_id, language=in_russian).replace("<code>", "").replace("</code>", "") in card.text
    await admin.press(t("lv", "❌ Reject"))
    prompt = await admin.press(t("lv", "✍️ Type a reason"))
    assert prompt.sent and prompt.sent[-1].reply_keyboard["force_reply"] is True
    assert t("lv", "✍️ Type the reason for rejecting idea #{id} {language}: its author reads that language.").format(
        id=typed, language=in_russian) in prompt.sent[-1].text
    done = await admin.send("Šī ir iniciatīva Saeimai <b>, nevis valdībai")
    assert answer("lv", "❌ Idea #{id} is rejected.", id=typed) in done.text
    assert (await idea_of(mod_app, typed)).status_note == "Šī ir iniciatīva Saeimai <b>, nevis valdībai"
    assert "Saeimai &lt;b&gt;, nevis" in (await outbox(mod_app, "notification"))[-1].text

    # The typed step is over: the next text is a search again, not another reason.
    search = await admin.send("budžets")
    assert t("lv", "🔎 Results for “{query}”:", query="budžets") in search.text


async def test_cancel_and_expiry_leave_the_typed_step_without_a_change(mod_app):
    idea_id = await proposal(mod_app, 4001)
    admin = mod_app.resident("lv", user_id=ADMIN)
    await admin.send(f"/idea {idea_id}")
    await admin.press(t("lv", "❌ Reject"))
    await admin.press(t("lv", "✍️ Type a reason"))
    await admin.send("/cancel")
    await admin.send("budžets")
    await admin.send(f"/idea {idea_id}")
    await admin.press(t("lv", "❌ Reject"))
    await admin.press(t("lv", "✍️ Type a reason"))
    mod_app.clock.now += timedelta(minutes=20)
    late = await admin.send("Aizmirsts iemesls")
    assert late.text == t("lv", "That step has expired, so nothing was done. Open the card again: /idea N.")
    assert (await idea_of(mod_app, idea_id)).status == S.PENDING


# ------------------------------------------------------------------ merging

async def test_merging_duplicates_moves_the_supporters_once(mod_app):
    a, b, c, d = await public_ideas(mod_app, 4)
    people = [await resident(mod_app) for _ in range(4)]
    for person in people[:3]:
        await support_via_bot(person, a)
    for person in people[2:]:
        await support_via_bot(person, b)
    admin = mod_app.resident("lv", user_id=ADMIN)

    merged = await admin.send(f"/merge {a} into {b}")
    assert merged.text.startswith(answer("lv", "🔁 Idea #{id} now counts for idea #{into}, which has {supporters}.",
                                         id=a, into=b, supporters="4 supporters")[:30])
    assert (await idea_of(mod_app, a)).supporters_count == 0 and (await idea_of(mod_app, b)).supporters_count == 4
    assert await voters(mod_app, b) == {person.user_id for person in people} and await voters(mod_app, a) == set()
    assert {message.chat_id for message in await outbox(mod_app, "notification")} == {
        person.user_id for person in people[:3]}

    # The duplicate is no longer public; the resident's support shows on the idea it counts for.
    assert t("lv", "✅ You support this idea.") in (await people[0].send(f"/start idea_{b}")).text
    assert f"idea_{a}" not in (await people[0].send(f"/start idea_{a}")).text

    # With the button: "Duplicate of…", then the other idea's number.
    await support_via_bot(people[0], c)
    await admin.send(f"/idea {c}")
    prompt = await admin.press(t("lv", "🔁 Duplicate of…"))
    assert prompt.sent[-1].reply_keyboard["force_reply"] is True
    wrong = await admin.send("the seventh one")
    assert wrong.text == t("lv", "Please send just the number of the other idea, for example 7. /cancel to stop.")
    done = await admin.send(f"#{d}")
    assert f"#{d}" in done.text and (await idea_of(mod_app, c)).merged_into_id == d
    assert await voters(mod_app, d) == {people[0].user_id}

    refused = await admin.send(f"/merge {a} into {b}")
    assert answer("lv", "ℹ️ Idea #{id} is already merged into idea #{into}: another moderator was quicker.",
                  id=a, into=b) in refused.text
    usage = await admin.send("/merge 12")
    assert usage.text.endswith(t("lv", "Usage: /merge N into M (idea N repeats idea M), for example /merge 12 into 7"))


# ------------------------------------------------------------------ translating

async def test_translate_adds_russian_and_a_russian_resident_reads_it(mod_app):
    idea_id = await proposal(mod_app, 4001)
    admin = mod_app.resident("lv", user_id=ADMIN)
    choose = await admin.send(f"/translate {idea_id}")
    assert "Latviešu ✓" in choose.buttons and "Русский" in choose.buttons
    title_prompt = await admin.press("Русский")
    assert title_prompt.sent[-1].reply_keyboard["force_reply"] is True
    too_short = await admin.send("Данные")
    assert too_short.text.startswith(t("lv", "The title is too short: {length} characters, at least {min}.")
                                     .format(length=6, min=10))
    body_prompt = await admin.send("Открытые данные о закупках самоуправлений")
    assert "2000" in body_prompt.text
    saved = await admin.send("Публиковать все закупки самоуправлений в машиночитаемом виде каждый месяц.")
    assert answer("lv", "✏️ The text of idea #{id} is saved.", id=idea_id) in saved.text
    assert "RU · Открытые данные о закупках самоуправлений" in saved.text
    await admin.send(f"/publish {idea_id}")

    reader = await resident(mod_app, "ru")
    card = await reader.send(f"/start idea_{idea_id}")
    assert card.text.startswith("💡 Открытые данные о закупках самоуправлений")
    assert "машиночитаемом" in card.text and "Atvērti dati" not in card.text
    found = await reader.send("машиночитаемом")
    assert any(label.startswith("👍 ") and "Открытые данные о закупках" in label for label in found.buttons)

    # "Edit text" keeps a title with "."; the audit log has both changes.
    await admin.send(f"/idea {idea_id}")
    await admin.press(t("lv", "✏️ Edit text"))
    await admin.press("Latviešu ✓")
    await admin.send(".")
    await admin.send("Publicēt visus pašvaldību iepirkumus atvērto datu portālā katru mēnesi.")
    idea = await idea_of(mod_app, idea_id)
    assert idea.title_lv == "Atvērti dati par pašvaldību iepirkumiem" and "portālā" in idea.body_lv
    log = await admin.send(f"/audit {idea_id}")
    for action in ("translation added", "published", "text edited"):
        assert t("lv", action) in log.text
    assert f" {ADMIN}: " in log.text  # who did it


# ------------------------------------------------------------------ the other commands

async def test_status_stats_bans_and_moderators(mod_app):
    idea_id = (await public_ideas(mod_app, 1))[0]
    admin = mod_app.resident("lv", user_id=ADMIN)
    moved = await admin.send(f"/status {idea_id} under-review The working group meets on 5 May")
    assert answer("lv", "📋 Idea #{id} is now: {status}.", id=idea_id,
                  status=t("lv", "under review by the working group")) in moved.text
    assert "The working group meets on 5 May" in moved.text
    refused = await admin.send(f"/status {idea_id} implemented")
    assert t("lv", "🚫 Idea #{id} is {current}: it cannot become “{wanted}”.").format(
        id=idea_id, current=t("lv", "under review by the working group"), wanted=t("lv", "implemented")) in refused.text
    assert (await admin.send(f"/status {idea_id} done")).text.startswith("🛈")

    stats = await admin.send("/stats")
    async with mod_app.sessions() as session:
        numbers = (await collect_stats(session)).as_dict()
    assert t("lv", "Votes: {votes} from {voters} residents").format(votes=numbers["votes"],
                                                                   voters=numbers["voters"]) in stats.text
    assert t("lv", "Residents: {count}").format(count=numbers["users"]) in stats.text

    helper = await resident(mod_app)
    made = await admin.send(f"/moderators add {helper.user_id}")
    assert made.text == t("lv", "🛡 Resident {user} is now a moderator.").format(user=helper.user_id)
    assert t("lv", "🗂 <b>Waiting for moderators</b>").replace("<b>", "").replace("</b>", "") in \
        (await helper.send("/pending")).text
    only_admins = await helper.send("/moderators add 123")
    assert only_admins.text == t("lv", "🚫 Only an admin can do this.")

    troll = await resident(mod_app)
    banned = await helper.send(f"/ban {troll.user_id}")
    assert banned.text.startswith("🚫") and str(troll.user_id) in banned.text
    assert (await helper.send(f"/ban {ADMIN}")).text.startswith("🚫 7001")
    async with mod_app.sessions() as session:
        assert (await session.get(User, troll.user_id)).is_banned
    log = await admin.send(f"/audit user {troll.user_id}")
    assert t("lv", "banned") in log.text and f" {helper.user_id}: " in log.text

    await admin.send(f"/moderators remove {helper.user_id}")
    gone = await helper.send("/pending")
    assert gone.text == (await helper.send("/nosuchcommand")).text  # an ordinary resident again


async def test_the_deep_link_opens_the_card_for_moderators_only(mod_app):
    idea_id = await proposal(mod_app, 4001)
    admin = mod_app.resident("lv", user_id=ADMIN)
    card = await admin.send(f"/start mod_{idea_id}")
    assert f"#{idea_id}" in card.text and t("lv", "✅ Publish") in card.buttons
    someone = await resident(mod_app)
    assert (await someone.send(f"/start mod_{idea_id}")).text == (await someone.send("/start idea_999999")).text


async def test_new_proposals_are_posted_to_each_admin_when_there_is_no_moderators_chat(mod_app):
    from bot.domain.announcements import announce_proposal

    idea_id = await proposal(mod_app, 4001)
    async with mod_app.sessions() as session:
        await announce_proposal(session, idea_id, mod_app.settings, "manabalss_test_bot",
                                mod_app.dp["moderation_renderer"])
        await session.commit()
    posts = await outbox(mod_app, "moderation")
    assert sorted(post.chat_id for post in posts) == [ADMIN, SECOND_ADMIN]
    assert all(t("lv", "🆕 <b>New proposal</b>") in post.text for post in posts)


# ------------------------------------------------------------------ residents

async def test_a_resident_turns_status_notifications_off_and_on(mod_app):
    anna = await resident(mod_app)
    off = await anna.press_data(cb.NotifyToggle(on=0, src="n").pack(), anna.last.message_id)
    assert off.alerts[0].text == t("lv", "🔕 Done: no more news about your ideas. /notifications turns it back on.")
    async with mod_app.sessions() as session:
        assert not (await session.get(User, anna.user_id)).notify_status
    screen = await anna.send("/notifications")
    assert screen.text == t("lv", "🔕 News about my ideas is off.")
    on = await anna.press(t("lv", "🔔 Turn on"))
    assert t("lv", "🔕 Turn off") in on.buttons
    async with mod_app.sessions() as session:
        assert (await session.get(User, anna.user_id)).notify_status


MODERATOR_COMMANDS = ["/pending", "/idea {p}", "/publish {p}", "/reject {p} Nepatīk", "/merge {p} into {q}",
                      "/merge {q} {r}", "/translate {p}", "/status {q} under_review Jā", "/ban 4001", "/unban 4001",
                      "/moderators", "/moderators add {me}", "/moderators remove 7001", "/stats", "/audit {q}",
                      "/audit user 4001", "/modhelp"]


async def test_a_resident_gets_no_moderator_function(mod_app):
    pending = await proposal(mod_app, 4001)
    q, r = await public_ideas(mod_app, 2)
    anna = await resident(mod_app)
    async with mod_app.sessions() as session:  # a banned moderator has no rights either
        await get_or_create_user(session, 4002, "lv")
        moderator = await session.get(User, 4002)
        moderator.is_moderator, moderator.is_banned = True, True
        session.add(moderator)
        await session.commit()
    banned_moderator = mod_app.resident("lv", user_id=4002)
    before = await snapshot(mod_app)

    unknown = (await anna.send("/nosuchcommand")).text
    stale = (await anna.press_data("zz:forged", anna.last.message_id)).alerts[0].text
    for person in (anna, banned_moderator):
        for command in MODERATOR_COMMANDS:
            text = command.format(p=pending, q=q, r=r, me=person.user_id)
            reply = await person.send(text)
            assert reply.text == unknown, (text, reply.describe())
        not_found = (await person.send("/start idea_999999")).text
        assert (await person.send(f"/start mod_{pending}")).text == not_found
        for act in sorted(cb.MOD_ACTS):
            for data in (cb.Mod(act=act, id=pending, v=1, r="dup"), cb.Mod(act=act, id=q, v=1, r="ru"),
                         cb.Mod(act=act, id=pending, v=1)):
                reply = await person.press_data(data.pack(), person.last.message_id)
                assert [alert.text for alert in reply.alerts] == [stale], (data, reply.describe())
        # Typed words are never taken as a moderator's answer.
        await person.send(str(q))
    assert await snapshot(mod_app) == before


async def test_the_moderators_chat_stays_quiet_for_chatter_and_non_moderators(fake_telegram, sqlite_sessions, clock):
    """In the moderators' group the bot answers only moderators' commands and buttons: moderators talking (or
    replying to its posts) and a member who is no moderator get no answer at all, and nothing changes."""
    await load_example(sqlite_sessions)
    group = {"id": -1009988776655, "type": "supergroup", "title": "ManaBalss moderators"}
    app = App(fake_telegram, sqlite_sessions, clock, admin_ids=frozenset({ADMIN}), moderation_chat_id=group["id"])
    try:
        idea_id = await proposal(app, 4001)
        before = await snapshot(app)
        member, admin = app.resident("lv"), app.resident("lv", user_id=ADMIN)
        sent_before = len(fake_telegram.requests)
        await admin.send("Labrīt! Paskatīsimies jaunos priekšlikumus.", chat=group)
        await member.send(f"/publish {idea_id}", chat=group)
        await member.send("budžets", chat=group)
        assert [call.method for call in fake_telegram.requests[sent_before:]] == []
        ideas, _users, votes, counts = await snapshot(app)
        assert (ideas, votes, counts) == (before[0], before[2], before[3])  # (residents are created on contact)
    finally:
        await app.close()


async def test_status_history_with_notes_is_shown_on_the_residents_card(mod_app):
    [idea_id] = await public_ideas(mod_app, 1)
    admin = await resident(mod_app, user_id=ADMIN)
    await admin.send(f"/status {idea_id} under_review Darba grupa to izskatīs <nākamnedēļ>")
    await admin.send(f"/status {idea_id} included")
    reader = await resident(mod_app, "lv")
    card = await reader.send(f"/start idea_{idea_id}")
    assert t("lv", "📜 <b>What happened to this idea</b>").replace("<b>", "").replace("</b>", "") in card.text
    assert "Darba grupa to izskatīs <nākamnedēļ>" in card.text
    assert card.text.index(t("lv", "under review by the working group")) < card.text.rindex(
        t("lv", "included in the action plan"))
    # A merged duplicate's shared link leads to the idea it was merged into.
    [first, second] = await public_ideas(mod_app, 2)
    await admin.send(f"/merge {second} into {first}")
    redirected = await reader.send(f"/start idea_{second}")
    assert t("lv", "🔁 The idea you opened was merged into this one: its supporters count here.") in redirected.text
    assert f"idea_{first}" in redirected.text
