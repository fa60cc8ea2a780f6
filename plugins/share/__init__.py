"""share: share links, WeChat QR codes and social metadata for every article (learnt from share-post).

Adds to every published and hidden article and translation (drafts get nothing):

- ``article.share``: the share entries (:class:`~share.networks.ShareLink`: key, name, label, kind, url...) in
  the order ``SHARE_NETWORKS`` gives for the article's language, made as a page goes through them
  (:class:`ShareLinks`); ``partials/share_block.html`` renders them;
- ``article.social``: canonical URL, Open Graph and Twitter ``<meta>`` values and the JSON-LD ``NewsArticle`` +
  ``BreadcrumbList`` (:mod:`share.social`), made when ``partials/social_meta.html`` renders them
  (``article.social()``, :class:`~share.social.ArticleSocial`);
- a QR code of the article's absolute URL for WeChat, ``share/qr/<lang>/<slug>.png`` in the output, made with
  zxing-cpp and cached in ``SHARE_CACHE_PATH`` by a hash of the URL (a rebuild never remakes it, and an
  unchanged file is never rewritten).

Every URL is absolute: from ``SITEURL`` in publish builds, from ``PORTAL_FEED_BASE`` in development builds.
Networks live in :mod:`share.networks`, one registered function each.

Signal: ``all_generators_finalized``. There the final URLs, sections (listing_pages) and which people have
pages are known, content_model has already stopped a build with content errors, share_cards (listed before this
plugin) has attached the cards, and no page is written yet. A cold build starts making the QR codes earlier, at
``article_generator_finalized`` (the articles' URLs are known), in the background while the other generators
make their contexts; the codes are still looked up by the final URLs, and any missing one is made then.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin

from pelican import signals
from pelican.generators import ArticlesGenerator

from content_model.output import link_or_copy, take_back_links

from .networks import NETWORKS, ShareLink, ShareTarget
from .qr import QrWidths, finish_missing, qr_key, qr_png, start_missing
from .social import ArticleSocial, localized

__all__ = ["DEFAULT_NETWORKS", "NETWORKS", "ShareSettingsError", "read_settings", "register"]

logger = logging.getLogger(__name__)

# Chinese readers share to WeChat, Weibo and QQ first; elsewhere X, Facebook, LinkedIn and messengers. The
# full-width entries (WeChat's QR code, the copy field) sit where they do not split the row of links.
DEFAULT_NETWORKS = {
    "en": ("x", "facebook", "linkedin", "whatsapp", "telegram", "email", "weibo", "qq", "qzone", "native",
           "wechat", "copy"),
    "zh": ("wechat", "weibo", "qq", "qzone", "email", "x", "facebook", "linkedin", "telegram", "whatsapp",
           "native", "copy"),
}
# Characters left as they are when an IRI is made a URI: reserved ASCII and existing %-escapes.
URI_SAFE = "/:?#[]@!$&'()*+,;=%~"


class ShareSettingsError(ValueError):
    """A SHARE_* setting that cannot work; the message names the setting and the fix."""


def _network_list(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ShareSettingsError(f"{where} must be a list of network keys, got {value!r}")
    unknown = [key for key in value if key not in NETWORKS]
    if unknown:
        raise ShareSettingsError(
            f"{where}: unknown share network(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(NETWORKS))}"
        )
    if len(set(value)) != len(value):
        raise ShareSettingsError(f"{where} lists a network twice: {list(value)!r}")
    return tuple(value)


def read_settings(settings: dict) -> dict:
    """The plugin's settings with their defaults, checked.

    - ``SHARE_NETWORKS``: a list of network keys (every language), or ``{lang: [keys]}``; languages not
      given use ``DEFAULT_NETWORKS`` (``en``'s for languages without a default). ``[]`` hides the block.
    - ``SHARE_SITEURL``: base of share links and metadata; default ``SITEURL`` when it is absolute, else
      ``PORTAL_FEED_BASE`` (development builds, where ``SITEURL`` is empty).
    - ``SHARE_CACHE_PATH``: QR code cache; default ``share`` next to ``CACHE_PATH``.
    - ``SHARE_QR_SCALE``: pixels per QR module (default 4).
    """
    configured = settings.get("SHARE_NETWORKS")
    networks = {lang: DEFAULT_NETWORKS.get(lang, DEFAULT_NETWORKS["en"]) for lang in settings["PORTAL_LANGUAGES"]}
    if isinstance(configured, dict):
        for lang, keys in configured.items():
            networks[lang] = _network_list(keys, f"SHARE_NETWORKS[{lang!r}]")
    elif configured is not None:
        keys = _network_list(configured, "SHARE_NETWORKS")
        networks = {lang: keys for lang in networks}

    base = settings.get("SHARE_SITEURL") or ""
    if not base:
        siteurl = settings.get("SITEURL") or ""
        base = siteurl if siteurl.startswith(("http://", "https://")) else settings.get("PORTAL_FEED_BASE", "")
    if not base.startswith(("http://", "https://")):
        raise ShareSettingsError(
            f"share links must be absolute, but the base URL is {base!r}: set SITEURL (publishconf.py) or "
            "PORTAL_FEED_BASE (pelicanconf.py) to an http(s) address, or set SHARE_SITEURL"
        )
    cache = settings.get("SHARE_CACHE_PATH") or str(Path(settings["CACHE_PATH"]).parent / "share")
    scale = settings.get("SHARE_QR_SCALE", 4)
    if not isinstance(scale, int) or not 1 <= scale <= 20:
        raise ShareSettingsError(f"SHARE_QR_SCALE must be a whole number from 1 to 20, got {scale!r}")
    return {"networks": networks, "base": base.rstrip("/") + "/", "cache": Path(cache), "qr_scale": scale}


@functools.lru_cache(maxsize=1 << 16)
def absolute_url(base: str, url: str) -> str:
    """``url`` made absolute on ``base``, as a URI. Remembered: term and section URLs recur in thousands of
    articles' metadata, and a build asks for each article's twice (QR codes are started before the share links)."""
    # quote() only touches what a URI may not hold (non-ASCII, spaces): ASCII URLs are unchanged.
    return quote(urljoin(base, url), safe=URI_SAFE)


def make_absolute(base: str):
    return functools.partial(absolute_url, base)


def shareable(generator: ArticlesGenerator) -> list:
    items = [
        *generator.articles,
        *generator.translations,
        *getattr(generator, "hidden_articles", []),
        *getattr(generator, "hidden_translations", []),
    ]
    return sorted(items, key=lambda a: (a.lang, a.slug))


def home_label(theme: str, lang: str, default_lang: str) -> str:
    from portal_i18n import catalogue  # the same catalogue the breadcrumbs' "Home" comes from

    return "Home" if lang == default_lang else catalogue(theme, lang).get("Home", "Home")


@dataclass(frozen=True)
class ShareLinks:
    """``article.share``: the entries (``share_links``), made each time a page goes through them rather than kept.
    Kept, ten thousand articles' links are some 60 MB that a build holds while it writes (and that the
    pre-rendering child counts again), most of them for pages a rebuild takes from its cache; a page key digests
    what they are made from (every field a plain value or a ``ShareTarget``)."""

    target: ShareTarget
    keys: tuple[str, ...]
    qr: tuple[str, int] | None

    def __iter__(self) -> Iterator[ShareLink]:
        return iter(share_links(self.target, self.keys, self.qr))

    def __len__(self) -> int:
        return len(self.keys)

    def keys_of_kind(self, kind: str) -> tuple[str, ...]:
        """The networks whose entries are of ``kind`` (``ShareLink.kind``), in order, without making the entries."""
        return tuple(key for key in self.keys if NETWORKS[key].kind == kind)

    def __fingerprint__(self) -> str:
        return repr(self)


def share_links(target: ShareTarget, keys, qr: tuple[str, int] | None) -> list[ShareLink]:
    """The entries of ``article.share``; ``qr`` is the QR code's (output path, width) when WeChat is listed."""
    links = []
    for key in keys:
        net = NETWORKS[key]
        url = net.build(target)
        common = {"key": key, "name": net.name, "prefix": net.prefix, "kind": net.kind,
                  "label": f"{net.prefix} {net.name}".strip()}
        if net.kind == "qr":
            links.append(ShareLink(**common, target=url, image=qr[0], image_size=qr[1]))
        elif net.kind == "link":
            links.append(ShareLink(**common, url=url, target=target.url))
        else:
            links.append(ShareLink(**common, target=url))
    return links


