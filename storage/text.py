"""Text normalisation shared by writing and searching ideas."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")


def search_key(text: str) -> str:
    """Lower-case, no diacritics, punctuation folded to spaces: "Atvērtā  pārvaldība!" -> "atverta parvaldiba"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Drop combining marks (Latvian ā, č, ņ ...); Cyrillic letters are kept, except й -> и, which is fine
    # because the query goes through the same function.
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NON_WORD.sub(" ", stripped).strip()

