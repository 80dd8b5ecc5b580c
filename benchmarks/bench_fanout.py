"""Fan-out of a digest-like message to N subscribers through the real outbox sender and the fake Bot API server.

    python benchmarks/bench_fanout.py                                   # 100,000 subscribers, SQLite
    python benchmarks/bench_fanout.py --subscribers 20000 --db postgresql+asyncpg://postgres@127.0.0.1:5432/fanout

Three processes, so that no two of them share a CPU-bound event loop: this one prepares the database and the
outbox and reports; the fake Bot API server (tests/fake_telegram, answering as Telegram does, with its flood limits
raised far above every configured rate) runs in a child process; the sender runs in a fresh child process for each
run, so that the CPU time and the memory it reports are its own. The sender is the bot's: `bot.delivery.build_sender`
from a `Settings`, with the bot of `bot.app.create_bot` (its real aiohttp session and the process's request pacing),
so it keeps the pace the settings give it, SEND_RATE_PER_SECOND (and PAID_BROADCAST_RATE, REPLY_RATE_PER_SECOND),
whatever this script might wish; with --redis the pace is kept in Redis, as with REDIS_URL. The outbox rows are
written the way a fan-out is written in production: a moderator's broadcast to the weekly-digest subscribers
(bot.domain.broadcasts.send, one INSERT ... SELECT; broadcasts are paid kinds).

Runs, each in a fresh sender process; (a) and (b) in pairs, on a new batch of 10,000 and of N rows waiting, the same
number of messages sent from each (so the sender's peak RSS, which must not depend on the backlog, can be compared):
  (a) default pace  the default settings (SEND_RATE_PER_SECOND 25, max_in_flight 8), --memory-messages: the share of
                    25/s achieved (target: at least 95 %);
  (b) paid 1000/s   PAID_BROADCAST_RATE=1000 (broadcasts are paid kinds; max_in_flight 100), --paid-messages: how near
                    the sender comes to the paid rate production can be set to;
  (c) free 1000/s   SEND_RATE_PER_SECOND=REPLY_RATE_PER_SECOND=1000, on what is left of the N batch of (b), for
                    --top-seconds: the sender's top speed with its production concurrency, and CPU time per message.
Rows a run leaves unsent are paused before the next run (and resumed for the next run on the same batch).

Memory: "peak RSS" is the sender process's own high-water mark (VmHWM of /proc/self/status). Not getrusage's
ru_maxrss: Linux carries a parent's high-water mark over fork and exec into the child's, so that figure showed this
script's own RSS (which grows with the rows it wrote), not the sender's. "SQLite MiB" is SQLite's own allocations'
high-water mark (its page caches included), from the sqlite3 library the process uses.

The database is created afresh: the SQLite file is deleted, the PostgreSQL database dropped and created again.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import os
import random
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
    cores_busy,
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
from bot.delivery import Outcome, Sender, build_sender  # noqa: E402
from bot.domain import broadcasts  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import SessionFactory, close_database, create_engine, migrate, open_database, session_factory  # noqa: E402
from storage.models import User  # noqa: E402

DEFAULT_DB = f"sqlite+aiosqlite:///{RESULTS_DIR / 'fanout.db'}"
TOKEN = "4200001:fanout-benchmark-token-not-a-real-one-abcd"
ADMIN = 4242
TARGET_SHARE = 0.95  # of the configured rate
SMALL_BACKLOG = 10_000  # the memory comparison's smaller backlog
FAST = 1000  # messages a second: Telegram's most for paid broadcasts, far above the sender's free top speed


# --- the fake Bot API server (child process) --------------------------------------------------------------


async def serve_fake(first_id: int, count: int) -> None:
    """Serve until killed; print the base URL first. What was served is forgotten every few seconds, so that
    the fake's memory stays flat over 100,000 requests."""
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram(token=TOKEN, bot_username="manabalss_fanout_bot")
    for user_id in range(first_id, first_id + count):
        fake.add_user(user_id)
    fake.add_user(ADMIN)
    fake.enable_rate_limits(per_chat_per_second=1_000, global_per_second=1_000_000, paid_per_second=1_000_000)
    await fake.start()
    print(fake.base_url, flush=True)
    while True:
        await asyncio.sleep(3)
        fake.requests.clear()
        for user in fake.users.values():
            user.messages.clear()