def qr_urls(articles, config: dict, absolute) -> list[str]:
    """The absolute URLs of the articles whose share block has WeChat's QR code."""
    return [absolute(a.url) for a in articles if "wechat" in config["networks"].get(a.lang, DEFAULT_NETWORKS["en"])]


def start_qr_codes(generator) -> None:
    """Start making a cold build's missing QR codes once the articles are read (see the module docstring)."""
    config = read_settings(generator.settings)
    urls = qr_urls(shareable(generator), config, make_absolute(config["base"]))
    generator.share_qr_started = start_missing(urls, config["qr_scale"], config["cache"] / "qr")


def add_share(generators) -> None:
    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            add_share_to(generator)


def add_share_to(generator: ArticlesGenerator) -> None:
    settings = generator.settings
    config = read_settings(settings)
    absolute = make_absolute(config["base"])
    output, qr_cache = str(generator.output_path), str(config["cache"] / "qr")
    sections = generator.context.get("portal_sections", {})
    logo = generator.context.get("share_logo", "")
    articles = shareable(generator)
    started = getattr(generator, "share_qr_started", None)
    if started is not None:
        del generator.share_qr_started
    made = finish_missing(started, qr_urls(articles, config, absolute), config["qr_scale"], config["cache"] / "qr")
    home_labels: dict[str, str] = {}  # per language: looking the catalogue up stats its files
    widths = QrWidths(config["cache"] / "qr")
    codes: dict[str, dict[str, tuple[str, str]]] = {}  # language -> file name -> (cached code, URL)
    for article in articles:
        lang = article.lang
        if lang not in home_labels:
            home_labels[lang] = home_label(generator.theme, lang, settings["DEFAULT_LANG"])
        card = getattr(article, "share_card", None)
        site_name = localized(settings, "SITENAME", lang)
        url = absolute(article.url)
        target = ShareTarget(
            url=url,
            title=article.title,
            summary=getattr(article, "summary", "") or "",
            site_name=site_name,
            image=absolute(card.path) if card else "",
            lang=lang,
        )
        keys = config["networks"].get(lang, DEFAULT_NETWORKS["en"])
        qr = None
        if "wechat" in keys:
            key = qr_key(url, config["qr_scale"])
            width, fresh = widths.width(url, config["qr_scale"], key)
            made += fresh  # only when the cache lost a file since finish_missing
            qr_path = f"share/qr/{lang}/{article.slug}.png"
            codes.setdefault(lang, {})[f"{article.slug}.png"] = (os.path.join(qr_cache, f"{key}.png"), url)
            qr = (qr_path, width)
        article.share = ShareLinks(target, tuple(keys), qr)
        article.share_target = target  # what the links are made from (the body-edit path remakes them)
        article.social = ArticleSocial(
            article,
            settings=settings,
            absolute=absolute,
            section=sections.get(article.category.name),
            card=card,
            image_alt=f"{site_name}: {article.title}",
            home_label=home_labels[lang],
            logo=logo,
        )
    widths.save()
    for lang, named in codes.items():
        folder = os.path.join(output, "share", "qr", lang)
        if take_back_links(folder, {name: cached for name, (cached, _url) in named.items()}):
            continue
        for name, (cached, url) in named.items():
            try:
                link_or_copy(cached, os.path.join(folder, name))
            except FileNotFoundError:  # a code the cache lost since it was listed: made again
                made += qr_png(url, config["qr_scale"], config["cache"] / "qr")[1]
                link_or_copy(cached, os.path.join(folder, name))
    logger.debug("share: %d QR code(s) made, the rest from the cache", made)


def register() -> None:
    """Hook ``all_generators_finalized``: the one point where every URL, section and term page is final and
    nothing has been written yet (see the module docstring); and ``article_generator_finalized``, to start
    making a cold build's QR codes while the other generators make their contexts."""
    signals.article_generator_finalized.connect(start_qr_codes)
    signals.all_generators_finalized.connect(add_share)
