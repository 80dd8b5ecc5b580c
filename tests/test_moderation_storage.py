"""Moderator actions on a real database (each test on SQLite and on PostgreSQL): their effects, the audit log,
the notifications (once each), the merge's vote arithmetic, and two moderators acting at the same time."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.domain import announcements, lifecycle, staff, voting
from bot.domain import moderation as mod
from bot.domain import subscriptions as subs
from bot.domain.lifecycle import Outcome
from bot.domain.rules import VoteRefusal
from bot.i18n import create_i18n
from bot.ui import callbacks as cb
from bot.ui import moderation_screens as ms
from storage import votes as vote_store
from storage.models import AuditEntry, Category, Idea, IdeaStatus, OutboxMessage, Report, StatusChange, Vote
from storage.users import get_or_create_user
from tests.conftest import CAMPAIGN_OPEN, load_example
from tests.i18n_helpers import t

S = IdeaStatus
NOW = CAMPAIGN_OPEN
ADMIN, MODERATOR, AUTHOR = 9001, 9002, 500
MOD_CHAT = -1001234567890


def settings(**overrides) -> Settings:
    values = {"bot_token": "", "admin_ids": frozenset({ADMIN}), "moderation_chat_id": MOD_CHAT, **overrides}
    return Settings(**values)


SETTINGS = settings()


@pytest.fixture(scope="module")
def renderer():
    return ms.ScreensRenderer(create_i18n())


@pytest.fixture
async def db(sessions):
    """The example campaign, an admin, a moderator and an author (Russian-speaking)."""
    await load_example(sessions)
    async with sessions() as session:
        await get_or_create_user(session, ADMIN, "lv")
        moderator = await get_or_create_user(session, MODERATOR, "lv")
        moderator.is_moderator = True
        await get_or_create_user(session, AUTHOR, "ru")
        session.add(moderator)
        await session.commit()
    return sessions


async def make_users(sessions, *user_ids: int, language: str = "lv", **flags) -> None:
    async with sessions() as session:
        for user_id in user_ids:
            user = await get_or_create_user(session, user_id, language)
            for name, value in flags.items():
                setattr(user, name, value)
            session.add(user)
        await session.commit()


async def new_idea(sessions, status: str = S.PENDING, author_id: int | None = AUTHOR, **texts) -> int:
    async with sessions() as session:
        category = (await session.exec(select(Category).order_by(Category.id))).first()
        fields = {"title_lv": "Atvērti dati par pašvaldību iepirkumiem",
                  "body_lv": "Publicēt visus pašvaldību iepirkumus mašīnlasāmā formā katru mēnesi.", **texts}
        idea = Idea(campaign_id=category.campaign_id, category_id=category.id, status=status, author_id=author_id,
                    created_at=NOW, **fields)
        session.add(idea)
        await session.commit()
        return idea.id


async def support(sessions, idea_id: int, *user_ids: int) -> None:
    await make_users(sessions, *user_ids)
    async with sessions() as session:
        for user_id in user_ids:
            await vote_store.add_vote(session, idea_id, user_id, NOW)
        await session.commit()


async def idea_of(sessions, idea_id: int) -> Idea:
    async with sessions() as session:
        return await session.get(Idea, idea_id)


async def rows(sessions, model, *conditions) -> list:
    async with sessions() as session:
        return list((await session.exec(select(model).where(*conditions))).all())


async def voters(sessions, idea_id: int) -> set[int]:
    return {vote.user_id for vote in await rows(sessions, Vote, Vote.idea_id == idea_id)}


async def outbox(sessions, kind: str | None = None) -> list[OutboxMessage]:
    messages = await rows(sessions, OutboxMessage, *([OutboxMessage.kind == kind] if kind else []))
    return sorted(messages, key=lambda message: message.id)


async def publish(sessions, renderer, idea_id: int, actor: int = ADMIN, **kwargs) -> mod.ActionResult:
    async with sessions() as session:
        return await mod.publish(session, SETTINGS, actor, idea_id, NOW, renderer=renderer, **kwargs)


# ------------------------------------------------------------------ decisions

async def test_publishing_a_proposal_writes_history_audit_and_tells_the_author_once(db, renderer):
    idea_id = await new_idea(db)
    result = await publish(db, renderer, idea_id)
    assert result.outcome is Outcome.DONE and result.action == "publish" and result.notified == 1
    idea = await idea_of(db, idea_id)
    assert idea.status == S.PUBLISHED and idea.version == 2 and idea.status_changed_at == NOW
    [change] = await rows(db, StatusChange, StatusChange.idea_id == idea_id)
    assert (change.status, change.moderator_id) == (S.PUBLISHED, ADMIN)
    [entry] = await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)
    assert entry.action == "publish" and entry.moderator_id == ADMIN
    assert json.loads(entry.before)["status"] == S.PENDING and json.loads(entry.after)["status"] == S.PUBLISHED
    [notice] = await outbox(db, "notification")
    assert notice.chat_id == AUTHOR and notice.dedupe_key == f"status:{idea_id}:2:{AUTHOR}"
    i18n = create_i18n()
    assert i18n.gettext("🔔 <b>News about your idea</b>", locale="ru") in notice.text  # the author reads Russian
    markup = json.loads(notice.reply_markup)
    assert [row[0]["callback_data"] for row in markup["inline_keyboard"]] == [f"i:o:{idea_id}:0:top:0", "nt:0:n"]

    again = await publish(db, renderer, idea_id)
    assert again.outcome is Outcome.ALREADY
    assert len(await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)) == 1
    assert len(await outbox(db)) == 1 and (await idea_of(db, idea_id)).version == 2
    async with db() as session:
        assert [c.status for c in await mod.status_history(session, idea_id)] == [S.PUBLISHED]


async def test_a_status_change_tells_the_author_at_once_and_leaves_supporters_to_the_weekly_news(db, renderer):
    idea_id = await new_idea(db, status=S.PUBLISHED)
    await support(db, idea_id, 1, 2)
    async with db() as session:
        result = await mod.set_status(session, SETTINGS, MODERATOR, idea_id, S.UNDER_REVIEW, "Meets on 5 May", NOW,
                                      renderer=renderer)
    assert result.outcome is Outcome.DONE and result.notified == 1
    assert [message.chat_id for message in await outbox(db, "notification")] == [AUTHOR]
    assert (await idea_of(db, idea_id)).status_note == "Meets on 5 May"


async def test_merge_notices_skip_residents_who_turned_them_off_or_blocked_the_bot(db, renderer):
    idea_id = await new_idea(db, status=S.PUBLISHED)
    into_id = await new_idea(db, status=S.PUBLISHED)
    await support(db, idea_id, 1, 2, 3)
    await make_users(db, 2, notify_status=False)
    await make_users(db, 3, is_reachable=False)
    async with db() as session:
        result = await mod.merge(session, SETTINGS, MODERATOR, idea_id, into_id, NOW, renderer=renderer)
    assert result.outcome is Outcome.DONE
    by_chat = {message.chat_id: message for message in await outbox(db, "notification")}
    assert set(by_chat) == {AUTHOR, 1}


async def test_rejecting_with_a_common_reason_and_the_lifecycle_afterwards(db, renderer):
    idea_id = await new_idea(db)
    async with db() as session:
        result = await mod.reject(session, SETTINGS, MODERATOR, idea_id, lifecycle.reason_note("off"), NOW,
                                  renderer=renderer)
    assert result.outcome is Outcome.DONE and result.action == "reject"
    idea = await idea_of(db, idea_id)
    assert idea.status == S.REJECTED and idea.status_note == "reason:off"
    [notice] = await outbox(db, "notification")
    assert create_i18n().gettext("It is not about the topic of this campaign.", locale="ru") in notice.text
    # Final: no status moves on from a rejection...
    async with db() as session:
        refused = await mod.set_status(session, SETTINGS, ADMIN, idea_id, S.PUBLISHED, None, NOW, renderer=renderer)
    assert refused.outcome is Outcome.NOT_ALLOWED and (await idea_of(db, idea_id)).version == 2
    # ...except /publish, which is audited as a republication.
    again = await publish(db, renderer, idea_id)
    assert again.outcome is Outcome.DONE and again.action == "republish"
    actions = [entry.action for entry in await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)]
    assert sorted(actions) == ["reject", "republish"]


async def test_status_changes_follow_the_lifecycle(db, renderer):
    idea_id = await new_idea(db, status=S.PUBLISHED)

    async def move(status):
        async with db() as session:
            return await mod.set_status(session, SETTINGS, ADMIN, idea_id, status, None, NOW, renderer=renderer)

    assert (await move(S.IMPLEMENTED)).outcome is Outcome.NOT_ALLOWED
    for status in (S.UNDER_REVIEW, S.INCLUDED, S.IMPLEMENTED):
        assert (await move(status)).outcome is Outcome.DONE
    assert (await move(S.NOT_INCLUDED)).outcome is Outcome.NOT_ALLOWED
    assert (await move(S.MERGED)).outcome is Outcome.NOT_ALLOWED  # merging needs /merge
    history = [change.status for change in await rows(db, StatusChange, StatusChange.idea_id == idea_id)]
    assert history == [S.UNDER_REVIEW, S.INCLUDED, S.IMPLEMENTED]
    assert (await idea_of(db, idea_id)).version == 4
    assert len(await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)) == 3


async def test_publish_shows_a_hidden_idea_again_and_resolves_its_reports(db, renderer):
    idea_id = await new_idea(db, status=S.PUBLISHED, hidden=True)
    await make_users(db, 11, 12)
    async with db() as session:
        session.add_all([Report(idea_id=idea_id, user_id=11, reason="spam", created_at=NOW),
                         Report(idea_id=idea_id, user_id=12, reason="offensive", created_at=NOW)])
        await session.commit()
        queue = await staff.queue(session, SETTINGS, MODERATOR)
    assert [idea.id for idea in queue.hidden] == [idea_id]
    result = await publish(db, renderer, idea_id, actor=MODERATOR)
    assert result.outcome is Outcome.DONE and result.action == "unhide" and result.notified == 0
    idea = await idea_of(db, idea_id)
    assert not idea.hidden and idea.status == S.PUBLISHED and idea.version == 2
    assert all(report.resolved for report in await rows(db, Report, Report.idea_id == idea_id))
    assert await rows(db, StatusChange, StatusChange.idea_id == idea_id) == []
    [entry] = await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)
    assert entry.action == "unhide" and json.loads(entry.after) == {"hidden": False, "version": 2}


async def test_the_queue_lists_pending_oldest_first(db):
    first, second = await new_idea(db), await new_idea(db)
    async with db() as session:
        queue = await staff.queue(session, SETTINGS, ADMIN)
        assert [idea.id for idea in queue.pending] == [first, second] and queue.pending_total == 2
        assert await staff.queue(session, SETTINGS, AUTHOR) is None


# ------------------------------------------------------------------ merging

async def test_merge_moves_supports_without_double_counting(db, renderer):
    a, b = await new_idea(db, status=S.PUBLISHED), await new_idea(db, status=S.PUBLISHED, author_id=None)
    await support(db, a, 1, 2, 3)
    await support(db, b, 3, 4)
    async with db() as session:
        result = await mod.merge(session, SETTINGS, MODERATOR, a, b, NOW, renderer=renderer)
    assert result.outcome is Outcome.DONE and result.target.supporters_count == 4
    assert await voters(db, b) == {1, 2, 3, 4} and await voters(db, a) == set()
    idea_a, idea_b = await idea_of(db, a), await idea_of(db, b)
    assert (idea_a.status, idea_a.merged_into_id, idea_a.supporters_count) == (S.MERGED, b, 0)
    assert idea_b.supporters_count == 4 and idea_b.status == S.PUBLISHED
    # A's author and supporters are told (each once), B's own supporter is not.
    notices = await outbox(db, "notification")
    assert sorted(message.chat_id for message in notices) == [1, 2, 3, AUTHOR]
    assert all(f'"callback_data": "i:o:{b}:0:top:0"' in message.reply_markup for message in notices)
    actions = {(entry.idea_id, entry.action) for entry in await rows(db, AuditEntry)}
    assert actions == {(a, "merge"), (b, "merge_in")}
    async with db() as session:
        assert [change.status for change in await mod.status_history(session, a)] == [S.MERGED]
        again = await mod.merge(session, SETTINGS, MODERATOR, a, b, NOW, renderer=renderer)
    assert again.outcome is Outcome.ALREADY
    assert len(await outbox(db, "notification")) == 4


async def test_merge_refusals_change_nothing(db, renderer):
    public, pending = await new_idea(db, status=S.PUBLISHED), await new_idea(db)
    rejected = await new_idea(db, status=S.REJECTED)

    async def merge(idea_id, into_id):
        async with db() as session:
            return (await mod.merge(session, SETTINGS, ADMIN, idea_id, into_id, NOW, renderer=renderer)).outcome

    assert await merge(public, public) is Outcome.SAME_IDEA
    assert await merge(public, 999_999) is Outcome.TARGET_NOT_FOUND
    assert await merge(999_999, public) is Outcome.NOT_FOUND
    assert await merge(public, pending) is Outcome.TARGET_NOT_PUBLIC
    assert await merge(rejected, public) is Outcome.NOT_ALLOWED
    assert await merge(public, 10**13) is Outcome.TARGET_NOT_FOUND  # beyond a database integer
    assert (await idea_of(db, public)).version == 1 and await rows(db, AuditEntry) == []


async def test_a_pending_duplicate_can_be_merged(db, renderer):
    target = await new_idea(db, status=S.PUBLISHED)
    duplicate = await new_idea(db)
    async with db() as session:
        result = await mod.merge(session, SETTINGS, ADMIN, duplicate, target, NOW, renderer=renderer)
    assert result.outcome is Outcome.DONE and result.notified == 1  # its author


# ------------------------------------------------------------------ texts

async def test_translating_adds_a_language_and_refreshes_search(db):
    idea_id = await new_idea(db)
    async with db() as session:
        result = await mod.edit_texts(session, SETTINGS, ADMIN, idea_id, "ru", "Открытые данные о закупках",
                                      "Публиковать все закупки самоуправлений каждый месяц.", NOW, seen_version=1)
    assert result.outcome is Outcome.DONE and result.action == "translate"
    idea = await idea_of(db, idea_id)
    assert idea.title_ru == "Открытые данные о закупках" and idea.version == 2
    assert "закупках" in idea.search_text and "atverti" in idea.search_text
    [entry] = await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)
    assert entry.action == "translate"
    assert json.loads(entry.before) == {"title_ru": None, "body_ru": None, "version": 1}

    async with db() as session:
        stale = await mod.edit_texts(session, SETTINGS, ADMIN, idea_id, "ru", "Другой заголовок идеи",
                                     "Другой текст идеи, достаточно длинный для проверки.", NOW, seen_version=1)
        short = await mod.edit_texts(session, SETTINGS, ADMIN, idea_id, "ru", "Коротко", ".", NOW, seen_version=2)
        kept = await mod.edit_texts(session, SETTINGS, ADMIN, idea_id, "ru", None,
                                    "Исправленный текст: публиковать закупки каждый месяц.", NOW, seen_version=2)
    assert stale.outcome is Outcome.CHANGED
    assert short.outcome is Outcome.BAD_TEXT and short.problem == "title"
    assert kept.outcome is Outcome.DONE and kept.action == "edit"
    idea = await idea_of(db, idea_id)
    assert idea.title_ru == "Открытые данные о закупках" and idea.body_ru.startswith("Исправленный")
    assert "исправленныи" in idea.search_text  # й folds like the search query does


# ------------------------------------------------------------------ rights, bans, moderators

async def test_residents_and_banned_moderators_have_no_rights(db, renderer):
    idea_id = await new_idea(db)
    await make_users(db, 77, is_moderator=True, is_banned=True)
    for actor in (AUTHOR, 77, 123456):
        assert (await publish(db, renderer, idea_id, actor=actor)).outcome is Outcome.NO_RIGHTS
        async with db() as session:
            assert (await staff.set_banned(session, SETTINGS, actor, 1, True, NOW)).outcome is Outcome.NO_RIGHTS
            assert await staff.stats(session, SETTINGS, actor) is None
            assert await staff.audit(session, SETTINGS, actor, "idea", idea_id) is None
            card = await mod.moderation_card(session, SETTINGS, actor, idea_id)
            assert card.outcome is Outcome.NO_RIGHTS and card.card is None
    assert (await idea_of(db, idea_id)).status == S.PENDING and await rows(db, AuditEntry) == []


async def test_ban_and_unban(db):
    async with db() as session:
        assert (await staff.set_banned(session, SETTINGS, MODERATOR, 4242, True, NOW)).outcome is Outcome.DONE
        assert await staff.is_banned(session, 4242)
        assert (await staff.set_banned(session, SETTINGS, MODERATOR, 4242, True, NOW)).outcome is Outcome.ALREADY
        assert (await staff.set_banned(session, SETTINGS, MODERATOR, ADMIN, True, NOW)).outcome is \
            Outcome.PROTECTED
        assert (await staff.set_banned(session, SETTINGS, MODERATOR, MODERATOR, True, NOW)).outcome is \
            Outcome.SELF
        await make_users(db, 4343, is_moderator=True)
        refused = await staff.set_banned(session, SETTINGS, MODERATOR, 4343, True, NOW)
        assert refused.outcome is Outcome.ADMINS_ONLY  # only an admin bans a moderator
        assert (await staff.set_banned(session, SETTINGS, ADMIN, 4343, True, NOW)).outcome is Outcome.DONE
        assert (await staff.set_banned(session, SETTINGS, MODERATOR, 4242, False, NOW)).outcome is Outcome.DONE
        assert not await staff.is_banned(session, 4242) and not await staff.is_banned(session, 1)
    entries = sorted(await rows(db, AuditEntry), key=lambda e: e.id)
    assert [(e.action, e.target_user_id) for e in entries] == [("ban", 4242), ("ban", 4343), ("unban", 4242)]
    assert json.loads(entries[0].after) == {"is_banned": True}
    assert json.loads(entries[1].after) == {"is_banned": True, "is_moderator": False}  # the ban took the role
    async with db() as session:
        log = await staff.audit(session, SETTINGS, ADMIN, "user", 4242)
    assert [entry.action for entry in log.entries] == ["ban", "unban"]


async def test_only_admins_change_moderators(db):
    async with db() as session:
        refused = await staff.set_moderator(session, SETTINGS, MODERATOR, 31, True, NOW)
        assert refused.outcome is Outcome.ADMINS_ONLY
        assert (await staff.set_moderator(session, SETTINGS, ADMIN, 31, True, NOW)).outcome is Outcome.DONE
        assert (await staff.set_moderator(session, SETTINGS, ADMIN, 31, True, NOW)).outcome is Outcome.ALREADY
        assert (await staff.set_moderator(session, SETTINGS, ADMIN, ADMIN, False, NOW)).outcome is \
            Outcome.PROTECTED
        listing = await staff.moderator_list(session, SETTINGS, 31)
        assert listing.admin_ids == [ADMIN] and {user.id for user in listing.moderators} == {MODERATOR, 31}
        assert (await staff.set_moderator(session, SETTINGS, ADMIN, 31, False, NOW)).outcome is Outcome.DONE
        assert await staff.moderator_list(session, SETTINGS, 31) is None
    assert [entry.action for entry in await rows(db, AuditEntry)] == ["moderator_add", "moderator_remove"]


async def test_status_notifications_switch(db):
    async with db() as session:
        assert await subs.status_notifications_on(session, AUTHOR)
        assert await subs.set_status_notifications(session, AUTHOR, False)
        assert not await subs.set_status_notifications(session, AUTHOR, False)
        assert not await subs.status_notifications_on(session, AUTHOR)
        assert await subs.set_status_notifications(session, AUTHOR, True)


async def test_stats_are_the_clis_numbers(db):
    from bot.domain.campaigns import collect_stats

    async with db() as session:
        assert (await staff.stats(session, SETTINGS, ADMIN)).as_dict() == (await collect_stats(session)).as_dict()


# ------------------------------------------------------------------ announcements

async def test_a_proposal_is_announced_to_the_moderators_chat_once(db, renderer):
    idea_id = await new_idea(db)
    for _ in range(2):
        async with db() as session:
            await announcements.announce_proposal(session, idea_id, SETTINGS, "manabalss_bot", renderer)
            await session.commit()
    [post] = await outbox(db, "moderation")
    assert post.chat_id == MOD_CHAT and post.dedupe_key == f"proposal:{idea_id}"
    assert f"#{idea_id}" in post.text and "Atvērti dati" in post.text
    buttons = [button for row in json.loads(post.reply_markup)["inline_keyboard"] for button in row]
    assert {"text": t("lv", "↗️ Open in the bot"), "url": f"https://t.me/manabalss_bot?start=mod_{idea_id}"} in buttons
    assert cb.Mod(act=cb.MOD_PUBLISH, id=idea_id, v=1).pack() in [b.get("callback_data") for b in buttons]


async def test_without_a_moderators_chat_each_admin_gets_the_post(db, renderer):
    idea_id = await new_idea(db)
    no_chat = settings(moderation_chat_id=None, admin_ids=frozenset({ADMIN, 9003}))
    async with db() as session:
        await announcements.announce_proposal(session, idea_id, no_chat, "bot", renderer)
        await session.commit()
    posts = await outbox(db, "moderation")
    assert [(post.chat_id, post.dedupe_key) for post in posts] == [
        (ADMIN, f"proposal:{idea_id}:{ADMIN}"), (9003, f"proposal:{idea_id}:9003")]


async def test_a_hidden_idea_is_announced_once_per_hiding(db, renderer):
    idea_id = await new_idea(db, status=S.PUBLISHED, hidden=True)
    for _ in range(2):
        async with db() as session:
            await announcements.announce_hidden(session, idea_id, SETTINGS, "bot", renderer)
            await session.commit()
    await publish(db, renderer, idea_id)  # shown again: version 2
    async with db() as session:
        idea = await session.get(Idea, idea_id)
        idea.hidden = True
        session.add(idea)
        await session.commit()
        await announcements.announce_hidden(session, idea_id, SETTINGS, "bot", renderer)
        await session.commit()
    assert [post.dedupe_key for post in await outbox(db, "moderation")] == [
        f"hidden:{idea_id}:1", f"hidden:{idea_id}:2"]


# ------------------------------------------------------------------ two moderators at once

async def test_two_moderators_publish_at_once(db, renderer):
    idea_id = await new_idea(db)
    results = await asyncio.gather(publish(db, renderer, idea_id, actor=ADMIN, seen_version=1),
                                   publish(db, renderer, idea_id, actor=MODERATOR, seen_version=1))
    assert sorted(result.outcome for result in results) == [Outcome.ALREADY, Outcome.DONE]
    assert (await idea_of(db, idea_id)).version == 2
    assert len(await rows(db, StatusChange, StatusChange.idea_id == idea_id)) == 1
    assert len(await rows(db, AuditEntry, AuditEntry.idea_id == idea_id)) == 1
    assert len(await outbox(db, "notification")) == 1


async def test_publish_and_reject_at_once_one_wins(db, renderer):
    idea_id = await new_idea(db)

    async def reject():
        async with db() as session:
            return await mod.reject(session, SETTINGS, MODERATOR, idea_id, "Not this one", NOW, seen_version=1,
                                    renderer=renderer)

    results = await asyncio.gather(publish(db, renderer, idea_id, seen_version=1), reject())
    outcomes = sorted(result.outcome for result in results)
    assert outcomes == [Outcome.CHANGED, Outcome.DONE]
    idea = await idea_of(db, idea_id)
    winner = next(result for result in results if result.outcome is Outcome.DONE)
    assert idea.status == winner.status and idea.version == 2
    assert len(await rows(db, StatusChange, StatusChange.idea_id == idea_id)) == 1


async def test_two_merges_of_one_idea_at_once(db, renderer):
    a = await new_idea(db, status=S.PUBLISHED)
    b, c = await new_idea(db, status=S.PUBLISHED), await new_idea(db, status=S.PUBLISHED)
    await support(db, a, 1, 2)
    await support(db, b, 2)
    await support(db, c, 3)

    async def merge(into_id, actor):
        async with db() as session:
            return await mod.merge(session, SETTINGS, actor, a, into_id, NOW, renderer=renderer)

    results = await asyncio.gather(merge(b, ADMIN), merge(c, MODERATOR))
    assert sorted(result.outcome for result in results) == [Outcome.ALREADY, Outcome.DONE]
    winner = (await idea_of(db, a)).merged_into_id
    assert winner in (b, c) and await voters(db, a) == set()
    assert await voters(db, b) == ({1, 2} if winner == b else {2})
    assert await voters(db, c) == ({1, 2, 3} if winner == c else {3})
    for idea_id in (a, b, c):
        assert (await idea_of(db, idea_id)).supporters_count == len(await voters(db, idea_id))
    assert len(await rows(db, StatusChange, StatusChange.idea_id == a)) == 1


async def test_merges_in_opposite_directions_at_once_do_not_deadlock(db, renderer):
    a, b = await new_idea(db, status=S.PUBLISHED), await new_idea(db, status=S.PUBLISHED)
    await support(db, a, 1)
    await support(db, b, 2)

    async def merge(idea_id, into_id):
        async with db() as session:
            return await mod.merge(session, SETTINGS, ADMIN, idea_id, into_id, NOW, renderer=renderer)

    results = await asyncio.wait_for(asyncio.gather(merge(a, b), merge(b, a)), timeout=30)
    assert sorted(result.outcome for result in results) == [Outcome.DONE, Outcome.TARGET_NOT_PUBLIC]
    merged = [idea for idea in (await idea_of(db, a), await idea_of(db, b)) if idea.status == S.MERGED]
    assert len(merged) == 1
    survivor = b if merged[0].id == a else a
    assert await voters(db, survivor) == {1, 2} and (await idea_of(db, survivor)).supporters_count == 2


async def test_a_vote_being_written_when_the_merge_starts_is_moved_not_lost(db, renderer):
    a, b = await new_idea(db, status=S.PUBLISHED), await new_idea(db, status=S.PUBLISHED)
    await support(db, a, 1)
    await support(db, b, 1, 2)
    await make_users(db, 3, 4)
    async with db() as voting:
        # A resident's support of A is written but not committed yet: the merge must wait for it.
        assert (await vote_store.add_vote(voting, a, 3, NOW))[0]
        # And one who supports both, so that the merge must not count them twice.
        assert (await vote_store.add_vote(voting, a, 2, NOW))[0]
        merging = asyncio.create_task(_merge(db, renderer, a, b))
        await asyncio.sleep(0.3)
        assert not merging.done()
        await voting.commit()
    result = await asyncio.wait_for(merging, timeout=30)
    assert result.outcome is Outcome.DONE
    assert await voters(db, b) == {1, 2, 3} and (await idea_of(db, b)).supporters_count == 3
    assert await voters(db, a) == set() and (await idea_of(db, a)).supporters_count == 0


async def _merge(sessions, renderer, idea_id, into_id):
    async with sessions() as session:
        return await mod.merge(session, SETTINGS, ADMIN, idea_id, into_id, NOW, renderer=renderer)


async def test_supports_racing_a_merge_are_each_counted_exactly_once(db, renderer):
    """Residents press "Support" on the duplicate while a moderator merges it: every support ends up counted
    once, on the surviving idea, or is refused because the idea is no longer public; none stays on the
    merged idea, and the counts equal the vote rows."""
    a, b = await new_idea(db, status=S.PUBLISHED), await new_idea(db, status=S.PUBLISHED)
    await support(db, a, 1)
    residents = list(range(100, 110))
    await make_users(db, *residents)
    await support(db, b, residents[0])  # one already supports the target

    async def press(user_id):
        async with db() as session:
            return await voting.support(session, a, user_id, NOW)

    results = await asyncio.gather(_merge(db, renderer, a, b), *(press(user_id) for user_id in residents))
    assert results[0].outcome is Outcome.DONE
    refused = {user_id for user_id, vote in zip(residents, results[1:], strict=True)
               if vote.refusal is VoteRefusal.IDEA_NOT_PUBLIC}
    assert await voters(db, a) == set()
    assert await voters(db, b) == {1, *residents} - (refused - {residents[0]})
    assert (await idea_of(db, b)).supporters_count == len(await voters(db, b))
    assert (await idea_of(db, a)).supporters_count == 0


async def test_audit_log_of_an_idea(db, renderer):
    idea_id = await new_idea(db)
    await publish(db, renderer, idea_id)
    async with db() as session:
        await mod.edit_texts(session, SETTINGS, MODERATOR, idea_id, "en", "Open data on municipal purchases",
                             "Publish every municipal purchase in a machine-readable form each month.", NOW)
        log = await staff.audit(session, SETTINGS, MODERATOR, "idea", idea_id)
    assert [(entry.action, entry.moderator_id) for entry in log.entries] == [("publish", ADMIN),
                                                                            ("translate", MODERATOR)]
    assert log.total == 2
