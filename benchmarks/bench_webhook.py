"""Webhook workers under a Telegram-like load, against a bare aiogram webhook bot in the same run.

    python benchmarks/generate.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench --replace
    python benchmarks/bench_webhook.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench \\
        --redis redis://127.0.0.1:6379/7 --updates 20000

N `python -m bot web` processes listen on one port (SO_REUSEPORT) on PostgreSQL and Redis, against the fake
Bot API server (tests/fake_telegram) in this process. The generator signs every POST with the secret, keeps
at most 40 connections open (Telegram's default max_connections) and retries each update until it gets a
2xx, as Telegram does; the call a 2xx response carries (a press's answer, with WEBHOOK_ANSWER_IN_RESPONSE) is
then made by the fake, as Telegram makes it. The mix: 60 % Support presses (distinct residents, ideas they had
not supported), 20 % card opens, 10 % list pages, 10 % /start and searches; every press is on a message the bot
sent earlier (the fake holds one per resident), so it edits that message as a real press does. Reported:
updates/s and p50/p95/p99 per type (from the first POST to the 2xx, retries included), the Bot API requests and
response-carried calls per update, and the bot processes' CPU per update, for 2 and 4 workers, each with the
answer in the webhook response and by a request of its own (`--answer`), and the same load against a bare
aiogram webhook bot (one handler per update type returning its one Bot API call, which aiogram puts into the
response; no database) with as many processes. Every run begins with `--warmup` unmeasured updates. In the runs
with the most workers one worker is killed with kill -9 halfway (`--no-kill`: not); afterwards the database is
checked: every press has its vote (0 lost) and every idea's counter equals its vote rows (0 double effects).

On a shared machine the load of other processes drifts by more than the difference between the answer modes, so
`--side-by-side` runs both modes' workers at the same time (each on its own port, fed its own load of the same
updates by residents of its own, through 40 connections each; when one has had all its updates the other stops
taking more): whatever slows the machine slows both. `--rounds N` repeats the runs (one mode at a time, every
other round in reverse order: request, response, response, request).
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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from benchlib import (
    LATENCY_HEADERS,
    busy_share,
    cores_busy,
    cpu_ticks,
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
from tests.fake_telegram import FakeTelegram, StoredMessage  # noqa: E402

TOKEN = "4242424242:AAEfakeTokenForBenchOnly_abcdefghijklmn"
SECRET = "bench-Webhook_secret"
CONNECTIONS = 40
MIX = (("support", 0.6), ("card", 0.2), ("list", 0.1), ("start_or_search", 0.1))
CARD_MESSAGE_ID = 1_000_000  # the bot message each resident presses on, planted in the fake (above the ids it gives)
ANSWER_MODES = {"request": "false", "response": "true"}  # --answer: WEBHOOK_ANSWER_IN_RESPONSE
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

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
    updates: list[tuple[str, dict, tuple[int, int] | None]]  # (type, update, (idea, resident) of a Support press)
    residents: set[int]  # whose chats the load's updates come from

    @property
    def presses(self) -> list[tuple[int, int]]:
        return [press for _, _, press in self.updates if press is not None]


@dataclass
class Run:
    workers: int
    answer: str  # "bare" (the bare aiogram bot), or how ManaBalss answers a press: "request" or "response"
    killed: bool = False
    together: bool = False  # fed at the same time as the other answer mode's workers
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    pressed: list[tuple[int, int]] = field(default_factory=list)  # Support presses acknowledged
    retries: int = 0
    requests: int = 0  # Bot API requests the bot's processes made in the load's chats
    carried: int = 0  # calls carried by webhook responses (made by the fake, as Telegram makes them)
    refused: Counter = field(default_factory=Counter)  # calls of either kind the fake refused, by method and why
    cpu: float | None = None  # CPU seconds of the bot's processes during the run (None: one was killed)
    busy: float = 0.0  # share of the machine's cores busy during the run, every process counted
    before: float = 0.0  # share of the cores other processes used in the second before the run

    @property
    def name(self) -> str:
        if self.answer == "bare":
            return f"bare aiogram webhook bot, {self.workers} processes"
        how = "answer in the webhook response" if self.answer == "response" else "answer by a request"
        return (f"ManaBalss bot, {self.workers} web workers, {how}" + (" (side by side)" if self.together else "")
                + (" (one killed halfway)" if self.killed else ""))

    @property
    def total(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.total / self.seconds


class Residents:
    """The generated residents in one shuffled order; every load takes residents nobody used before."""

    def __init__(self, campaign, seed: int) -> None:
        self.pool = list(campaign.resident_ids)
        random.Random(seed).shuffle(self.pool)
        self.taken = 0

    def take(self, count: int) -> list[int]:
        if self.taken + count > len(self.pool):
            sys.exit(f"out of fresh residents ({len(self.pool)}): fewer --updates, --rounds or --workers")
        self.taken += count
        return self.pool[self.taken - count:self.taken]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def press_update(fake: FakeTelegram, resident: int, data: str) -> dict:
    """A press on the bot's message in the resident's chat, as it is when the press is built (a fresh "card")."""
    user = fake.users.get(resident) or fake.add_user(resident, language_code="lv")
    user.messages[CARD_MESSAGE_ID] = StoredMessage(resident, CARD_MESSAGE_ID, 1_795_000_000, True, text="card")
    return fake.callback_update(resident, CARD_MESSAGE_ID, data)


def build_load(fake: FakeTelegram, campaign, count: int, already: set[tuple[int, int]], seed: int,
               voters: list[int], browsers: list[int]) -> Load:
    """The same seed gives the same updates but for the residents: each Support press takes the next of `voters`,
    the other updates come from `browsers`; so loads with the same seed and residents of their own can run side by
    side and cast fresh votes."""
    rng = random.Random(seed)
    ideas = campaign.idea_ids
    next_voter = iter(voters)
    updates: list[tuple[str, dict, tuple[int, int] | None]] = []
    for _ in range(count):
        kind = rng.choices([name for name, _ in MIX], [share for _, share in MIX])[0]
        if kind == "support":
            resident = next(next_voter)
            idea = rng.choice(ideas)
            while (idea, resident) in already:
                idea = rng.choice(ideas)
            data = cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea).pack()
            updates.append((kind, press_update(fake, resident, data), (idea, resident)))
        elif kind == "card":
            data = cb.IdeaAction(act=cb.ACT_OPEN, id=rng.choice(ideas)).pack()
            updates.append((kind, press_update(fake, rng.choice(browsers), data), None))
        elif kind == "list":
            data = cb.IdeaList(cat=rng.choice(campaign.category_ids), page=rng.randrange(3)).pack()
            updates.append((kind, press_update(fake, rng.choice(browsers), data), None))
        else:
            text = rng.choice(["/start", "budžets", "atklātība", "открытые данные"])
            updates.append((kind, fake.message_update(rng.choice(browsers), text), None))
    return Load(updates, {*voters, *browsers})


async def fresh_load(fake, sessions, campaign, residents: Residents, count: int, seed: int) -> Load:
    """A load whose Support presses are all on ideas their residents had not supported."""
    voters, browsers = residents.take(count), residents.take(count)
    probe = build_load(fake, campaign, count, set(), seed, voters, browsers)
    async with sessions() as session:
        already = await voted_pairs(session, probe.presses)
    return build_load(fake, campaign, count, already, seed, voters, browsers)


async def feed(fake: FakeTelegram, url: str, load: Load, run: Run, *, stop: asyncio.Event | None = None,
               halfway=None) -> None:
    """POST the updates through at most 40 connections, each until it gets a 2xx; then the call the response
    carries is made (after the latency was taken: Telegram does that on its side). Feeds sharing `stop` end
    together: when the first has posted all its updates, the others take no more."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in load.updates:
        queue.put_nowait(item)
    done = 0
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def connection(http: aiohttp.ClientSession) -> None:
        nonlocal done
        while not queue.empty() and not (stop is not None and stop.is_set()):
            kind, update, press = queue.get_nowait()
            started = time.perf_counter()
            while True:
                try:
                    async with http.post(url, json=update, headers=headers) as response:
                        body = await response.read()
                        if response.status < 300:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                run.retries += 1
                await asyncio.sleep(0.1)
            run.latencies[kind].append(time.perf_counter() - started)
            if press is not None:
                run.pressed.append(press)
            await fake.webhook_response(response.headers.get("Content-Type", ""), body)
            done += 1
            if halfway is not None and done == len(load.updates) // 2:
                halfway()

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(connection(http) for _ in range(CONNECTIONS)))
        run.seconds = time.perf_counter() - started
    if stop is not None:
        stop.set()


