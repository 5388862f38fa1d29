"""Indexes over the corpus, built once: by organisation, theme and year; neighbours in an issue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import islice

from flash.model import Article, Corpus, Issue, Organisation, Theme


@dataclass(frozen=True)
class Neighbours:
    previous: Article | None
    next: Article | None


@dataclass(frozen=True)
class Archive:
    corpus: Corpus
    articles: tuple[Article, ...]  # newest issue first, then issue order
    by_organisation: dict[str, tuple[Article, ...]]
    by_theme: dict[str, tuple[Article, ...]]
    by_year: dict[int, tuple[Issue, ...]]  # newest year first
    neighbours: dict[tuple[int, str], Neighbours]  # (issue number, slug) -> its neighbours

    @property
    def latest(self) -> Issue | None:
        return self.corpus.issues[0] if self.corpus.issues else None

    def organisations(self) -> list[tuple[Organisation, int]]:
        """Organisations that published at least once, with their article count."""
        return [(o, len(self.by_organisation[o.slug])) for o in self.corpus.organisations
                if o.slug in self.by_organisation]

    def themes(self) -> list[tuple[Theme, int]]:
        """Themes used at least once, with their article count."""
        return [(t, len(self.by_theme[t.slug])) for t in self.corpus.themes
                if t.slug in self.by_theme]

    def around(self, article: Article) -> Neighbours:
        return self.neighbours[(article.issue.number, article.slug)]

    def more_from(self, article: Article, limit: int = 3) -> tuple[Article, ...]:
        same = self.by_organisation.get(article.organisation.slug, ())
        # Only the first few are needed: stop there, not after the organisation's whole archive.
        return tuple(islice((a for a in same if a is not article), limit))  # one corpus


def build_archive(corpus: Corpus) -> Archive:
    articles = corpus.articles  # issues are newest first, articles in issue order
    by_organisation: dict[str, list[Article]] = defaultdict(list)
    by_theme: dict[str, list[Article]] = defaultdict(list)
    by_year: dict[int, list[Issue]] = defaultdict(list)
    neighbours: dict[tuple[int, str], Neighbours] = {}
    for issue in corpus.issues:
        by_year[issue.year].append(issue)
        items = issue.articles
        for index, article in enumerate(items):
            neighbours[(issue.number, article.slug)] = Neighbours(
                items[index - 1] if index > 0 else None,
                items[index + 1] if index + 1 < len(items) else None,
            )
    for article in articles:
        by_organisation[article.organisation.slug].append(article)
        for theme in article.themes:
            by_theme[theme.slug].append(article)
    return Archive(
        corpus=corpus,
        articles=articles,
        by_organisation={k: tuple(v) for k, v in by_organisation.items()},
        by_theme={k: tuple(v) for k, v in by_theme.items()},
        by_year={y: tuple(v) for y, v in sorted(by_year.items(), reverse=True)},
        neighbours=neighbours,
    )
