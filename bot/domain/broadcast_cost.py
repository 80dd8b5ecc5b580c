"""How long a broadcast takes and what a paid broadcast would cost: plain arithmetic, no database, no Telegram.

Telegram lets a bot send about TELEGRAM_FREE_RATE messages a second for free. With `allow_paid_broadcast` it sends
up to MAX_PAID_RATE a second, and every message above the free 30 in a second costs 0.1 Star. Sent at the paid
rate, each full second of a broadcast carries `paid_rate` messages of which `paid_rate - 30` are charged; the last,
partial second is charged only for what it carries above 30. Counting in tenths of a Star keeps it exact."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

TELEGRAM_FREE_RATE = 30  # messages a second, per bot, without paying
MAX_PAID_RATE = 1000  # messages a second with allow_paid_broadcast
STAR_PER_MESSAGE = Decimal("0.1")  # for each message above the free rate


def seconds_to_send(messages: int, rate_per_second: float) -> int:
    """Whole seconds `messages` take at `rate_per_second` (rounded up: 31 messages at 30/s take 2 s)."""
    if messages <= 0:
        return 0
    return math.ceil(messages / rate_per_second)


def charged_messages(messages: int, paid_rate: int, free_rate: int = TELEGRAM_FREE_RATE) -> int:
    """Messages Telegram charges for when `messages` go out at `paid_rate` a second (see the module docstring)."""
    if messages <= 0 or paid_rate <= free_rate:
        return 0
    full_seconds, last_second = divmod(messages, paid_rate)
    return full_seconds * (paid_rate - free_rate) + max(0, last_second - free_rate)


def paid_broadcast_stars(messages: int, paid_rate: int, free_rate: int = TELEGRAM_FREE_RATE) -> Decimal:
    """Stars a broadcast of `messages` at `paid_rate` costs: 0.1 per charged message (exact, one decimal)."""
    return charged_messages(messages, paid_rate, free_rate) * STAR_PER_MESSAGE


@dataclass(frozen=True)
class PaidEstimate:
    rate: int
    seconds: int
    stars: Decimal


@dataclass(frozen=True)
class DeliveryEstimate:
    """What the broadcast confirmation shows: the time at the free pace and, when paid broadcasts are on, the
    time and the Stars at the paid rate (personal messages sent meanwhile make both a little longer)."""

    recipients: int
    free_rate: float
    free_seconds: int
    paid: PaidEstimate | None = None


def estimate(recipients: int, free_rate: float, paid_rate: int = 0) -> DeliveryEstimate:
    """`free_rate`: the sender's own pace (SEND_RATE_PER_SECOND); `paid_rate`: PAID_BROADCAST_RATE, 0 when off."""
    paid = None
    if paid_rate:
        paid = PaidEstimate(paid_rate, seconds_to_send(recipients, paid_rate),
                            paid_broadcast_stars(recipients, paid_rate))
    return DeliveryEstimate(recipients, free_rate, seconds_to_send(recipients, free_rate), paid)
