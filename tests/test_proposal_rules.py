"""Rules of a valid proposal, without Telegram or a database."""

import pytest

from bot.domain.proposals import ProposalRefusal, proposal_refusal
from bot.domain.rules import Phase
from bot.domain.texts import TextProblem, check_body, check_title, clean_text


@pytest.mark.parametrize(("raw", "problem"), [
    ("Atvērtie dati par budžetu", None),
    ("Открытые данные", None),
    ("x" * 9, TextProblem.TOO_SHORT),
    ("Īss", TextProblem.TOO_SHORT),
    ("a" * 121, TextProblem.TOO_LONG),
    ("", TextProblem.EMPTY),
    ("   \n\t  ", TextProblem.EMPTY),
    ("\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b", TextProblem.EMPTY),
    ("👍👍👍👍👍👍👍👍👍👍👍", TextProblem.NO_WORDS),
    ("!!!!!!!!!!!!!!!", TextProblem.NO_WORDS),
    ("1234567890 12", TextProblem.NO_WORDS),
])
def test_title_rules(raw, problem):
    assert check_title(raw).problem is problem


def test_title_limits_count_cleaned_characters():
    assert check_title("  " + "a" * 120 + "  ").problem is None
    assert check_title("Atvērtā\u200b pārvaldība \u202e!").text == "Atvērtā pārvaldība !"
    assert check_title("Pirmā rinda\notrā rinda").text == "Pirmā rinda otrā rinda"


def test_body_keeps_paragraphs_but_not_runs_of_blank_lines():
    body = "Pirmā rindkopa par atklātību.\n\n\n\n\nOtrā   rindkopa  par līdzdalību."
    checked = check_body(body)
    assert checked.problem is None
    assert checked.text == "Pirmā rindkopa par atklātību.\n\nOtrā rindkopa par līdzdalību."


@pytest.mark.parametrize(("raw", "problem"), [
    ("Пусть все самоуправления публикуют бюджеты.", None),
    ("Par īsu", TextProblem.TOO_SHORT),
    ("ā" * 2001, TextProblem.TOO_LONG),
    ("<>" * 20, TextProblem.NO_WORDS),
])
def test_body_rules(raw, problem):
    assert check_body(raw).problem is problem


def test_html_is_kept_as_text():
    assert check_title("<b>Atvērtie</b> dati & <a href='x'>saite</a>").text == (
        "<b>Atvērtie</b> dati & <a href='x'>saite</a>")


def test_control_characters_are_dropped():
    assert clean_text("a\x00b\x07c\u2028d", multiline=True) == "a b c d"


@pytest.mark.parametrize(("phase", "banned", "pending", "refusal"), [
    (Phase.OPEN, False, 0, None),
    (Phase.OPEN, False, 2, None),
    (Phase.OPEN, False, 3, ProposalRefusal.TOO_MANY_PENDING),
    (Phase.OPEN, True, 0, ProposalRefusal.BANNED),
    (Phase.UPCOMING, False, 0, ProposalRefusal.NOT_STARTED),
    (Phase.CLOSED, False, 0, ProposalRefusal.ENDED),
    (None, False, 0, ProposalRefusal.NO_CAMPAIGN),
])
def test_who_may_propose(phase, banned, pending, refusal):
    assert proposal_refusal(phase, banned, pending, max_pending=3) is refusal
