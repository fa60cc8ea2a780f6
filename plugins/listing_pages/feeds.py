"""Atom feeds with absolute links and host-independent ids (``tag:`` URIs), written deterministically."""

from __future__ import annotations

import os
from urllib.parse import urljoin

from feedgenerator import Atom1Feed, Rss201rev2Feed
from markupsafe import Markup


def absolute(base: str, url: str) -> str:
    return urljoin(base.rstrip("/") + "/", url)


def tag_uri(authority: str, item) -> str:
    """A feed id that survives host, port and scheme changes (RFC 4151), fixed by the first publication."""
    return f"tag:{authority},{item.date:%Y-%m-%d}:/{item.url}"


def write_feed(output_path: str, save_as: str, items, settings: dict, title: str, lang: str, kind: str = "atom"):
    base = settings["PORTAL_FEED_BASE"]
    feed_class = Rss201rev2Feed if kind == "rss" else Atom1Feed
    feed = feed_class(
        title=Markup(title).striptags(),
        link=absolute(base, "zh/" if lang == "zh" else ""),
        feed_url=absolute(base, save_as),
        description=settings.get("SITESUBTITLE", ""),
        language=settings["PORTAL_LANGUAGES"][lang]["locale"],
        author_name=settings["SITENAME"],
        feed_guid=f"tag:{settings['SITE_DOMAIN']},2020-01-01:/{save_as}",
    )
    for item in items[: settings.get("FEED_MAX_ITEMS") or None]:
        link = absolute(base, item.url)
        content = item.get_content(base.rstrip("/"))
        feed.add_item(
            title=item.title,
            link=link,
            unique_id=tag_uri(settings["SITE_DOMAIN"], item),
            description=item.summary,
            content=content if kind == "atom" else None,
            categories=[topic.name for topic in getattr(item, "topics", [])] or None,
            author_name=", ".join(p.name for p in getattr(item, "reporters", [])) or settings["SITENAME"],
            pubdate=item.date,
            updateddate=getattr(item, "modified", None) or item.date,
        )
    path = os.path.join(output_path, save_as)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        feed.write(handle, "utf-8")
    return path
