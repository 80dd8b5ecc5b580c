"""Reading ideas (categories, lists, cards), end to end."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Idea
from tests.conftest import AFTER_CAMPAIGN
from tests.i18n_helpers import t


async def test_idea_texts_are_escaped_and_long_texts_are_split(app):
    long_body = ("Teksts ar <b>birkām</b> & zīmēm 👍. " * 200).strip()  # ~7,000 UTF-16 units
    async with app.sessions() as session:
        idea = (await session.exec(select(Idea).order_by(Idea.id))).first()
        idea.title_lv = "<script>alert(1)</script> & <b>"
        idea.body_lv = long_body
        session.add(idea)
        await session.commit()
        idea_id = idea.id
    anna = app.resident("lv")
    card = await anna.send(f"/start idea_{idea_id}")
    assert not card.errors, card.describe()  # the fake refuses bad HTML with 400, as Telegram does
    assert "<script>alert(1)</script> & <b>" in card.text  # shown literally
    parts = [card.text]
    while t("lv", "📖 Read more") in anna.last.button_texts:
        parts.append((await anna.press(t("lv", "📖 Read more"))).text)
    assert len(parts) >= 3 and all(len(part.encode("utf-16-le")) // 2 <= 4096 for part in parts)
    shown = " ".join(part.split("\n\n")[1] if i == 0 else part for i, part in enumerate(parts))
    assert shown.count("birkām") == 200
    previous = await anna.press(t("lv", "◀️ Previous part"))
    assert previous.text == parts[-2]


async def test_the_largest_card_with_its_history_fits_one_message(app):
    from storage.models import StatusChange

    async with app.sessions() as session:
        idea = (await session.exec(select(Idea).order_by(Idea.id))).first()
        idea.title_lv = "Ā👍" * 150  # 300 characters, 450 UTF-16 units
        idea.body_lv = ("Garš teksts 👍 " * 400)[:5000]
        idea.status = "included"
        idea.status_changed_at = AFTER_CAMPAIGN
        session.add(idea)
        for status in ("under_review", "included", "under_review", "included", "included", "included"):
            session.add(StatusChange(idea_id=idea.id, status=status, note="Piezīme <b>&</b> 👍" * 12,
                                     created_at=AFTER_CAMPAIGN))
        await session.commit()
        idea_id = idea.id
    anna = app.resident("lv")
    card = await anna.send(f"/start idea_{idea_id}")
    assert not card.errors, card.describe()
    assert t("lv", "📜 <b>What happened to this idea</b>").replace("<b>", "").replace("</b>", "") in card.text
    assert "Piezīme <b>&</b>" in card.text  # notes are escaped
    while t("lv", "📖 Read more") in anna.last.button_texts:
        more = await anna.press(t("lv", "📖 Read more"))
        assert not more.errors, more.describe()
