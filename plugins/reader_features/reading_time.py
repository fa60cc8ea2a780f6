"""Reading time: Chinese (and other CJK) text by characters, everything else by words."""

from __future__ import annotations

import hashlib
import html as html_entities
import math
import os
import re
from pathlib import Path

from markupsafe import Markup

from .kept import KeptAnswers

# CJK ideographs (with extensions A and compatibility), kana and hangul: each character is read as a unit.
CJK_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
# A word: letters or digits, with inner apostrophes or hyphens ("don't", "31-kilometre").
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def count_text(text: str) -> tuple[int, int]:
    """(CJK characters, words) in plain text; CJK characters are not counted again as words."""
    spaced, characters = CJK_CHARACTER.subn(" ", text)  # one pass finds and replaces them
    return characters, len(WORD.findall(spaced))


# A tag, as MarkupSafe's ``striptags`` finds them (from a "<" to the next ">").
TAG = re.compile(r"<[^>]*>")


def html_counts(html: str) -> tuple[int, int]:
    """The counts of the text of ``html``: ``count_text(Markup(html).striptags())``, found six times faster.

    ``striptags`` cuts each tag out by copying the rest of the body (quadratic in the number of tags) and then
    collapses spaces, which no count sees. One substitution gives the same text for counting, unless the body holds
    a comment: ``striptags`` cuts comments first, and a cut can join a new "<!--" (rare in a body: left to it)."""
    if "<!--" in html:
        return count_text(Markup(html).striptags())
    text = TAG.sub("", html)
    return count_text(html_entities.unescape(text) if "&" in text else text)


def reading_minutes(html: str, chars_per_minute: int, words_per_minute: int,
                    counts: tuple[int, int] | None = None) -> int:
    """Whole minutes (at least 1) to read an article body given as HTML; mixed text adds both parts."""
    characters, words = counts or html_counts(html)
    return max(1, math.ceil(characters / chars_per_minute + words / words_per_minute))


class CountCache(KeptAnswers):
    """``html_counts`` of each body, kept between builds under ``CACHE_PATH/reader_features/`` and keyed by a hash
    of the body, in a file for this code (stripping and counting 10,000 bodies takes seconds; hashing them, a tenth
    of one). ``save`` keeps only the bodies of this build; a file that cannot be read is ignored."""

    @staticmethod
    def code() -> str:
        """What the counts depend on besides the body: this module's source and MarkupSafe's ``striptags``."""
        from importlib.metadata import version

        source = Path(__file__).read_bytes() + version("markupsafe").encode()
        return hashlib.blake2b(source, digest_size=16).hexdigest()

    def __init__(self, cache_path: str | os.PathLike) -> None:
        super().__init__(Path(cache_path) / "reader_features" / "text-counts.json", self.code(), "counts")

    def counts(self, html: str | bytes) -> tuple[int, int]:
        """The counts of a body as its article holds it: its text, or packed (``content_model.bodies``), keyed by
        the packed bytes (a distinct key: a text's key is its UTF-8's) and unpacked only when not known."""
        from content_model.bodies import unpack

        packed = type(html) is bytes
        key = hashlib.blake2b(html if packed else html.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        key = "packed:" + key if packed else key
        found = self.known.get(key)
        if not (isinstance(found, list) and len(found) == 2 and all(type(n) is int for n in found)):
            found = list(html_counts(unpack(html) if packed else html))
        self.used[key] = found
        return found[0], found[1]