def cpu_seconds(processes: list[asyncio.subprocess.Process]) -> float | None:
    """User and system CPU of the processes so far; None when one is gone."""
    total = 0
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return None
        if fields[0] == "Z":  # killed, not yet reaped
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


async def measure(fake: FakeTelegram, sets: list[tuple[str, Load, Run, list]], warmups: list[Load]) -> None:
    """Feed each (url, load, run, processes) at the same time, after an unmeasured warm-up load each (first imports,
    caches, pools), and record what each cost: its calls, its processes' CPU, the machine's busy share."""
    await asyncio.gather(*(feed(fake, url, warmup, Run(run.workers, run.answer))
                           for (url, _, run, _), warmup in zip(sets, warmups, strict=True)))
    before = await asyncio.to_thread(cores_busy)
    first_call, ticks = len(fake.requests), cpu_ticks()
    stop = asyncio.Event() if len(sets) > 1 else None

    async def one(url: str, load: Load, run: Run, processes: list) -> None:
        cpu_before = cpu_seconds(processes)
        halfway = functools.partial(processes[0].send_signal, signal.SIGKILL) if run.killed else None
        await feed(fake, url, load, run, stop=stop, halfway=halfway)
        cpu_after = cpu_seconds(processes)
        if cpu_before is not None and cpu_after is not None:
            run.cpu = cpu_after - cpu_before

    await asyncio.gather(*(one(*each) for each in sets))
    busy = busy_share(ticks, cpu_ticks())
    for _, load, run, _ in sets:
        calls = [call for call in fake.requests[first_call:] if call.chat_id in load.residents]
        run.carried = sum(call.in_webhook_response for call in calls)
        run.requests = len(calls) - run.carried
        run.refused.update(f"{call.method}: {call.description}" for call in calls if not call.ok)
        run.before, run.busy = before, busy


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


