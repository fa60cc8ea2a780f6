"""Make a Pagefind bundle byte-identical across runs over the same pages.

Pagefind 1.5 writes its filter chunks (``filter/*.pf_filter``) and language metadata (``pagefind.*.pf_meta``) from
Rust hash maps, so the order of filter values, and of the filters themselves, changes from run to run, and with it
the files' content-hash names and ``pagefind-entry.json`` (upstream CloudCannon/pagefind#638). Fragments and word
index chunks are already stable.

Both orders carry no meaning: Pagefind's search runtime reads the lists into maps. This module sorts them and names
the rewritten files by a hash of their bytes, as Pagefind does, so equal pages give an equal bundle.

File format (Pagefind 1.5): gzip of the signature ``pagefind_dcd`` followed by CBOR.
- filter chunk: ``[filter name, [[value, [page numbers]], ...]]``
- metadata: ``[version, pages, index chunks, [[filter name, chunk hash], ...], sorts, ...]``
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import cbor2

SIGNATURE = b"pagefind_dcd"
# Bump when the rewriting changes, so cached bundles made by an older rule are not reused.
CANONICAL_FORMAT = 1
ENTRY_FILE = "pagefind-entry.json"
# Hex digits of the content hash in a rewritten file name (Pagefind uses 7 to 13; names are only compared).
HASH_DIGITS = 12
# Index of the filter list in a decoded metadata file.
META_FILTERS = 3


class BundleFormatError(RuntimeError):
    """The bundle is not in the format this module knows (a Pagefind upgrade changed it)."""


def read_chunk(path: Path):
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(SIGNATURE):
        raise BundleFormatError(f"{path}: no Pagefind signature; the bundle format changed")
    return cbor2.loads(raw[len(SIGNATURE):])


def chunk_bytes(data) -> bytes:
    # mtime=0: the gzip header would otherwise carry the time of the build.
    return gzip.compress(SIGNATURE + cbor2.dumps(data), compresslevel=9, mtime=0)


def write_chunk(folder: Path, prefix: str, old_name: str, suffix: str, data, lang: str) -> str:
    """Write ``data`` under a name made from its hash; remove the old file. Returns the new hash (``lang_hex``)."""
    blob = chunk_bytes(data)
    new_hash = f"{lang}_{hashlib.sha256(blob).hexdigest()[:HASH_DIGITS]}"
    old_path = folder / f"{prefix}{old_name}{suffix}"
    new_path = folder / f"{prefix}{new_hash}{suffix}"
    old_path.unlink()
    new_path.write_bytes(blob)
    return new_hash


def canonical_filter(data):
    try:
        name, values = data
        return [name, sorted([value, sorted(pages)] for value, pages in values)]
    except (TypeError, ValueError) as exc:
        raise BundleFormatError(f"unexpected filter chunk layout: {exc}") from exc


def canonicalise_bundle(bundle: Path) -> None:
    """Rewrite ``bundle`` (a Pagefind output folder) in place so its bytes depend only on the indexed pages."""
    entry_path = bundle / ENTRY_FILE
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for lang_key, language in entry.get("languages", {}).items():
        meta_hash = language["hash"]
        # Language keys are like "en" or "zh-cn"; hashes are "<key>_<hex>".
        meta = read_chunk(bundle / f"pagefind.{meta_hash}.pf_meta")
        if not (isinstance(meta, list) and len(meta) > META_FILTERS and isinstance(meta[META_FILTERS], list)):
            raise BundleFormatError(f"{meta_hash}: unexpected metadata layout")
        filters = []
        for filter_name, filter_hash in meta[META_FILTERS]:
            data = canonical_filter(read_chunk(bundle / "filter" / f"{filter_hash}.pf_filter"))
            filters.append([filter_name, write_chunk(bundle / "filter", "", filter_hash, ".pf_filter", data, lang_key)])
        meta[META_FILTERS] = sorted(filters)
        language["hash"] = write_chunk(bundle, "pagefind.", meta_hash, ".pf_meta", meta, lang_key)
    entry["languages"] = dict(sorted(entry.get("languages", {}).items()))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
