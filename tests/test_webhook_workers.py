"""Two webhook workers (`python -m bot web`) on one port (SO_REUSEPORT), on PostgreSQL and Redis, fed like
Telegram feeds them (every update retried until a 2xx); one worker is killed with kill -9 in the middle.
No vote and no proposal step is lost, none counts twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from storage.db import create_engine, migrate, session_factory
from storage.models import Idea, IdeaStatus, Vote
from tests.conftest import TEST_TOKEN, load_example, starts_processes
from tests.fake_telegram import Resident
from tests.i18n_helpers import t

pytestmark = starts_processes  # two web workers import aiogram and migrate on a possibly loaded machine

SECRET = "workers-Secret_1"
RESIDENTS = 24
FIRST_RESIDENT = 20_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TelegramLikeFeed:
    """POSTs each update until the webhook answers 2xx, as Telegram does, through up to 40 connections; the call
    a 2xx response carries (a press's answer) is then made, as Telegram makes it."""

    def __init__(self, fake, url: str) -> None:
        self.fake = fake
        self.url = url
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40))
        self.retries = 0

    async def __call__(self, update: dict) -> None:
        while True:
            try:
                async with self.http.post(self.url, json=update, timeout=aiohttp.ClientTimeout(total=60),
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    if response.status < 300:
                        await self.fake.webhook_response(response.headers.get("Content-Type", ""),
                                                         await response.read())
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.retries += 1
            await asyncio.sleep(0.2)


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("w") as file:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "web", env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=file)


def button_data(fake, user_id: int, label: str) -> tuple[int, str]:
    for message in reversed(fake.messages(user_id)):
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label and "callback_data" in button:
                    return message.message_id, button["callback_data"]
    raise AssertionError(f"no button {label!r} in the chat with {user_id}")


async def test_a_worker_killed_under_load_loses_no_vote_or_step(fake_telegram, postgres_url, redis_url, tmp_path):
    engine = create_engine(postgres_url)
    await migrate(engine)
    sessions = session_factory(engine)
    await load_example(sessions)
    async with sessions() as session:
        idea_ids = list((await session.exec(select(Idea.id).order_by(Idea.id))).scalars())
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "DATABASE", "REDIS"))}
    env.update(BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL=fake_telegram.base_url, DATABASE_URL=postgres_url,
               REDIS_URL=redis_url, WEBHOOK_URL="https://bot.example.org/telegram", WEBHOOK_SECRET=SECRET,
               PORT=str(port), RUN_SCHEDULER="false", LOG_LEVEL="INFO", HOME=str(tmp_path),
               # The killed worker's residents wait this long for their lock (bot/isolation.py): 10 s by default.
               RESIDENT_LOCK_SECONDS="2")
    logs = [tmp_path / "worker-0.log", tmp_path / "worker-1.log"]
    workers = [await start_worker(env, log) for log in logs]
    feed = TelegramLikeFeed(fake_telegram, f"http://127.0.0.1:{port}/telegram")
    residents = [Resident(fake_telegram, feed, FIRST_RESIDENT + n, language_code="lv") for n in range(RESIDENTS)]
    titles = {r.user_id: f"Priekšlikums numur {r.user_id}: atklāti dati" for r in residents}
    bodies = {r.user_id: f"Teksts {r.user_id}: visu sēžu protokoli un balsojumi būtu jāpublicē vienuviet."
              for r in residents}
    try:
        for _ in range(3000):  # a generous bound: two processes start slowly on a busy machine
            if len(fake_telegram.calls("setWebhook")) == 2 or any(w.returncode is not None for w in workers):
                break
            await asyncio.sleep(0.1)
        assert len(fake_telegram.calls("setWebhook")) == 2, "both workers started, but: " + "\n".join(
            f"worker {n} (exit code {worker.returncode}): {log.read_text()[-2000:]}"
            for n, (worker, log) in enumerate(zip(workers, logs, strict=True)))
        webhook = fake_telegram.calls("setWebhook")[0].params
        assert webhook["url"] == "https://bot.example.org/telegram" and webhook["secret_token"] == SECRET
        assert "callback_query" in webhook["allowed_updates"] and int(webhook["max_connections"]) == 40

        async def prepare(resident: Resident) -> None:
            await resident.send(f"/start idea_{idea_ids[resident.user_id % len(idea_ids)]}")
            await resident.send("/propose")
            await resident.press("Atklātība")

        await asyncio.gather(*(prepare(resident) for resident in residents))
        supports = {r.user_id: button_data(fake_telegram, r.user_id, t("lv", "👍 Support")) for r in residents}

        async def vote_and_write(resident: Resident) -> None:
            message_id, data = supports[resident.user_id]
            await resident.press_data(data, message_id)
            await resident.send(titles[resident.user_id])
            await resident.send(bodies[resident.user_id])

        load = asyncio.gather(*(vote_and_write(resident) for resident in residents))
        while not load.done():
            if sum(c.method == "answerCallbackQuery" for c in fake_telegram.requests) >= RESIDENTS * 2:
                break  # about half of the presses are answered: mid-run
            await asyncio.sleep(0.01)
        workers[0].send_signal(signal.SIGKILL)
        await load

        async def send(resident: Resident) -> None:
            await resident.send("/propose")  # resumes at the preview (also when its reply was lost in the kill)
            await resident.press(t("lv", "✅ Send"))

        await asyncio.gather(*(send(resident) for resident in residents))
    finally:
        await feed.http.close()
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 60)
    assert workers[0].returncode == -signal.SIGKILL
    assert feed.retries > 0, "the kill hit updates in flight, which Telegram (the feed) delivered again"
    assert "Traceback" not in logs[1].read_text(), logs[1].read_text()
    # An answer leaves only in the response to an update, with its acknowledgement: a press the killed worker had
    # handled but not acknowledged is delivered again and answered then, once (by a request it would be twice).
    assert all(call.in_webhook_response for call in fake_telegram.calls("answerCallbackQuery"))
    assert [call.description for call in fake_telegram.calls("answerCallbackQuery") if not call.ok] == []

    async with sessions() as session:
        votes = (await session.exec(select(Vote.user_id, Vote.idea_id).where(Vote.user_id >= FIRST_RESIDENT))).all()
        counted = (await session.exec(select(func.sum(Idea.supporters_count)))).scalar_one()
        proposals = (await session.exec(select(Idea).where(Idea.status == IdeaStatus.PENDING))).scalars().all()
    await engine.dispose()
    assert sorted(votes) == sorted((r.user_id, idea_ids[r.user_id % len(idea_ids)]) for r in residents)
    assert counted == RESIDENTS, "every support counted once"
    assert sorted((p.author_id, p.title_lv, p.body_lv) for p in proposals) == sorted(
        (r.user_id, titles[r.user_id], bodies[r.user_id]) for r in residents)
