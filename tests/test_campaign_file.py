"""Campaign file parsing: the example campaign, and one test per validation rule (asserting the message)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pydantic
import pytest
import yaml

from bot.domain.campaign_file import (
    CampaignFileError,
    CampaignSpec,
    LocalizedText,
    load_campaign_file,
    parse_campaign,
    slugify,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "bot" / "data" / "atverta-latvija.yaml"


def valid_data() -> dict:
    return {
        "campaign": {
            "slug": "test-campaign",
            "title": {"lv": "Tests", "ru": "Тест"},
            "description": {"lv": "Apraksts", "ru": "Описание"},
            "starts_at": "2026-11-16T00:00:00+02:00",
            "ends_at": "2026-12-20T23:59:00+02:00",
            "categories": [
                {"key": key, "title": {"lv": key.title(), "ru": key.title()}}
                for key in ("transparency", "accountability", "participation", "digital")
            ],
            "ideas": [
                {
                    "key": f"idea-{index}",
                    "category": "transparency",
                    "title": {"lv": f"Ideja {index}", "ru": f"Идея {index}"},
                    "body": {"lv": "Teksts.", "ru": "Текст."},
                }
                for index in range(5)
            ],
        }
    }


def problems(data: object) -> list[str]:
    with pytest.raises(CampaignFileError) as caught:
        parse_campaign(data)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def problems_after(change) -> list[str]:
    data = valid_data()
    change(data["campaign"])
    return problems(data)


# --- the example campaign -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> CampaignSpec:
    return load_campaign_file(EXAMPLE)


def _texts(spec: CampaignSpec) -> list[tuple[str, LocalizedText]]:
    texts = [("title", spec.title), ("description", spec.description)]
    texts += [(f"categories.{c.key}.title", c.title) for c in spec.categories]
    for idea in spec.ideas:
        texts += [(f"ideas.{idea.key}.title", idea.title), (f"ideas.{idea.key}.body", idea.body)]
    return texts


def test_example_campaign_loads(example: CampaignSpec) -> None:
    assert example.slug == "atverta-latvija"
    assert example.starts_at == datetime.fromisoformat("2026-11-16T00:00:00+02:00")
    assert example.ends_at == datetime.fromisoformat("2026-12-20T23:59:00+02:00")
    assert example.votes_revocable is True
    keys = [category.key for category in example.categories]
    assert keys == ["transparency", "accountability", "participation", "digital"]
    per_category = Counter(idea.category for idea in example.ideas)
    assert all(5 <= per_category[c.key] <= 6 for c in example.categories), per_category


def test_example_has_full_lv_ru_and_en_everywhere(example: CampaignSpec) -> None:
    for where, text in _texts(example):
        assert text.lv and text.ru and text.en, where
        assert text.lv != text.ru, where


def test_example_idea_keys_are_explicit_and_unique(example: CampaignSpec) -> None:
    keys = [idea.key for idea in example.ideas]
    assert len(keys) == len(set(keys))
    assert not any(idea.key_is_derived for idea in example.ideas)


def test_example_idea_titles_are_short(example: CampaignSpec) -> None:
    for idea in example.ideas:
        for language in ("lv", "ru", "en"):
            assert len(getattr(idea.title, language)) < 120, idea.key


def test_example_latvian_has_diacritics(example: CampaignSpec) -> None:
    # A sign of text typed without the Latvian keyboard would be none of these letters anywhere.
    latvian = " ".join(text.lv for _, text in _texts(example))
    assert set("āēīūčšžņļķģ") <= set(latvian)


def test_example_loads_as_json_too(example: CampaignSpec, tmp_path: Path) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    assert load_campaign_file(path) == example


# --- a valid campaign -----------------------------------------------------------------------------------


def test_minimal_campaign_and_defaults() -> None:
    data = valid_data()
    del data["campaign"]["ideas"]
    spec = parse_campaign(data)
    assert spec.ideas == ()
    assert spec.votes_revocable is True


def test_whitespace_is_stripped_and_text_kept_literally() -> None:
    data = valid_data()
    data["campaign"]["title"]["lv"] = "  <b>Atvērtā</b> & Latvija \n"
    assert parse_campaign(data).title.lv == "<b>Atvērtā</b> & Latvija"


def test_a_text_in_one_language_is_allowed_and_falls_back() -> None:
    data = valid_data()
    data["campaign"]["ideas"][0]["body"] = {"ru": "Только по-русски"}
    body = parse_campaign(data).ideas[0].body
    assert body.get("lv") == ("Только по-русски", "ru")
    assert body.get("ru") == ("Только по-русски", "ru")


def test_localized_get_prefers_the_language_then_the_fallback_order() -> None:
    text = LocalizedText(lv="Sveiki", ru="Привет", en="Hello")
    assert text.get("ru") == ("Привет", "ru")
    assert text.get("de") == ("Sveiki", "lv")
    assert LocalizedText(lv="Sveiki", en="Hello").get("ru", fallback_order=("en", "lv")) == ("Hello", "en")


def test_models_are_frozen() -> None:
    spec = parse_campaign(valid_data())
    with pytest.raises(pydantic.ValidationError):
        spec.slug = "other"  # type: ignore[misc]


def test_json_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(valid_data(), ensure_ascii=False), encoding="utf-8")
    assert load_campaign_file(path).slug == "test-campaign"


def test_unknown_extension_tries_json_then_yaml(tmp_path: Path) -> None:
    as_json = tmp_path / "campaign.txt"
    as_json.write_text(json.dumps(valid_data()), encoding="utf-8")
    as_yaml = tmp_path / "campaign.conf"
    as_yaml.write_text(yaml.safe_dump(valid_data(), allow_unicode=True), encoding="utf-8")
    assert load_campaign_file(as_json).slug == load_campaign_file(as_yaml).slug == "test-campaign"


def test_utf8_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(valid_data()), encoding="utf-8-sig")
    assert load_campaign_file(path).slug == "test-campaign"


# --- idea keys ------------------------------------------------------------------------------------------


def test_missing_idea_key_is_derived_from_category_and_latvian_title() -> None:
    data = valid_data()
    idea = data["campaign"]["ideas"][0]
    del idea["key"]
    idea["title"] = {"lv": "Pašvaldību budžeti kā atvērtie dati!", "ru": "Бюджеты"}
    first = parse_campaign(data).ideas[0]
    assert first.key == "transparency.pasvaldibu-budzeti-ka-atvertie-dati"
    assert first.key_is_derived
    assert parse_campaign(copy.deepcopy(data)).ideas[0].key == first.key  # stable across imports


def test_derived_key_uses_russian_title_when_there_is_no_latvian_one() -> None:
    data = valid_data()
    idea = data["campaign"]["ideas"][0]
    del idea["key"]
    idea["title"] = {"ru": "Открытые данные по умолчанию"}
    assert parse_campaign(data).ideas[0].key == "transparency.otkrytye-dannye-po-umolchaniyu"


def test_slugify_cuts_long_titles_at_a_word() -> None:
    slug = slugify("vārds " * 40)
    assert len(slug) <= 60 and slug.endswith("vards") and slug.startswith("vards-vards")


def test_duplicate_explicit_idea_keys() -> None:
    def change(c):
        c["ideas"][3]["key"] = "idea-1"

    expected = 'campaign.ideas[3].key: duplicate key "idea-1" (already used by ideas[1])'
    assert problems_after(change) == [expected]


def test_duplicate_derived_idea_keys() -> None:
    def change(c):
        for idea in c["ideas"][:2]:
            del idea["key"]
            idea["title"]["lv"] = "Tā pati ideja"

    assert problems_after(change) == [
        'campaign.ideas[1]: the key made from the title, "transparency.ta-pati-ideja", is taken by ideas[0];'
        ' add a "key"'
    ]


def test_invalid_idea_key() -> None:
    def change(c):
        c["ideas"][0]["key"] = "Open Data"

    [message] = problems_after(change)
    assert message.startswith('campaign.ideas[0].key: "Open Data" is not valid: use lowercase latin letters')


def test_title_without_letters_needs_a_key() -> None:
    def change(c):
        del c["ideas"][0]["key"]
        c["ideas"][0]["title"] = {"lv": "???"}

    [message] = problems_after(change)
    assert message.startswith("campaign.ideas[0]: cannot make a key from a title without letters or digits")


# --- one test per rule ----------------------------------------------------------------------------------


def test_idea_title_too_long() -> None:
    def change(c):
        c["ideas"][3]["title"]["lv"] = "x" * 412

    assert problems_after(change) == ["campaign.ideas[3].title.lv: at most 300 characters (got 412)"]


def test_campaign_and_category_titles_too_long() -> None:
    def change(c):
        c["title"]["ru"] = "я" * 301
        c["categories"][1]["title"]["lv"] = "ā" * 350

    assert problems_after(change) == [
        "campaign.title.ru: at most 300 characters (got 301)",
        "campaign.categories[1].title.lv: at most 300 characters (got 350)",
    ]


def test_title_of_exactly_300_characters_is_fine() -> None:
    data = valid_data()
    data["campaign"]["ideas"][0]["title"]["lv"] = "x" * 300
    assert len(parse_campaign(data).ideas[0].title.lv) == 300


def test_body_and_description_too_long() -> None:
    def change(c):
        c["description"]["lv"] = "a" * 5001
        c["ideas"][2]["body"]["ru"] = "б" * 6000

    assert problems_after(change) == [
        "campaign.description.lv: at most 5000 characters (got 5001)",
        "campaign.ideas[2].body.ru: at most 5000 characters (got 6000)",
    ]


def test_long_text_counts_characters_after_stripping() -> None:
    data = valid_data()
    data["campaign"]["ideas"][0]["body"]["lv"] = "  " + "a" * 5000 + "\n\n"
    assert len(parse_campaign(data).ideas[0].body.lv) == 5000


def test_empty_and_whitespace_only_texts() -> None:
    def change(c):
        c["ideas"][0]["title"]["lv"] = ""
        c["ideas"][1]["body"]["ru"] = "   \n\t "
        c["description"]["lv"] = None

    assert problems_after(change) == [
        "campaign.description.lv: must not be empty",
        "campaign.ideas[0].title.lv: must not be empty",
        "campaign.ideas[1].body.ru: must not be empty",
    ]


def test_title_must_be_one_line() -> None:
    def change(c):
        c["ideas"][0]["title"]["lv"] = "Pirmā rinda\notrā rinda"

    assert problems_after(change) == ["campaign.ideas[0].title.lv: must be a single line"]


def test_text_needs_latvian_or_russian() -> None:
    def change(c):
        c["ideas"][0]["title"] = {"en": "Only English"}
        c["categories"][0]["title"] = {}

    assert problems_after(change) == [
        "campaign.categories[0].title: needs a Latvian (lv) or Russian (ru) text",
        "campaign.ideas[0].title: needs a Latvian (lv) or Russian (ru) text",
    ]


def test_localized_text_must_be_a_mapping() -> None:
    def change(c):
        c["ideas"][0]["title"] = "Tikai virsraksts"

    assert problems_after(change) == [
        "campaign.ideas[0].title: must be texts by language, like {lv: ..., ru: ...} (got text)"
    ]


def test_text_must_be_text() -> None:
    def change(c):
        c["ideas"][0]["title"]["lv"] = 2026

    assert problems_after(change) == ["campaign.ideas[0].title.lv: must be text (got a number)"]


@pytest.mark.parametrize("slug", ["Atverta", "a", "-abc", "atvērtā", "a_b", "a" * 64])
def test_invalid_slug(slug: str) -> None:
    def change(c):
        c["slug"] = slug

    [message] = problems_after(change)
    assert message.startswith(f'campaign.slug: "{slug}" is not valid: use 2-63 lowercase latin letters')


@pytest.mark.parametrize("slug", ["ab", "atverta-latvija", "2026-open", "a" * 63])
def test_valid_slug(slug: str) -> None:
    data = valid_data()
    data["campaign"]["slug"] = slug
    assert parse_campaign(data).slug == slug


@pytest.mark.parametrize("key", ["Digital", "-x", "x" * 33, "digitālie", "a.b"])
def test_invalid_category_key(key: str) -> None:
    def change(c):
        c["categories"][3]["key"] = key

    [message] = problems_after(change)
    expected = f'campaign.categories[3].key: "{key}" is not valid: use lowercase latin letters'
    assert message.startswith(expected)


def test_duplicate_category_keys() -> None:
    def change(c):
        c["categories"][2]["key"] = "transparency"

    assert problems_after(change) == [
        'campaign.categories[2].key: duplicate key "transparency" (already used by categories[0])'
    ]


def test_at_least_one_category() -> None:
    def change(c):
        c["categories"] = []
        c["ideas"] = []

    assert problems_after(change) == ["campaign.categories: at least one category is required"]


def test_unknown_idea_category() -> None:
    def change(c):
        c["ideas"][2]["category"] = "transparncy"

    assert problems_after(change) == [
        'campaign.ideas[2].category: unknown category "transparncy" '
        "(known: transparency, accountability, participation, digital)"
    ]


def test_naive_datetime_is_rejected() -> None:
    def change(c):
        c["starts_at"] = "2026-11-16T00:00:00"

    assert problems_after(change) == [
        "campaign.starts_at: needs a UTC offset, e.g. 2026-11-16T00:00:00+02:00"
    ]


def test_naive_datetime_object_is_rejected() -> None:
    def change(c):
        c["ends_at"] = datetime(2026, 12, 20, 23, 59)

    assert problems_after(change) == ["campaign.ends_at: needs a UTC offset, e.g. 2026-11-16T00:00:00+02:00"]


def test_unparseable_datetime() -> None:
    def change(c):
        c["starts_at"] = "16.11.2026"
        c["ends_at"] = 1234567890

    assert problems_after(change) == [
        'campaign.starts_at: "16.11.2026" is not a date and time; write it like 2026-11-16T00:00:00+02:00',
        "campaign.ends_at: must be a date and time like 2026-11-16T00:00:00+02:00 (got a number)",
    ]


def test_utc_z_suffix_is_an_offset() -> None:
    data = valid_data()
    data["campaign"]["starts_at"] = "2026-11-15T22:00:00Z"
    assert parse_campaign(data).starts_at.utcoffset().total_seconds() == 0


def test_ends_at_must_be_after_starts_at() -> None:
    def change(c):
        c["ends_at"] = c["starts_at"]

    assert problems_after(change) == ["campaign.ends_at: must be after starts_at (2026-11-16T00:00:00+02:00)"]


def test_ends_at_compares_instants_across_offsets() -> None:
    def change(c):
        c["starts_at"] = "2026-11-16T01:00:00+02:00"
        c["ends_at"] = "2026-11-15T23:30:00+00:00"  # 01:30 in Riga: after the start

    data = valid_data()
    change(data["campaign"])
    assert parse_campaign(data).ends_at.utcoffset().total_seconds() == 0


def test_votes_revocable_must_be_a_boolean() -> None:
    def change(c):
        c["votes_revocable"] = "no"

    assert problems_after(change) == ["campaign.votes_revocable: must be true or false (got text)"]


def test_votes_revocable_false() -> None:
    data = valid_data()
    data["campaign"]["votes_revocable"] = False
    assert parse_campaign(data).votes_revocable is False


def test_unknown_field_suggests_the_right_name() -> None:
    def change(c):
        c["ideas"][0]["titel"] = c["ideas"][0].pop("title")

    assert problems_after(change) == [
        "campaign.ideas[0].title: required field is missing",
        'campaign.ideas[0].titel: unknown field (did you mean "title"?)',
    ]


def test_unknown_field_lists_the_allowed_ones() -> None:
    def change(c):
        c["title"]["de"] = "Offenes Lettland"
        c["organizer"] = "ManaBalss"

    assert problems_after(change) == [
        "campaign.title.de: unknown field (allowed: lv, ru, en)",
        "campaign.organizer: unknown field (allowed: slug, title, description, starts_at, ends_at, "
        "categories, ideas, votes_revocable, plan, groups)",
    ]


def test_missing_required_field() -> None:
    def change(c):
        del c["slug"]
        del c["categories"][0]["title"]

    assert problems_after(change) == [
        "campaign.slug: required field is missing",
        "campaign.categories[0].title: required field is missing",
    ]


def test_wrong_container_types() -> None:
    def change(c):
        c["ideas"] = {"key": "x"}
        c["categories"][0] = "transparency"

    assert problems_after(change) == [
        "campaign.categories[0]: must be a mapping of fields (got text)",
        "campaign.ideas: must be a list (got a mapping)",
    ]


def test_top_level_shape() -> None:
    assert problems(None) == ["the file is empty"]
    assert problems(["campaign"]) == ['the file must hold a mapping with the key "campaign" (got a list)']
    assert problems({"campain": {}}) == [
        "campaign: required field is missing",
        'campain: unknown field (did you mean "campaign"?)',
    ]


def test_every_problem_on_its_own_line_without_pydantic_noise() -> None:
    def change(c):
        c["slug"] = "Bad Slug"
        c["title"]["lv"] = "x" * 301
        c["ideas"][1]["body"] = {"en": "English only"}
        c["extra"] = 1

    found = problems_after(change)
    assert len(found) == 4
    for line in found:
        assert line.startswith("campaign.") and "\n" not in line
        assert "pydantic" not in line and "input_value" not in line and "Value error" not in line


def test_braces_in_user_text_are_kept() -> None:
    def change(c):
        c["ideas"][0]["category"] = "{x}"

    [message] = problems_after(change)
    assert 'unknown category "{x}"' in message


# --- files ----------------------------------------------------------------------------------------------


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("campaign:\n  slug: abc\n  title: {lv: Tests\n  ru: x\n", encoding="utf-8")
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    [message] = caught.value.problems
    assert message.startswith("YAML syntax error at line ")
    assert "line 5" in message or "line 4" in message


def test_yaml_indentation_error_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("campaign:\n  slug: abc\n title: x\n", encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"^YAML syntax error at line 3, column 2: "):
        load_campaign_file(path)


def test_yaml_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("campaign:\n  slug: abc\n  title: {lv: a}\n  slug: def\n", encoding="utf-8")
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    assert caught.value.problems == [
        'YAML syntax error at line 4, column 3: duplicate key "slug" (first on line 2)'
    ]


def test_validation_errors_in_yaml_name_the_line(tmp_path: Path) -> None:
    typo = "category: acountability"
    text = EXAMPLE.read_text(encoding="utf-8").replace("category: accountability", typo, 1)
    path = tmp_path / "campaign.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if typo in row)
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    assert caught.value.problems == [
        f'campaign.ideas[6].category (line {line}): unknown category "acountability" '
        "(known: transparency, accountability, participation, digital)"
    ]


def test_missing_field_in_yaml_points_at_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text("campaign:\n  slug: abc\n", encoding="utf-8")
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    assert "campaign.title (line 1): required field is missing" in caught.value.problems


def test_json_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "campaign": {\n    "slug": "abc",\n  }\n}\n', encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"^JSON syntax error at line 4, column 3: "):
        load_campaign_file(path)


def test_json_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"campaign": {"slug": "a", "slug": "b"}}', encoding="utf-8")
    with pytest.raises(CampaignFileError, match='duplicate key "slug"'):
        load_campaign_file(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"^the file is empty$"):
        load_campaign_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"^cannot read "):
        load_campaign_file(tmp_path / "nope.yaml")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("campaign:\n  slug: ā\n".encode("utf-16"))
    with pytest.raises(CampaignFileError, match="is not UTF-8 text"):
        load_campaign_file(path)
