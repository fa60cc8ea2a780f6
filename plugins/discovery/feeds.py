"""RSS feeds next to listing_pages' Atom feeds, and Atom + RSS feeds per section, in each language."""

from __future__ import annotations

from pelican.generators import Generator

from listing_pages import lang_prefix, story_key
from listing_pages.feeds import write_feed


class FeedsGenerator(Generator):
    """Writes ``feeds/all.rss.xml``, ``feeds/<lang>.rss.xml`` and ``[<lang>/]sections/<slug>/feed.{atom,rss}.xml``."""

    def generate_context(self):
        if "portal_stories" not in self.context:
            raise RuntimeError("discovery needs listing_pages: put 'listing_pages' before it in PLUGINS")
        # Which languages have a feed for each section (section.html links only feeds that exist).
        for section in self.context["portal_sections"].values():
            section.feed_langs = sorted(
                {lang for s in self.context["portal_stories"] if s.section is section for lang in s.versions}
            )

    def generate_output(self, writer):
        from . import discovery_settings

        if not discovery_settings(self.settings)["DISCOVERY_FEEDS"]:
            return
        settings = self.settings
        stories = self.context["portal_stories"]
        languages = settings["PORTAL_LANGUAGES"]
        everything = sorted((v for s in stories for v in s.versions.values()), key=story_key)
        write_feed(self.output_path, "feeds/all.rss.xml", everything, settings, "", settings["DEFAULT_LANG"],
                   kind="rss")
        for lang, info in languages.items():
            in_lang = [s.versions[lang] for s in stories if lang in s.versions]
            write_feed(self.output_path, f"feeds/{lang}.rss.xml", in_lang, settings, info["name"], lang, kind="rss")
            for section in self.context["portal_sections"].values():
                items = [s.versions[lang] for s in stories if s.section is section and lang in s.versions]
                if not items:
                    continue
                base = f"{lang_prefix(settings, lang)}{section.url}"
                site = settings.get(f"SITENAME_{lang.upper()}") or settings["SITENAME"]
                title = f"{site}{'：' if lang == 'zh' else ': '}{section.name_in(lang)}"
                for kind in ("atom", "rss"):
                    write_feed(self.output_path, f"{base}feed.{kind}.xml", items, settings, title, lang, kind=kind)
