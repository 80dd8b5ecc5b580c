"""Domain rules without Telegram or a database."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.localized import localized
from bot.domain.rules import (
    Phase,
    VoteRefusal,
    VotingWindow,
    campaign_phase,
    idea_start_payload,
    language_for,
    parse_start_payload,
    support_refusal,
    withdrawal_refusal,
)
from storage.models import Idea, IdeaStatus

START = datetime(2026, 11, 16, tzinfo=UTC)
END = datetime(2026, 12, 20, tzinfo=UTC)
REVOCABLE = VotingWindow(START, END, votes_revocable=True)
FINAL = VotingWindow(START, END, votes_revocable=False)


@pytest.mark.parametrize(
    ("now", "phase"),
    [
        (START - timedelta(seconds=1), Phase.UPCOMING),
        (START, Phase.OPEN),
        (END - timedelta(seconds=1), Phase.OPEN),
        (END, Phase.CLOSED),
    ],
)
def test_campaign_phase_edges(now, phase):
    assert campaign_phase(START, END, now) is phase


def test_support_allowed_only_while_open_and_for_public_ideas():
    inside = START + timedelta(days=3)
    assert support_refusal(REVOCABLE, IdeaStatus.PUBLISHED, inside) is None
    assert support_refusal(REVOCABLE, IdeaStatus.INCLUDED, inside) is None
    assert support_refusal(REVOCABLE, IdeaStatus.PUBLISHED, START - timedelta(days=1)) is VoteRefusal.NOT_STARTED
    assert support_refusal(REVOCABLE, IdeaStatus.PUBLISHED, END) is VoteRefusal.ENDED
    assert support_refusal(REVOCABLE, IdeaStatus.PENDING, inside) is VoteRefusal.IDEA_NOT_PUBLIC
    assert support_refusal(REVOCABLE, IdeaStatus.REJECTED, inside) is VoteRefusal.IDEA_NOT_PUBLIC


def test_withdrawal_follows_the_campaign_setting():
    inside = START + timedelta(days=3)
    assert withdrawal_refusal(REVOCABLE, IdeaStatus.PUBLISHED, inside) is None
    assert withdrawal_refusal(FINAL, IdeaStatus.PUBLISHED, inside) is VoteRefusal.FINAL
    # After the end the date is the reason, whatever the setting.
    assert withdrawal_refusal(FINAL, IdeaStatus.PUBLISHED, END) is VoteRefusal.ENDED


@pytest.mark.parametrize(
    ("payload", "idea_id"),
    [("idea_42", 42), (idea_start_payload(7), 7), ("idea_", None), ("idea_x1", None), ("idea_-3", None),
     ("idea_" + "9" * 13, None), ("", None), (None, None), ("promo", None), ("idea_4 2", None)],
)
def test_start_payload(payload, idea_id):
    assert parse_start_payload(payload) == idea_id


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("lv", "lv"), ("ru-RU", "ru"), ("LV", "lv"), ("en", "lv"), ("de", "lv"), (None, "lv"), ("", "lv")],
)
def test_first_language_from_telegram(code, language):
    assert language_for(code) == language


def test_localized_text_falls_back_visibly():
    idea = Idea(campaign_id=1, category_id=1, title_lv="Atvērtie dati", title_ru=None, body_ru="Только по-русски")
    title = localized(idea, "title", "ru")
    assert (title.text, title.language, title.is_fallback) == ("Atvērtie dati", "lv", True)
    body = localized(idea, "body", "ru")
    assert (body.text, body.is_fallback) == ("Только по-русски", False)
    assert localized(idea, "body", "lv").language == "ru"
