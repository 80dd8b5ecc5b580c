"""Parsing and validating a campaign file (YAML or JSON) into frozen pydantic models.

Shape of the file (YAML shown; JSON with the same structure works too)::

    campaign:
      slug: atverta-latvija                 # ^[a-z0-9][a-z0-9-]{1,62}$
      title: {lv: ..., ru: ..., en: ...}    # at most 300 characters, one line
      description: {lv: ..., ru: ...}       # at most 5,000 characters
      starts_at: 2026-11-16T00:00:00+02:00  # ISO 8601 with a UTC offset
      ends_at: 2026-12-20T23:59:00+02:00    # after starts_at
      votes_revocable: true                 # optional, default true
      categories:
        - key: transparency                 # ^[a-z0-9][a-z0-9_-]{0,31}$, unique
          title: {lv: ..., ru: ...}
      ideas:                                # optional, default none
        - key: open-municipal-budgets       # optional, see "Idea keys"
          category: transparency            # one of the category keys
          title: {lv: ..., ru: ...}
          body: {lv: ..., ru: ...}          # at most 5,000 characters

Every localized text needs Latvian (lv) or Russian (ru), or both; English (en) is optional. A text given
in one language only is allowed: the bot falls back to another language and marks it. Texts are taken
literally (the bot escapes them when rendering) after stripping surrounding whitespace. Unknown fields
are errors, so that a typo does not silently drop a text.

Idea keys
    Each idea has a stable key, so that importing the same file again updates its ideas instead of
    adding duplicates. Give it explicitly (``key: open-municipal-budgets``, lowercase latin letters,
    digits, ".", "_" and "-", up to 100 characters) or leave it out: the key is then derived as
    ``<category key>.<slug of the title>`` from the Latvian title, or the Russian one if there is no
    Latvian title, e.g. ``transparency.pasvaldibu-budzeti-ka-atvertie-dati``. A derived key changes when
    that title or the category changes, and the next import then sees a new idea; so once a campaign is
    live, copy the derived key into ``key:`` before editing such a title. Keys are unique within a file.

Errors
    Every problem found is reported as one line naming its place in the file, e.g.
    ``campaign.ideas[3].title.lv (line 57): at most 300 characters (got 412)``; list positions count
    from 0 and the line number is given for YAML files. Field problems are reported together; the
    checks across fields (dates in order, known categories, unique keys) run once the fields are valid.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

TITLE_MAX_CHARS = 300
TEXT_MAX_CHARS = 5000
LANGUAGES = ("lv", "ru", "en")
DATE_EXAMPLE = "2026-11-16T00:00:00+02:00"

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CATEGORY_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
IDEA_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_TITLE_SLUG_MAX = 60  # keeps derived keys (category + "." + slug) well under the 100-character limit

Loc = tuple[str | int, ...]


class CampaignFileError(Exception):
    """A campaign file that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _problem(message: str) -> PydanticCustomError:
    # The message is passed as context, not as the template, so braces in user input stay literal.
    return PydanticCustomError("campaign_file", "{message}", {"message": message})


class _CrossFieldProblems(ValueError):
    """Several problems found across fields, each with its location relative to the validated model."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


# --- field checks -------------------------------------------------------------------------------------


def _describe(value: object) -> str:
    """What the user wrote, in words, for "must be X (got Y)" messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date without a time"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _clean_text(value: object, max_chars: int, single_line: bool = False) -> str:
    if value is None:
        raise _problem("must not be empty")
    if not isinstance(value, str):
        raise _problem(f"must be text (got {_describe(value)})")
    text = value.strip()
    if not text:
        raise _problem("must not be empty")
    if len(text) > max_chars:
        raise _problem(f"at most {max_chars} characters (got {len(text)})")
    if single_line and "\n" in text:
        raise _problem("must be a single line")
    return text


def _clean_key(value: object, pattern: re.Pattern[str], rule: str) -> str:
    key = _clean_text(value, max_chars=200, single_line=True)
    if not pattern.fullmatch(key):
        raise _problem(f'"{key}" is not valid: use {rule}')
    return key