def answer_groups(modes: list[str], rounds: int, together: bool) -> list[list[str]]:
    """The answer modes of the runs: side by side, all at once each round; else one at a time, every other round
    in reverse (request, response, response, request, ...)."""
    if together:
        return [modes] * rounds
    return [[mode] for n in range(rounds) for mode in (modes if n % 2 == 0 else modes[::-1])]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL database made by generate.py")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--updates", type=int, default=20_000, help="updates per run (default 20,000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--answer", nargs="+", choices=list(ANSWER_MODES), default=list(ANSWER_MODES),
                        help="how the bot answers a press: by a request, in the webhook response (default: both)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="run the answer modes' workers at the same time, each fed its own load")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each answer mode per worker count")
    parser.add_argument("--no-kill", action="store_true", help="kill no worker")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured updates before each run (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    engine = create_engine(args.db)
    sessions = session_factory(engine)
    campaign = await load_bench_campaign(sessions)
    residents = Residents(campaign, args.seed)
    async with sessions() as session:  # the fake numbers updates from 1 again: forget earlier runs' marks
        await processed_updates.prune(session, utcnow() + timedelta(days=1))
        await session.commit()
    runs: list[Run] = []
    checks: list[str] = []
    async with FakeTelegram(token=TOKEN, bot_username="manabalss_bench_bot") as fake:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "DATABASE", "REDIS"))}
        env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url, API=fake.base_url, DATABASE_URL=args.db,
                   REDIS_URL=args.redis, WEBHOOK_URL="https://bench.example.org/telegram", WEBHOOK_SECRET=SECRET,
                   SECRET=SECRET, RUN_SCHEDULER="false", PYTHONPATH=str(ROOT),
                   LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
        for seed_offset, workers in enumerate(args.workers):
            seed = args.seed + seed_offset
            port = free_port()
            bare = await start_processes(workers, [sys.executable, "-c", BARE_BOT], {**env, "PORT": str(port)}, fake)
            load = await fresh_load(fake, sessions, campaign, residents, args.updates, seed)
            warmup = await fresh_load(fake, sessions, campaign, residents, args.warmup, seed + 1000)
            runs.append(Run(workers, "bare"))
            await measure(fake, [(f"http://127.0.0.1:{port}/telegram", load, runs[-1], bare)], [warmup])
            await stop_processes(bare)

            for answers in answer_groups(args.answer, args.rounds, args.side_by_side):
                sets, warmups = [], []
                for answer in answers:
                    load = await fresh_load(fake, sessions, campaign, residents, args.updates, seed)
                    warmups.append(await fresh_load(fake, sessions, campaign, residents, args.warmup, seed + 1000))
                    port = free_port()
                    bots = await start_processes(workers, [sys.executable, "-m", "bot", "web"],
                                                 {**env, "PORT": str(port),
                                                  "WEBHOOK_ANSWER_IN_RESPONSE": ANSWER_MODES[answer]}, fake)
                    run = Run(workers, answer, killed=not args.no_kill and workers == max(args.workers),
                              together=len(answers) > 1)
                    sets.append((f"http://127.0.0.1:{port}/telegram", load, run, bots))
                await measure(fake, sets, warmups)
                for _url, _load, run, bots in sets:
                    await stop_processes(bots)
                    runs.append(run)
                    lost, mismatched = await check_database(sessions, run.pressed)
                    refused = "; ".join(f"{count} × {why}" for why, count in run.refused.most_common()) or "none"
                    checks.append(f"{run.name}: {len(run.pressed)} Support presses, {lost} votes lost, {mismatched} "
                                  f"ideas whose counter differs from their votes, {run.retries} POSTs retried; "
                                  f"calls refused: {refused}")
    await engine.dispose()
    print(report(args, runs, checks))


