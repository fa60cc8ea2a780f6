"""Reading time: Chinese (and other CJK) text by characters, everything else by words."""

from __future__ import annotations

import math
import re

from markupsafe import Markup

# CJK ideographs (with extensions A and compatibility), kana and hangul: each character is read as a unit.
CJK_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
# A word: letters or digits, with inner apostrophes or hyphens ("don't", "31-kilometre").
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def count_text(text: str) -> tuple[int, int]:
    """(CJK characters, words) in plain text; CJK characters are not counted again as words."""
    characters = len(CJK_CHARACTER.findall(text))
    words = len(WORD.findall(CJK_CHARACTER.sub(" ", text)))
    return characters, words


def reading_minutes(html: str, chars_per_minute: int, words_per_minute: int) -> int:
    """Whole minutes (at least 1) to read an article body given as HTML; mixed text adds both parts."""
    characters, words = count_text(Markup(html).striptags())
    return max(1, math.ceil(characters / chars_per_minute + words / words_per_minute))
