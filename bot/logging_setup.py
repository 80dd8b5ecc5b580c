"""Logging that never prints a secret: the bot token and the webhook secret (also inside URLs and tracebacks)
are masked. LOG_FORMAT=json writes one JSON object per line, with the update's id, handler and latency where
a record belongs to an update. Message texts of residents are never logged."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

# The update being handled, set by bot/metrics.py's middleware: every record logged meanwhile carries it.
CURRENT_UPDATE_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("log_update_id", default=None)
UPDATE_FIELDS = ("update_id", "handler", "latency_ms")


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))  # includes the formatted traceback

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(RedactingFormatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(message)s", secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = getattr(record, "update_id", None) or CURRENT_UPDATE_ID.get()
        if update_id is not None:
            entry["update_id"] = update_id
        for field in UPDATE_FIELDS[1:]:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False))


def setup_logging(level: str, secrets: list[str], log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(secrets))
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Above DEBUG, keep aiohttp's access lines, Alembic's per-start chatter and the scheduler's every run out;
    # aiogram's line per update is replaced by ours (bot/metrics.py, at DEBUG, with the handler's name).
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for noisy in ("aiohttp.access", "alembic", "apscheduler.executors", "aiogram.event"):
        logging.getLogger(noisy).setLevel(quiet)
