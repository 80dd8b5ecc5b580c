"""The idea card's kept pieces (bot/ui/browse_screens.py): its text lines are kept by what they show and its
keyboard by where its buttons lead, so an edited idea, another language or another state never shows a kept one."""

from datetime import UTC, datetime, timedelta

from bot.domain.browse import IdeaCard
from bot.domain.rules import VoteRefusal
from bot.i18n import create_i18n
from bot.ui import browse_screens
from bot.ui import callbacks as cb
from storage.models import Campaign, Category, Idea, IdeaStatus

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
CAMPAIGN = Campaign(id=1, slug="atverta-latvija", title_lv="Atvērtā Latvija", starts_at=NOW - timedelta(days=3),
                    ends_at=NOW + timedelta(days=20))
CATEGORY = Category(id=4, campaign_id=1, key="dati", title_lv="Atvērtie dati", title_ru="Открытые данные")


def _idea(**texts) -> Idea:
    return Idea(id=77, campaign_id=1, category_id=4, status=IdeaStatus.PUBLISHED,
                **({"title_lv": "Atvērt budžeta datus", "body_lv": "Visus pašvaldību budžetus publicēt <tabulās>."}
                   | texts))


def _card(idea: Idea, **state) -> IdeaCard:
    values = {"supported": False, "support_refusal": None, "withdrawal_refusal": None, "supporters": 12} | state
    return IdeaCard(idea=idea, category=CATEGORY, campaign=CAMPAIGN, **values)


def _render(card: IdeaCard, language: str = "lv", **where):
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(language):
        return browse_screens.idea_card_screen(card, language, "manabalss_bot", where.get("part", 0),
                                               where.get("sort", "top"), where.get("page", 0), NOW)


def _data(screen) -> list[str]:
    return [button.callback_data or button.url for row in screen.markup.inline_keyboard for button in row]


def test_an_idea_edited_in_place_shows_its_new_text_and_status():
    idea = _idea()
    before = _render(_card(idea))
    assert "Atvērt budžeta datus" in before.text and "&lt;tabulās&gt;" in before.text
    idea.title_lv, idea.body_lv = "Atvērt visus datus", "Jauns teksts."  # as a proposal's preview edits it
    idea.status = IdeaStatus.INCLUDED
    after = _render(_card(idea))
    assert "Atvērt visus datus" in after.text and "Jauns teksts." in after.text
    assert "budžeta" not in after.text and "tabulās" not in after.text
    assert after.text != before.text and "visus%20datus" in " ".join(_data(after))


def test_each_language_and_state_has_its_own_keyboard_and_the_same_one_is_shared():
    idea = _idea(title_ru="Открыть данные бюджета", body_ru="Публиковать бюджеты.")
    first, again = _render(_card(idea)), _render(_card(idea, supporters=13))
    assert again.markup is first.markup and "13" in again.text  # the count is never kept
    russian = _render(_card(idea), "ru")
    assert russian.markup is not first.markup and "Открыть данные бюджета" in russian.text
    assert russian.markup.inline_keyboard[0][0].text != first.markup.inline_keyboard[0][0].text
    supported = _render(_card(idea, supported=True))
    assert cb.pack(cb.IdeaAction, act=cb.ACT_WITHDRAW, id=77, sort="top", page=0) in _data(supported)
    assert cb.pack(cb.IdeaAction, act=cb.ACT_SUPPORT, id=77, sort="top", page=0) in _data(first)
    closed = _render(_card(idea, support_refusal=VoteRefusal.ENDED))
    assert cb.pack(cb.IdeaAction, act=cb.ACT_WHY_CLOSED, id=77, sort="top", page=0) in _data(closed)
    from_page_two = _render(_card(idea), sort="new", page=2)
    assert cb.pack(cb.IdeaList, cat=4, sort="new", page=2) in _data(from_page_two)
    assert cb.pack(cb.IdeaList, cat=4, sort="new", page=2) not in _data(first)