def _parse_moment(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _problem(f'"{value}" is not a date and time; write it like {DATE_EXAMPLE}') from None
    if not isinstance(value, datetime):
        raise _problem(f"must be a date and time like {DATE_EXAMPLE} (got {_describe(value)})")
    if value.utcoffset() is None:
        raise _problem(f"needs a UTC offset, e.g. {DATE_EXAMPLE}")
    return value


# --- idea keys ----------------------------------------------------------------------------------------

# Russian letters in latin, for keys derived from a Russian-only title. Changing this table changes
# derived keys, and so makes the next import treat those ideas as new ones.
_CYRILLIC_TO_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
})


def slugify(text: str, max_chars: int = _TITLE_SLUG_MAX) -> str:
    """Lowercase ASCII words joined by "-", cut at a word boundary: "Atvērtā Latvija" -> "atverta-latvija"."""
    latin = text.lower().translate(_CYRILLIC_TO_LATIN)
    # Decomposing "ā", "ķ", "ņ"... and dropping the marks leaves their base letters.
    ascii_text = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = words[0][:max_chars] if words else ""
    for word in words[1:]:
        if len(slug) + 1 + len(word) > max_chars:
            break
        slug = f"{slug}-{word}"
    return slug


def derive_idea_key(category: str, title: LocalizedText) -> str:
    """The key of an idea without an explicit one (see "Idea keys" above); "" if the title has no letters."""
    source = title.lv if title.lv is not None else title.ru
    slug = slugify(source or "")
    return f"{category}.{slug}" if slug else ""


# --- models -------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(_Spec):
    """A text in Latvian and/or Russian, optionally English (at most 5,000 characters each)."""

    max_chars: ClassVar[int] = TEXT_MAX_CHARS
    single_line: ClassVar[bool] = False

    lv: str | None = None
    ru: str | None = None
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _require_mapping(cls, data: object) -> object:
        if not isinstance(data, dict):
            raise _problem(f"must be texts by language, like {{lv: ..., ru: ...}} (got {_describe(data)})")
        return data

    @field_validator("lv", "ru", "en", mode="before")
    @classmethod
    def _clean(cls, value: object) -> str:
        return _clean_text(value, cls.max_chars, cls.single_line)

    @model_validator(mode="after")
    def _require_lv_or_ru(self) -> LocalizedText:
        if self.lv is None and self.ru is None:
            raise _problem("needs a Latvian (lv) or Russian (ru) text")
        return self

    def get(self, lang: str, fallback_order: Sequence[str] = LANGUAGES) -> tuple[str, str]:
        """(text, language actually used): `lang` if present, else the first of `fallback_order` present,
        else any language present. A caller shows a mark when the language used differs from `lang`."""
        for candidate in (lang, *fallback_order, *LANGUAGES):
            text = getattr(self, candidate) if candidate in LANGUAGES else None
            if text is not None:
                return text, candidate
        raise LookupError("a validated LocalizedText always has lv or ru")  # pragma: no cover


class LocalizedTitle(LocalizedText):
    """A title: like LocalizedText, but one line of at most 300 characters."""

    max_chars: ClassVar[int] = TITLE_MAX_CHARS
    single_line: ClassVar[bool] = True


class CategorySpec(_Spec):
    key: str
    title: LocalizedTitle

    @field_validator("key", mode="before")
    @classmethod
    def _check_key(cls, value: object) -> str:
        rule = "lowercase latin letters, digits, '-' and '_', at most 32, starting with a letter or digit"
        return _clean_key(value, CATEGORY_KEY_RE, rule)


class IdeaSpec(_Spec):
    """An idea to publish. `key` is always set after validation: given, or derived (see "Idea keys")."""

    key: str = ""
    category: str
    title: LocalizedTitle
    body: LocalizedText

    @field_validator("key", mode="before")
    @classmethod
    def _check_key(cls, value: object) -> str:
        rule = "lowercase latin letters, digits, '.', '_' and '-', at most 100, starting with a letter/digit"
        return _clean_key(value, IDEA_KEY_RE, rule)

    @field_validator("category", mode="before")
    @classmethod
    def _check_category(cls, value: object) -> str:
        return _clean_text(value, max_chars=200, single_line=True)  # known keys: checked by CampaignSpec

    @property
    def key_is_derived(self) -> bool:
        return "key" not in self.model_fields_set

    @model_validator(mode="after")
    def _derive_key(self) -> IdeaSpec:
        if self.key_is_derived:
            key = derive_idea_key(self.category, self.title)
            if not key:
                raise _problem('cannot make a key from a title without letters or digits; add a "key"')
            object.__setattr__(self, "key", key)  # the model is frozen; this is still its validation
        return self


