"""The command line as an operator uses it: real processes, a real database file, the fake Bot API server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROCESS_START_BOUND, TEST_TOKEN, eventually, starts_processes
from tests.fake_telegram import HandledUpdates, Resident, feed_via_polling
from tests.i18n_helpers import t

EXAMPLE = Path(__file__).resolve().parent.parent / "bot" / "data" / "atverta-latvija.yaml"
# Every test here starts processes, and each pays Python's start and its imports (aiogram: seconds of CPU) again;
# on a loaded 2-core machine that takes many times longer than on an idle one. The bounds only catch hangs.
pytestmark = starts_processes


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'manabalss.db'}", **extra)
    return env


def run(tmp_path: Path, *args: str, input_text: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=environment(tmp_path, **env),
                          input=input_text, capture_output=True, text=True, timeout=PROCESS_START_BOUND)


@pytest.mark.parametrize(("token", "advice"), [("", "@BotFather"), ("not-a-token", "@BotFather")])
def test_missing_or_malformed_token_is_one_clear_line(tmp_path, token, advice):
    result = run(tmp_path, BOT_TOKEN=token)
    assert result.returncode == 1
    assert advice in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_then_reimport_then_stats(tmp_path):
    first = run(tmp_path, "import", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout and "ideas: 23 created" in first.stdout
    again = run(tmp_path, "import", str(EXAMPLE))
    assert "ideas: 0 created, 0 updated, 23 unchanged" in again.stdout
    stats = run(tmp_path, "stats", "--json")
    assert stats.returncode == 0 and len(stats.stdout.strip().splitlines()) == 1
    data = json.loads(stats.stdout)
    assert data["campaigns"] == 1 and data["ideas_by_status"] == {"published": 23} and data["votes"] == 0
    human = run(tmp_path, "stats")
    assert "campaigns:   1" in human.stdout


def test_operator_commands_start_without_importing_aiogram(tmp_path):
    """aiogram takes seconds of CPU to import: the commands that never talk to Telegram (the Procfile's release
    phase runs `migrate`) do without it."""
    script = ("import sys\nfrom bot.__main__ import main\n"
              "for argv in (['migrate'], ['stats', '--json'], ['integrity', '--json'], ['export-group', '1'],\n"
              "             ['export', '--campaign', 'x', '--out', 'out']):\n"
              "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
              "print('aiogram imported:', 'aiogram' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environment(tmp_path),
                            capture_output=True, text=True, timeout=PROCESS_START_BOUND)
    assert result.returncode == 0, result.stderr
    assert "database is up to date" in result.stdout and '"campaigns": 0' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "aiogram imported: False"


def test_malformed_campaign_file_names_the_field_and_changes_nothing(tmp_path):
    run(tmp_path, "import", str(EXAMPLE))
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text(encoding="utf-8").replace("category: digital", "category: digitl", 1),
                      encoding="utf-8")
    result = run(tmp_path, "import", str(broken))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert 'unknown category "digitl"' in result.stderr and "nothing changed" in result.stderr
    assert json.loads(run(tmp_path, "stats", "--json").stdout)["ideas"] == 23
    missing = run(tmp_path, "import", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_chat_loads_the_example_presses_buttons_and_reopens_an_unfinished_proposal(tmp_path):
    # One process each is seconds of imports: the first run also checks the buttons of a new resident.
    first = run(tmp_path, "chat", "--lang", "ru",
                input_text="1\n1\n/propose\n1\nПротоколы заседаний в одном месте\n/quit\n")
    assert first.returncode == 0, first.stderr
    assert "Открытая Латвия" in first.stdout
    assert f"[1] {t('ru', '💡 Ideas')}" in first.stdout
    assert "Открытость" in first.stdout  # the categories screen, reached by pressing 1
    # A returning resident: no welcome again, their proposal reopens at its step, --lang does not override.
    second = run(tmp_path, "chat", "--lang", "en", input_text="/quit\n")
    assert second.returncode == 0, second.stderr
    assert t("ru", "Step 3 of 3: describe your idea, from 30 to 2,000 characters: what should change, and why?") \
        in second.stdout and "Протоколы заседаний в одном месте" in second.stdout
    assert "Открытая Латвия" not in second.stdout  # the welcome is for a new resident only
    # Log lines would mix into the conversation: only warnings and worse, unless LOG_LEVEL asks for more.
    assert " INFO " not in first.stderr + second.stderr and "Traceback" not in first.stderr + second.stderr


async def test_the_bot_process_polls_the_api_and_answers_without_logging_the_token(tmp_path, fake_telegram):
    assert run(tmp_path, "import", str(EXAMPLE)).returncode == 0
    env = environment(tmp_path, BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL=fake_telegram.base_url, LOG_LEVEL="DEBUG")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    handled = HandledUpdates()  # from the bot's log, read as it is written
    reading = asyncio.create_task(handled.read(process.stderr))
    try:
        # The bot polls once started: its start (migrations, the scheduler's first tick) is no answer.
        await eventually(lambda: fake_telegram.polls_received, what="the bot polls", timeout=PROCESS_START_BOUND)
        resident = Resident(fake_telegram, feed_via_polling(fake_telegram, handled), 501, language_code="ru")
        welcome = await resident.send("/start")
        assert "Открытая Латвия" in welcome.text
        categories = await resident.press(t("ru", "💡 Ideas"))
        assert any("Открытость" in label for label in categories.buttons)
        assert fake_telegram.my_commands, "the command menu was set at start"
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), PROCESS_START_BOUND)
        await reading
    log = "".join(handled.log)
    assert TEST_TOKEN not in log and TEST_TOKEN.split(":")[1] not in log
    assert "running as @" in log
