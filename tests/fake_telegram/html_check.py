"""Telegram's HTML parse mode as a pure function.

The tag and attribute scanner follows tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp), which is
what the Bot API runs, so error texts and byte offsets match what Telegram puts after
"Bad Request: can't parse entities: ".

One deliberate difference: Telegram keeps an unknown named entity such as ``&foo;`` or ``&nbsp;`` as
literal text. Here it is an error (``strict_entities=True``), because in a bot it nearly always means
text was not escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
SIMPLE_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
# Entities whose whole point is hidden data, so Telegram keeps them even around whitespace.
HIDDEN_DATA_TYPES = frozenset({"text_link", "text_mention", "custom_emoji"})

_SPACES = frozenset(b" \t\r\n\v\0")  # tdlib's is_space() also counts the C string terminator
_NUL = 0


class EntityParseError(ValueError):
    """The HTML was rejected; ``description`` is Telegram's wording."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(text: str, *, strict_entities: bool = True) -> str:
    """Plain text left after Telegram parses ``text`` in HTML mode; raises EntityParseError."""
    return parse_html_entities(text, strict_entities=strict_entities)[0]


def parse_html_entities(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict]]:
    """Plain text plus Bot API MessageEntity dicts (UTF-16 offsets)."""
    return _HtmlParser(text, strict_entities).run()


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    out_pos: int


