"""The integrity report on a generated campaign: honest residents with skewed popularity (as
benchmarks/generate.py makes them) plus a scripted vote farm of fresh accounts. The report names the farmed ideas
and nothing of the honest part (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

from sqlalchemy import insert, update
from sqlmodel import select

from bot.domain import integrity
from storage.models import Campaign, Category, Idea, IdeaStatus, Report, User, Vote
from tests import test_e2e_moderation as moderation_stories
from tests.conftest import CAMPAIGN_OPEN, load_example, starts_processes
from tests.i18n_helpers import t

mod_app = moderation_stories.mod_app  # the moderators' app fixture

NOW = CAMPAIGN_OPEN
RESIDENTS, VOTES, FARM = 3000, 15_000, 250
FARM_BASE = 900_000_000


async def generated_campaign(sessions) -> tuple[int, int, list[int]]:
    """The example campaign with 60 more ideas and skewed honest votes spread over eleven days; then a farm of
    fresh accounts that supports two obscure ideas within a quarter of an hour. Returns the farmed ideas and the
    honest leaders."""
    rng = random.Random(7)
    slug = (await load_example(sessions)).slug
    async with sessions() as session:
        campaign = (await session.exec(select(Campaign).where(Campaign.slug == slug))).one()
        category = (await session.exec(select(Category).where(Category.campaign_id == campaign.id))).first()
        for number in range(60):
            session.add(Idea(campaign_id=campaign.id, category_id=category.id, status=IdeaStatus.PUBLISHED,
                             title_lv=f"Ideja numur {number}", created_at=NOW - timedelta(days=12)))
        await session.exec(update(Idea).where(Idea.campaign_id == campaign.id).values(
            created_at=NOW - timedelta(days=12)))  # imported before the campaign, as in real life
        await session.commit()
        ideas = list((await session.exec(select(Idea.id).where(Idea.campaign_id == campaign.id)
                                         .order_by(Idea.id))).all())
        joined = NOW - timedelta(days=40)
        await (await session.connection()).execute(insert(User), [{"id": 1_000_000 + number, "language": "lv",
                                           "created_at": joined + timedelta(minutes=19 * number)}
                                          for number in range(RESIDENTS)])
        rng.shuffle(ideas)
        weights = [1 / (rank + 3) ** 1.1 for rank in range(len(ideas))]
        votes = set()
        while len(votes) < VOTES:
            votes.add((rng.choices(ideas, weights)[0], 1_000_000 + rng.randrange(RESIDENTS)))
        rows = [{"idea_id": idea_id, "user_id": user_id,
                 "created_at": NOW - timedelta(days=11) * rng.random()} for idea_id, user_id in sorted(votes)]
        await (await session.connection()).execute(insert(Vote), rows)
        farmed = ideas[-2:]  # the least popular: nobody would notice them otherwise
        leaders = ideas[:3]
        await (await session.connection()).execute(insert(User), [{"id": FARM_BASE + number, "language": "lv",
                                           "created_at": NOW - timedelta(hours=3)} for number in range(FARM)])
        await (await session.connection()).execute(insert(Vote), [{"idea_id": idea_id, "user_id": FARM_BASE + number,
                                           "created_at": NOW - timedelta(hours=2, minutes=rng.random() * 15)}
                                          for number in range(FARM) for idea_id in farmed])
        session.add(Report(idea_id=leaders[0], user_id=1_000_001, reason="spam", created_at=NOW))
        await session.commit()
    return farmed, leaders, campaign.slug


async def test_the_report_names_the_farmed_ideas_and_no_honest_one(sessions):
    farmed, leaders, slug = await generated_campaign(sessions)
    async with sessions() as session:
        campaign = await integrity.campaign_for_report(session, slug, NOW)
        report = await integrity.build_report(session, campaign, NOW)
    assert report.flagged_ideas == set(farmed)
    by_code = {signal.code: signal for signal in report.signals}
    assert {finding.ideas for finding in by_code["fresh_accounts"].findings} == {(idea,) for idea in farmed}
    assert {finding.ideas for finding in by_code["bursts"].findings} == {(idea,) for idea in farmed}
    assert [finding.ideas for finding in by_code["shared_supporters"].findings] == [tuple(sorted(farmed))]
    assert by_code["fresh_accounts"].count >= 2 * FARM  # and a few honest newcomers, named nowhere
    assert [finding.ideas for finding in by_code["reports"].findings] == [(leaders[0],)]
    public = json.dumps(report.as_dict())
    assert "1000001" not in public and str(FARM_BASE) not in public  # never a resident's id


async def test_moderators_read_the_report_and_residents_get_no_such_command(mod_app):
    from tests.test_e2e_moderation import ADMIN, resident

    admin = await resident(mod_app, "lv", user_id=ADMIN)
    report = await admin.send("/integrity")
    assert t("lv", "🛡 <b>Integrity report</b> · {campaign}", campaign="atverta-latvija").replace(
        "<b>", "").replace("</b>", "") in report.text
    person = await resident(mod_app, "ru")
    unknown = t("ru", "🤔 There is no such command. /help lists them all.")
    assert (await person.send("/integrity")).text == unknown


@starts_processes  # runs the command as processes
def test_the_command_line_prints_the_report_as_json(tmp_path):
    from tests.test_cli import EXAMPLE, run

    assert run(tmp_path, "import", str(EXAMPLE)).returncode == 0
    result = run(tmp_path, "integrity", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["campaign_slug"] == "atverta-latvija"
    assert [signal["code"] for signal in document["signals"]] == [
        "fresh_accounts", "bursts", "lone_supporters", "shared_supporters", "reports"]
    assert "integrity report" in run(tmp_path, "integrity").stdout.lower()
