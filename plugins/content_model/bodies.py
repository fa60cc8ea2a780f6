"""Article bodies held compressed while a build runs (``use_packed_bodies``).

A body (the HTML the reader made of an article) is the largest thing a build holds: some 70 MB at 10,000
articles, held by the process that writes the pages and counted again in the pre-rendering child forked from it
(``incremental``), at the build's peak of memory. Pelican keeps it in ``Content._content`` and in its reader cache.
Here both hold it packed (zlib, about a fifth of the size) and ``Content._content`` gives the text back when asked
(the body made last is kept: a page asks for its body several times in a row).

A packed body is ``bytes``: one byte saying what the text holds (``IMAGES``: an ``<img`` tag, in any case;
``STATIC_LINKS``: a ``{static}`` or ``{attach}`` link), then the text's UTF-8, compressed. Pelican's reader cache
then stores bytes; its reader hands them to the content object unread but for its search for images without alt
text, which only a body holding an image needs. Pelican lists every article's ``{static}`` links too: only a body
holding one is unpacked.
"""

from __future__ import annotations

import re
import zlib

IMAGES = 1
STATIC_LINKS = 2
# Shorter texts are kept as they are: compression would save little and cost an unpacking at each ask.
PACK_MIN = 512
# What Pelican's intrasite link pattern (``INTRASITE_LINK_REGEX``, by default ``[{|](?P<what>.*?)[|}]``) matches for
# the links ``Content.get_static_links`` lists.
_STATIC_LINK = re.compile(r"[{|](?:static|attach)[|}]")
_IMAGE = re.compile(r"<img", re.I)
_PELICANS_LINK_PATTERN = "[{|](?P<what>.*?)[|}]"


def pack(text: str) -> bytes:
    flags = (IMAGES if _IMAGE.search(text) else 0) | (STATIC_LINKS if _STATIC_LINK.search(text) else 0)
    return bytes((flags,)) + zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def unpack(packed: bytes) -> str:
    return zlib.decompress(memoryview(packed)[1:]).decode("utf-8", "surrogatepass")


def packed_or_text(text):
    """``text`` packed when it is a string worth packing; anything else as it is."""
    return pack(text) if type(text) is str and len(text) >= PACK_MIN else text


def may_hold(content, flag: int) -> bool:
    """False only when ``content``'s body is known not to hold what ``flag`` names (without unpacking it)."""
    held = held_body(content)
    return not (type(held) is bytes and not held[0] & flag)


def held_body(content):
    """The body as the content object holds it (packed or not): the same object for as long as the body is the
    same, for memos keyed by identity."""
    return content.__dict__.get("_content")


class PackedBody:
    """``Content._content``: packs a body when set, unpacks it when read."""

    def __init__(self) -> None:
        # The packed body unpacked last and its text, replaced in one assignment: a thread reading a body while
        # another does never pairs one body with the other's text.
        self.last: tuple = (None, "")

    def __get__(self, content, owner=None):
        if content is None:
            return self
        try:
            held = content.__dict__["_content"]
        except KeyError:
            raise AttributeError("_content") from None
        if type(held) is not bytes:
            return held
        last = self.last
        if last[0] is not held:
            last = self.last = (held, unpack(held))
        return last[1]

    def __set__(self, content, value) -> None:
        content.__dict__["_content"] = packed_or_text(value)

    def __delete__(self, content) -> None:
        del content.__dict__["_content"]


def find_empty_alt(content, path) -> None:
    """Pelican's ``readers.find_empty_alt`` for a body that may be packed: only one holding an image is searched."""
    if type(content) is bytes:
        if not content[0] & IMAGES:
            return
        content = unpack(content)
    _PELICANS[0](content, path)


def get_static_links(self) -> set[str]:
    """Pelican's ``Content.get_static_links``, which searches every body for ``{static}`` and ``{attach}`` links:
    a packed body known to hold none has none."""
    if (not may_hold(self, STATIC_LINKS)
            and self.settings.get("INTRASITE_LINK_REGEX", _PELICANS_LINK_PATTERN) == _PELICANS_LINK_PATTERN):
        return set()
    return _PELICANS[1](self)


_PELICANS: list = []  # Pelican's find_empty_alt and get_static_links, once replaced


def use_packed_bodies(readers=None) -> None:
    """Pack bodies in content objects (every one made from now on, in this process) and in ``readers``' cache
    (Pelican's ``Readers``; its ``cache_data``). Not with ``TYPOGRIFY``: Pelican's reader would pass a packed body
    from its cache to Typogrify."""
    import pelican.readers
    from pelican.contents import Content

    if readers is not None and (readers.settings.get("TYPOGRIFY") or "cache_data" in vars(readers)):
        return
    if not _PELICANS:
        _PELICANS[:] = [pelican.readers.find_empty_alt, Content.get_static_links]
        Content._content = PackedBody()
        Content.get_static_links = get_static_links
        pelican.readers.find_empty_alt = find_empty_alt
    if readers is not None:
        pelicans = readers.cache_data
        readers.cache_data = lambda filename, data: pelicans(filename, (packed_or_text(data[0]), *data[1:]))
