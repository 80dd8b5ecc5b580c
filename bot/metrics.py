"""Prometheus metrics, served at /metrics by `python -m bot web` and `python -m bot clock` (bot/health.py).
README.md lists each metric with its meaning.

Counters and the latency histogram are per process (Prometheus sums the workers); the gauges about the
database (ideas, supports, outbox depth, scheduler lease) are read from it at each scrape, so every process
reports the same shared truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.logging_setup import CURRENT_UPDATE_ID
from storage import operations
from storage.db import SessionFactory
from storage.ideas import ideas_by_status

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

UPDATES = Counter("manabalss_updates", "Telegram updates handled, by type and outcome", ["type", "outcome"])
UPDATE_SECONDS = Histogram(
    "manabalss_update_seconds", "Time to handle one update, by type and handler", ["type", "handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DUPLICATE_UPDATES = Counter("manabalss_duplicate_updates", "Updates delivered again and skipped (no second effect)")
RATE_LIMITED = Counter("manabalss_rate_limited", "Messages and presses dropped by the per-resident rate limit")
OUTBOX_SENT = Counter("manabalss_outbox_sent", "Outbox requests by result (sent, failed, blocked_403, flood_429, "
                      "retry)", ["result"])
IDEAS = Gauge("manabalss_ideas", "Ideas and proposals by status", ["status"])
SUPPORTS = Gauge("manabalss_supports", "Supports (votes) counted on all ideas")
OUTBOX_WAITING = Gauge("manabalss_outbox_waiting", "Outbox messages waiting to be sent, by kind", ["kind"])
SCHEDULER_LEASE = Gauge("manabalss_scheduler_lease", "1 for the process holding the scheduler lease", ["holder"])
POOL_CONNECTIONS = Gauge("manabalss_db_pool_connections", "Database pool of this process: in_use and size",
                         ["state"])


class UpdateMetricsMiddleware(BaseMiddleware):
    """The outermost update middleware: counts each update by outcome and times it. The handler's name is
    filled in by `HandlerNameMiddleware` through the shared `trace` dict."""

    async def __call__(self, handler: Handler, event: Update, data: dict[str, Any]) -> Any:
        trace: dict[str, str] = {"handler": "none"}
        data["trace"] = trace
        token = CURRENT_UPDATE_ID.set(event.update_id)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            seconds = time.perf_counter() - started
            UPDATES.labels(event.event_type, outcome).inc()
            UPDATE_SECONDS.labels(event.event_type, trace["handler"]).observe(seconds)
            log.debug("update %s (%s) %s by %s in %.1f ms", event.update_id, event.event_type, outcome,
                      trace["handler"], seconds * 1000,
                      extra={"handler": trace["handler"], "latency_ms": round(seconds * 1000, 1)})
            CURRENT_UPDATE_ID.reset(token)


class HandlerNameMiddleware(BaseMiddleware):
    """An inner middleware: records which handler took the event (for the histogram and the log line)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        trace = data.get("trace")
        found = data.get("handler")
        if trace is not None and found is not None:
            trace["handler"] = getattr(found.callback, "__qualname__", "handler")
        return await handler(event, data)


def name_handlers(dp: Dispatcher) -> None:
    """Register `HandlerNameMiddleware` on the dispatcher's events: aiogram runs a router's inner middlewares
    for the handlers of every router below it too, so once is enough (once per router ran it up to 3 times)."""
    names = HandlerNameMiddleware()
    for name, observer in dp.observers.items():
        if name not in ("update", "error"):
            observer.middleware(names)


async def refresh_database_gauges(sessions: SessionFactory, engine: AsyncEngine) -> None:
    async with sessions() as session:
        statuses = await ideas_by_status(session)
        supports = await operations.supports_total(session)
        waiting = await operations.outbox_waiting_by_kind(session)
        holder = await operations.scheduler_lease_holder(session)
    for status, count in statuses.items():
        IDEAS.labels(status).set(count)
    SUPPORTS.set(supports)
    OUTBOX_WAITING.clear()
    for kind, count in waiting.items():
        OUTBOX_WAITING.labels(kind).set(count)
    SCHEDULER_LEASE.clear()
    if holder:
        SCHEDULER_LEASE.labels(holder).set(1)
    pool = engine.pool
    if hasattr(pool, "checkedout"):
        POOL_CONNECTIONS.labels("in_use").set(pool.checkedout())
        POOL_CONNECTIONS.labels("size").set(pool.size())
