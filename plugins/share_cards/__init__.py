"""share_cards: a 1200×630 share card (``og:image``) for every article, drawn with Pillow.

Adds ``article.share_card`` (:class:`Card`: output-relative ``path``, ``width``, ``height``, ``mime_type``) to
every published and hidden article and translation, written to ``share/cards/<lang>/<slug>.jpg`` (baseline
JPEG, 4:4:4, no metadata), and the publisher logo ``share/logo.png`` (``context["share_logo"]``, PNG) for
JSON-LD. The share plugin, listed after this one, puts both in the page head and share links.

A card shows the site's identity, the headline (wrapped by characters for Chinese, with no line starting with
closing punctuation, by words otherwise; cut with an ellipsis when too long), the date and section, and the
lead image when there is one. The font is Noto Sans CJK SC from Debian's ``fonts-noto-cjk``; a missing font
stops the build with a message saying what to install.

Cards are cached in ``SHARE_CARD_CACHE`` under a hash of every input (title, date, section, site name, lead
image bytes, font bytes, card code version, size): a rebuild never redraws an unchanged card, and the output
file is a hard link to the cached one, so an unchanged card keeps its inode and mtime. When more than
``SHARE_CARD_POOL_MIN`` cards are missing, they are drawn on every core, by the build's pool
(``content_model.workers``); when the pool is forked for them, the parent first draws the identity band (the same on
every card of a language) and loads the fonts, so the workers inherit them (workers forked earlier, to read the
articles, make their own once).

A cold build starts drawing as soon as content_model has read the articles ahead (``article_generator_init``:
the cards of stories without a lead image, planned from the reader's metadata, while Pelican makes the articles on
one core), and the rest once the articles are made (``article_generator_finalized``), so the pool works while the
other generators make their contexts; at ``all_generators_finalized`` (final URLs and sections are known; this
handler runs before the share plugin's because ``share_cards`` comes first in ``PLUGINS``) the cards are planned
again and whatever is still missing is drawn: the head start never changes a card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pelican import signals
from pelican.generators import ArticlesGenerator

from content_model.output import take_back_links
from content_model.workers import Background, run_all, usable_cores

from .cards import CARD_VERSION, HEIGHT, MIME_TYPE, SUFFIX, WIDTH, CardSpec, render_logo, render_to_cache, warm

__all__ = ["Card", "FontMissingError", "read_settings", "register"]

logger = logging.getLogger(__name__)

NOTO_DIR = "/usr/share/fonts/opentype/noto"
# Cards ``start_cards`` plans first in a build that read no article ahead, to tell whether drawing should start.
HEAD_START_SAMPLE = 64


class FontMissingError(RuntimeError):
    """The card font is not installed."""


@dataclass(frozen=True)
class Card:
    path: str
    width: int = WIDTH
    height: int = HEIGHT
    mime_type: str = MIME_TYPE


def read_settings(settings: dict) -> dict:
    """The plugin's settings with their defaults.

    - ``SHARE_CARDS``: make cards (default True).
    - ``SHARE_CARD_CACHE``: the card cache; default ``share-cards`` next to ``CACHE_PATH``.
    - ``SHARE_CARD_FONT`` / ``SHARE_CARD_FONT_BOLD`` / ``SHARE_CARD_FONT_INDEX``: Noto Sans CJK (``.ttc``, face
      2 = Simplified Chinese) from Debian's fonts-noto-cjk.
    - ``SHARE_CARD_WORKERS``: processes for a cold build (default: every core);
      ``SHARE_CARD_POOL_MIN``: draw in-process up to this many missing cards (default 8).
    """
    cache = settings.get("SHARE_CARD_CACHE") or str(Path(settings["CACHE_PATH"]).parent / "share-cards")
    return {
        "enabled": settings.get("SHARE_CARDS", True),
        "cache": Path(cache),
        "font_regular": settings.get("SHARE_CARD_FONT", f"{NOTO_DIR}/NotoSansCJK-Regular.ttc"),
        "font_bold": settings.get("SHARE_CARD_FONT_BOLD", f"{NOTO_DIR}/NotoSansCJK-Bold.ttc"),
        "font_index": settings.get("SHARE_CARD_FONT_INDEX", 2),
        "workers": settings.get("SHARE_CARD_WORKERS") or usable_cores(),
        "pool_min": settings.get("SHARE_CARD_POOL_MIN", 8),
    }


def check_fonts(config: dict) -> None:
    missing = [config[key] for key in ("font_regular", "font_bold") if not Path(config[key]).is_file()]
    if missing:
        raise FontMissingError(
            f"share_cards: card font not found: {', '.join(missing)}. Install it with "
            "`apt-get install fonts-noto-cjk` (Debian/Ubuntu; `python3 -m tests.support.system_deps` does it), "
            "or point SHARE_CARD_FONT and SHARE_CARD_FONT_BOLD at a font with Chinese glyphs."
        )


def file_hash(path: str) -> str:
    """sha256 of a file's bytes (fonts and lead images).

    The key is the content; size and mtime only let one process (tests, ``invoke regenerate``) skip
    rehashing a file it has already read that has not been touched since.
    """
    stat = os.stat(path)
    return _file_hash(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _file_hash(path: str, _size: int, _mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def card_key(spec: CardSpec, fonts: list | None = None) -> str:
    """The cache key of a card: a hash of its spec and its fonts' bytes (``fonts``: ``font_hashes`` of the spec's
    fonts, when the caller has them)."""
    inputs = {
        "version": CARD_VERSION,
        "size": [WIDTH, HEIGHT],
        "title": spec.title,
        "lang": spec.lang,
        "site": spec.site_name,
        "domain": spec.domain,
        "meta": spec.meta,
        "lead_image": spec.lead_image_hash,
        "fonts": fonts or font_hashes(spec.font_regular, spec.font_bold, spec.font_index),
    }
    return hashlib.sha256(json.dumps(inputs, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def font_hashes(regular: str, bold: str, index: int) -> list:
    return [file_hash(regular), file_hash(bold), index]


def card_meta(date, category: str, sections: dict, lang: str) -> str:
    """The card's foot: the date and the section, in ``lang``."""
    from portal_i18n import long_date

    section = sections.get(category)
    name = section.name_in(lang) if section else category
    return f"{long_date(date, lang)} · {name}"


