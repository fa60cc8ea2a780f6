"""`invoke new "Headline"`: a new article file with every metadata key of the content model, ready to fill in.

Keys the command line does not fill are written empty (``Topics:``), so the file still parses and `invoke check`
names each missing required one by its line; a comment block at the top of the body explains every key (the
site strips HTML comments, and `invoke check` warns until it is deleted).
"""

from __future__ import annotations

import argparse
import re
import sys

from .common import (
    NEW_HINTS_MARKER,
    NEW_PLACEHOLDER,
    ToolError,
    article_file,
    content_root,
    key_label,
    model,
    now_in_site_timezone,
    parse_cli_date,
    shown_path,
    site_settings,
    slugify,
)
from .importer import Existing

SLUG_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LISTED_NAMES = 20


def resolve_option(option: str, value: str, registry: model.Registry, lang: str) -> tuple[list[str], list[str]]:
    """Registry names given on the command line, written as the article's language writes them; and the errors."""
    names, errors = [], []
    for name in model.split_list(value or ""):
        entry = registry.resolve(name)
        if entry is None:
            suggestions = registry.suggest(name)
            advice = ("did you mean " + " or ".join(suggestions) + "?") if suggestions else \
                f"the names are in content/{registry.kind}/"
            errors.append(f"error: --{option}: `{name}` is not in the {registry.kind} registry; {advice}")
        elif entry.name_in(lang) not in names:
            names.append(entry.name_in(lang))
    return names, errors


def hints(registries: model.Registries, lang: str) -> str:
    settings = site_settings().model
    topics = [entry.name_in(lang) for entry in registries.topics]
    listed = ", ".join(topics[:LISTED_NAMES]) + (", and more in content/topics/" if len(topics) > LISTED_NAMES else "")
    lines = [
        f"{NEW_HINTS_MARKER} what each line of the header means. Delete this block when the article is written.",
        "Date: when it was published, YYYY-MM-DD HH:MM. Modified: the same form, only after correcting it.",
        "Slug: the article's web address, lowercase letters, digits and hyphens. "
        f"Lang: one of {', '.join(settings.languages)}.",
        f"Category: the section, one of {', '.join(settings.sections)}.",
        "Summary: one or two sentences for lists and search; leave empty to use the first paragraph.",
        f"Topics (required): one or more of {listed or 'the names in content/topics/'}; separate them with commas.",
        "Officials: the officials the article is about, as named in content/officials/, separated by commas.",
        "Reporters, Editors (Editors required): names from content/people/, separated by commas.",
        "Source, Original_Title: for republished copy, the newspaper or agency and its own headline.",
        "Image: a picture in content/images/, e.g. images/metro.jpg. Image_Alt (required with an image): what the "
        "picture shows, for readers who cannot see it. Image_Caption: the caption printed under it.",
        "When done, run: invoke check",
        "-->",
    ]
    return "\n".join(lines)


def render(fields: dict[str, str], body: str) -> str:
    header = "\n".join(f"{key_label(key)}: {fields.get(key, '')}".rstrip() for key in model.ARTICLE_KEYS)
    return f"{header}\n\n{body}\n"


def run(headline: str, content: str | None = None, lang: str | None = None, date: str | None = None,
        topics: str = "", officials: str = "", slug: str | None = None, category: str | None = None,
        out=None, err=None) -> int:
    """The `invoke new` command: prints the new file's path; returns 1 (writing nothing) on any problem."""
    out = out or sys.stdout
    err = err or sys.stderr
    settings = site_settings().model
    errors: list[str] = []
    headline = " ".join((headline or "").split())
    if not headline:
        print('error: give the headline in quotes, e.g. invoke new "Lanhai opens metro line 4"', file=err)
        return 2
    try:
        root = content_root(content)
        when = parse_cli_date(date) if date else now_in_site_timezone().strftime("%Y-%m-%d %H:%M")
    except ToolError as exc:
        print(exc, file=err)
        return 2
    lang = lang or ("zh" if model.has_cjk(headline) and "zh" in settings.languages else settings.default_lang)
    if lang not in settings.languages:
        errors.append(f"error: --lang {lang} is not supported; use one of {', '.join(settings.languages)}")
    category = category or settings.default_section
    if category not in settings.sections:
        hint = model.closest(category, settings.sections, 1)
        errors.append(f"error: --category {category} is not a section; "
                      + (f"did you mean {hint[0]}?" if hint else f"use one of {', '.join(settings.sections)}"))
    registries = model.load_registries(root)
    topic_names, topic_errors = resolve_option("topics", topics, registries.topics, lang)
    official_names, official_errors = resolve_option("officials", officials, registries.officials, lang)
    errors += topic_errors + official_errors
    if slug is not None and not SLUG_SHAPE.fullmatch(slug):
        errors.append(f"error: --slug {slug} must be lowercase letters, digits and hyphens, e.g. lanhai-metro-line-4")
    slug = slug or slugify(headline, lang)
    if not slug:
        errors.append("error: no web address can be made from this headline; give one with --slug, "
                      "e.g. --slug metro-line-4")
    if errors:
        for line in errors:
            print(line, file=err)
        print("Nothing was written.", file=err)
        return 1
    path = article_file(root, when, slug, lang)
    if path.exists():
        print(f"error: {shown_path(path, root)} already exists; nothing was written. Choose another --slug", file=err)
        return 1
    if (lang, slug) in Existing.scan(root).slugs:
        print(f"error: another {lang} article already has the slug `{slug}`; nothing was written. Choose another "
              "--slug", file=err)
        return 1
    fields = {
        "title": headline,
        "date": when,
        "slug": slug,
        "lang": lang,
        "category": category,
        "topics": ", ".join(topic_names),
        "officials": ", ".join(official_names),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:  # "x": never replace a file written meanwhile
        handle.write(render(fields, f"{hints(registries, lang)}\n\n{NEW_PLACEHOLDER}"))
    print(path, file=out)
    missing = [key_label(key) for key in model.REQUIRED_ARTICLE_KEYS if not fields.get(key)]
    todo = f"fill in {', '.join(missing)}, " if missing else ""
    print(f"Next: {todo}write the article in place of the placeholder, then run `invoke check`.", file=err)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="new", description=__doc__.splitlines()[0])
    parser.add_argument("headline")
    for option in ("content", "lang", "date", "topics", "officials", "slug", "category"):
        parser.add_argument(f"--{option}")
    args = parser.parse_args(argv)
    return run(args.headline, args.content, args.lang, args.date, args.topics or "", args.officials or "",
               args.slug, args.category)


if __name__ == "__main__":
    sys.exit(main())
