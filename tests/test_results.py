"""Open results: the anonymised export (CSV and JSON) and the HTML report, through the command line on SQLite
and PostgreSQL; the report as a person sees it in headless Chromium."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from storage.models import Category, GroupMember, Idea, IdeaStatus, WorkingGroup
from storage.users import get_or_create_user
from storage.votes import add_vote
from tests.conftest import CAMPAIGN_OPEN, SERVICES_REQUIRED, load_example, starts_processes
from tests.headless_browser import CHROMIUM, visit
from tests.i18n_helpers import t

PROJECT = Path(__file__).resolve().parent.parent
# Telegram ids as long as real ones, so that a match in the export cannot be a coincidence.
RESIDENTS = [5_550_001_001 + number * 7_919 for number in range(12)]
USERNAME, PHONE, ORGANISATION_ROLE = "secret_anna_lv", "+37120001234", "valdes priekšsēdētāja"


async def campaign_with_activity(sessions) -> str:
    """The example campaign with supports from a dozen residents, a resident's proposal and a group member."""
    await load_example(sessions)
    async with sessions() as session:
        ideas = list((await session.exec(select(Idea).order_by(Idea.id))).all())
        for number, user_id in enumerate(RESIDENTS):
            await get_or_create_user(session, user_id, "lv" if number % 2 else "ru")
            for idea in ideas[: 1 + number % 5]:
                await add_vote(session, idea.id, user_id, CAMPAIGN_OPEN)
        category = (await session.exec(select(Category).order_by(Category.id))).first()
        session.add(Idea(campaign_id=category.campaign_id, category_id=category.id, status=IdeaStatus.PUBLISHED,
                         author_id=RESIDENTS[0], title_lv="Iedzīvotāja priekšlikums par atklātību",
                         body_lv="Teksts", created_at=CAMPAIGN_OPEN))
        group = (await session.exec(select(WorkingGroup).order_by(WorkingGroup.id))).first()
        session.add(GroupMember(group_id=group.id, user_id=RESIDENTS[1], why="Gribu palīdzēt", status="approved",
                                contact_username=USERNAME, contact_phone=PHONE, role=ORGANISATION_ROLE,
                                organisation="Biedrība", created_at=CAMPAIGN_OPEN))
        await session.commit()
        return ideas[0].title_lv


def run_cli(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("BOT_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@starts_processes  # command-line processes (the report imports aiogram) on a possibly loaded machine
async def test_the_export_is_anonymised_and_complete(sessions, database_url, tmp_path):
    leading = await campaign_with_activity(sessions)
    tmp_path = tmp_path / "results"  # the SQLite database lives next to it
    for file_format in ("csv", "json"):
        await asyncio.to_thread(run_cli, database_url, PROJECT, "export", "--campaign", "atverta-latvija",
                                "--format", file_format, "--out", str(tmp_path / file_format))
    await asyncio.to_thread(run_cli, database_url, PROJECT, "report", "--campaign", "atverta-latvija",
                            "--out", str(tmp_path / "report" / "results.html"))

    written = sorted(path for path in tmp_path.rglob("*") if path.is_file())
    assert {path.name for path in written} == {
        "ideas.csv", "daily_supports.csv", "commitments.csv", "milestones.csv", "groups.csv", "atverta-latvija.json",
        "results.lv.html", "results.ru.html", "results.en.html"}
    for path in written:
        text = path.read_text(encoding="utf-8")
        for secret in [*map(str, RESIDENTS), USERNAME, PHONE, ORGANISATION_ROLE, "Gribu palīdzēt"]:
            assert secret not in text, (path.name, secret)

    with (tmp_path / "csv" / "ideas.csv").open(encoding="utf-8") as file:
        ideas = list(csv.DictReader(file))
    assert ideas[0]["title_lv"] == leading and ideas[0]["supporters"] == "12"
    assert ideas[0]["commitment"] == "open-municipal-budget-data" and ideas[0]["languages"] == "lv ru en"
    proposal = next(row for row in ideas if row["title_lv"].startswith("Iedzīvotāja"))
    assert proposal["proposed_by_resident"] == "True" and proposal["languages"] == "lv"
    data = json.loads((tmp_path / "json" / "atverta-latvija.json").read_text(encoding="utf-8"))
    assert sum(row["supports"] for row in data["daily_supports"]) == sum(1 + n % 5 for n in range(12))
    assert {row["date"] for row in data["daily_supports"]} == {"2026-11-27"}
    assert [row["members"] for row in data["groups"]] == [1, 0]
    assert len(data["commitments"]) == 6 and len(data["milestones"]) == 12


# CI installs Chromium (.ci/run), so there a missing browser fails the test instead of skipping it.
@pytest.mark.skipif(not SERVICES_REQUIRED and not Path(CHROMIUM).exists(),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
@starts_processes  # the report's process and a browser
async def test_the_report_reads_well_in_a_headless_browser(sqlite_sessions, sqlite_url, tmp_path):
    leading = await campaign_with_activity(sqlite_sessions)
    page = tmp_path / "results.html"
    await asyncio.to_thread(run_cli, sqlite_url, PROJECT, "report", "--campaign", "atverta-latvija", "--lang", "lv",
                            "--out", str(page))
    seen = await visit(page.as_uri(), {
        "title": "document.title",
        "heading": "document.querySelector('h1').innerText",
        "leading": "document.querySelector('#leading li strong').innerText",
        "chart": "(() => { const img = document.querySelector('img.chart');"
                 " return img.complete && img.naturalWidth > 300 && img.getBoundingClientRect().width > 200; })()",
        "fits_the_phone": "document.documentElement.scrollWidth <= window.innerWidth",
    }, tmp_path / "chromium-profile")
    (tmp_path / "report-screenshot.png").write_bytes(seen.screenshot)  # kept with the test's files, not in git
    assert seen.values["title"] == f"Atvērtā Latvija — {t('lv', 'Results')}"
    assert seen.values["heading"] == "Atvērtā Latvija"
    assert seen.values["leading"] == leading
    assert seen.values["chart"] is True and seen.values["fits_the_phone"] is True
    assert seen.console_errors == []
    assert all(url.startswith(("file:", "data:")) for url in seen.requests), seen.requests
    assert seen.screenshot.startswith(b"\x89PNG")