@dataclass
class _HtmlParser:
    source: str
    strict_entities: bool
    src: bytes = b""
    out: bytearray = field(default_factory=bytearray)
    utf16: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.src = self.source.encode("utf-8", "surrogatepass")

    def at(self, i: int) -> int:
        # Reading past the end yields NUL, like the C string tdlib scans.
        return self.src[i] if i < len(self.src) else _NUL

    def is_space(self, i: int) -> bool:
        return self.at(i) in _SPACES

    def skip_spaces(self, i: int) -> int:
        while self.at(i) != _NUL and self.is_space(i):
            i += 1
        return i

    def run(self) -> tuple[str, list[dict]]:
        i = 0
        while i < len(self.src):
            c = self.src[i]
            if c == ord("&"):
                code, end = self.decode_entity(i)
                if code:
                    self.append_char(chr(code))
                    i = end
                    continue
            if c != ord("<"):
                if c & 0xC0 != 0x80:  # first byte of a UTF-8 character
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
                continue
            i = self.end_tag(i) if self.at(i + 1) == ord("/") else self.start_tag(i)
        if self.stack:
            raise EntityParseError(f"Can't find end tag corresponding to start tag {self.stack[-1].name}")
        try:
            plain = self.out.decode("utf-8")
        except UnicodeDecodeError:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
        for entity in self.entities:
            if entity["type"] == "code" or not entity.get("language", True):
                entity.pop("language", None)  # Telegram ignores a language outside pre
        return plain, sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def append_char(self, ch: str) -> None:
        self.out += ch.encode("utf-8", "surrogatepass")
        self.utf16 += 2 if ord(ch) > 0xFFFF else 1

    def decode_entity(self, pos: int) -> tuple[int, int]:
        """(code point, position after the entity), or (0, pos) when it is not an entity."""
        end = pos + 1
        if self.at(pos + 1) == ord("#"):
            end += 1
            base, digits = (16, b"0123456789abcdefABCDEF") if self.at(pos + 2) == ord("x") else (10, b"0123456789")
            end += base == 16
            start = end
            while self.at(end) and self.at(end) in digits:
                end += 1
            code = int(self.src[start:end], base) if end > start else 0
            if code == 0 or code >= 0x10FFFF or end - pos >= 10:
                return 0, pos
        else:
            while chr(self.at(end)).isascii() and chr(self.at(end)).isalpha():
                end += 1
            name = self.src[pos + 1 : end]
            if name not in NAMED_ENTITIES:
                if self.strict_entities and name and self.at(end) == ord(";"):
                    raise EntityParseError(
                        f'Unsupported HTML entity "&{name.decode()};" at byte offset {pos}; '
                        "only &lt; &gt; &amp; &quot; and numeric entities are supported"
                    )
                return 0, pos
            code = ord(NAMED_ENTITIES[name])
        if self.at(end) == ord(";"):
            end += 1
        return code, end

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while not self.is_space(i) and self.at(i) != ord(">"):
            i += 1
        if self.at(i) == _NUL:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        name = self.src[begin + 1 : i].decode("utf-8", "replace").lower()
        if name not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
        argument = ""
        while self.at(i) != ord(">"):
            i, argument = self.attribute(i, name, begin, argument)
        if name == "span" and argument != "spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.stack.append(_OpenTag(name, argument, self.utf16, len(self.out)))
        return i + 1

    def attribute(self, i: int, tag: str, begin: int, argument: str) -> tuple[int, str]:
        """Reads one attribute starting at ``i``; returns the new position and the tag's argument."""
        i = self.skip_spaces(i)
        if self.at(i) == ord(">"):
            return i, argument
        name_begin = i
        while not self.is_space(i) and self.at(i) not in b"=>/\"'":
            i += 1
        name = self.src[name_begin:i].decode("utf-8", "replace")
        if not name:
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        i = self.skip_spaces(i)
        if self.at(i) != ord("="):  # an attribute without a value: ignored, except blockquote's expandable
            if self.at(i) == _NUL:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            return i, "expandable" if (tag, name) == ("blockquote", "expandable") else argument
        i = self.skip_spaces(i + 1)
        if self.at(i) == _NUL:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        i, value = self.attribute_value(i)
        if self.at(i) == _NUL:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        return i, _tag_argument(tag, name, value, argument)

    def attribute_value(self, i: int) -> tuple[int, str]:
        quote = self.at(i)
        if quote not in b"\"'":
            # A bare name token: letters, digits, periods, hyphens; case-insensitive.
            start = i
            while chr(self.at(i)).isascii() and (chr(self.at(i)).isalnum() or self.at(i) in b".-"):
                i += 1
            if not self.is_space(i) and self.at(i) != ord(">"):
                raise EntityParseError(f"Unexpected end of name token at byte offset {start}")
            return i, self.src[start:i].decode().lower()
        i += 1
        value = bytearray()
        while self.at(i) != quote and self.at(i) != _NUL:
            if self.at(i) == ord("&"):
                code, end = self.decode_entity(i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = end
                    continue
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return i, value.decode("utf-8", "replace")

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while not self.is_space(i) and self.at(i) != ord(">"):
            i += 1
        end_name = self.src[begin + 2 : i].decode("utf-8", "replace").lower()
        while self.is_space(i) and self.at(i) != _NUL:
            i += 1
        if self.at(i) != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        open_tag = self.stack[-1]
        if end_name and end_name != open_tag.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        if self.utf16 > open_tag.utf16_offset:
            self.add_entity(open_tag)
        self.stack.pop()
        return i + 1

    def add_entity(self, tag: _OpenTag) -> None:
        entity: dict = {"offset": tag.utf16_offset, "length": self.utf16 - tag.utf16_offset}
        if tag.name in SIMPLE_ENTITY_TYPES:
            entity["type"] = SIMPLE_ENTITY_TYPES[tag.name]
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            url = tag.argument or self.out[tag.out_pos :].decode("utf-8", "replace")
            entity.update(type="text_link", url=url)
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.argument else "blockquote"
        elif tag.name == "code":
            entity.update(type="code", language=tag.argument)
        else:
            entity["type"] = "pre"
        if not self._merge_pre_code(entity):
            self.entities.append(entity)

    def _merge_pre_code(self, entity: dict) -> bool:
        """<pre><code class="language-x">…</code></pre> (either nesting) is one pre entity with a language."""
        last = self.entities[-1] if self.entities else None
        if not last or (last["offset"], last["length"]) != (entity["offset"], entity["length"]):
            return False
        pair = {last["type"], entity["type"]}
        language = last.get("language") or entity.get("language")
        if pair != {"pre", "code"} or not language:
            return False
        last.update(type="pre", language=language)
        return True


def _tag_argument(tag: str, name: str, value: str, current: str) -> str:
    """The one attribute value a tag keeps (href, language, spoiler class, emoji id)."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "expandable"
    return current


def clean_text(text: str, entities: list[dict] | None = None) -> tuple[str, list[dict]]:
    """What Telegram stores: control chars -> spaces, \\r and U+2028..U+202E dropped, trimmed.

    Entity offsets (UTF-16) are moved along with the removed characters.
    """
    entities = [dict(e) for e in entities or []]
    kept: list[str] = []
    new_offset = [0]  # new_offset[old utf16 index] -> new utf16 index
    pos = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        replacement = _clean_char(ch)
        if replacement:
            kept.append(replacement)
            pos += width
        new_offset.extend([pos] * width)
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        entity["offset"] = new_offset[min(start, len(new_offset) - 1)]
        entity["length"] = new_offset[min(end, len(new_offset) - 1)] - entity["offset"]
    return _trim("".join(kept), entities)


def _clean_char(ch: str) -> str:
    if ch == "\r" or "\u2028" <= ch <= "\u202e":
        return ""
    if ch != "\n" and ord(ch) < 32:
        return " "
    return ch


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    units = text.encode("utf-16-le", "surrogatepass")

    def blank(offset: int, length: int) -> bool:
        chunk = units[offset * 2 : (offset + length) * 2].decode("utf-16-le", "surrogatepass")
        return not chunk.strip(" \n")

    # Formatting entities lose leading whitespace and vanish if blank; links and emoji stay.
    for entity in entities:
        if entity["type"] not in HIDDEN_DATA_TYPES:
            while entity["length"] > 0 and blank(entity["offset"], 1):
                entity["offset"] += 1
                entity["length"] -= 1
    entities = [
        e for e in entities
        if e["length"] > 0 and (e["type"] in HIDDEN_DATA_TYPES or not blank(e["offset"], e["length"]))
    ]  # fmt: skip
    stripped = text.rstrip(" \n")
    end16 = utf16_len(stripped)
    for entity in entities:
        entity["length"] = min(entity["length"], end16 - entity["offset"])
    entities = [e for e in entities if e["length"] > 0]
    first_entity = min((e["offset"] for e in entities), default=end16)
    # Leading spaces/newlines are single UTF-16 units, so characters and units agree here.
    lead = min(len(stripped) - len(stripped.lstrip(" \n")), first_entity)
    for entity in entities:
        entity["offset"] -= lead
    return stripped[lead:], sorted(entities, key=lambda e: (e["offset"], -e["length"]))
