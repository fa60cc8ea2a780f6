"""bench: the measuring instrument behind `invoke bench` (issue 9). A tools package, not a Pelican plugin.

It has no ``register()`` and connects no signals; it is not listed in ``PLUGINS``. It holds:

- ``corpus``: a deterministic (seeded) synthetic corpus laid out exactly like ``content/`` (articles in English
  and Chinese, translation pairs, registries of topics, officials and people, lead images, pages), all fictional;
- ``runner``: builds that corpus with our plugins and with stock Pelican (``simple`` theme, no plugins) in
  subprocesses, measures wall time and peak RSS of each build's whole process tree, checks that selective rebuilds
  give output byte-identical to a cold build, and prints a table and writes JSON.
"""
