"""End to end: the real `python -m bot` (long polling) against the fake Bot API server, beside a bare aiogram echo bot.

    python benchmarks/bench_e2e.py --db sqlite+aiosqlite:///benchmarks/results/bench.db
    python benchmarks/bench_e2e.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/manabalss_bench \\
        --redis redis://127.0.0.1:6379/14

Needs a database made by generate.py. Two processes at a time: this one serves the fake Bot API
(tests/fake_telegram) and drives the load; the bot runs as its own process, as an operator starts it (with
RUN_SCHEDULER=false: the scheduler would write the campaign's reminders to the 400,000 residents first).

  echo     a bare aiogram bot (polling, one handler: message.answer(text)); N messages of distinct residents queued
           at once: updates/s from the first queued to the last answer.
  burst    `python -m bot`; N Support presses of distinct residents on an idea card, queued at once: updates/s,
           failures (a press unanswered, or a vote not in the database afterwards) and the bot's RSS after it.
  paced    `python -m bot` again; presses queued at half the burst's rate: each press's latency, from being queued
           to its answerCallbackQuery (p50/p95).

Every vote cast is withdrawn again at the end (the database is left as it was found)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from benchlib import DEFAULT_DB, backend_label, load_bench_campaign, load_note, markdown_table, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fake_telegram

from bot.ui import callbacks as cb  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.votes import remove_vote  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.fake_telegram.server import Message as StoredMessage  # noqa: E402

TOKEN = "4200002:e2e-benchmark-token-not-a-real-one-abcdefgh"
CARD_MESSAGE_ID = 7
TARGET_RATIO, TARGET_P95 = 0.40, 0.200

ECHO_BOT = """
import asyncio, sys
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text)

