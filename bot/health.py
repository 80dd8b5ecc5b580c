"""The operator's endpoints, on the webhook server and on the clock process:
/healthz (the process is alive), /readyz (database and Redis reachable, migrations current), /metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from storage import operations
from storage.db import SessionFactory, head_revision

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0  # seconds: a readiness probe must answer even when a dependency hangs


class Readiness:
    def __init__(self, engine: AsyncEngine, sessions: SessionFactory, redis_url: str | None = None) -> None:
        self.engine = engine
        self.sessions = sessions
        self.redis_url = redis_url
        self.head = head_revision()

    async def problems(self) -> list[str]:
        """What keeps this process from serving; empty when ready."""
        problems = []
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.sessions() as session:
                revision = await operations.schema_revision(session)
            if revision != self.head:
                problems.append(f"database: at migration {revision}, the code needs {self.head}")
        except Exception as error:
            problems.append(f"database: {type(error).__name__}")
        if self.redis_url:
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    await ping_redis(self.redis_url)
            except Exception as error:
                problems.append(f"redis: {type(error).__name__}")
        return problems


async def ping_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.ping()
    finally:
        await client.aclose()


def add_operator_routes(app: web.Application, readiness: Readiness) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        problems = await readiness.problems()
        if problems:
            log.warning("not ready: %s", "; ".join(problems))
            return web.json_response({"status": "not ready", "problems": problems}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            await metrics.refresh_database_gauges(readiness.sessions, readiness.engine)
        except Exception as error:  # the process's own counters are still worth serving
            log.warning("metrics: the database numbers could not be read (%s)", type(error).__name__)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
