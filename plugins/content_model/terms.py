"""Topics, officials and people as Pelican ``URLWrapper`` terms (the more-categories idiom)."""

from __future__ import annotations

from pelican.urlwrappers import URLWrapper

from .model import Entry, has_cjk


class Term(URLWrapper):
    """A registry entry seen by templates: URL settings by class name (``TOPIC_URL``...), names per language."""

    def __init__(self, name: str, settings: dict, entry: Entry | None = None, slug: str | None = None):
        super().__init__(name, settings)
        self.entry = entry
        if slug:
            self.slug = slug
        elif has_cjk(name):
            # Pelican's unidecode misreads Chinese names (重庆 -> zhong-qing); pinyin reads them right. Imported
            # here: its phrase dictionary costs about 50 MB and half a second, for sites that never need it.
            from pypinyin import lazy_pinyin

            self.slug = "-".join(lazy_pinyin(name)).lower()

    def name_in(self, lang: str) -> str:
        return self.entry.name_in(lang) if self.entry else self.name

    def role_in(self, lang: str) -> str:
        return self.entry.role_in(lang) if self.entry else ""

    def field(self, key: str) -> str:
        return self.entry.field(key) if self.entry else ""

    def text_in(self, key: str, lang: str) -> str:
        return self.entry.text_in(key, lang) if self.entry else ""

    def has_text_in(self, key: str, lang: str) -> bool:
        return self.entry.has_text_in(key, lang) if self.entry else True

    def __reduce__(self):
        # Terms are rebuilt each run from the registries; pickling keeps only what identifies them.
        return (self.__class__, (self.name, {}, None, self.slug))


class Topic(Term):
    pass


class Official(Term):
    pass


class Person(Term):
    pass


TERM_CLASSES = {"topics": Topic, "officials": Official, "people": Person}
