"""Work Pelican 4.12 does in every build that this site never uses, left out, with the same output.

Each was measured on the benchmark's 10,000-article corpus, in one core's phase of a build (cold or not):

- ``skip_unwritten_term_pages``: Pelican's tag, category and author pages, ordered and then dropped by the writer
  when no term has a file to go to (1.2 s);
- ``skip_unused_generator_cache``: the generator-level content cache's file stamps when the cache is kept at the
  reader level (two reads and hashes of every content file: 0.6 s);
- ``process_translations``: Pelican's, whose last step looks each article up in a list of the others (O(N²):
  0.6 s);
- ``format_dates_once``: each date formatted by Pelican once per format, not at every ask (1.3 s of a sampled
  metadata edit).

And one cost in memory: ``save_reader_cache_after_writing``, Pelican's reader cache saved at the end of the build
rather than before the pages are written (35 MB held by the writing process, and again by the pre-rendering child
forked from it, while bodies were strings; now that they are held packed, ``bodies``, the titles' and names' copies).
"""

from __future__ import annotations

import re
from itertools import groupby
from operator import attrgetter

# Pelican's pages of its own taxonomies: the generator method writing them, and the attribute holding (term, articles).
PELICAN_TERM_PAGES = (("generate_tags", "tags"), ("generate_categories", "categories"), ("generate_authors", "authors"))


def skip_unwritten_term_pages(generator) -> None:
    """Skip Pelican's tag, category and author pages when none has a file to be written to (``*_SAVE_AS = ""``, as
    here: the portal's topics, officials and sections are pages of listing_pages). Pelican still builds each one's
    date-ordered list before its writer drops the page: a walk of every article per term."""
    for method, attribute in PELICAN_TERM_PAGES:
        write_pages = getattr(generator, method, None)
        if write_pages is None:
            continue

        def only_when_written(write, write_pages=write_pages, attribute=attribute):
            terms = getattr(generator, attribute, None) or ()
            if any(term.save_as for term, _articles in (terms.items() if isinstance(terms, dict) else terms)):
                write_pages(write)

        setattr(generator, method, only_when_written)


def skip_unused_generator_cache(generator) -> None:
    """With ``CONTENT_CACHING_LAYER = "reader"`` (here: plugins must see every article's signals), a generator's own
    cache neither loads nor keeps anything, yet Pelican asks it for every file, which reads and hashes the file to
    compare with the stamp it never stored, and hands it every article, which reads and hashes the file again
    before not storing it. The reader's cache, which serves the files, still checks its own stamps."""
    if getattr(generator, "_cache_data_policy", True) or getattr(generator, "_cache", None):
        return
    generator.get_cached_data = lambda filename, default=None: default
    generator.cache_data = lambda filename, data: None


def process_translations(content_list: list, translation_id=None) -> tuple[list, list]:
    """``pelican.utils.process_translations`` with the same groups, originals, translations, orders and warnings
    (its ``get_original_items`` does the choosing), but translations found by identity in a set: Pelican's content
    objects compare by identity, and its ``x not in index`` walks the list of originals once per article."""
    from pelican.utils import get_original_items
    from pelican.utils import process_translations as pelicans

    if not translation_id or not isinstance(translation_id, (str, list, tuple, set, frozenset)):
        return pelicans(content_list, translation_id)
    names = {translation_id} if isinstance(translation_id, str) else translation_id
    key = attrgetter(*names)
    try:
        content_list.sort(key=key)
    except (TypeError, AttributeError):
        return pelicans(content_list, translation_id)  # its own messages
    index = []
    for id_vals, items in groupby(content_list, key):
        id_vals = (id_vals,) if len(names) == 1 else id_vals
        with_str = "with" + ", ".join([' {} "{{}}"'] * len(names)).format(*names).format(*id_vals)
        items = list(items)
        index.extend(get_original_items(items, with_str))
        for item in items:
            item.translations = [other for other in items if other != item]
    originals = {id(item) for item in index}
    return index, [item for item in content_list if id(item) not in originals]


def use_linear_translations() -> None:
    """Let Pelican's generators find translations with ``process_translations`` above (they call the name they
    imported from ``pelican.utils``)."""
    import pelican.generators

    pelican.generators.process_translations = process_translations


# The reader caches of the build in progress, to be saved when it ends (``save_reader_cache_after_writing``).
_UNSAVED_READER_CACHES: list = []


