"""`python -m bot chat` walks through the action plan, a commitment, joining a working group and leaving it,
in Latvian and in Russian: a real process, driven like a person at the terminal (reading the numbered buttons)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import starts_processes
from tests.i18n_helpers import t

pytestmark = starts_processes  # the terminal chat is a process: it imports the bot and walks a dozen screens

PROMPT = "\n> "
PROJECT = Path(__file__).resolve().parent.parent


class Terminal:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""

    async def read(self) -> str:
        """Everything the bot printed up to the next prompt."""
        output = await asyncio.wait_for(self.process.stdout.readuntil(PROMPT.encode()), timeout=60)
        self.screen = output.decode()
        return self.screen

    async def type(self, line: str) -> str:
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.read()

    async def press(self, label: str) -> str:
        numbers = [number for number, text in re.findall(r"\[(\d+)\] ([^\[\n]+)", self.screen) if label in text]
        assert len(numbers) == 1, f"no single button {label!r} in:\n{self.screen}"
        return await self.type(numbers[0])


WALKS = {
    "lv": ("Agrīna sabiedrības līdzdalība", "Darba grupa: agrīna", "Gribu palīdzēt iestādēm uzklausīt iedzīvotājus."),
    "ru": ("Раннее участие общества", "Рабочая группа: раннее", "Хочу помочь учреждениям слышать жителей раньше."),
}


@pytest.mark.parametrize("language", ["lv", "ru"])
async def test_the_terminal_chat_walks_through_the_plan_and_a_working_group(tmp_path: Path, language: str):
    commitment, group, why = WALKS[language]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}"}
    env.pop("BOT_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--lang", language, cwd=PROJECT,
        env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    terminal = Terminal(process)
    try:
        await terminal.read()
        plan = await terminal.press(t(language, "📈 Plan"))
        assert t(language, "in progress") in plan
        card = await terminal.press(commitment)
        assert t(language, "🗓 <b>Milestones</b>").replace("<b>", "").replace("</b>", "") in card
        await terminal.press(group)
        await terminal.press(t(language, "✋ Join as a resident"))
        consent = await terminal.type(why)
        assert t(language, "Which contact do you agree to share?") in consent
        await terminal.press(t(language, "📱 My phone number"))
        saved = await terminal.press(t(language, "📱 Share my phone number"))
        assert t(language, "✅ Thank you! Your sign-up is waiting for a moderator; we will tell you their decision.") \
            in saved
        left = await terminal.press(t(language, "🚪 Leave the group"))
        assert t(language, "You left the group; we deleted your contact.") in left
        process.stdin.write(b"/quit\n")
        await process.stdin.drain()
        _out, errors = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0 and b"Traceback" not in errors, errors.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
