"""Typed settings, read from the environment and an optional .env file."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.broadcast_cost import MAX_PAID_RATE, TELEGRAM_FREE_RATE
from storage.cache import CacheConfig
from storage.db import PoolSize

# Telegram tokens look like "123456789:AA...35 chars"; we accept any plausible length.
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///manabalss.db"
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    redis_url: str | None = None
    timezone: str = "Europe/Riga"
    log_level: str = "INFO"
    default_language: str = Field("lv", pattern="^(lv|ru|en)$")
    # Moderators' group chat where new proposals and reports are posted (a negative id for groups).
    moderation_chat_id: int | None = None
    # Abuse limits: pending proposals per resident, reports that hide an idea, messages and presses a minute.
    max_pending_proposals: int = Field(3, ge=1)
    reports_to_hide: int = Field(3, ge=1)
    # Reports hide an idea only from residents with a history, and relative to its support (see bot/domain/reports).
    reports_hide_share: float = Field(0.1, ge=0)
    reporter_min_age_days: int = Field(3, ge=0)
    rate_limit_per_minute: int = Field(40, ge=5)
    # Hours between two broadcasts to everyone or to a whole language (each needs an admin or a second moderator).
    mass_broadcast_cooldown_hours: float = Field(24, ge=0)
    # Delivery of notifications, digests and broadcasts (see bot/delivery.py): under Telegram's ~30/s.
    send_rate_per_second: float = Field(25.0, gt=0)
    # Paid broadcasts (Telegram's allow_paid_broadcast, 0.1 Star a message above the free 30/s): results, digests
    # and moderators' broadcasts go out at this many messages a second. 0: off, everything at the free pace.
    paid_broadcast_rate: int = Field(0, ge=0)
    # Schedules, in TIMEZONE: the weekly digest's day (0 = Monday) and hour; reminders N days before the close.
    digest_weekday: int = Field(0, ge=0, le=6)
    digest_hour: int = Field(10, ge=0, le=23)
    reminder_days: Annotated[tuple[int, ...], NoDecode] = (3, 1)
    # No personal messages at night (new-idea cards wait until morning).
    quiet_hours: tuple[int, int] = (22, 8)
    max_new_idea_cards_per_day: int = Field(3, ge=0)
    # Finished outbox rows, job runs and idle conversations are deleted after this many days (a daily job).
    retention_days: int = Field(30, ge=1)
    # Where the results digest's chart images are written.
    media_dir: str = "media"
    # Run the scheduler in this process (it still takes the database lease first, so only one process runs it).
    run_scheduler: bool = True
    # Webhook workers (`python -m bot web`, see bot/web.py): Telegram posts updates to WEBHOOK_URL with the
    # WEBHOOK_SECRET; the server listens on PORT; Telegram opens at most WEBHOOK_MAX_CONNECTIONS at once.
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    port: int = Field(8080, ge=1, le=65535)
    webhook_max_connections: int = Field(40, ge=1, le=100)
    # The answer to a button press goes in the webhook's HTTP response, one request fewer (bot/webhook_answer.py).
    webhook_answer_in_response: bool = True
    # `python -m bot clock` serves /healthz, /readyz and /metrics on this port when set.
    clock_port: int | None = Field(None, ge=1, le=65535)
    # "text" (one line per record) or "json" (one JSON object per line, for log collectors).
    log_format: str = Field("text", pattern="^(text|json)$")
    # Direct replies (bot/request_pacing.py): new messages a second for the process and for one chat.
    reply_rate_per_second: float = Field(25.0, gt=0)
    chat_replies_per_second: float = Field(1.0, gt=0)
    # Database connections: kept open, opened beyond that under load, and seconds a task waits for a free one.
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(20, ge=0)
    db_pool_timeout: float = Field(30.0, gt=0)
    # Updates handled at once by long polling; more wait in Telegram's queue (not in memory). 64 drained a burst of
    # presses on SQLite ~15 % faster than 16 (the group commit takes more votes per commit; benchmarks/README.md).
    max_concurrent_updates: int = Field(64, ge=1)
    # Caches of the press path (storage/cache.py): residents and idea cards kept, and their longest life.
    resident_cache_size: int = Field(50_000, ge=0)
    card_cache_size: int = Field(2_000, ge=0)
    cache_ttl_seconds: float = Field(60.0, gt=0)
    # Web workers on Redis: seconds a dead worker's hold on a resident lasts (bot/isolation.py).
    resident_lock_seconds: float = Field(10.0, gt=0)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",")]
            return frozenset(int(part) for part in parts if part)
        return value

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(sorted({int(part) for part in value.split(",") if part.strip()}, reverse=True))
        return value

    @field_validator("moderation_chat_id", "clock_port", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}, for example Europe/Riga") from error
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not HTTP_URL.match(value):  # the message must not repeat the value: it may hold a token
            raise ValueError("must be an http:// or https:// address such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        from storage.db import async_url

        try:
            async_url(value)
        except Exception:  # the message must not repeat the URL: it may hold a password
            raise ValueError("must be a SQLite or PostgreSQL URL such as sqlite:///manabalss.db or "
                             "postgresql://user:password@host:5432/manabalss") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown level {value!r}: use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("paid_broadcast_rate")
    @classmethod
    def _paid_rate_above_free(cls, value: int, info: ValidationInfo) -> int:
        free = max(TELEGRAM_FREE_RATE, info.data.get("send_rate_per_second") or 0)
        if value and not free < value <= MAX_PAID_RATE:
            raise ValueError(f"must be 0 (off) or above the free rate of {free:g} and at most {MAX_PAID_RATE} "
                             "messages a second (Telegram's limit for paid broadcasts)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value
    @property
    def pool(self) -> PoolSize:
        return PoolSize(self.db_pool_size, self.db_max_overflow, self.db_pool_timeout)

    @property
    def caches(self) -> CacheConfig:
        return CacheConfig(self.resident_cache_size, self.card_cache_size, self.cache_ttl_seconds, self.redis_url)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token_problem(self) -> str | None:
        """A one-line explanation when the token cannot be right, else None."""
        token = self.bot_token.get_secret_value()
        if not token:
            return (
                "BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), "
                "then set BOT_TOKEN=<the token it gives you> in the environment or in .env."
            )
        if not TOKEN_PATTERN.match(token):
            return (
                "BOT_TOKEN does not look like a Telegram bot token (digits, a colon, then 30+ letters). "
                "Copy it again from @BotFather (/mybots -> API Token)."
            )
        return None

    @property
    def webhook_problem(self) -> str | None:
        """A one-line explanation when the webhook cannot be set up, else None."""
        if not self.webhook_url.startswith("https://"):
            return "WEBHOOK_URL must be the public https:// address Telegram posts updates to."
        if not self.webhook_secret.get_secret_value():
            return "WEBHOOK_SECRET is not set: choose 1-256 characters of A-Z, a-z, 0-9, _ and -."
        return None
