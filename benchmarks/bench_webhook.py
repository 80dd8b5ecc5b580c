"""Webhook workers under a Telegram-like load, against a bare aiogram webhook bot in the same run.

    python benchmarks/generate.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench --replace
    python benchmarks/bench_webhook.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench \\
        --redis redis://127.0.0.1:6379/7 --updates 20000

N `python -m bot web` processes listen on one port (SO_REUSEPORT) on PostgreSQL and Redis, against the fake
Bot API server (tests/fake_telegram) in this process. The generator signs every POST with the secret, keeps
at most 40 connections open (Telegram's default max_connections) and retries each update until it gets a
2xx, as Telegram does. The mix: 60 % Support presses (distinct residents, ideas they had not supported),
20 % card opens, 10 % list pages, 10 % /start and searches. Reported: updates/s and p50/p95/p99 per type
(from the first POST to the 2xx, retries included) for 2 and 4 workers, and the same load (same update
types, same count) against a bare aiogram webhook bot (one handler per update type answering with one Bot
API call, no database) with as many processes. In the 4-worker run one worker is killed with kill -9 halfway;
afterwards the database is checked: every press has its vote (0 lost) and every idea's counter equals its
vote rows (0 double effects).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import signal
import socket
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from benchlib import (
    LATENCY_HEADERS,
    latency_row,
    load_bench_campaign,
    load_note,
    machine_line,
    markdown_table,
    voted_pairs,
)
from sqlalchemy import func, select

from bot.ui import callbacks as cb
from storage import processed_updates
from storage.db import async_url, create_engine, session_factory
from storage.models import Idea, Vote, utcnow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fake_telegram
from tests.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "4242424242:AAEfakeTokenForBenchOnly_abcdefghijklmn"
SECRET = "bench-Webhook_secret"
CONNECTIONS = 40
MIX = (("support", 0.6), ("card", 0.2), ("list", 0.1), ("start_or_search", 0.1))

BARE_BOT = """
import asyncio, os, signal
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

