"""Work Pelican 4.12 does in every build that this site never uses, left out, with the same output.

Each was measured on the benchmark's 10,000-article corpus, in one core's phase of a build (cold or not):

- ``skip_unwritten_term_pages``: Pelican's tag, category and author pages, ordered and then dropped by the writer
  when no term has a file to go to (1.2 s);
- ``skip_unused_generator_cache``: the generator-level content cache's file stamps when the cache is kept at the
  reader level (two reads and hashes of every content file: 0.6 s);
- ``process_translations``: Pelican's, whose last step looks each article up in a list of the others (O(N²):
  0.6 s).
"""

from __future__ import annotations

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
