"""Votes per second through the full vote handler, against a bare aiogram echo bot in the same run.

    python benchmarks/bench_handler.py --db sqlite+aiosqlite:///benchmarks/results/bench.db
    python benchmarks/bench_handler.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench

The vote side is the production assembly (bot.app.create_dispatcher: middlewares, database, i18n, rendering)
fed with "Support" presses (IdeaAction act="s") of distinct residents of a database made by generate.py.
The baseline is a Dispatcher with one router that answers every message with its own text. Both bots use
the same in-process session (CannedSession): no network, but the same request serialisation and response
parsing a real session does, so the ratio measures our code. Updates are built before timing, as polling
hands them over already parsed; echo and vote updates are fed in alternating slices. After each vote run,
the same residents withdraw (act="w"), which leaves the database as it was and is reported too. Then a
cProfile run of the vote handler (also written to results/profile-<database>.txt) and a run with wall-clock
timers around the parts of a press (FSM state, resident, voting.support, rendering, Bot API calls).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import json
import logging
import pstats
import random
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import AnswerCallbackQuery, EditMessageText, GetMe, SendMessage, TelegramMethod
from aiogram.types import CallbackQuery, Message, Update
from benchlib import (
    DEFAULT_DB,
    RESULTS_DIR,
    BenchCampaign,
    backend_label,
    load_bench_campaign,
    load_note,
    markdown_table,
    percentile,
    vacuum_if_postgres,
    voted_pairs,
)
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.middlewares
import handlers.voting
from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.domain import voting
from bot.garbage_collection import tune_garbage_collector
from bot.i18n import create_i18n
from bot.runner import create_fsm_storage
from bot.ui import browse_screens
from bot.ui import callbacks as cb
from storage.db import SessionFactory, close_database, open_database

TOKEN = "4200000:benchmark-token-not-a-real-one-abcdefgh"
BOT_USER = {"id": 4200000, "is_bot": True, "first_name": "ManaBalss", "username": "manabalss_bench_bot"}
TARGET_RATIO = 0.20  # vote handler rate / echo rate, at 64 in flight (issue 8)
WARMUP = 200


class CannedSession(BaseSession):
    """Answers Bot API calls in-process. Like aiogram's own tests/mocked_bot.py it parses a canned JSON
    response with check_response, and like AiohttpSession.build_form_data it serialises the request first,
    so the per-request work of a real session is paid, without the network."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()  # answerCallbackQuery texts, to explain a run that went wrong

    async def close(self) -> None:
        pass

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,  # noqa: ASYNC109
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("no files in the benchmark")
        yield b""  # pragma: no cover

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:  # noqa: ASYNC109
        self.calls[method.__api_method__] += 1
        if isinstance(method, AnswerCallbackQuery):
            self.alerts[method.text or ""] += 1
        files: dict[str, Any] = {}
        form = {key: self.prepare_value(value, bot=bot, files=files)
                for key, value in method.model_dump(warnings=False).items()}
        content = json.dumps({"ok": True, "result": self._result(method, form)})
        return self.check_response(bot, method, 200, content).result

    @staticmethod
    def _result(method: TelegramMethod[Any], form: dict[str, Any]) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, SendMessage | EditMessageText):
            message = {"message_id": form.get("message_id") or 1, "date": int(time.time()), "from": BOT_USER,
                       "chat": {"id": int(form["chat_id"]), "type": "private"}, "text": form["text"]}
            if form.get("reply_markup"):
                message["reply_markup"] = json.loads(form["reply_markup"])
            return message
        return True  # answerCallbackQuery and the like


class ErrorCounter(logging.Handler):
    """Counts errors the bot logged (answer_errors logs every failed update) and keeps the first one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{record.getMessage()}: {record.exc_info[1]!r}" if record.exc_info else record.getMessage()


class PhaseTimer:
    """Wall-clock seconds spent inside chosen production functions, by wrapping them for one run. cProfile's
    cumulative times of coroutines are hard to read (every resumption is a call); this is the plain view."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.statements = 0
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)
        seconds = self.seconds
        if asyncio.iscoroutinefunction(original):
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - started
        else:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - started
        setattr(owner, name, wrapper)
        self._undo.append((owner, name, original))

    def count_statement(self, *_args: Any) -> None:
        self.statements += 1

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def wrap_phases(timer: PhaseTimer, dp: Dispatcher) -> None:
    """The parts of a vote update, in the order they run (the handlers look these names up at call time)."""
    timer.wrap(dp.storage, "get_state", "FSM state load (aiogram FSMContextMiddleware)")
    timer.wrap(bot.middlewares, "get_or_create_resident", "resident load (ResidentMiddleware, cached)")
    timer.wrap(voting, "support", "voting.support: checks, vote, count, commit")
    timer.wrap(browse_screens, "idea_card_screen", "idea_card_screen (rendering)")
    timer.wrap(handlers.voting, "show", "show: editMessageText + answerCallbackQuery")


