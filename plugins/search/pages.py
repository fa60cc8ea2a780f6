"""The search pages: ``search/`` in each interface language (template ``search.html``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pelican.generators import Generator

from . import search_settings


class SearchPageGenerator(Generator):
    """Writes ``search/`` in each interface language."""

    def generate_context(self):
        self.options = search_settings(self.settings)

    def generate_output(self, writer):
        default = self.settings["DEFAULT_LANG"]
        siteurl_path = urlsplit(self.settings.get("SITEURL") or "").path.rstrip("/")
        for lang in self.settings["PORTAL_LANGUAGES"]:
            prefix = "" if lang == default else f"{lang}/"
            page_url = prefix + "search/"
            writer.write_file(
                page_url + "index.html",
                self.get_template("search"),
                self.context,
                relative_urls=self.settings["RELATIVE_URLS"],
                template_name="search",
                url=page_url,
                page_lang=lang,
                lang_prefix=prefix,
                page_url=page_url,
                page_path="search/",
                search_bundle=self.options["SEARCH_BUNDLE_DIR"],
                # Pagefind's result URLs are root-relative; a site published under a sub-path says so here.
                search_base_path=siteurl_path + "/",
                search_page_size=self.options["SEARCH_PAGE_SIZE"],
            )