class CampaignSpec(_Spec):
    slug: str
    title: LocalizedTitle
    description: LocalizedText
    starts_at: datetime
    ends_at: datetime
    categories: tuple[CategorySpec, ...]
    ideas: tuple[IdeaSpec, ...] = ()
    votes_revocable: bool = True

    @field_validator("slug", mode="before")
    @classmethod
    def _check_slug(cls, value: object) -> str:
        rule = "2-63 lowercase latin letters, digits and '-', starting with a letter or digit"
        return _clean_key(value, SLUG_RE, rule)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _check_moment(cls, value: object) -> datetime:
        return _parse_moment(value)

    @field_validator("votes_revocable", mode="before")
    @classmethod
    def _check_flag(cls, value: object) -> bool:
        if not isinstance(value, bool):  # "no", 0... would be guesses
            raise _problem(f"must be true or false (got {_describe(value)})")
        return value

    @field_validator("categories")
    @classmethod
    def _require_categories(cls, value: tuple[CategorySpec, ...]) -> tuple[CategorySpec, ...]:
        if not value:
            raise _problem("at least one category is required")
        return value

    @model_validator(mode="after")
    def _check_across_fields(self) -> CampaignSpec:
        problems = [*self._date_problems(), *self._category_problems(), *self._idea_key_problems()]
        if problems:
            raise _CrossFieldProblems(problems)
        return self

    def _date_problems(self) -> list[tuple[Loc, str]]:
        if self.ends_at > self.starts_at:
            return []
        return [(("ends_at",), f"must be after starts_at ({self.starts_at.isoformat()})")]

    def _category_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        first_at: dict[str, int] = {}
        for index, category in enumerate(self.categories):
            if category.key in first_at:
                where = f"categories[{first_at[category.key]}]"
                message = f'duplicate key "{category.key}" (already used by {where})'
                problems.append((("categories", index, "key"), message))
            first_at.setdefault(category.key, index)
        known = ", ".join(first_at)
        for index, idea in enumerate(self.ideas):
            if idea.category not in first_at:
                message = f'unknown category "{idea.category}" (known: {known})'
                problems.append((("ideas", index, "category"), message))
        return problems

    def _idea_key_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        first_at: dict[str, int] = {}
        for index, idea in enumerate(self.ideas):
            if idea.key in first_at:
                where = f"ideas[{first_at[idea.key]}]"
                if idea.key_is_derived:
                    message = f'the key made from the title, "{idea.key}", is taken by {where}; add a "key"'
                    problems.append((("ideas", index), message))
                else:
                    message = f'duplicate key "{idea.key}" (already used by {where})'
                    problems.append((("ideas", index, "key"), message))
            first_at.setdefault(idea.key, index)
        return problems


class _CampaignFile(_Spec):
    campaign: CampaignSpec


# --- turning pydantic's errors into the user's terms ---------------------------------------------------

_TYPE_MESSAGES = {
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "dict_type": "must be a mapping of fields",
}