# --- updates -----------------------------------------------------------------------------------------

update_ids = itertools.count(1)


def resident(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "Iedzīvotājs", "language_code": "lv"}


def press(bot: Bot, user_id: int, idea_id: int, act: str) -> Update:
    """A resident presses Support (or Withdraw) on an idea card the bot sent them."""
    card = {"message_id": 7, "date": 1_795_000_000, "chat": {"id": user_id, "type": "private"},
            "from": BOT_USER, "text": "💡 idea card"}
    data = cb.IdeaAction(act=act, id=idea_id, sort="top", page=0).pack()
    query = {"id": f"q{user_id}-{idea_id}", "from": resident(user_id), "chat_instance": "bench",
             "message": card, "data": data}
    return Update.model_validate({"update_id": next(update_ids), "callback_query": query}, context={"bot": bot})


def text_message(bot: Bot, user_id: int) -> Update:
    message = {"message_id": 8, "date": 1_795_000_000, "chat": {"id": user_id, "type": "private"},
               "from": resident(user_id), "text": "Sveiki! Kur var atrast idejas par atvērtiem datiem?"}
    return Update.model_validate({"update_id": next(update_ids), "message": message}, context={"bot": bot})


def echo_dispatcher() -> Dispatcher:
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    @router.callback_query()
    async def callback_echo(query: CallbackQuery) -> None:
        """A press's two Bot API calls, as the vote handler makes them, without the database."""
        await query.message.edit_text(query.data)
        await query.answer("👍")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def pick_votes(sessions: SessionFactory, bench: BenchCampaign, rng: random.Random,
                     count: int) -> list[tuple[int, int]]:
    """(idea, resident) pairs without a vote, every resident different; ideas drawn in proportion to their
    support, as real traffic goes to popular ideas (which also makes concurrent presses meet on one row)."""
    async with sessions() as session:
        rows = (await session.exec(text("SELECT id, supporters_count FROM idea"))).all()
    visible = set(bench.idea_ids)
    ideas = [idea for idea, _count in rows if idea in visible]
    weights = [count + 1 for idea, count in rows if idea in visible]
    residents = rng.sample(bench.resident_ids, count * 2)
    pairs = list(zip(rng.choices(ideas, weights, k=len(residents)), residents, strict=True))
    async with sessions() as session:
        taken = await voted_pairs(session, pairs)
    chosen = [pair for pair in pairs if pair not in taken][:count]
    if len(chosen) < count:
        raise SystemExit("not enough residents without a vote: use a bigger database or fewer updates")
    return chosen


# --- running -----------------------------------------------------------------------------------------


async def feed_all(dp: Dispatcher, bot: Bot, updates: list[Update], concurrency: int,
                   latencies: list[float] | None = None) -> float:
    """Seconds to handle all updates, at most `concurrency` in flight (as bounded polling runs them; 1: one
    after another); each update's own seconds are appended to `latencies`."""
    slots = asyncio.Semaphore(concurrency)

    async def one(update: Update) -> None:
        async with slots:
            began = time.perf_counter()
            await dp.feed_update(bot, update)
            if latencies is not None:
                latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(one(update) for update in updates))
    return time.perf_counter() - started


async def count_votes(sessions: SessionFactory, pairs: list[tuple[int, int]]) -> int:
    async with sessions() as session:
        return len(await voted_pairs(session, pairs))


