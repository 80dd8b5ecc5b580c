"""Word forms for search: every word of an idea and of a query is reduced to a search term.

Latin-script words go through a light Latvian suffix stemmer (after Savoy's and Lucene's LatvianStemmer),
Cyrillic words through Snowball's Russian stemmer, both after folding case and diacritics, so "Budžeti",
"budžetu" and "budzets" all become "budzet", and "открытых данных" and "открытые данные" become "открыт дан".
A Latin-typed Russian word ("budzhet") also gets the term of its Cyrillic spelling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

MIN_WORD_LENGTH = 3  # shorter words ("un", "в", "по") say nothing about an idea
MAX_TERM_LENGTH = 40

_WORD = re.compile(r"\w+")
_CYRILLIC = re.compile(r"[а-яё]")
_LV_VOWELS = frozenset("aeiou")
# (ending after diacritic folding, vowels the word must have more of): longest endings first.
_LV_ENDINGS = (
    ("iem", 2), ("ais", 2), ("ai", 2), ("ei", 2), ("am", 1), ("em", 1), ("im", 1), ("um", 1), ("us", 1),
    ("as", 1), ("es", 1), ("os", 1),
    ("ij", 1), ("is", 1), ("ie", 1), ("u", 1), ("a", 1), ("i", 1), ("e", 1), ("o", 1), ("s", 0),
)
_russian = snowballstemmer.stemmer("russian")


def fold(text: str) -> str:
    """Lower case without diacritics: "Pašvaldību" -> "pasvaldibu", "ещё" -> "еще"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def latvian_stem(word: str) -> str:
    """A folded Latin-script word without its Latvian ending: "pasvaldibam" -> "pasvaldib"."""
    vowels = sum(char in _LV_VOWELS for char in word)
    for ending, needed_vowels in _LV_ENDINGS:
        if vowels > needed_vowels and len(word) >= len(ending) + 3 and word.endswith(ending):
            word = word[: -len(ending)]
            break
    # "-ājs" nouns and definite adjectives keep a "j" before the ending: "iedzīvotāj|iem", "atvērt|ajiem".
    return word[:-2] if word.endswith("aj") and len(word) >= 6 else word


@lru_cache(maxsize=50_000)
def term(word: str) -> str:
    """The search term of one lower-cased word (the cache spares re-stemming the same words of long texts)."""
    if _CYRILLIC.search(word):
        # Snowball knows "й" and "ё"; folding first would turn "открытый" into an unknown ending "ыи".
        return fold(_russian.stemWord(word.replace("ё", "е")))[:MAX_TERM_LENGTH]
    return latvian_stem(fold(word))[:MAX_TERM_LENGTH]


def words(text: str) -> list[str]:
    """The words of a text that search looks at, lower-cased, in order, repeats kept."""
    return [word for word in _WORD.findall(text.casefold()) if len(word) >= MIN_WORD_LENGTH]


def terms(text: str) -> set[str]:
    return {term(word) for word in words(text)}


# Latin-typed Russian: the common phone spellings (digraphs before single letters).
_TRANSLIT_DIGRAPHS = (("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
                      ("sh", "ш"), ("yu", "ю"), ("ju", "ю"), ("ya", "я"), ("ja", "я"), ("yo", "е"), ("jo", "е"))
_TRANSLIT_LETTERS = dict(zip("abvgdezijklmnoprstufhcyw", "абвгдезийклмнопрстуфхцыв", strict=True))
_TRANSLIT_VOWELS = frozenset("aeiouy")


def cyrillic_spelling(word: str) -> str | None:
    """ "otkrytye" -> "открытые", "budzhet" -> "буджет" (one letter from "бюджет": typo tolerance covers it)."""
    if not word.isascii() or not word.isalpha():
        return None
    result, position = [], 0
    while position < len(word):
        for latin, cyrillic in _TRANSLIT_DIGRAPHS:
            # "y"/"j" + vowel is я/ю/ё only at the start of a word or after a vowel ("dannye" keeps ы + е).
            iotated = latin[0] in "yj"
            after_vowel = position == 0 or word[position - 1] in _TRANSLIT_VOWELS
            if word.startswith(latin, position) and (not iotated or after_vowel):
                result.append(cyrillic)
                position += len(latin)
                break
        else:
            letter = word[position]
            if letter not in _TRANSLIT_LETTERS and letter not in "xq":
                return None
            result.append({"x": "кс", "q": "к"}.get(letter) or _TRANSLIT_LETTERS[letter])
            position += 1
    return "".join(result)


MAX_QUERY_WORDS = 8  # a pasted paragraph is not a search: its first words are enough


def query_terms(query: str) -> list[set[str]]:
    """For each distinct query word (at most MAX_QUERY_WORDS), the terms it may stand for: its own term and,
    for a Latin-typed word, the term of its Cyrillic spelling."""
    wanted: list[set[str]] = []
    for word in dict.fromkeys(words(query)):
        alternatives = {term(word)}
        spelled = cyrillic_spelling(word)
        if spelled:
            alternatives.add(term(spelled))
        if alternatives not in wanted:
            wanted.append(alternatives)
        if len(wanted) == MAX_QUERY_WORDS:
            break
    return wanted