def _format_loc(loc: Loc) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model that validates the mapping at `loc`, to list the fields allowed there."""
    model: type[BaseModel] | None = _CampaignFile
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        candidates = [field.annotation, *get_args(field.annotation)]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model


def _unknown_field_message(loc: Loc) -> str:
    model = _model_at(loc[:-1])
    allowed = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
    if close:
        return f'unknown field (did you mean "{close[0]}"?)'
    return f"unknown field (allowed: {', '.join(allowed)})" if allowed else "unknown field"


def _messages(error: ErrorDetails) -> list[tuple[Loc, str]]:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _CrossFieldProblems):
        return [(loc + sub_loc, message) for sub_loc, message in cause.problems]
    if kind == "campaign_file":
        return [(loc, error["msg"])]
    if kind == "missing":
        return [(loc, "required field is missing")]
    if kind == "extra_forbidden":
        return [(loc, _unknown_field_message(loc))]
    if kind in _TYPE_MESSAGES:
        return [(loc, f"{_TYPE_MESSAGES[kind]} (got {_describe(error.get('input'))})")]
    return [(loc, error["msg"])]  # not expected; pydantic's own one-line wording is still readable


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of `loc` in the file, or of its nearest ancestor (a missing field has no line)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _validate(data: object, lines: dict[Loc, int]) -> CampaignSpec:
    if data is None:
        raise CampaignFileError(["the file is empty"])
    if not isinstance(data, dict):
        problem = f'the file must hold a mapping with the key "campaign" (got {_describe(data)})'
        raise CampaignFileError([problem])
    try:
        return _CampaignFile.model_validate(data).campaign
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            for loc, message in _messages(error):
                line = _line_of(loc, lines)
                where = _format_loc(loc) + (f" (line {line})" if line else "")
                problems.append(f"{where}: {message}")
        raise CampaignFileError(problems) from None


def parse_campaign(data: object) -> CampaignSpec:
    """Validate already-loaded data ({"campaign": {...}}); raises CampaignFileError."""
    return _validate(data, lines={})


# --- reading files ------------------------------------------------------------------------------------


# A campaign of a few hundred ideas in three languages is well under 1 MB; anything much larger is a mistake or an
# attack, and is refused before a byte of it is parsed.
MAX_FILE_BYTES = 4 * 1024 * 1024
# The C loader (libyaml) where PyYAML was built with it: several times faster and leaner than the pure-Python one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictYamlLoader(_SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (PyYAML would keep the last silently)."""


def _construct_mapping_without_duplicates(loader: _StrictYamlLoader, node: yaml.MappingNode) -> dict:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f'duplicate key "{key}" (first on line {seen[key]})', key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_StrictYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
)


def _yaml_lines(node: yaml.Node, loc: Loc = (), lines: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Line of every mapping key and list item, by its location, for error messages."""
    lines = {} if lines is None else lines
    lines.setdefault(loc, node.start_mark.line + 1)
    if len(loc) > 16:  # campaign files are shallow; this also stops at self-referencing anchors
        return lines
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines.setdefault((*loc, key_node.value), key_node.start_mark.line + 1)
                _yaml_lines(value_node, (*loc, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*loc, index), lines)
    return lines


def _refuse_aliases(loader: yaml.SafeLoader) -> None:
    """Campaign files need no anchors or aliases, and a few aliases nested ("billion laughs") expand into
    gigabytes: refused from the event stream, before anything is composed."""
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise CampaignFileError([f"YAML anchors and aliases (&name, *name) are not allowed in campaign files "
                                     f"(line {mark.line + 1})"])


def _load_yaml(text: str) -> tuple[object, dict[Loc, int]]:
    scanner = _StrictYamlLoader(text)
    try:
        _refuse_aliases(scanner)
    except yaml.YAMLError:
        pass  # a syntax error: reported with its place by the real load below
    finally:
        scanner.dispose()
    loader = _StrictYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        return loader.construct_document(node), _yaml_lines(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise CampaignFileError([f"YAML syntax error{where}: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise CampaignFileError([f"YAML syntax error: {exc}"]) from None
    finally:
        loader.dispose()


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CampaignFileError([f'JSON error: duplicate key "{key}"'])
        result[key] = value
    return result


def _load_json(text: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_pairs_without_duplicates)
    except json.JSONDecodeError as exc:
        problem = f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise CampaignFileError([problem]) from None


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CampaignFileError([f"{path.name} is {size / 1024 / 1024:.1f} MB; a campaign file may be at most "
                                     f"{MAX_FILE_BYTES // 1024 // 1024} MB"])
        raw = path.read_bytes()
    except OSError as exc:
        raise CampaignFileError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8-sig")  # tolerate the byte-order mark some Windows editors add
    except UnicodeDecodeError as exc:
        raise CampaignFileError([f"{path.name} is not UTF-8 text (bad byte at offset {exc.start})"]) from None


def load_campaign_file(path: str | Path) -> CampaignSpec:
    """Read a UTF-8 campaign file: YAML for .yaml/.yml, JSON for .json, else JSON and then YAML.
    Raises CampaignFileError, with line numbers for syntax errors (and for every problem in YAML)."""
    path = Path(path)
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml"):
        try:
            data = _load_json(text)
        except CampaignFileError:
            if suffix == ".json":
                raise
        else:
            return _validate(data, lines={})
    data, lines = _load_yaml(text)
    return _validate(data, lines)
