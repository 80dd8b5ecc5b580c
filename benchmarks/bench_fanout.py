"""Fan-out of a digest-like message to N subscribers through the real outbox sender and the fake Bot API server.

    python benchmarks/bench_fanout.py                                   # 100,000 subscribers, SQLite
    python benchmarks/bench_fanout.py --subscribers 20000 --db postgresql+asyncpg://postgres@127.0.0.1:5432/fanout

Three processes, so that no two of them share a CPU-bound event loop: this one prepares the database and the
outbox and reports; the fake Bot API server (tests/fake_telegram, answering as Telegram does, with its flood limits
raised far above every configured rate) runs in a child process; the sender (bot.delivery.Sender with the bot's
real aiohttp session, as bot.app builds it) runs in a fresh child process for each run, so that the CPU time and
the peak RSS it reports are its own. The outbox rows are written the way a fan-out is written in production: a
moderator's broadcast to the weekly-digest subscribers (bot.domain.broadcasts.send, one INSERT ... SELECT).

Runs, each bounded in time:
  (a) max      rate 10,000/s, every subscriber (at most --max-seconds): the sender's messages per second and its
               CPU time per message (process CPU time / messages);
  (c) memory   the same at 10,000 subscribers: the sender's peak RSS must not grow with the audience (it claims a
               few rows at a time and never loads the audience);
  (b) paced    200/s for 30 s and 25/s for 60 s, with all N waiting: the share of the configured rate achieved
               (target: at least 95 %). Rows a run leaves unsent are paused before the next run.

The database is created afresh: the SQLite file is deleted, the PostgreSQL database dropped and created again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchlib import (
    RESIDENT_ID_BASE,
    RESULTS_DIR,
    backend_label,
    is_sqlite,
    load_note,
    machine_line,
    markdown_table,
    reset_postgres,
    reset_sqlite,
)
from sqlalchemy import insert, update
from textgen import idea_texts

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fake_telegram

from bot.app import create_bot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery import Outcome, Sender  # noqa: E402
from bot.domain import broadcasts  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import SessionFactory, create_engine, migrate, session_factory  # noqa: E402
from storage.models import User  # noqa: E402

DEFAULT_DB = f"sqlite+aiosqlite:///{RESULTS_DIR / 'fanout.db'}"
TOKEN = "4200001:fanout-benchmark-token-not-a-real-one-abcd"
ADMIN = 4242
TARGET_SHARE = 0.95  # of the configured rate, in the paced runs
MAX_RATE = 10_000.0
MEMORY_SUBSCRIBERS = 10_000
PACED_RUNS = ((200.0, 30.0), (25.0, 60.0))  # (messages a second, seconds)


# --- the fake Bot API server (child process) --------------------------------------------------------------


async def serve_fake(first_id: int, count: int) -> None:
    """Serve until killed; print the base URL first. What was served is forgotten every few seconds, so that
    the fake's memory stays flat over 100,000 requests."""
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram(token=TOKEN, bot_username="manabalss_fanout_bot")
    for user_id in range(first_id, first_id + count):
        fake.add_user(user_id)
    fake.add_user(ADMIN)
    fake.enable_rate_limits(per_chat_per_second=1_000, global_per_second=1_000_000)
    await fake.start()
    print(fake.base_url, flush=True)
    while True:
        await asyncio.sleep(3)
        fake.requests.clear()
        for user in fake.users.values():
            user.messages.clear()


