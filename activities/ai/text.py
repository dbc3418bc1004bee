"""Text normalisation shared by intent matching and the sentiment lexicon."""

from __future__ import annotations

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