def save_reader_cache_after_writing(readers) -> None:
    """Pelican saves its reader cache (``Readers.save_cache``) as soon as the articles are read. Its pickler leaves
    a UTF-8 copy inside every non-ASCII string it writes (CPython keeps that copy with the string for good): the
    Chinese bodies, some 35 MB at 10,000 articles, then held by the process writing the pages and again by the
    pre-rendering child forked from it (``incremental``), at the build's peak of memory. Saved once the build is
    over (``save_reader_caches``: at ``finalized``, after the search index, and when a build run by
    ``content_model.build`` stops), the file holds the same cache. (Bodies are now held packed, as bytes, which
    the pickler copies nothing into: ``content_model.bodies``; the non-ASCII metadata it writes, titles and names,
    still gets such copies.)"""
    if "save_cache" in vars(readers):
        return
    pelicans = readers.save_cache

    def save_later() -> None:
        if pelicans not in _UNSAVED_READER_CACHES:
            _UNSAVED_READER_CACHES.append(pelicans)

    readers.save_cache = save_later
    from pelican import signals

    # Connected now, after every plugin's register() (a receiver already connected keeps its place): the last
    # receiver of ``finalized``, so the copies are made once the search index and the child are done.
    signals.finalized.connect(save_reader_caches)


def save_reader_caches(*_sender) -> None:
    """Save the reader caches of the build in progress that Pelican asked to save (a no-op once saved)."""
    while _UNSAVED_READER_CACHES:
        _UNSAVED_READER_CACHES.pop(0)()


# Dates as Pelican's ``SafeDatetime.strftime`` formats them, by date, time zone, fold, format and LC_TIME locale.
_FORMATTED_DATES: dict[tuple, str] = {}
_FORMATTED_DATES_MAX = 200_000
# Formats by whether ``plain_date_format`` holds.
_PLAIN_FORMATS: dict[str, bool] = {}
# The directives Pelican's ``strftime`` passes to ``datetime.strftime`` (pelican.utils.strftime's own list).
_C89_DIRECTIVES = frozenset("aAbBcdfGHIjmMpSUuVwWxXyYzZ%")
_DIRECTIVE = re.compile("%[-]?.")


def plain_date_format(fmt: str) -> bool:
    """Whether Pelican's ``strftime`` gives what ``datetime.strftime`` gives for ``fmt`` whole: it cuts a format
    into its directives (``%`` and one character, or ``%-`` and one), formats each alone and puts them back
    between the text around them; so when every directive is one it passes on unchanged (a C89 one, without
    ``-``) and no ``%`` is left outside them (a lone one at the end), the parts are the whole's. ASCII only, so that no
    locale's encoding of the text around them comes in."""
    if not fmt.isascii() or "%" in _DIRECTIVE.sub("", fmt):
        return False
    return all(len(directive) == 2 and directive[1] in _C89_DIRECTIVES for directive in _DIRECTIVE.findall(fmt))


def format_dates_once() -> None:
    """Pelican formats each article's date through ``SafeDatetime.strftime`` (a regular expression and a loop over
    the format's directives: 13 us here) for its ``locale_date`` and again for each ``{date:%Y}`` of its URL and
    save-as settings, every time either is asked for before the URLs are final: 12 asks per article, 120,000 a
    build at 10,000 articles, for three formats. Each date is formatted once per format (the result depends on
    nothing else but the time zone, the fold and the ``LC_TIME`` locale, all in the key), and a format Pelican
    would only cut into its directives and format one by one (``plain_date_format``) is formatted whole by
    ``datetime.strftime``: the same text, for a third of the time (30,000 dates of a build)."""
    import datetime
    import locale

    from pelican.utils import SafeDatetime

    if getattr(SafeDatetime.strftime, "formats_once", False):
        return
    pelicans = SafeDatetime.strftime
    formats_whole = datetime.datetime.strftime

    def strftime(self, fmt, safe=True):
        if not safe:
            return pelicans(self, fmt, safe)
        key = (self, self.tzinfo, self.fold, fmt, locale.setlocale(locale.LC_TIME))
        formatted = _FORMATTED_DATES.get(key)
        if formatted is None:
            if len(_FORMATTED_DATES) >= _FORMATTED_DATES_MAX:
                _FORMATTED_DATES.clear()
            plain = _PLAIN_FORMATS.get(fmt)
            if plain is None:
                plain = _PLAIN_FORMATS[fmt] = plain_date_format(fmt)
            formatted = _FORMATTED_DATES[key] = formats_whole(self, fmt) if plain else pelicans(self, fmt, safe)
        return formatted

    strftime.formats_once = True
    strftime.__doc__ = pelicans.__doc__
    SafeDatetime.strftime = strftime
