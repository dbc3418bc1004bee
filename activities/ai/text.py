"""Text normalisation shared by intent matching and the sentiment lexicon."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Casefold and strip combining marks, so patterns match "Dónde"/"donde", "KÜNDIGEN"/"kundigen",
    "أريد"/"اريد".

    Chat users drop accents freely; folding both sides keeps the pattern lists short.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# The workflow writes a contact's attachments into the transcript as "[image/jpeg]" tokens and an empty
# message as "(empty message)"; neither is words to classify, detect or score.
_MEDIA_TOKEN = re.compile(r"\[[\w.+-]+/[\w.+-]+\]")
EMPTY_MESSAGE = "(empty message)"


def words_only(text: str) -> tuple[str, bool]:
    """(the text without attachment tokens, whether it had any)."""
    stripped, count = _MEDIA_TOKEN.subn(" ", text)
    stripped = " ".join(stripped.split())
    return ("" if stripped == EMPTY_MESSAGE else stripped), count > 0
