"""The arithmetic of the broadcast confirmation: how long at the free pace and at the paid rate, and how many Stars
(0.1 per message above Telegram's free 30 a second)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.broadcast_cost import (
    charged_messages,
    estimate,
    paid_broadcast_stars,
    seconds_to_send,
)


@pytest.mark.parametrize(("messages", "rate", "seconds"), [
    (0, 25, 0),
    (1, 25, 1),  # under a second is still "1 second"
    (25, 25, 1),
    (26, 25, 2),  # rounded up, never down
    (380_000, 25, 15_200),
    (380_000, 25.0, 15_200),
    (1_000, 1000, 1),
    (1_001, 1000, 2),
    (100, 33.3, 4),  # a fractional rate: 3.003 s
])
def test_seconds_to_send(messages, rate, seconds):
    assert seconds_to_send(messages, rate) == seconds


@pytest.mark.parametrize(("messages", "rate", "charged"), [
    (0, 100, 0),
    (1, 100, 0),
    (30, 100, 0),  # an audience below the free rate costs nothing
    (31, 100, 1),  # one second of 31 messages: one above the free 30
    (100, 100, 70),  # one full second
    (130, 100, 70),  # the second second carries 30: free
    (131, 100, 71),
    (250, 100, 2 * 70 + 20),  # two full seconds, then 50 of which 20 above 30
    (380_000, 1000, 380 * 970),
    (380_001, 1000, 380 * 970),  # the last second carries one message: free
    (1_000, 30, 0),  # a "paid" rate no faster than the free one never pays
    (1_000, 31, 32),  # 32 full seconds of 1 charged message, then 8 messages: free
])
def test_charged_messages(messages, rate, charged):
    assert charged_messages(messages, rate) == charged


def test_stars_are_exact_tenths():
    assert paid_broadcast_stars(131, 100) == Decimal("7.1")
    assert paid_broadcast_stars(380_000, 1000) == Decimal("36860.0")
    assert paid_broadcast_stars(10, 1000) == 0
    assert paid_broadcast_stars(31, 1000) == Decimal("0.1")


def test_the_estimate_without_paid_broadcasts():
    result = estimate(380_000, 25.0)
    assert (result.recipients, result.free_seconds, result.paid) == (380_000, 15_200, None)


def test_the_estimate_with_paid_broadcasts():
    result = estimate(10_000, 25.0, 500)
    assert result.free_seconds == 400
    assert (result.paid.rate, result.paid.seconds, result.paid.stars) == (500, 20, Decimal("940.0"))


def test_a_small_audience_costs_nothing_even_when_paid():
    result = estimate(12, 25.0, 1000)
    assert (result.free_seconds, result.paid.seconds, result.paid.stars) == (1, 1, 0)
