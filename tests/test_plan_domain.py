"""The plan's and the groups' rules on both databases: progress, who hears what in the weekly news, and two
moderators deciding at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.config import Settings
from bot.domain import groups, plan, plan_news
from bot.domain.outgoing import Outgoing
from storage.models import Commitment, CommitmentFollow, GroupMember, Idea, Milestone, PlanEvent, User, WorkingGroup
from storage.users import get_or_create_user
from storage.votes import add_vote
from tests.conftest import CAMPAIGN_OPEN, load_example

RIGA = ZoneInfo("Europe/Riga")
ADMINS = frozenset({1, 2})
SETTINGS = Settings(bot_token="4242424242:AAEfakeTokenForTestsOnly_abcdefghijklm", admin_ids=ADMINS)


def milestone(due: date, done: bool = False) -> Milestone:
    return Milestone(commitment_id=1, due_date=due, done=done)


def test_progress_counts_done_next_due_and_overdue():
    today = date(2026, 11, 27)
    progress = plan.progress_of([milestone(date(2026, 10, 1), True), milestone(date(2026, 11, 25)),
                                 milestone(date(2027, 3, 1))], today)
    assert (progress.done, progress.total, progress.next_due, progress.overdue) == (1, 3, date(2026, 11, 25), 1)
    assert plan.progress_of([], today) == plan.Progress(0, 0, None, 0)


def test_parsing_commands():
    assert plan.parse_fields("ru Открытые заседания | Сейм |", "lv") == plan.CommitmentFields(
        "ru", "Открытые заседания", "Сейм", None)
    assert plan.parse_fields("  |  | ", "lv") is None
    assert plan.parse_fields("x" * 301, "lv") is None
    assert plan.parse_status("in-progress") == "in_progress" and plan.parse_status("finished") is None
    assert plan.parse_number("#12") == 12 and plan.parse_number("0") is None
    assert plan.parse_number("99999999999") is None


async def _commitment(session, key: str) -> Commitment:
    return (await session.exec(select(Commitment).where(Commitment.key == key))).one()


async def test_followers_and_supporters_hear_of_the_plan_once_a_week(sessions):
    await load_example(sessions)
    now = CAMPAIGN_OPEN
    async with sessions() as session:
        follower = await get_or_create_user(session, 501, "ru")
        supporter = await get_or_create_user(session, 502, "lv")
        await get_or_create_user(session, 503, "lv")  # neither follows nor supports: hears nothing
        budgets = await _commitment(session, "open-municipal-budget-data")
        lobbying = await _commitment(session, "lobbying-transparency-register")
        session.add(CommitmentFollow(user_id=follower.id, commitment_id=lobbying.id))
        linked = (await session.exec(select(Idea).where(Idea.key == "open-municipal-budgets"))).one()
        await add_vote(session, linked.id, supporter.id, now)
        await session.commit()
        ids = (follower.id, supporter.id, budgets.id, lobbying.id)
    follower_id, supporter_id, budgets_id, lobbying_id = ids
    async with sessions() as session:
        first = (await session.exec(select(Milestone).where(Milestone.commitment_id == lobbying_id)
                                    .order_by(Milestone.position))).first()
        await plan.set_milestone_done(session, SETTINGS, 1, first.id, True, "Noteikumi pieņemti", now)
    async with sessions() as session:
        await plan.set_commitment_status(session, SETTINGS, 1, budgets_id, "done", None, now)

    # The week ending on Monday 30 November 2026 holds both changes, and 25 November's milestone became overdue.
    end = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    async with sessions() as session:
        news = await plan_news.news_by_resident(session, end - timedelta(days=7), end, RIGA)
    assert set(news) == {follower_id, supporter_id}
    assert news[follower_id].language == "ru"
    assert [(item.commitment.id, item.kind) for item in news[follower_id].items] == [
        (lobbying_id, "milestone_done")]
    kinds = [(item.commitment.id, item.kind, item.status) for item in news[supporter_id].items]
    assert kinds == [(budgets_id, "status", "done"), (budgets_id, "milestone_overdue", None)]
    # The next week tells nothing new.
    async with sessions() as session:
        assert await plan_news.news_by_resident(session, end, end + timedelta(days=7), RIGA) == {}


async def test_two_moderators_change_a_commitment_at_once(sessions):
    await load_example(sessions)
    async with sessions() as session:
        commitment_id = (await _commitment(session, "youth-participation")).id
        for admin in ADMINS:
            await get_or_create_user(session, admin, "lv")

    async def change(admin: int) -> plan.Outcome:
        async with sessions() as session:
            result = await plan.set_commitment_status(session, SETTINGS, admin, commitment_id, "agreed",
                                                      f"by {admin}", CAMPAIGN_OPEN)
            return result.outcome

    outcomes = sorted(await asyncio.gather(*(change(admin) for admin in ADMINS)))
    assert outcomes == [plan.Outcome.DONE, plan.Outcome.UNCHANGED]
    async with sessions() as session:
        assert len((await session.exec(select(PlanEvent))).all()) == 1


class Texts:
    def decision(self, group, member, language):
        return Outgoing(f"{member.status} {language}")

    def meeting_reminder(self, group, meeting, language):
        return Outgoing(language)


async def test_two_moderators_cannot_overfill_the_last_place(sessions):
    await load_example(sessions)
    async with sessions() as session:
        group = (await session.exec(select(WorkingGroup).order_by(WorkingGroup.id))).first()
        group.capacity = 1
        members = []
        for user_id in (601, 602):
            await get_or_create_user(session, user_id, "lv")
            member = GroupMember(group_id=group.id, user_id=user_id, why="Gribu palīdzēt", contact_username="u" * 5,
                                 created_at=CAMPAIGN_OPEN)
            session.add(member)
            members.append(member)
        await session.commit()
        member_ids = [member.id for member in members]

    async def approve(admin: int, member_id: int) -> groups.Outcome:
        async with sessions() as session:
            result = await groups.decide(session, SETTINGS, admin, member_id, True, None, CAMPAIGN_OPEN, Texts())
            return result.outcome

    outcomes = sorted(await asyncio.gather(approve(1, member_ids[0]), approve(2, member_ids[1])))
    assert outcomes == [groups.Outcome.DONE, groups.Outcome.FULL]
    async with sessions() as session:
        approved = (await session.exec(select(GroupMember).where(GroupMember.status == "approved"))).all()
        assert len(approved) == 1 and (await session.get(User, 601)) is not None
