"""Article bodies held compressed while a build runs (``use_packed_bodies``).

A body (the HTML the reader made of an article) is the largest thing a build holds: some 70 MB at 10,000
articles, held by the process that writes the pages and counted again in the pre-rendering child forked from it
(``incremental``), at the build's peak of memory. Pelican keeps it in ``Content._content`` and in its reader cache.
Here both hold it packed (zlib, about a fifth of the size) and ``Content._content`` gives the text back when asked
(the body made last is kept: a page asks for its body several times in a row).

A packed body is ``bytes``: one byte saying what the text holds (``IMAGES``: an ``<img`` tag, in any case;
``STATIC_LINKS``: a ``{static}`` or ``{attach}`` link), the digest of the text, its intrasite links (``{filename}``,
``{static}``...: what Pelican resolves when it makes the body a page shows), then the text's UTF-8, compressed.
Pelican's reader cache then stores bytes; its reader hands them to the content object unread but for its search for
images without alt text, which only a body holding an image needs. Pelican lists every article's ``{static}`` links
too: only a body holding one is unpacked. A page's key digests its body by the text's digest and its links' targets
(``text_and_links``): nothing is unpacked either, in every build, for every article.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from types import SimpleNamespace

IMAGES = 1
STATIC_LINKS = 2
# Shorter texts are kept as they are: compression would save little and cost an unpacking at each ask.
PACK_MIN = 512
# What Pelican's intrasite link pattern (``INTRASITE_LINK_REGEX``, by default ``[{|](?P<what>.*?)[|}]``) matches for
# the links ``Content.get_static_links`` lists.
_STATIC_LINK = re.compile(r"[{|](?:static|attach)[|}]")
_IMAGE = re.compile(r"<img", re.I)
_PELICANS_LINK_PATTERN = "[{|](?P<what>.*?)[|}]"
# After the flag byte: the text's digest, then the length of the JSON list of its links (see ``pack``).
DIGEST_SIZE = 20
_LENGTH = struct.Struct(">I")
_LINKS_AT = 1 + DIGEST_SIZE + _LENGTH.size
_DEFAULT_LINKS: list = []  # Pelican's pattern of intrasite links in a body, with its default INTRASITE_LINK_REGEX


def pack(text: str) -> bytes:
    """The flag byte, the digest of the text's UTF-8 (blake2b, ``DIGEST_SIZE`` bytes), the length (4 bytes, big
    endian) and ASCII JSON of the ``[what, value]`` of each intrasite link Pelican's default pattern finds, then the
    UTF-8 compressed."""
    data = text.encode("utf-8", "surrogatepass")
    flags = (IMAGES if _IMAGE.search(text) else 0) | (STATIC_LINKS if _STATIC_LINK.search(text) else 0)
    links = json.dumps(intrasite_links(text, default_link_pattern()), separators=(",", ":")).encode("ascii")
    return b"".join((bytes((flags,)), hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest(),
                     _LENGTH.pack(len(links)), links, zlib.compress(data, 1)))


def unpack(packed: bytes) -> str:
    start = _LINKS_AT + _LENGTH.unpack_from(packed, 1 + DIGEST_SIZE)[0]
    return zlib.decompress(memoryview(packed)[start:]).decode("utf-8", "surrogatepass")


def default_link_pattern() -> re.Pattern:
    """The pattern Pelican finds a body's intrasite links with (``Content._get_intrasite_link_regex``), for its
    default ``INTRASITE_LINK_REGEX``."""
    if not _DEFAULT_LINKS:
        from pelican.contents import Content

        _DEFAULT_LINKS.append(Content._get_intrasite_link_regex(
            SimpleNamespace(settings={"INTRASITE_LINK_REGEX": _PELICANS_LINK_PATTERN})))
    return _DEFAULT_LINKS[0]


def intrasite_links(text: str, pattern: re.Pattern) -> list[list[str]]:
    """``[what, value]`` of each link ``pattern`` (Pelican's) finds in ``text``, in order."""
    return [[match.group("what"), match.group("value")] for match in pattern.finditer(text)]


def text_and_links(content, held) -> tuple[str, list[list[str]]]:
    """The digest (hex) of the body ``content`` holds (``held``: packed or not) and its intrasite links
    (``intrasite_links``), read from a packed body's header when the site uses Pelican's default pattern."""
    if type(held) is bytes and content.settings.get("INTRASITE_LINK_REGEX") == _PELICANS_LINK_PATTERN:
        length = _LENGTH.unpack_from(held, 1 + DIGEST_SIZE)[0]
        return held[1:1 + DIGEST_SIZE].hex(), json.loads(held[_LINKS_AT:_LINKS_AT + length])
    text = unpack(held) if type(held) is bytes else held
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST_SIZE).hexdigest()
    return digest, intrasite_links(text, content._get_intrasite_link_regex())


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
