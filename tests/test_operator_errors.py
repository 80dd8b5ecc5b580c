"""An operator's mistakes end the process with one line naming the problem, exit code 1, no traceback and no
secret; the first log line says what the process connects to."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, TEST_TOKEN, starts_processes

pytestmark = starts_processes  # every test starts `python -m bot`

SETTINGS = ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "TELEGRAM_API_URL", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET",
            "PAID_BROADCAST_RATE")
OTHER_TOKEN = "5151515151:AAErevokedTokenForTestsOnly_abcdefghij"
PG = POSTGRES_ADMIN_URL.replace("+asyncpg", "").rsplit("/", 1)[0]


async def run_bot(tmp_path, *args: str, **env: str) -> tuple[int, str]:
    environment = {key: value for key, value in os.environ.items() if not key.endswith(SETTINGS)}
    environment.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'manabalss.db'}", **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    return process.returncode, stderr.decode()


def assert_one_line_error(code: int, stderr: str, *expected: str) -> str:
    assert code == 1, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), stderr
    for part in expected:
        assert part in last, last
    for secret in (TEST_TOKEN, TEST_TOKEN.split(":")[1], OTHER_TOKEN.split(":")[1], "hunter2"):
        assert secret not in stderr
    return last


async def test_a_revoked_token(tmp_path, fake_telegram):
    code, stderr = await run_bot(tmp_path, BOT_TOKEN=OTHER_TOKEN, TELEGRAM_API_URL=fake_telegram.base_url)
    assert_one_line_error(code, stderr, "rejected BOT_TOKEN", "@BotFather")


@pytest.mark.parametrize("command", ["run", "web"])
async def test_an_unreachable_telegram_api(tmp_path, command):
    code, stderr = await run_bot(tmp_path, command, BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9",
                                 WEBHOOK_URL="https://bot.example.org/hook", WEBHOOK_SECRET="hunter2")
    assert_one_line_error(code, stderr, "cannot reach the Telegram Bot API at http://127.0.0.1:9")


@pytest.mark.parametrize(("url", "expected"), [
    (f"{PG}/manabalss_i8_does_not_exist", "does not exist"),
    ("postgresql://postgres:hunter2@127.0.0.1:9/manabalss", "cannot open the database"),
    ("sqlite:////nonexistent-dir/manabalss.db", "No such file or directory"),
])
async def test_a_database_that_does_not_exist_or_refuses(tmp_path, url, expected):
    code, stderr = await run_bot(tmp_path, "migrate", DATABASE_URL=url)
    last = assert_one_line_error(code, stderr, "cannot open the database", expected)
    assert "DATABASE_URL" in last


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("DATABASE_URL", "mysql://root:hunter2@db/manabalss", "DATABASE_URL"),
    ("DATABASE_URL", "::not a url hunter2::", "DATABASE_URL"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ("TELEGRAM_API_URL", f"api.telegram.org/bot{TEST_TOKEN}", "TELEGRAM_API_URL"),
    ("PAID_BROADCAST_RATE", "30", "PAID_BROADCAST_RATE: Value error, must be 0 (off) or above the free rate of 30"),
    ("PAID_BROADCAST_RATE", "5000", "at most 1000 messages a second"),
    ("PAID_BROADCAST_RATE", "fast", "PAID_BROADCAST_RATE"),
])
async def test_malformed_settings(tmp_path, name, value, expected):
    code, stderr = await run_bot(tmp_path, **{"BOT_TOKEN": TEST_TOKEN, name: value})
    assert_one_line_error(code, stderr, "bad setting", expected)
    assert len(stderr.strip().splitlines()) == 1


async def test_the_first_log_line_names_what_it_connects_to_without_the_password(tmp_path):
    url = f"{PG.replace('postgres@', 'postgres:hunter2@')}/manabalss_i8_does_not_exist"
    code, stderr = await run_bot(tmp_path, "migrate", DATABASE_URL=url, REDIS_URL="redis://:hunter2@127.0.0.1:6379/7")
    first = stderr.strip().splitlines()[0]
    assert "connecting to database postgresql+asyncpg://postgres:***@127.0.0.1:5432/manabalss_i8_does_not_exist" \
        in first
    assert "Telegram Bot API https://api.telegram.org" in first and "Redis redis://:***@127.0.0.1:6379/7" in first
    assert "hunter2" not in stderr and code == 1
