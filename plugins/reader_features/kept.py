"""Answers kept between builds: one JSON file of answers by key, for the code and settings that made them."""

from __future__ import annotations

import json
from pathlib import Path

from content_model.output import write_atomically


class KeptAnswers:
    """``known``: the last build's answers by key, when its file was written for the same ``version`` (code and
    settings), else none (nor from a file that cannot be read); ``used``: this build's, the only ones ``save``
    keeps. A subclass names its file, its version and the file's ``field``."""

    def __init__(self, path: Path, version: str, field: str) -> None:
        self.path, self.version, self.field = path, version, field
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = data[field] if data.get("code") == version else {}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            known = {}
        self.known: dict = known if isinstance(known, dict) else {}
        self.used: dict = {}

    def save(self) -> None:
        if self.used == self.known:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps({"code": self.version, self.field: self.used}, sort_keys=True,
                                                   ensure_ascii=False).encode("utf-8"))
        except OSError:
            pass  # only costs time next build
