"""Text helpers for Telegram's limits."""

import pytest

from bot.ui.text import escape, shorten, split_text, utf16_length
from storage.text import search_key


def test_escape_makes_content_literal():
    assert escape("<b>bold</b> & <script>") == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;"


def test_utf16_length_counts_emoji_twice():
    assert utf16_length("ā") == 1
    assert utf16_length("👍") == 2


@pytest.mark.parametrize("unit", ["a", "ā", "ж", "👍"])
def test_split_text_respects_the_limit_in_utf16_units(unit):
    text = " ".join([unit * 7] * 2000)
    parts = split_text(text, 3000)
    assert len(parts) > 1
    assert all(utf16_length(part) <= 3000 for part in parts)
    assert " ".join(parts).split() == text.split()  # nothing lost or reordered


def test_split_text_prefers_paragraph_breaks():
    text = ("Pirmā rindkopa. " * 100).strip() + "\n\n" + ("Otrā rindkopa. " * 100).strip()
    parts = split_text(text, 2000)
    assert parts[0].endswith("Pirmā rindkopa.")
    assert parts[1].startswith("Otrā")


def test_split_text_of_a_word_longer_than_the_limit():
    parts = split_text("x" * 7000, 3000)
    assert [len(part) for part in parts] == [3000, 3000, 1000]


def test_short_text_is_one_part():
    assert split_text("Īss teksts", 3000) == ["Īss teksts"]


def test_shorten():
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"


def test_search_key_folds_case_diacritics_and_punctuation():
    assert search_key("Atvērtā  PĀRVALDĪBA!") == "atverta parvaldiba"
    assert search_key("Открытые Данные") == "открытые данные"