def draw_missing(specs: list[CardSpec], config: dict) -> None:
    pooled = len(specs) > config["pool_min"] and config["workers"] > 1
    if pooled:
        warm(specs)  # identity bands and fonts, made once here instead of once per (forked) worker
    run_all(render_to_cache, specs, config["workers"] if pooled else 1)


def plan_cards(generator: ArticlesGenerator, config: dict, sections: dict,
               articles: list | None = None, keys: dict | None = None) -> list[tuple[object, CardSpec]]:
    """Each shareable article (``share.shareable``, unless given) with the spec of its card (``destination``: its
    file in the cache). ``keys``: the cards' keys by spec, kept between the plans of one build."""
    from share import shareable

    content = Path(generator.settings["PATH"])
    fonts = font_hashes(config["font_regular"], config["font_bold"], config["font_index"])
    keys = {} if keys is None else keys
    planned: list[tuple[object, CardSpec]] = []
    for article in shareable(generator) if articles is None else articles:
        image_path = getattr(article, "image_path", None)
        lead = str((content / image_path).resolve()) if image_path else ""
        meta = card_meta(article.date, article.category.name, sections, article.lang)
        planned.append((article, card_spec(generator.settings, config, fonts, keys, article.title, article.lang,
                                           meta, lead)))
    return planned


