"""Date archives: stories grouped by year and month, newest first, in one language.

The archive's front page (``archives/``) is an index of the periods with their counts (``archive_index``), not
the stories: a page listing every story grew with the archive (2.4 MB of HTML at 10,000 articles, and a portal
keeps decades of them), and it had to be made again whenever any story's headline or date changed."""

from __future__ import annotations

from dataclasses import dataclass, field

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


class Month:
    """What a month of the archive is called and where its page is (``year`` and ``month`` are the subclass's)."""

    year: int
    month: int

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
class MonthCount(Month):
    """A month of the archive by its number of stories alone: an entry of the archive's index."""

    year: int
    month: int
    count: int


@dataclass
class ArchiveMonth(Month):
    """A month of the archive with its stories (its own page, and its year's)."""

    year: int
    month: int
    items: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)


@dataclass
class MonthPreview(Month):
    """A month as its year's page shows it: its newest stories (``items``) and how many it has in all (``count``)."""

    year: int
    month: int
    items: list
    count: int

    @property
    def more(self) -> bool:
        """Whether the month has stories its year's page does not show."""
        return self.count > len(self.items)


@dataclass
class ArchiveYear:
    year: int
    months: list[Month] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.year:04d}/"

    @property
    def anchor(self) -> str:
        return f"y-{self.year:04d}"

    @property
    def count(self) -> int:
        return sum(m.count for m in self.months)

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


def year_preview(year: ArchiveYear, stories_per_month: int) -> ArchiveYear:
    """``year`` as its page shows it: each month with its ``stories_per_month`` newest stories and its count.

    A year page listing every story grew with the year (240 KB of HTML for 700 stories) and was made again whenever
    any of them changed its headline; the month's own page lists them all."""
    return ArchiveYear(year.year, [MonthPreview(m.year, m.month, m.items[:stories_per_month], m.count)
                                   for m in year.months])


def archive_index(years: list[ArchiveYear]) -> list[ArchiveYear]:
    """The years and months of ``years`` with their counts and without their stories: what ``archives/`` shows, and
    so all its page is made from (its ``incremental`` key): an edit of a story's face leaves it as it is."""
    return [ArchiveYear(year.year, [MonthCount(m.year, m.month, m.count) for m in year.months]) for year in years]