# --- the sender (child process) -----------------------------------------------------------------------------


def memory_mib() -> dict[str, float]:
    """This process's RSS now and its high-water mark, in MiB (both start afresh at exec)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line[:5]] = int(line.split()[1]) / 1024
    return {"rss": values.get("VmRSS", 0.0), "peak": values.get("VmHWM", 0.0)}


def sqlite_peak_mib() -> float | None:
    """SQLite's allocations' high-water mark in this process (page caches included); None when not readable."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:  # a Python built with SQLite linked in statically
        return None
    library.sqlite3_memory_highwater.restype = ctypes.c_int64
    library.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return library.sqlite3_memory_highwater(0) / 2**20


class MeasuredSender(Sender):
    """The production sender; the run ends after `goal` messages (0: no goal) or when nothing is due."""

    def __init__(self, *args, done: asyncio.Event, goal: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.done = done
        self.goal = goal
        self.outcomes: Counter[Outcome] = Counter()

    async def _attempt(self, message):
        outcome = await super()._attempt(message)
        self.outcomes[outcome] += 1
        if self.goal and sum(self.outcomes.values()) >= self.goal:
            self.done.set()  # requests in flight still finish (and count)
        return outcome

    async def run_once(self) -> Counter[Outcome]:
        counts = await super().run_once()
        self.done.set()
        return counts


async def run_sender(db: str, api: str, redis: str | None, overrides: dict, goal: int, seconds: float) -> dict:
    settings = Settings(bot_token=TOKEN, telegram_api_url=api, database_url=db, redis_url=redis, **overrides)
    engine, sessions = await open_database(settings.database_url, settings.pool, settings.caches)
    bot = create_bot(settings)
    stop = asyncio.Event()
    sender = build_sender(bot, sessions, settings, MeasuredSender, done=stop, goal=goal)
    async with sessions() as session:  # connect before measuring
        await outbox.has_due(session)
    before = memory_mib()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    cpu, wall = time.process_time(), time.perf_counter()
    await sender.run_forever(stop)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = memory_mib()
    await bot.session.close()
    await close_database(engine)
    return {"outcomes": {str(key): value for key, value in sender.outcomes.items()}, "seconds": wall,
            "cpu_seconds": cpu, "rss_before_mib": before["rss"], "rss_after_mib": after["rss"],
            "peak_rss_mib": after["peak"], "sqlite_peak_mib": sqlite_peak_mib(),
            "pace": sender.paid_rate or settings.send_rate_per_second, "in_flight": sender.max_in_flight}


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


def sender_run(db: str, api: str, redis: str | None, overrides: dict, goal: int, seconds: float) -> dict:
    command = [sys.executable, __file__, "--role", "sender", "--db", db, "--api", api, "--overrides",
               json.dumps(overrides), "--goal", str(goal), "--seconds", str(seconds)]
    if redis:
        command += ["--redis", redis]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 120, check=False)
    if done.returncode != 0:
        sys.exit(f"the sender failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, waiting: int, busy: float, result: dict, target: bool) -> list[str]:
    outcomes = result["outcomes"]
    sent = outcomes.get("sent", 0)
    handled = sum(outcomes.values())
    per_second = sent / result["seconds"]
    share = per_second / result["pace"]
    cpu_ms = result["cpu_seconds"] / max(handled, 1) * 1000
    sqlite_peak = result["sqlite_peak_mib"]
    return [
        name, f"{busy:.0%}", f"{waiting:,}", f"{result['pace']:,.0f}", str(result["in_flight"]), f"{sent:,}",
        f"{handled - sent:,}", f"{result['seconds']:.1f}", f"{per_second:,.1f}",
        f"{share:.1%}" + ((" ✓" if share >= TARGET_SHARE else " ✗") if target else ""),
        f"{cpu_ms:.2f}", f"{result['cpu_seconds'] / result['seconds']:.0%}",
        f"{result['rss_before_mib']:.0f}", f"{result['peak_rss_mib']:.0f}",
        "—" if sqlite_peak is None else f"{sqlite_peak:.1f}",
    ]


def code_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=ROOT, check=False).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL, recreated (default: {DEFAULT_DB})")
    parser.add_argument("--subscribers", type=int, default=100_000, help="the larger backlog, N")
    parser.add_argument("--memory-messages", type=int, default=1_500,
                        help="messages each default-pace run sends (1,500: 60 s at 25/s; 0: skip them)")
    parser.add_argument("--paid-messages", type=int, default=3_000, help="messages each paid run sends (0: skip them)")
    parser.add_argument("--top-seconds", type=float, default=60.0, help="length of the free 1000/s run (0: skip it)")
    parser.add_argument("--redis", help="keep the pace in Redis, as with REDIS_URL (e.g. redis://127.0.0.1:6379/5)")
    parser.add_argument("--role", choices=("main", "fake", "sender"), default="main", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--goal", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "fake":
        asyncio.run(serve_fake(RESIDENT_ID_BASE, args.subscribers))
        return
    if args.role == "sender":
        result = asyncio.run(run_sender(args.db, args.api, args.redis, json.loads(args.overrides), args.goal,
                                        args.seconds))
        print(json.dumps(result))
        return

    started = datetime.now(UTC)
    started_load = load_note()
    text = digest_like_text()
    count = max(args.subscribers, SMALL_BACKLOG)
    loop = asyncio.new_event_loop()
    sessions = loop.run_until_complete(prepare(args.db, count))
    fake, api = start_fake(count)
    default_seconds = args.memory_messages / Settings.model_fields["send_rate_per_second"].default * 2 + 60
    paid = {"paid_broadcast_rate": FAST}
    free = {"send_rate_per_second": FAST, "reply_rate_per_second": FAST}
    # (name, batch: runs with the same one share it, rows waiting, settings, messages to send (0: until the time is
    # up), seconds at most, whether the 95 % target applies)
    plan = []
    if args.memory_messages:
        plan += [("(a) default pace", "a small", SMALL_BACKLOG, {}, args.memory_messages, default_seconds, True),
                 ("(a) default pace", "a large", args.subscribers, {}, args.memory_messages, default_seconds, True)]
    if args.paid_messages:
        plan += [(f"(b) paid {FAST}/s", "b small", SMALL_BACKLOG, paid, args.paid_messages, 600, False),
                 (f"(b) paid {FAST}/s", "b large", args.subscribers, paid, args.paid_messages, 600, False)]
    if args.top_seconds:
        plan += [(f"(c) free {FAST}/s", "b large", args.subscribers, free, 0, args.top_seconds, False)]
    rows, writes, batches = [], [], {}
    try:
        for name, batch, backlog, overrides, goal, seconds, target in plan:
            if batch in batches:  # what is left of an earlier run's batch
                batch_id = batches[batch]
                waiting = loop.run_until_complete(unpark(sessions, batch_id))
            else:
                batch_id, waiting, write_seconds = loop.run_until_complete(write_fanout(sessions, backlog, text))
                writes.append((waiting, write_seconds))
                batches[batch] = batch_id
            busy = cores_busy()
            result = sender_run(args.db, api, args.redis, overrides, goal, seconds)
            left = loop.run_until_complete(park(sessions, batch_id))
            rows.append(row(name, waiting, busy, result, target))
            print(f"  {name}: {result['outcomes']} in {result['seconds']:.1f} s; batch now: {left}", file=sys.stderr)
    finally:
        fake.kill()
        fake.wait()
        loop.close()

    pace = f"pace in Redis ({args.redis})" if args.redis else "pace in the sender process (no REDIS_URL)"
    print(f"Fan-out through the outbox sender — {backend_label(args.db)}; {machine_line()}, {os.cpu_count()} cores; "
          f"{pace}; code {code_commit()}; started {started:%Y-%m-%d %H:%M} UTC; {started_load}")
    print(f"Message: digest-like, {len(text):,} characters. Writing the outbox rows (one INSERT ... SELECT, one "
          "transaction): " + ", ".join(f"{n:,} rows in {s:.1f} s" for n, s in writes))
    print()
    print(markdown_table(["run", "cores busy before", "waiting", "pace /s", "in flight", "sent", "not sent",
                          "seconds", "sent /s", "share of pace", "CPU ms/msg", "CPU of a core", "RSS before MiB",
                          "peak RSS MiB", "SQLite MiB"], rows))


if __name__ == "__main__":
    main()