def pooled(runs: list[Run]) -> tuple[float, float | None]:
    """Updates/s over the runs, and the bot's CPU seconds per update (None when a run has no CPU figure)."""
    rate = sum(run.total for run in runs) / sum(run.seconds for run in runs)
    if any(run.cpu is None for run in runs):
        return rate, None
    return rate, sum(run.cpu for run in runs) / sum(run.total for run in runs)


def report(args, runs: list[Run], checks: list[str]) -> str:
    lines = [f"### bench_webhook: {args.updates} updates per run, {async_url(args.db).split('@')[-1]}", "",
             f"{machine_line()}; {load_note()} (at the end)", ""]
    headers = ["run", "updates", "seconds", "updates/s", "retried POSTs", "requests / update",
               "calls in responses / update", "refused calls", "bot CPU ms / update", "cores busy", "others before"]
    rows = [[run.name, str(run.total), f"{run.seconds:.1f}", f"{run.rate:.0f}", str(run.retries),
             f"{run.requests / run.total:.2f}", f"{run.carried / run.total:.2f}", str(run.refused.total()),
             "—" if run.cpu is None else f"{run.cpu / run.total * 1000:.2f}", f"{run.busy:.0%}", f"{run.before:.0%}"]
            for run in runs]
    lines += [markdown_table(headers, rows), ""]
    ours: dict[int, list[Run]] = defaultdict(list)
    for run in runs:
        if run.answer != "bare":
            ours[run.workers].append(run)
    for workers, same in ours.items():
        bare = next(run for run in runs if run.workers == workers and run.answer == "bare")
        by_mode = {mode: pooled([run for run in same if run.answer == mode]) for mode in args.answer}
        for mode, (rate, _) in by_mode.items():
            how = "in the webhook response" if mode == "response" else "by a request"
            lines.append(f"- {workers} workers, answer {how}: {rate:.0f} updates/s over its runs, "
                         f"{rate / bare.rate:.0%} of the bare aiogram bot's")
        if len(by_mode) == 2:
            (rate_in, cpu_in), (rate_by, cpu_by) = by_mode["response"], by_mode["request"]
            lines.append(f"- {workers} workers, answer in the response / by a request: {rate_in / rate_by:.2f}× the "
                         "updates/s" + ("" if cpu_in is None or cpu_by is None else
                                        f", {cpu_in / cpu_by:.2f}× the bot's CPU per update "
                                        f"({cpu_in * 1000:.2f} vs {cpu_by * 1000:.2f} ms)"))
            if args.side_by_side:
                pairs = [same[n:n + 2] for n in range(0, len(same), 2)]
                ratios = [f"{a.rate / b.rate if a.answer == 'response' else b.rate / a.rate:.2f}×" for a, b in pairs]
                lines.append(f"- {workers} workers, the same ratio of updates/s in each round: {', '.join(ratios)}")
    if len(ours) >= 2:
        low, high = min(ours), max(ours)
        lines.append(f"- {high} workers / {low} workers: {pooled(ours[high])[0] / pooled(ours[low])[0]:.2f}×")
    lines += [f"- {check}" for check in checks] + [""]
    for run in runs:
        lines += [f"{run.name}:", "", markdown_table(LATENCY_HEADERS, [latency_row(kind, values) for kind, values
                                                                       in sorted(run.latencies.items())]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