def card_spec(settings: dict, config: dict, fonts: list, keys: dict, title: str, lang: str, meta: str,
              lead: str) -> CardSpec:
    """The spec of the card showing ``title``, ``meta`` and the lead image at the absolute path ``lead`` ("" for
    none), with its file in the cache as ``destination``. ``keys`` keeps the specs made in this build (settings
    and fonts do not change during one) by what varies from card to card: a build plans each card twice or three
    times, and a spec with its key costs 30 us to make, 10,000 of them a third of a second."""
    from share.social import localized

    lead_image_hash = file_hash(lead) if lead else ""
    known = keys.get((title, lang, meta, lead, lead_image_hash))
    if known is not None:
        return known
    fields = dict(
        title=title,
        lang=lang,
        site_name=localized(settings, "SITENAME", lang),
        domain=settings.get("SITE_DOMAIN", ""),
        meta=meta,
        lead_image=lead,
        lead_image_hash=lead_image_hash,
        font_regular=config["font_regular"],
        font_bold=config["font_bold"],
        font_index=config["font_index"],
    )
    key = card_key(CardSpec(**fields, destination=""), fonts)
    spec = keys[(title, lang, meta, lead, lead_image_hash)] = CardSpec(
        **fields, destination=os.path.join(config["cache"], key[:2], f"{key}{SUFFIX}"))
    return spec


def missing_cards(planned: list[tuple[object, CardSpec]], present: frozenset[str] | set[str] = frozenset()
                  ) -> list[CardSpec]:
    """The planned cards whose files are not in the cache; ``present``: files found there earlier in the build (the
    cache only gains files while a build runs). Each folder of the cache is listed once, where asking for each
    card's file took a stat each (10,000 at 10,000 articles)."""
    listed: dict[str, set[str]] = {}

    def cached(destination: str) -> bool:
        folder, name = os.path.split(destination)
        names = listed.get(folder)
        if names is None:
            try:
                with os.scandir(folder) as entries:
                    names = listed[folder] = {entry.name for entry in entries if entry.is_file()}
            except (FileNotFoundError, NotADirectoryError):
                names = listed[folder] = set()
        return name in names

    # Cards sharing a lead image (a story's translations) side by side, so one worker decodes the photo once.
    return sorted({spec.destination: spec for _a, spec in planned
                   if spec.destination not in present and not cached(spec.destination)}.values(),
                  key=lambda s: (s.lead_image_hash, s.destination))


def start_cards_from_reading(generator) -> None:
    """Start drawing the cards of the articles just read ahead (``content_model.reader.read_ahead``: a cold build),
    planned from what the reader gave, while Pelican makes the articles from it on one core: the pool's workers
    would idle meanwhile. A story with a lead image waits for ``start_cards``; a card planned here that its article
    does not get (a title or section a plugin changes) is drawn in vain, never shown: the cards are planned again
    from the articles."""
    metadata_read = getattr(generator, "read_ahead_metadata", None)
    config = read_settings(generator.settings)
    if not metadata_read or not config["enabled"] or config["workers"] < 2:
        return
    check_fonts(config)
    from listing_pages import make_section

    settings = generator.settings
    fonts = font_hashes(config["font_regular"], config["font_bold"], config["font_index"])
    generator.share_card_keys = keys = {}
    sections: dict = {}
    specs = []
    for metadata in metadata_read:
        category = metadata.get("category")
        if "image" in metadata or metadata.get("status") == "draft" or category is None or "date" not in metadata:
            continue
        name = category.name
        if name not in sections:
            sections[name] = make_section(settings, name)
        lang = metadata.get("lang") or settings["DEFAULT_LANG"]
        meta = card_meta(metadata["date"], name, sections, lang)
        specs.append(card_spec(settings, config, fonts, keys, str(metadata.get("title", "")), lang, meta, ""))
    missing = missing_cards([(None, spec) for spec in specs])
    if len(missing) > config["pool_min"]:
        generator.share_cards_started = [(Background(render_to_cache, missing, config["workers"]),
                                          {spec.destination for spec in missing})]