bot = Bot(sys.argv[1], session=AiohttpSession(api=TelegramAPIServer.from_base(sys.argv[2])))
asyncio.run(dp.start_polling(bot))
"""


async def pick_pairs(sessions, count: int, seed: int) -> list[tuple[int, int]]:
    """(idea, resident) pairs without a vote, every resident different (as bench_handler picks them)."""
    from bench_handler import pick_votes

    bench = await load_bench_campaign(sessions)
    return await pick_votes(sessions, bench, random.Random(seed), count)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Driver:
    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def add_resident(self, user_id: int) -> None:
        user = self.fake.add_user(user_id, language_code="lv")
        user.messages[CARD_MESSAGE_ID] = StoredMessage(user_id, CARD_MESSAGE_ID, 1_795_000_000, True, text="card")

    async def start(self, *command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
        polls = len(self.fake.calls("getUpdates"))
        process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env={**os.environ, **env},
                                                       stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.PIPE)
        while len(self.fake.calls("getUpdates")) <= polls:  # polling has begun: start-up is not measured
            if process.returncode is not None:
                raise SystemExit(f"{command} exited: {(await process.stderr.read()).decode()[-2000:]}")
            await asyncio.sleep(0.1)
        return process

    async def stop(self, process: asyncio.subprocess.Process) -> str:
        process.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(process.communicate(), 60)
        return err.decode()

    async def wait_answered(self, method: str, expected: int, timeout: float) -> float:  # noqa: ASYNC109
        """Monotonic time of the `expected`-th successful call of `method` (or of the last one at the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [call.at for call in self.fake.requests if call.method == method and call.ok]
            if len(done) >= expected:
                return max(done)
            await asyncio.sleep(0.2)
        done = [call.at for call in self.fake.requests if call.method == method and call.ok]
        return max(done, default=time.monotonic())

    def press(self, idea_id: int, user_id: int) -> str:
        data = cb.IdeaAction(act=cb.ACT_SUPPORT, id=idea_id, sort="top", page=0).pack()
        update = self.fake.push_update(self.fake.callback_update(user_id, CARD_MESSAGE_ID, data))
        return update["callback_query"]["id"]

    def answer_times(self) -> dict[str, float]:
        return {str(call.params.get("callback_query_id")): call.at for call in self.fake.requests
                if call.method == "answerCallbackQuery" and call.ok}


async def run(url: str, redis: str | None, presses: int, seed: int, timeout: float) -> dict:  # noqa: ASYNC109
    engine, sessions = await open_database(url)
    pairs = await pick_pairs(sessions, presses * 2, seed)
    burst, paced = pairs[:presses], pairs[presses:]
    bot_env = {"BOT_TOKEN": TOKEN, "DATABASE_URL": url, "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING"}
    if redis:
        bot_env["REDIS_URL"] = redis
    result: dict = {}
    try:
        async with FakeTelegram(token=TOKEN, bot_username="manabalss_e2e_bot") as fake:
            driver = Driver(fake)
            for _idea, user_id in pairs:
                driver.add_resident(user_id)
            bot_env["TELEGRAM_API_URL"] = fake.base_url

            echo = await driver.start(sys.executable, "-c", ECHO_BOT, TOKEN, fake.base_url, env={})
            started = time.monotonic()
            for _idea, user_id in burst:
                fake.push_update(fake.message_update(user_id, "Sveiki! Kur ir idejas par atvērtiem datiem?"))
            last = await driver.wait_answered("sendMessage", presses, timeout)
            result["echo_rate"] = presses / (last - started)
            await driver.stop(echo)

            fake.requests.clear()
            bot = await driver.start(sys.executable, "-m", "bot", env=bot_env)
            started = time.monotonic()
            queries = [driver.press(idea, user) for idea, user in burst]
            last = await driver.wait_answered("answerCallbackQuery", presses, timeout)
            result["bot_rate"] = presses / (last - started)
            answered = driver.answer_times()
            result["unanswered"] = sum(query not in answered for query in queries)
            refused = Counter(f"{call.method}: {call.description}" for call in fake.requests if not call.ok)
            result["refused_calls"], result["refused"] = sum(refused.values()), refused.most_common(3)
            await asyncio.sleep(1)  # the last presses' tasks finish
            result["rss_mib"] = rss_mib(bot.pid)

            rate = result["bot_rate"] / 2
            fake.requests.clear()
            pushed: dict[str, float] = {}
            began = time.monotonic()
            for number, (idea, user) in enumerate(paced):
                await asyncio.sleep(max(0.0, began + number / rate - time.monotonic()))
                pushed[driver.press(idea, user)] = time.monotonic()
            await driver.wait_answered("answerCallbackQuery", len(paced), timeout)
            answered = driver.answer_times()
            latencies = sorted(answered[query] - at for query, at in pushed.items() if query in answered)
            result["paced_rate"], result["paced_unanswered"] = rate, len(pushed) - len(latencies)
            result["p50"], result["p95"] = percentile(latencies, 0.5), percentile(latencies, 0.95)
            log = await driver.stop(bot)
            result["error_lines"] = sum(" ERROR " in line or "Traceback" in line for line in log.splitlines())
        result["missing_votes"] = await undo_votes(sessions, pairs)
    finally:
        await engine.dispose()
    return result


async def undo_votes(sessions, pairs: list[tuple[int, int]]) -> int:
    """Withdraw every vote cast; returns how many of the pairs had no vote (lost presses)."""
    missing = 0
    async with sessions() as session:
        for idea, user in pairs:
            outcome = await remove_vote(session, idea, user)
            missing += outcome is None or not outcome[0]
        await session.commit()
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--redis", help="conversation state in Redis (REDIS_URL of the bot)")
    parser.add_argument("--presses", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--timeout", type=float, default=600, help="seconds a phase may take at most")
    args = parser.parse_args()
    note = load_note()
    r = asyncio.run(run(args.db, args.redis, args.presses, args.seed, args.timeout))
    ratio = r["bot_rate"] / r["echo_rate"]
    failures = r["unanswered"] + r["paced_unanswered"] + r["missing_votes"]
    print(f"{backend_label(args.db)}{' + Redis' if args.redis else ''}, {args.presses:,} presses; {note}")
    print(markdown_table(
        ["echo /s", "bot /s", "bot / echo", f">= {TARGET_RATIO:.0%}", "failures", "paced /s", "p50 ms", "p95 ms",
         f"p95 < {TARGET_P95 * 1000:.0f} ms", "RSS after burst MiB", "error lines"],
        [[f"{r['echo_rate']:,.0f}", f"{r['bot_rate']:,.0f}", f"{ratio:.0%}",
          "yes" if ratio >= TARGET_RATIO else "**no**", str(failures), f"{r['paced_rate']:,.0f}",
          f"{r['p50'] * 1000:.0f}", f"{r['p95'] * 1000:.0f}",
          "yes" if r["p95"] < TARGET_P95 else "**no**", f"{r['rss_mib']:.0f}", str(r["error_lines"])]]))
    print(f"(unanswered in the burst {r['unanswered']}, in the paced run {r['paced_unanswered']}, votes missing "
          f"{r['missing_votes']}, Bot API calls refused {r['refused_calls']}"
          + "".join(f"; {count}× {what}" for what, count in r["refused"]) + ")")


if __name__ == "__main__":
    main()
