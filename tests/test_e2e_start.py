"""The welcome, the first language and shared links, end to end."""

from __future__ import annotations

import pytest

from tests.i18n_helpers import t
from tests.resident_helpers import IDEAS


async def test_english_telegram_user_gets_latvian_with_the_choice_offered(app):
    john = app.resident("en", first_name="John")
    reply = await john.send("/start")
    assert "Atvērtā Latvija" in reply.sent[0].text
    assert reply.sent[-1].button_texts[:3] == ["Latviešu", "Русский", "English"]
    english = await john.press("English")
    assert t("en", IDEAS) in english.buttons


NOT_FOUND = "😕 This idea was not found. It may have been removed, or the link is wrong."


@pytest.mark.parametrize("payload", ["idea_999999", "idea_abc", "idea_", "x" * 64, "idea_1%3Cb%3E"])
async def test_bad_or_stale_shared_links(app, payload):
    resident = app.resident("ru")
    reply = await resident.send(f"/start {payload}")
    assert reply.text == t("ru", NOT_FOUND)
    assert t("ru", "💡 Ideas") in reply.buttons