def start_cards(generator) -> None:
    """Start drawing the missing cards of a cold build in the background as soon as the articles are made, while
    the other generators make their contexts (one core would idle). Sections are not final yet: the cards are
    planned with the ones ``PORTAL_SECTIONS`` names, and ``add_cards_to`` plans again and draws what is missing.
    Cards ``start_cards_from_reading`` started are not drawn twice.

    A rebuild whose articles were not read ahead (Pelican's reader cache had them) usually finds every card in the
    cache: a sample of ``HEAD_START_SAMPLE`` cards is planned first, and when none is missing the head start is left
    out (``add_cards_to`` plans them all, and draws what is missing)."""
    config = read_settings(generator.settings)
    if not config["enabled"] or config["workers"] < 2:
        return
    check_fonts(config)
    from listing_pages import make_section
    from share import shareable

    articles = shareable(generator)
    sections = {name: make_section(generator.settings, name) for name in {a.category.name for a in articles}}
    started = getattr(generator, "share_cards_started", [])
    drawing = set().union(*(destinations for _background, destinations in started))
    # kept for ``add_cards_to``'s plan: most cards' specs are the same then (fonts cannot change in between)
    keys = generator.share_card_keys = getattr(generator, "share_card_keys", {})
    if not getattr(generator, "read_ahead_metadata", None) and len(articles) > HEAD_START_SAMPLE:
        step = len(articles) / HEAD_START_SAMPLE
        sample = [articles[int(index * step)] for index in range(HEAD_START_SAMPLE)]
        if not missing_cards(plan_cards(generator, config, sections, sample, keys), drawing):
            return
    planned = plan_cards(generator, config, sections, articles, keys)
    missing = missing_cards(planned, drawing)  # those being drawn count as present
    # ... and so are the files found in the cache: ``add_cards_to`` does not look for them again
    generator.share_cards_present = ({spec.destination for _a, spec in planned} - drawing
                                     - {spec.destination for spec in missing})
    if len(missing) > config["pool_min"]:
        if not started:
            warm(missing)
        generator.share_cards_started = [*started, (Background(render_to_cache, missing, config["workers"]),
                                                    {spec.destination for spec in missing})]


def add_cards(generators) -> None:
    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            add_cards_to(generator)


def add_cards_to(generator: ArticlesGenerator) -> None:
    settings = generator.settings
    config = read_settings(settings)
    if not config["enabled"]:
        return
    check_fonts(config)
    from content_model.output import link_or_copy, write_if_changed

    drawn_early: set[str] = set()
    for background, destinations in vars(generator).pop("share_cards_started", []):
        background.wait()
        drawn_early |= destinations
    output = str(generator.output_path)
    keys = getattr(generator, "share_card_keys", None)
    if keys is not None:
        del generator.share_card_keys
    present = vars(generator).pop("share_cards_present", frozenset())
    planned = plan_cards(generator, config, generator.context.get("portal_sections", {}), keys=keys)
    missing = missing_cards(planned, present)
    draw_missing(missing, config)
    drawn = len({spec.destination for _a, spec in planned} & drawn_early) + len(missing)
    by_lang: dict[str, dict[str, str]] = {}
    for article, spec in planned:
        by_lang.setdefault(article.lang, {})[f"{article.slug}{SUFFIX}"] = spec.destination
    taken_back = {lang for lang, sources in by_lang.items()
                  if take_back_links(os.path.join(output, "share", "cards", lang), sources)}
    for article, spec in planned:
        path = f"share/cards/{article.lang}/{article.slug}{SUFFIX}"
        if article.lang not in taken_back:
            link_or_copy(spec.destination, os.path.join(output, path))
        article.share_card = Card(path)
    write_if_changed(Path(output, "share/logo.png"), render_logo())
    generator.context["share_logo"] = "share/logo.png"
    logger.info("share_cards: %d card(s) drawn, %d from the cache", drawn, len(planned) - drawn)


def register() -> None:
    """Hook ``all_generators_finalized`` (see the module docstring for why there), and ``article_generator_init``
    and ``article_generator_finalized`` to start a cold build's drawing early (``start_cards_from_reading``, once
    content_model, listed first, has read the articles ahead; ``start_cards``)."""
    signals.article_generator_init.connect(start_cards_from_reading)
    signals.article_generator_finalized.connect(start_cards)
    signals.all_generators_finalized.connect(add_cards)