# --- the sender (child process) -----------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class MeasuredSender(Sender):
    """The production sender; the run ends when everything due was handed over (run_once returned)."""

    def __init__(self, *args, done: asyncio.Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.done = done
        self.outcomes: Counter[Outcome] = Counter()

    async def run_once(self) -> Counter[Outcome]:
        counts = await super().run_once()
        self.outcomes += counts
        self.done.set()
        return counts


async def run_sender(db: str, api: str, rate: float, seconds: float, in_flight: int) -> dict:
    engine = create_engine(db)
    sessions = session_factory(engine)
    bot = create_bot(Settings(bot_token=TOKEN, telegram_api_url=api))
    stop = asyncio.Event()
    sender = MeasuredSender(bot, sessions, rate_per_second=rate, max_in_flight=in_flight, done=stop)
    async with sessions() as session:  # connect before timing
        await outbox.has_due(session)
    rss_before = rss_kib()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    cpu, wall = time.process_time(), time.perf_counter()
    await sender.run_forever(stop)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await bot.session.close()
    await engine.dispose()
    return {"outcomes": {str(key): value for key, value in sender.outcomes.items()}, "seconds": wall,
            "cpu_seconds": cpu, "rss_before_kib": rss_before,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


# --- preparing the database (this process) ------------------------------------------------------------------


def digest_like_text() -> str:
    """About 1,000 characters: a heading, six ideas with their supporters, a closing line."""
    rng = random.Random(3)
    lines = ["Nedēļas apkopojums — Atvērtā Latvija", "", "Šonedēļ visvairāk atbalstītās idejas:"]
    for place in range(1, 7):
        texts = idea_texts(rng)
        first_sentence = texts["body_lv"].split(". ")[0][:110]
        lines.append(f"{place}. {texts['title_lv'][:120]} — {rng.randint(40, 4000)} atbalstītāji. {first_sentence}.")
    lines += ["", "Jaunas idejas: 37. Kampaņa ilgst līdz 29. jūnijam — tavs viedoklis tiks ņemts vērā.",
              "Atteikties no apkopojuma: /subscriptions"]
    return "\n".join(lines)


async def prepare(url: str, subscribers: int) -> SessionFactory:
    """A new database with `subscribers` residents (not subscribed yet) and the moderator."""
    if is_sqlite(url):
        reset_sqlite(url)
    else:
        await reset_postgres(url)
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        now = datetime.now(UTC)
        session.add(User(id=ADMIN, language="lv", created_at=now))
        for start in range(0, subscribers, 5_000):
            rows = [{"id": RESIDENT_ID_BASE + index, "language": "lv", "subscribed": False, "created_at": now}
                    for index in range(start, min(start + 5_000, subscribers))]
            await session.exec(insert(User).values(rows))
        await session.commit()
    return sessions


async def write_fanout(sessions: SessionFactory, subscribers: int, text: str) -> tuple[str, int, float]:
    """The first `subscribers` residents subscribe; the moderator's broadcast to the subscribers is written.
    Returns the batch id, the number of rows and the seconds it took to write them."""
    async with sessions() as session:
        await session.exec(update(User).where(User.id != ADMIN)
                           .values(subscribed=User.id < RESIDENT_ID_BASE + subscribers))
        await session.commit()
    settings = Settings(bot_token=TOKEN, admin_ids=frozenset({ADMIN}))
    draft = broadcasts.Draft(broadcasts.SUBSCRIBERS, text, batch_id=f"broadcast:{uuid.uuid4().hex}")
    started = time.perf_counter()
    async with sessions() as session:
        result = await broadcasts.send(session, settings, ADMIN, draft, datetime.now(UTC))
    seconds = time.perf_counter() - started
    if result.outcome is not broadcasts.Outcome.DONE:
        sys.exit(f"writing the fan-out failed: {result.outcome}")
    return draft.batch_id, result.recipients, seconds


async def park(sessions: SessionFactory, batch_id: str) -> dict[str, int]:
    """Pause what a capped run left, so that the next run starts with only its own rows due."""
    async with sessions() as session:
        await outbox.pause_batch(session, batch_id)
        await session.commit()
        return (await outbox.batch_progress(session, batch_id)).counts


async def unpark(sessions: SessionFactory, batch_id: str) -> int:
    async with sessions() as session:
        resumed = await outbox.resume_batch(session, batch_id)
        await session.commit()
        return resumed


# --- the runs ----------------------------------------------------------------------------------------------------


def start_fake(subscribers: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--role", "fake", "--subscribers", str(subscribers)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        process.kill()
        sys.exit("the fake Bot API server did not start")
    return process, base_url


def sender_run(db: str, api: str, rate: float, seconds: float, in_flight: int) -> dict:
    command = [sys.executable, __file__, "--role", "sender", "--db", db, "--api", api, "--rate", str(rate),
               "--seconds", str(seconds), "--in-flight", str(in_flight)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 120, check=False)
    if done.returncode != 0:
        sys.exit(f"the sender failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, subscribers: int, rate: float, result: dict, paced: bool) -> list[str]:
    outcomes = result["outcomes"]
    sent = outcomes.get("sent", 0)
    handled = sum(outcomes.values())
    per_second = sent / result["seconds"]
    share = per_second / rate
    cpu_ms = result["cpu_seconds"] / max(handled, 1) * 1000
    return [
        name, f"{subscribers:,}", f"{rate:,.0f}", f"{sent:,}", f"{handled - sent:,}", f"{result['seconds']:.1f}",
        f"{per_second:,.1f}", (f"{share:.1%}" + (" ✓" if share >= TARGET_SHARE else " ✗")) if paced else "—",
        f"{cpu_ms:.2f}", f"{result['cpu_seconds'] / result['seconds']:.0%}",
        f"{result['rss_before_kib'] / 1024:.0f}", f"{result['peak_rss_kib'] / 1024:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL, recreated (default: {DEFAULT_DB})")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="cap of each max-rate run")
    parser.add_argument("--paced-seconds", type=float,
                        help="length of each paced run (default: 30 s at 200/s, 60 s at 25/s)")
    parser.add_argument("--in-flight", type=int, default=8, help="the sender's max_in_flight (production: 8)")
    parser.add_argument("--role", choices=("main", "fake", "sender"), default="main", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "fake":
        asyncio.run(serve_fake(RESIDENT_ID_BASE, args.subscribers))
        return
    if args.role == "sender":
        print(json.dumps(asyncio.run(run_sender(args.db, args.api, args.rate, args.seconds, args.in_flight))))
        return

    started_load = load_note()
    text = digest_like_text()
    count = max(args.subscribers, MEMORY_SUBSCRIBERS)
    loop = asyncio.new_event_loop()
    sessions = loop.run_until_complete(prepare(args.db, count))
    fake, api = start_fake(count)
    rows, writes = [], []
    try:
        plan = [("(c) memory, max rate", MEMORY_SUBSCRIBERS, MAX_RATE, args.max_seconds, False),
                ("(a) max rate", args.subscribers, MAX_RATE, args.max_seconds, False)]
        plan += [(f"(b) paced {rate:.0f}/s", args.subscribers, rate, seconds, True) for rate, seconds in PACED_RUNS]
        if args.paced_seconds:
            plan = [(name, n, rate, args.paced_seconds if paced else seconds, paced)
                    for name, n, rate, seconds, paced in plan]
        paced_batch = None
        for name, subscribers, rate, seconds, paced in plan:
            if paced and paced_batch is not None:  # the paced runs share one batch: what is left of it
                batch_id = paced_batch
                waiting = loop.run_until_complete(unpark(sessions, batch_id))
            else:
                batch_id, waiting, write_seconds = loop.run_until_complete(write_fanout(sessions, subscribers, text))
                writes.append((waiting, write_seconds))
                paced_batch = batch_id if paced else None
            result = sender_run(args.db, api, rate, seconds, args.in_flight)
            left = loop.run_until_complete(park(sessions, batch_id))
            rows.append(row(name, waiting, rate, result, paced))
            print(f"  {name}: {result['outcomes']} in {result['seconds']:.1f} s; batch now: {left}", file=sys.stderr)
    finally:
        fake.kill()
        fake.wait()
        loop.close()

    print(f"Fan-out through the outbox sender — {backend_label(args.db)}; {machine_line()}, {os.cpu_count()} cores; "
          f"max_in_flight {args.in_flight}; {started_load}")
    print(f"Message: digest-like, {len(text):,} characters. Writing the outbox rows (one INSERT ... SELECT, one "
          "transaction): " + ", ".join(f"{n:,} rows in {s:.1f} s" for n, s in writes))
    print()
    print(markdown_table(["run", "waiting", "rate /s", "sent", "not sent", "seconds", "sent /s",
                          "share of rate", "CPU ms/msg", "CPU of a core", "RSS before MiB", "peak RSS MiB"], rows))


if __name__ == "__main__":
    main()
