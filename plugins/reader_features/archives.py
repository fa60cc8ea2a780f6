"""Date archives: stories grouped by year and month, newest first, in one language."""

from __future__ import annotations

from dataclasses import dataclass, field

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@dataclass
class ArchiveMonth:
    year: int
    month: int
    items: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.year:04d}/{self.month:02d}/"

    @property
    def anchor(self) -> str:
        return f"m-{self.year:04d}-{self.month:02d}"

    def label(self, lang: str) -> str:
        if lang.startswith("zh"):
            return f"{self.year}年{self.month}月"
        return f"{MONTHS_EN[self.month - 1]} {self.year}"

    def month_label(self, lang: str) -> str:
        return f"{self.month}月" if lang.startswith("zh") else MONTHS_EN[self.month - 1]


@dataclass
class ArchiveYear:
    year: int
    months: list[ArchiveMonth] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.year:04d}/"

    @property
    def anchor(self) -> str:
        return f"y-{self.year:04d}"

    @property
    def count(self) -> int:
        return sum(len(m.items) for m in self.months)

    def label(self, lang: str) -> str:
        return f"{self.year}年" if lang.startswith("zh") else str(self.year)


def build_archive(stories, lang: str) -> list[ArchiveYear]:
    """Each story once, in ``lang`` where a version exists; filed under the original's date, so the periods
    are the same in every language and the language switcher always finds the matching page."""
    years: dict[int, ArchiveYear] = {}
    months: dict[tuple[int, int], ArchiveMonth] = {}
    ordered = sorted(stories, key=lambda s: (-s.original.date.timestamp(), s.original.slug, s.original.lang))
    for story in ordered:
        date = story.original.date
        year = years.get(date.year)
        if year is None:
            year = years[date.year] = ArchiveYear(date.year)
        month = months.get((date.year, date.month))
        if month is None:
            month = months[(date.year, date.month)] = ArchiveMonth(date.year, date.month)
            year.months.append(month)
        month.items.append(story.version(lang))
    return [years[y] for y in sorted(years, reverse=True)]
