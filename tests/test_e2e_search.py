"""Searching ideas by typed words, end to end."""

from __future__ import annotations

from tests.i18n_helpers import t, tn
from tests.resident_helpers import SUPPORT, WITHDRAW, open_first_idea


async def test_russian_resident_browses_votes_and_searches(app):
    ivan = app.resident("ru", first_name="Иван")
    welcome = await ivan.send("/start")
    assert "Открытая Латвия" in welcome.text
    assert "16 ноября\u2009—\u200920 декабря" in welcome.text  # Babel's interval in Russian (thin spaces), no year

    card = await open_first_idea(ivan, "ru")
    supported = await ivan.press(t("ru", SUPPORT))
    assert tn("ru", "{count} supporter", "{count} supporters", 1) in supported.text
    withdrawn = await ivan.press(t("ru", WITHDRAW))
    assert tn("ru", "{count} supporter", "{count} supporters", 0) in withdrawn.text
    assert card.text.splitlines()[0] == withdrawn.text.splitlines()[0]

    found = await ivan.send("бюджет")
    assert t("ru", "🔎 Results for “{query}”:", query="бюджет") in found.text
    opened = await ivan.press(found.buttons[0])
    assert "💡" in opened.text and t("ru", SUPPORT) in opened.buttons

    # Latvian words find ideas too (shown in Russian), with or without diacritics.
    latvian_words = await ivan.send("pašvaldību budžeti")
    assert latvian_words.buttons[0].startswith("👍 0 · Бюджеты самоуправлений")  # the count first: phones cut the end
    assert (await ivan.send("pasvaldibu budzeti")).buttons == latvian_words.buttons

    nothing = await ivan.send("zzzzqqq")
    assert t("ru", "🔎 Nothing found for “{query}”. Try other words or browse the categories.",
             query="zzzzqqq") == nothing.text


async def test_search_with_html_and_odd_characters(app):
    resident = app.resident("lv")
    for query in ["<b>budžets</b>", "a", "   ", "&amp;", "💡💡💡", "\u200b\u200b", "x" * 5000, "%_%"]:
        reply = await resident.send(query)
        assert not reply.errors, (query, reply.describe())
        assert reply.text
