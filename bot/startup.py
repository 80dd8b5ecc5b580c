"""Start-up for operators: the first log line names what the process connects to (without secrets), and the
usual mistakes (a revoked token, an unreachable Telegram API, Redis or database) end the process with one
line and exit code 1 instead of a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.config import Settings
from storage.db import async_url

if TYPE_CHECKING:  # aiogram takes seconds to import: operator commands (stats, import, migrate) do without it
    from aiogram import Bot
    from aiogram.types import User

log = logging.getLogger("bot")
TELEGRAM_TIMEOUT = 30.0  # seconds for the first request to the Bot API


def safe_url(url: str) -> str:
    """A URL as it may appear in a log: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads (a Redis URL is): keep only its scheme and host
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"


def log_targets(settings: Settings, command: str) -> None:
    parts = [f"database {safe_url(async_url(settings.database_url))}",
             f"Telegram Bot API {settings.telegram_api_url}"]
    if settings.redis_url:
        parts.append(f"Redis {safe_url(settings.redis_url)}")
    log.info("manabalss bot %s: connecting to %s", command, ", ".join(parts))


async def check_telegram(bot: Bot, settings: Settings) -> User:
    """Who the bot is; one line and exit when Telegram refuses the token or cannot be reached."""
    from aiogram.exceptions import TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError

    try:
        return await asyncio.wait_for(bot.me(), TELEGRAM_TIMEOUT)
    except TelegramUnauthorizedError:
        raise SystemExit("error: Telegram rejected BOT_TOKEN (401 Unauthorized): the token was revoked or "
                         "mistyped. Copy the current one from @BotFather (/mybots -> API Token).") from None
    except (TelegramNetworkError, TelegramServerError, TimeoutError) as error:
        reason = "no answer in 30 s" if isinstance(error, TimeoutError) else _first_line(error, settings)
        raise SystemExit(f"error: cannot reach the Telegram Bot API at {settings.telegram_api_url}: {reason}. "
                         "Check TELEGRAM_API_URL and the network.") from None


def explain(error: BaseException, settings: Settings) -> str | None:
    """One line for an operator's mistake behind `error`, or None for a real bug (then the traceback helps)."""
    if _is_redis(error):
        return (f"error: cannot reach Redis at {safe_url(settings.redis_url or '')}: "
                f"{_first_line(error, settings)}. Check REDIS_URL.")
    if isinstance(error, DBAPIError | OSError | SQLAlchemyError):
        return (f"error: cannot open the database {safe_url(settings.database_url)}: "
                f"{_first_line(getattr(error, 'orig', None) or error, settings)}. "
                "Check DATABASE_URL, and that the database exists and accepts connections.")
    return None


def _is_redis(error: BaseException) -> bool:
    return type(error).__module__.startswith("redis")


def _first_line(error: BaseException, settings: Settings) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for secret in (settings.bot_token.get_secret_value(), settings.webhook_secret.get_secret_value()):
        if secret:
            text = text.replace(secret, "***")
    return text[:300]
