"""editor_tools: the editors' command-line tools behind `invoke new`, `invoke import` and `invoke check`.

A package of tools, not a build plugin: ``register()`` connects no signals and the package is not listed in
``PLUGINS``. Every header is read and validated by ``content_model.model`` (there is no second metadata parser):

- ``check``: validates a whole content folder without building the site (one read per file, registries loaded
  once, no Markdown rendering) and prints ``path:line: error|warning: message`` lines, or JSON;
- ``importer``: turns raw wire copy (English or Chinese, UTF-8 or GBK/GB18030) into an article file;
- ``new``: writes a new article file with every metadata key of the content model;
- ``names``: splitting reporter and editor credits into people (romanised names through a surname list);
- ``common``: the site settings, the content folder, slugs and dates the three tools share.

The content folder is ``PATH`` from pelicanconf.py, or the ``PORTAL_CONTENT`` environment variable, or the
``--content`` option of each task (tests use the last two so they never write into the real ``content/``).
"""


def register() -> None:
    """Connects no signals: these are command-line tools, run by tasks.py, not part of the Pelican build."""
