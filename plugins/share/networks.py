"""The share networks: one function per network, collected by the ``@network`` decorator.

Adding a network means adding one function here (and its label to ``translations/zh.po``). Each function
receives a :class:`ShareTarget` and returns the link's URL. Every query parameter is percent-encoded UTF-8 with
``quote(value, safe="")``, so quotes, ``&``, ``#``, ``%``, ``<`` and Chinese reach the network exactly; the URLs
are plain text here and HTML-escaped by the template (never marked safe).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote


@dataclass(frozen=True)
class ShareTarget:
    """What is shared: absolute URLs and plain text."""

    url: str
    title: str
    summary: str
    site_name: str
    image: str  # absolute URL of the share card ("" when there is none)
    lang: str

    def __fingerprint__(self) -> str:
        """Its whole state for incremental's page keys: every field is a plain value (see ``Fingerprinter``)."""
        return repr(self)


@dataclass(frozen=True)
class ShareLink:
    """One entry of ``article.share``: the template switches on ``kind``.

    kind: ``link`` (a plain link to ``url``), ``qr`` (``image`` is the output-relative path of a QR code of
    ``target``), ``copy`` and ``native`` (buttons enhanced by share.js; ``target`` is the article URL).
    ``name`` is the visible text and ``prefix`` the visually hidden words before it ("Share on"), both English
    interface strings translated by the template; ``label`` is the whole English label ("Share on Weibo").
    """

    key: str
    name: str
    prefix: str
    label: str
    kind: str
    url: str = ""
    target: str = ""
    image: str = ""
    image_size: int = 0

    def __fingerprint__(self) -> str:
        """Its whole state for incremental's page keys: every field is a plain value (see ``Fingerprinter``)."""
        return repr(self)


@dataclass(frozen=True)
class Network:
    key: str
    name: str
    prefix: str
    kind: str
    build: Callable[[ShareTarget], str]


NETWORKS: dict[str, Network] = {}


def network(key: str, name: str, prefix: str = "Share on", kind: str = "link"):
    """Register the decorated function as the URL builder of network ``key``."""

    def register(build: Callable[[ShareTarget], str]) -> Callable[[ShareTarget], str]:
        if key in NETWORKS:
            raise ValueError(f"share network {key!r} is registered twice")
        NETWORKS[key] = Network(key, name, prefix, kind, build)
        return build

    return register


@functools.lru_cache(maxsize=1024)  # every network of an article encodes the same URL, title and summary
def encode(value: str) -> str:
    """One query value as percent-encoded UTF-8; nothing is left unescaped (spaces become %20)."""
    return quote(value, safe="")


def with_query(base: str, **params: str) -> str:
    """``base?k=v&...`` in the order given, skipping empty values."""
    query = "&".join(f"{key}={encode(value)}" for key, value in params.items() if value)
    return f"{base}?{query}" if query else base


def short_text(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters at a word (or anywhere, for Chinese), with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:，。；：、") + "…"


# --- networks (the order here is only the registry's; SHARE_NETWORKS sets the order on pages) -----------


@network("wechat", "WeChat", kind="qr")
def wechat(target: ShareTarget) -> str:
    # WeChat has no web share URL: readers scan a QR code of the article's address (made by the plugin).
    return target.url


@network("weibo", "Weibo")
def weibo(target: ShareTarget) -> str:
    return with_query(
        "https://service.weibo.com/share/share.php", url=target.url, title=target.title, pic=target.image
    )


@network("qq", "QQ")
def qq(target: ShareTarget) -> str:
    return with_query(
        "https://connect.qq.com/widget/shareqq/index.html",
        url=target.url,
        title=target.title,
        desc=short_text(target.summary, 120),
        summary=short_text(target.summary, 120),
        source=target.site_name,
        pics=target.image,
    )


@network("qzone", "Qzone")
def qzone(target: ShareTarget) -> str:
    return with_query(
        "https://sns.qzone.qq.com/cgi-bin/qzshare/cgi_qzshare_onekey",
        url=target.url,
        title=target.title,
        summary=short_text(target.summary, 120),
        site=target.site_name,
        pics=target.image,
    )


@network("x", "X")
def x(target: ShareTarget) -> str:
    return with_query("https://twitter.com/intent/tweet", url=target.url, text=target.title)


@network("facebook", "Facebook")
def facebook(target: ShareTarget) -> str:
    return with_query("https://www.facebook.com/sharer/sharer.php", u=target.url)


@network("linkedin", "LinkedIn")
def linkedin(target: ShareTarget) -> str:
    return with_query("https://www.linkedin.com/sharing/share-offsite/", url=target.url)


@network("telegram", "Telegram")
def telegram(target: ShareTarget) -> str:
    return with_query("https://t.me/share/url", url=target.url, text=target.title)


@network("whatsapp", "WhatsApp")
def whatsapp(target: ShareTarget) -> str:
    return with_query("https://wa.me/", text=f"{target.title} {target.url}")


@network("email", "Email", prefix="Share by")
def email(target: ShareTarget) -> str:
    body = f"{short_text(target.summary, 280)}\n\n{target.url}" if target.summary else target.url
    return "mailto:" + with_query("", subject=target.title, body=body)


@network("copy", "Copy link", prefix="", kind="copy")
def copy(target: ShareTarget) -> str:
    return target.url


@network("native", "More ways to share", prefix="", kind="native")
def native(target: ShareTarget) -> str:
    return target.url