async def main():
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=TelegramAPIServer.from_base(os.environ["API"])))
    dp = Dispatcher()
    dp.callback_query.register(lambda query: query.answer("ok"))
    dp.message.register(lambda message: message.answer(message.text or "?"))
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=os.environ["SECRET"], handle_in_background=False).register(
        app, path="/telegram")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, port=int(os.environ["PORT"]), reuse_port=True).start()
    await bot.set_webhook("https://bench.example.org/telegram", secret_token=os.environ["SECRET"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await bot.session.close()

asyncio.run(main())
"""


@dataclass
class Load:
    updates: list[tuple[str, dict]]  # (type, update)
    presses: list[tuple[int, int]]  # (idea, resident) of every Support press


@dataclass
class Run:
    name: str
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    retries: int = 0

    @property
    def total(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.total / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_load(fake: FakeTelegram, campaign, count: int, already: set[tuple[int, int]], seed: int) -> Load:
    rng = random.Random(seed)
    ideas = campaign.idea_ids
    residents = list(campaign.resident_ids)
    rng.shuffle(residents)
    voters = iter(residents)
    updates, presses = [], []
    for _ in range(count):
        kind = rng.choices([name for name, _ in MIX], [share for _, share in MIX])[0]
        if kind == "support":
            resident = next(voters)
            idea = rng.choice(ideas)
            while (idea, resident) in already:
                idea = rng.choice(ideas)
            presses.append((idea, resident))
            data = cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea).pack()
            updates.append((kind, fake.callback_update(resident, 1, data)))
        elif kind == "card":
            data = cb.IdeaAction(act=cb.ACT_OPEN, id=rng.choice(ideas)).pack()
            updates.append((kind, fake.callback_update(rng.choice(residents), 1, data)))
        elif kind == "list":
            data = cb.IdeaList(cat=rng.choice(campaign.category_ids), page=rng.randrange(3)).pack()
            updates.append((kind, fake.callback_update(rng.choice(residents), 1, data)))
        else:
            text = rng.choice(["/start", "budžets", "atklātība", "открытые данные"])
            updates.append((kind, fake.message_update(rng.choice(residents), text)))
    return Load(updates, presses)


async def feed(url: str, load: Load, name: str, *, halfway=None) -> Run:
    """POST every update through at most 40 connections, each until it gets a 2xx."""
    run = Run(name, 0.0)
    queue: asyncio.Queue = asyncio.Queue()
    for item in load.updates:
        queue.put_nowait(item)
    done = 0
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def connection(http: aiohttp.ClientSession) -> None:
        nonlocal done
        while not queue.empty():
            kind, update = queue.get_nowait()
            started = time.perf_counter()
            while True:
                try:
                    async with http.post(url, json=update, headers=headers) as response:
                        await response.read()
                        if response.status < 300:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                run.retries += 1
                await asyncio.sleep(0.1)
            run.latencies[kind].append(time.perf_counter() - started)
            done += 1
            if halfway is not None and done == len(load.updates) // 2:
                halfway()

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(connection(http) for _ in range(CONNECTIONS)))
        run.seconds = time.perf_counter() - started
    return run


async def start_processes(count: int, command: list[str], env: dict[str, str], fake: FakeTelegram,
                          ) -> list[asyncio.subprocess.Process]:
    before = len(fake.calls("setWebhook"))
    processes = [await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT,
                                                      stdout=asyncio.subprocess.DEVNULL)
                 for _ in range(count)]
    while len(fake.calls("setWebhook")) < before + count:
        if any(process.returncode is not None for process in processes):
            sys.exit("a worker stopped at start; run one by hand to see why")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # the last one to call setWebhook may still be opening its socket
    return processes


async def stop_processes(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    await asyncio.gather(*(process.wait() for process in processes))


async def check_database(sessions, presses: list[tuple[int, int]]) -> tuple[int, int]:
    """Votes lost among the presses, and ideas whose counter differs from their vote rows."""
    async with sessions() as session:
        found = await voted_pairs(session, presses)
        ideas = sorted({idea for idea, _ in presses})
        counted = dict((await session.exec(select(Idea.id, Idea.supporters_count).where(Idea.id.in_(ideas)))).all())
        rows = dict((await session.exec(select(Vote.idea_id, func.count()).where(Vote.idea_id.in_(ideas))
                                        .group_by(Vote.idea_id))).all())
    lost = len(set(presses) - found)
    mismatched = sum(1 for idea in ideas if counted.get(idea, 0) != rows.get(idea, 0))
    return lost, mismatched


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL database made by generate.py")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--updates", type=int, default=20_000, help="updates per run (default 20,000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    engine = create_engine(args.db)
    sessions = session_factory(engine)
    campaign = await load_bench_campaign(sessions)
    async with sessions() as session:  # the fake numbers updates from 1 again: forget earlier runs' marks
        await processed_updates.prune(session, utcnow() + timedelta(days=1))
        await session.commit()
    async with FakeTelegram(token=TOKEN, bot_username="manabalss_bench_bot") as fake:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "DATABASE", "REDIS"))}
        env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url, API=fake.base_url, DATABASE_URL=args.db,
                   REDIS_URL=args.redis, WEBHOOK_URL="https://bench.example.org/telegram", WEBHOOK_SECRET=SECRET,
                   SECRET=SECRET, RUN_SCHEDULER="false", PYTHONPATH=str(ROOT),
                   LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
        runs: list[Run] = []
        checks: list[str] = []
        for seed_offset, workers in enumerate(args.workers):
            probe = build_load(fake, campaign, args.updates, set(), args.seed + seed_offset)
            async with sessions() as session:
                already = await voted_pairs(session, probe.presses)
            load = build_load(fake, campaign, args.updates, already, args.seed + seed_offset)
            port = free_port()
            url = f"http://127.0.0.1:{port}/telegram"
            bare = await start_processes(workers, [sys.executable, "-c", BARE_BOT], {**env, "PORT": str(port)}, fake)
            runs.append(await feed(url, load, f"bare aiogram webhook bot, {workers} processes"))
            await stop_processes(bare)

            port = free_port()
            url = f"http://127.0.0.1:{port}/telegram"
            bots = await start_processes(workers, [sys.executable, "-m", "bot", "web"], {**env, "PORT": str(port)},
                                         fake)
            kill = workers == max(args.workers)
            halfway = functools.partial(bots[0].send_signal, signal.SIGKILL) if kill else None
            name = f"ManaBalss bot, {workers} web workers" + (" (one killed with kill -9 halfway)" if kill else "")
            runs.append(await feed(url, load, name, halfway=halfway))
            await stop_processes(bots)
            lost, mismatched = await check_database(sessions, load.presses)
            checks.append(f"{workers} workers: {len(load.presses)} Support presses, {lost} votes lost, "
                          f"{mismatched} ideas whose counter differs from their votes, {runs[-1].retries} POSTs "
                          "retried")
    await engine.dispose()
    print(report(args, runs, checks))


def report(args, runs: list[Run], checks: list[str]) -> str:
    lines = [f"### bench_webhook: {args.updates} updates per run, {async_url(args.db).split('@')[-1]}", "",
             f"{machine_line()}; {load_note()}", ""]
    rows = [[run.name, str(run.total), f"{run.seconds:.1f}", f"{run.rate:.0f}", str(run.retries)] for run in runs]
    lines += [markdown_table(["run", "updates", "seconds", "updates/s", "retried POSTs"], rows), ""]
    ours = {run.name.split(",")[1].split()[0]: run for run in runs if run.name.startswith("ManaBalss")}
    bare = {run.name.split(",")[1].split()[0]: run for run in runs if run.name.startswith("bare")}
    for workers, run in ours.items():
        lines.append(f"- {workers} workers: {run.rate / bare[workers].rate:.0%} of the bare aiogram bot's updates/s")
    if len(ours) >= 2:
        low, high = sorted(ours, key=int)[0], sorted(ours, key=int)[-1]
        lines.append(f"- {high} workers / {low} workers: {ours[high].rate / ours[low].rate:.2f}×")
    lines += [f"- {check}" for check in checks] + [""]
    for run in runs:
        lines += [f"{run.name}:", "", markdown_table(LATENCY_HEADERS, [latency_row(kind, values) for kind, values
                                                                       in sorted(run.latencies.items())]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
