"""Atom feeds with absolute links and host-independent ids (``tag:`` URIs), written deterministically.

A site has hundreds of feeds (one per topic, official, section and language) and each article sits in about ten of
them, so every feed is cached under ``CACHE_PATH/feeds/`` by a hash of everything it shows (its own fields and, for
each item, the URL, title, dates, summary, body as the feed shows it, topics and reporters). A rebuild writes an
unchanged feed from the cache instead of building its XML again; entries no build used are pruned at the end.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from urllib.parse import urljoin

from feedgenerator import Atom1Feed, Rss201rev2Feed
from markupsafe import Markup

from content_model import (forget_content, keeps_output, made_output, note_bodies_shown, note_summaries_shown,
                           shown_body_digest)
from content_model.output import place, write_atomically

# False in the incremental plugin's pre-rendering child: fill the cache, leave the output to the build.
WRITE_OUTPUT = True


class FeedCache:
    """Feed files keyed by their inputs, for one build; remembers which entries the build used."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # What the XML depends on beyond a feed's own inputs: this code and the libraries that write it. Read once
        # per build (package metadata is files on disk), so a changed plugin or library never reuses a feed.
        source = hashlib.blake2b(Path(__file__).read_bytes()).hexdigest()
        self.code = _digest([source, metadata.version("feedgenerator"), metadata.version("pelican")])
        self.used: set[str] = set()
        self._items: dict[tuple[int, str], tuple[object, str]] = {}
        self.hits = self.misses = self.kept = 0

    def item_digest(self, item, base: str) -> str:
        """What a feed shows of one article (each article is in many feeds: computed once per build)."""
        memo = self._items.get((id(item), base))
        if memo is not None and memo[0] is item:
            return memo[1]
        siteurl = base.rstrip("/")
        body = shown_body_digest(item, siteurl)
        forget_content(item, siteurl)  # if it had to make the body (see feed_body)
        parts = [
            item.url, item.title, item.date.isoformat(), (getattr(item, "modified", None) or item.date).isoformat(),
            str(item.summary), body,
            *(f"topic:{t.name}" for t in getattr(item, "topics", [])),
            *(f"reporter:{p.name}" for p in getattr(item, "reporters", [])),
        ]
        digest = _digest(parts)
        self._items[(id(item), base)] = (item, digest)
        return digest

    def prune(self) -> None:
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.suffix == ".xml" and entry.stem not in self.used:
                entry.unlink()


def feed_body(item, base: str) -> str:
    """The body of ``item`` as a feed carries it (links absolute from ``base``). Not kept: an article is in a
    dozen feeds, but only the feeds a build writes anew need its body, and Pelican's memo of every body the feeds
    carry would be tens of MB held by both writing processes."""
    siteurl = base.rstrip("/")
    content = item.get_content(siteurl)
    forget_content(item, siteurl)
    return content


def _digest(parts) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


# One cache per cache folder, for the build in progress (reset at ``initialized``, pruned at ``finalized``).
FEED_CACHES: dict[str, FeedCache] = {}


def feed_cache(settings: dict) -> FeedCache:
    root = str(Path(settings.get("CACHE_PATH", "cache")).resolve() / "feeds")
    if root not in FEED_CACHES:
        FEED_CACHES[root] = FeedCache(Path(root))
    return FEED_CACHES[root]


def absolute(base: str, url: str) -> str:
    return urljoin(base.rstrip("/") + "/", url)


def tag_uri(authority: str, item) -> str:
    """A feed id that survives host, port and scheme changes (RFC 4151), fixed by the first publication."""
    return f"tag:{authority},{item.date:%Y-%m-%d}:/{item.url}"


def write_feed(output_path: str, save_as: str, items, settings: dict, title: str, lang: str, kind: str = "atom"):
    base = settings["PORTAL_FEED_BASE"]
    items = items[: settings.get("FEED_MAX_ITEMS") or None]
    cache = feed_cache(settings)
    key = _digest([
        cache.code, kind, save_as, title, lang, base,
        settings.get("SITESUBTITLE", ""), settings["PORTAL_LANGUAGES"][lang]["locale"], settings["SITENAME"],
        settings["SITE_DOMAIN"], *(cache.item_digest(item, base) for item in items),
    ])
    cache.used.add(key)
    path = os.path.join(output_path, save_as)
    if WRITE_OUTPUT:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if keeps_output(save_as, key, path, items):  # the last build's file, unread (the incremental plugin)
            cache.kept += 1
            return path
    cached = cache.root / f"{key}.xml"
    try:
        data = cached.read_bytes()
    except FileNotFoundError:
        data = build_feed(save_as, items, settings, title, lang, kind, base)
        cache.root.mkdir(parents=True, exist_ok=True)
        write_atomically(cached, data)
        cache.misses += 1
    else:
        cache.hits += 1
    if WRITE_OUTPUT:
        place(path, data)  # an unchanged feed keeps its file (content_model.output)
        text = data.decode("utf-8")
        if kind == "atom":  # its entries carry the bodies: where, for a build that edits one
            note_bodies_shown(save_as, text, items, base.rstrip("/"), "atom")
        note_summaries_shown(save_as, text, items, kind)
        made_output(save_as, key)
    return path


def build_feed(save_as: str, items, settings: dict, title: str, lang: str, kind: str, base: str) -> bytes:
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
    for item in items:
        link = absolute(base, item.url)
        content = feed_body(item, base)
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
    return feed.writeString("utf-8").encode("utf-8")
