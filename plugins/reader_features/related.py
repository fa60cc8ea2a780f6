"""Related stories: shared officials and topics, weighted by kind, then newest; deterministic.

An inverted index (term -> stories, newest first) gives each story its candidates; each term contributes at
most ``per_term`` candidates (its most recent stories), so a term shared by thousands of stories (the mayor)
costs a bounded amount: the work is about stories x terms x per_term, not stories squared.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from operator import itemgetter

TERM_ATTRIBUTES = {"topics": "topics", "officials": "officials"}
# How far down the ranking (in multiples of the count shown) a story in the reader's language may move up.
LANGUAGE_WINDOW = 8


def story_terms(story) -> set[tuple[str, str]]:
    """(kind, slug) of every topic and official on any version of the story."""
    terms = set()
    for version in story.versions.values():
        for kind, attr in TERM_ATTRIBUTES.items():
            for term in getattr(version, attr, None) or []:
                terms.add((kind, term.slug))
    return terms


def newest_first(story) -> tuple:
    original = story.original
    return (-original.date.timestamp(), original.slug, original.lang)


def related_stories(stories, weights: dict[str, int], count: int, per_term: int) -> dict[int, dict[str, list]]:
    """Map ``id(story)`` to ``{lang: related stories}``, best first: score, then newest (then slug).

    Within equal scores, stories that have a version in the reader's language come first (looked for among
    the best ``count * LANGUAGE_WINDOW`` candidates, so the work stays bounded).

    Stories are numbered newest first, so "newest" is "lowest number" and posting lists are sorted already.
    The weighted postings are merged by ``list.sort`` and counted by ``Counter``, whose insertion order is
    then newest first, and a stable sort by score keeps that order among equal scores: all of it runs in C, which
    keeps 10,000 stories to about a second.
    """
    ordered = sorted(stories, key=newest_first)
    terms_of = [sorted(story_terms(story)) for story in ordered]
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rank, terms in enumerate(terms_of):  # ranks ascend, so each posting list is newest first
        for term in terms:
            index[term].append(rank)

    related: dict[int, dict[str, list]] = {}
    for rank, story in enumerate(ordered):
        weighted: list[int] = []
        for term in terms_of[rank]:
            weight = weights.get(term[0], 0)
            if weight > 0:
                weighted += index[term][:per_term] * weight
        weighted.sort()
        scores = Counter(weighted)
        scores.pop(rank, None)
        # score desc; the sort is stable, so equal scores stay in insertion order: newest first
        best = sorted(scores.items(), key=itemgetter(1), reverse=True)[: count * LANGUAGE_WINDOW]
        related[id(story)] = {
            lang: [ordered[other] for other, _score in
                   sorted(best, key=lambda item: (-item[1], lang not in ordered[item[0]].versions))[:count]]
            for lang in story.versions
        }
    return related
