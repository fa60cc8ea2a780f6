"""Social metadata for an article's ``<head>``: canonical URL, Open Graph, Twitter card and JSON-LD.

Everything is computed here in Python and handed to ``partials/social_meta.html`` as plain values, which the
template escapes. The one exception is the JSON-LD text: a ``<script type="application/ld+json">`` element's
content is raw text (entities are not decoded), so it is serialised with ``json.dumps`` and ``<``, ``>`` and
``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026``: still the same JSON, and no title can close the
script element. That string alone is marked safe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from markupsafe import Markup


@dataclass
class SocialMeta:
    canonical: str
    meta: list[tuple[str, str, str]] = field(default_factory=list)  # (attribute, name, content)
    json_ld: Markup = Markup("")

    def __fingerprint__(self) -> str:
        """Its whole state for incremental's page keys: every field is a plain value (see ``Fingerprinter``)."""
        return repr(self)


class ArticleSocial:
    """``article.social``: what an article's head metadata is made from; ``article.social()`` makes its
    :class:`SocialMeta` when the page is rendered (``partials/social_meta.html``), and nothing keeps it. Kept, ten
    thousand articles' metadata are some 65 MB (37 of them JSON-LD text) that a build holds while it writes, and
    that the pre-rendering child counts again.

    It is made from the article's own attributes, its terms, translations and share card, and the settings, all of
    which the article page's key (``incremental``) holds already: a key names this callable, it does not digest it.
    """

    __slots__ = ("_article", "_options")

    def __init__(self, article, **options) -> None:
        self._article = article
        self._options = options  # social_meta's keyword arguments

    def __call__(self) -> SocialMeta:
        return social_meta(self._article, **self._options)


def localized(settings: dict, key: str, lang: str) -> str:
    """``SITENAME_ZH`` for Chinese pages when set, else ``SITENAME``."""
    return settings.get(f"{key}_{lang.upper()}") or settings.get(key, "")


def script_json(data) -> Markup:
    """JSON that is safe as the content of a script element and still parses to ``data``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def person(term, lang: str, absolute, prefix: str, job: bool = False) -> dict:
    node = {"@type": "Person", "name": term.name_in(lang)}
    if job and term.role_in(lang):
        node["jobTitle"] = term.role_in(lang)
    if getattr(term, "has_page", False):
        node["url"] = absolute(prefix + term.url)
    return node


def social_meta(
    article, *, settings: dict, absolute, section, card, image_alt: str, home_label: str, logo: str = ""
) -> SocialMeta:
    """The head metadata of one article.

    ``absolute(url)`` makes a site URL absolute; ``section`` is listing_pages' Section (or None);
    ``card`` is the share card (``path``, ``width``, ``height``, ``mime_type``) or None; ``home_label`` is the
    home page's name in the article's language (the first breadcrumb); ``logo`` the output-relative path of the
    publisher's logo (a raster image, as search engines want).
    """
    lang = article.lang
    languages = settings["PORTAL_LANGUAGES"]
    prefix = "" if lang == settings["DEFAULT_LANG"] else f"{lang}/"
    url = absolute(article.url)
    site_name = localized(settings, "SITENAME", lang)
    owner = localized(settings, "SITE_OWNER", lang)
    home = absolute(prefix)
    section_name = section.name_in(lang) if section else article.category.name
    published = article.date.isoformat()
    modified = (getattr(article, "modified", None) or article.date).isoformat()
    locale = languages.get(lang, {}).get("og_locale") or languages.get(lang, {}).get("locale", lang).replace("-", "_")
    image = absolute(card.path) if card else ""

    og = [
        ("property", "og:type", "article"),
        ("property", "og:title", article.title),
        ("property", "og:description", article.summary),
        ("property", "og:url", url),
        ("property", "og:site_name", site_name),
        ("property", "og:locale", locale),
    ]
    for translation in sorted(getattr(article, "translations", []), key=lambda t: t.lang):
        alternate = languages.get(translation.lang, {}).get("og_locale")
        if alternate:
            og.append(("property", "og:locale:alternate", alternate))
    if card:
        og += [
            ("property", "og:image", image),
            ("property", "og:image:type", card.mime_type),
            ("property", "og:image:width", str(card.width)),
            ("property", "og:image:height", str(card.height)),
            ("property", "og:image:alt", image_alt),
        ]
    og += [
        ("property", "article:published_time", published),
        ("property", "article:modified_time", modified),
        ("property", "article:section", section_name),
    ]
    og += [("property", "article:tag", topic.name_in(lang)) for topic in article.topics]
    og += [
        ("name", "twitter:card", "summary_large_image" if card else "summary"),
        ("name", "twitter:title", article.title),
        ("name", "twitter:description", article.summary),
    ]
    if card:
        og += [("name", "twitter:image", image), ("name", "twitter:image:alt", image_alt)]

    publisher = {"@type": "Organization", "name": owner, "url": home}
    if logo:
        publisher["logo"] = {"@type": "ImageObject", "url": absolute(logo)}
    news = {
        "@type": "NewsArticle",
        "@id": url + "#article",
        "mainEntityOfPage": url,
        "url": url,
        "headline": article.title,
        "description": article.summary,
        "datePublished": published,
        "dateModified": modified,
        "inLanguage": languages.get(lang, {}).get("locale", lang),
        "articleSection": section_name,
        "author": [person(p, lang, absolute, prefix) for p in article.reporters]
        or [{"@type": "Organization", "name": owner, "url": home}],
        "editor": [person(p, lang, absolute, prefix) for p in article.editors],
        "publisher": publisher,
        "isAccessibleForFree": True,
        "about": [
            {"@type": "Thing", "name": t.name_in(lang),
             **({"url": absolute(prefix + t.url)} if getattr(t, "has_page", False) else {})}
            for t in article.topics
        ],
        "mentions": [person(o, lang, absolute, prefix, job=True) for o in article.officials],
    }
    images = []
    if card:
        images.append({"@type": "ImageObject", "url": image, "width": card.width, "height": card.height})
    if getattr(article, "image_path", None):
        images.append({"@type": "ImageObject", "url": absolute(article.image_path), **(
            {"caption": article.image_caption} if getattr(article, "image_caption", None) else {})})
    if images:
        news["image"] = images
    if getattr(article, "source", None):
        news["sourceOrganization"] = {"@type": "Organization", "name": article.source}
    for key in ("editor", "about", "mentions"):
        if not news[key]:
            del news[key]

    crumbs = [(home, home_label)]
    if section:
        crumbs.append((absolute(prefix + section.url), section_name))
    crumbs.append((url, article.title))
    breadcrumbs = {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": item}
            for n, (item, name) in enumerate(crumbs, start=1)
        ],
    }
    graph = {"@context": "https://schema.org", "@graph": [news, breadcrumbs]}
    return SocialMeta(canonical=url, meta=og, json_ld=script_json(graph))
