"""What a scheduled job needs, handed to every job entry point (bot/jobs.py and the modules it calls).

Jobs run outside any Telegram update: they render texts with `with context.i18n.context(),
context.i18n.use_locale(language):` (gettext needs an i18n context), and write messages to the outbox,
which bot/delivery.py sends. They never call the Bot API themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram.utils.i18n import I18n

from bot.config import Settings
from storage.db import SessionFactory


@dataclass(frozen=True)
class JobContext:
    sessions: SessionFactory
    settings: Settings
    i18n: I18n
    clock: Callable[[], datetime]
    bot_username: str