@dataclass
class VoteBench:
    """The production dispatcher and its bot, and how to press Support / Withdraw for a batch of residents."""

    dp: Dispatcher
    bot: Bot
    sessions: SessionFactory

    def presses(self, batch: list[tuple[int, int]], act: str) -> list[Update]:
        return [press(self.bot, user, idea, act) for idea, user in batch]

    async def vote_and_withdraw(self, batch: list[tuple[int, int]], concurrency: int,
                                echo: tuple[Dispatcher, Bot] | None = None, rounds: int = 10,
                                latencies: list[float] | None = None) -> tuple[float, ...]:
        """Seconds for the supports and for the withdrawals, and for as many echo messages and echoed presses
        (no database) fed in turns with the supports (so that a change in the machine's load hits all alike);
        each support's seconds go to `latencies`. Checks that every vote was counted, then undone."""
        supports, withdrawals = self.presses(batch, cb.ACT_SUPPORT), self.presses(batch, cb.ACT_WITHDRAW)
        messages = [text_message(echo[1], user) for _idea, user in batch] if echo else []
        echoed = [press(echo[1], user, idea, cb.ACT_SUPPORT) for idea, user in batch] if echo else []
        step = -(-len(batch) // rounds)
        echo_seconds = vote_seconds = callback_echo_seconds = 0.0
        for start in range(0, len(batch), step):
            if echo:
                echo_seconds += await feed_all(*echo, messages[start:start + step], concurrency)
                callback_echo_seconds += await feed_all(*echo, echoed[start:start + step], concurrency)
            vote_seconds += await feed_all(self.dp, self.bot, supports[start:start + step], concurrency,
                                           latencies)
        counted = await count_votes(self.sessions, batch)
        withdraw_seconds = await feed_all(self.dp, self.bot, withdrawals, concurrency)
        left = await count_votes(self.sessions, batch)
        if counted != len(batch) or left:
            alerts = ", ".join(f"{text!r}: {count}" for text, count in self.bot.session.alerts.most_common(5))
            raise SystemExit(f"votes went wrong at {concurrency} in flight: {counted} of {len(batch)} counted, "
                             f"{left} left after withdrawal; alerts so far: {alerts}")
        return vote_seconds, withdraw_seconds, echo_seconds, callback_echo_seconds

    async def observed(self, batch: list[tuple[int, int]], start: Callable[[], None],
                       stop: Callable[[], None]) -> float:
        """Sequential supports between start() and stop() (a profiler, timers), then untimed withdrawals."""
        supports = self.presses(batch, cb.ACT_SUPPORT)
        start()
        seconds = await feed_all(self.dp, self.bot, supports, 1)
        stop()
        await feed_all(self.dp, self.bot, self.presses(batch, cb.ACT_WITHDRAW), 1)
        return seconds

    async def profile(self, batch: list[tuple[int, int]]) -> cProfile.Profile:
        profiler = cProfile.Profile()
        await self.observed(batch, profiler.enable, profiler.disable)
        return profiler

    async def breakdown(self, batch: list[tuple[int, int]], engine: AsyncEngine) -> PhaseTimer:
        timer = PhaseTimer()
        listener = (engine.sync_engine, "before_cursor_execute", timer.count_statement)

        def start() -> None:
            event.listen(*listener)
            wrap_phases(timer, self.dp)

        def stop() -> None:
            timer.restore()
            event.remove(*listener)

        timer.seconds["total"] = await self.observed(batch, start, stop)
        return timer


async def run(url: str, updates: int, levels: list[int], profile_updates: int, seed: int,
              redis_url: str | None) -> dict:
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    await vacuum_if_postgres(url)
    settings = Settings(_env_file=None, bot_token=TOKEN, database_url=url, redis_url=redis_url)
    # The engine as bot/runner.py opens it: its pool and its press caches (on PostgreSQL only with Redis).
    engine, sessions = await open_database(url, settings.pool, settings.caches)
    try:
        bench = await load_bench_campaign(sessions)
        # As bot/runner.py assembles it; the clock stands inside the campaign's dates: voting is open.
        vote_dp = create_dispatcher(settings, sessions, create_i18n(), clock=lambda: bench.now,
                                    fsm_storage=create_fsm_storage(settings, sessions))
        votes = VoteBench(vote_dp, create_bot(settings, CannedSession()), sessions)
        # A bare aiogram bot: without the production's request pacing (bot/request_pacing.py), which would hold its
        # sendMessage calls to REPLY_RATE_PER_SECOND.
        echo_dp, echo_bot = echo_dispatcher(), Bot(TOKEN, session=CannedSession())

        pairs = await pick_votes(sessions, bench, random.Random(seed),
                                 WARMUP + updates * len(levels) + 2 * profile_updates)
        batches = [pairs[WARMUP + i * updates:WARMUP + (i + 1) * updates] for i in range(len(levels))]
        observed = pairs[WARMUP + updates * len(levels):]

        # Warm-up: connection pool, statement caches, gettext, pydantic validators, bot.me() cache.
        await votes.vote_and_withdraw(pairs[:WARMUP], 1, (echo_dp, echo_bot))
        tune_garbage_collector()  # as the runners do once the process is assembled (echo runs under it too)

        rates = {}
        for concurrency, batch in zip(levels, batches, strict=True):
            latencies: list[float] = []
            vote_seconds, withdraw_seconds, echo_seconds, callback_echo_seconds = await votes.vote_and_withdraw(
                batch, concurrency, (echo_dp, echo_bot), latencies=latencies)
            rates[concurrency] = (len(batch), echo_seconds, vote_seconds, withdraw_seconds, callback_echo_seconds,
                                  percentile(sorted(latencies), 0.95))

        profile = breakdown = None
        if profile_updates:
            profile = await votes.profile(observed[:profile_updates])
            breakdown = await votes.breakdown(observed[profile_updates:], engine)
        await vote_dp.storage.close()
        return {"rates": rates, "profile": profile, "breakdown": breakdown, "errors": errors.count,
                "first_error": errors.first, "calls": votes.bot.session.calls}
    finally:
        logging.getLogger().removeHandler(errors)
        await close_database(engine)


def profile_report(profiler: cProfile.Profile, updates: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"cProfile of {updates} sequential support presses through the vote handler\n")
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def breakdown_table(timer: PhaseTimer, updates: int) -> str:
    total = timer.seconds.pop("total")
    rows = [[label, f"{seconds / updates * 1000:.2f}", f"{seconds / total:.0%}"]
            for label, seconds in timer.seconds.items()]
    rest = total - sum(timer.seconds.values())
    rows.append(["the rest: aiogram dispatch and filters, sessions, i18n, rate limit", f"{rest / updates * 1000:.2f}",
                 f"{rest / total:.0%}"])
    rows.append(["**total per support press**", f"{total / updates * 1000:.2f}", "100%"])
    head = (f"Where one support press goes ({updates} sequential presses; "
            f"{timer.statements / updates:.1f} SQL statements per press, not counting COMMIT):")
    return head + "\n" + markdown_table(["part", "ms per update", "share"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    parser.add_argument("--updates", type=int, default=5_000, help="updates per run (and per concurrency)")
    parser.add_argument("--concurrency", default="1,16,64", help="updates in flight at once, comma-separated")
    parser.add_argument("--profile-updates", type=int, default=1_000, help="0 to skip the profile run")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--redis", metavar="URL", help="conversation state in Redis, as production with REDIS_URL "
                        "(default: in the database, production's default)")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]

    started_load = load_note()
    outcome = asyncio.run(run(args.db, args.updates, levels, args.profile_updates, args.seed, args.redis))
    rows = []
    for concurrency, (count, echo_s, vote_s, withdraw_s, callback_s, p95) in outcome["rates"].items():
        echo_rate, vote_rate, withdraw_rate = count / echo_s, count / vote_s, count / withdraw_s
        ratio = vote_rate / echo_rate
        rows.append([str(concurrency), str(count), f"{echo_rate:,.0f}", f"{count / callback_s:,.0f}",
                     f"{vote_rate:,.0f}", f"{p95 * 1000:.1f}", f"{withdraw_rate:,.0f}", f"{ratio:.0%}",
                     "yes" if ratio >= TARGET_RATIO else "**no**"])
    label = backend_label(args.db)
    calls = ", ".join(f"{name} {count:,}" for name, count in sorted(outcome["calls"].items()))
    print(f"{label} — updates/s, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {started_load}; "
          f"Bot API calls of the vote bot: {calls}")
    print(markdown_table(["in flight", "updates", "echo /s", "callback echo /s", "vote /s", "vote p95 ms",
                          "withdraw /s", "vote / echo", f">= {TARGET_RATIO:.0%}"], rows))
    print(f"errors logged by the bot: {outcome['errors']}" + (f" (first: {outcome['first_error']})"
                                                              if outcome["errors"] else ""))
    if outcome["breakdown"] is not None:
        print(breakdown_table(outcome["breakdown"], args.profile_updates))
    if outcome["profile"] is not None:
        report = profile_report(outcome["profile"], args.profile_updates)
        path = RESULTS_DIR / f"profile-{label.lower()}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report)
        print(report)
    if outcome["errors"]:
        raise SystemExit("the bot logged errors: the numbers above are not valid")


if __name__ == "__main__":
    main()
