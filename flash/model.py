"""The content model: frozen plain objects built once, then handed to every renderer.

Nothing here reads files or knows about HTML templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flash.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)
class Image:
    source: Path  # absolute path of the original file
    key: str  # path relative to the content root, posix: stable identity for outputs
    alt: str
    credit: str | None = None
    width: int = 0  # as displayed, after EXIF orientation
    height: int = 0
    digest: str = ""  # sha256 of the file: names its derivatives (flash.images)
    transparent: bool = False  # has see-through pixels: PNG rather than JPEG fallbacks


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Organisation:
    slug: str
    name: str
    url: str | None
    colour: str  # brand colour, "#rrggbb"
    on_colour: str  # text colour readable on the brand colour (WCAG AA)
    ink: str  # brand colour darkened until readable as text on white (WCAG AA)
    logo: Image | None = None


@dataclass(frozen=True, slots=True)
class Theme:
    slug: str
    label: str
    description: str | None = None


@dataclass(frozen=True, eq=False)
class Article:
    slug: str
    title: str
    organisation: Organisation
    themes: tuple[Theme, ...]
    location: str | None
    summary: str | None
    image: Image | None
    links: tuple[Link, ...]
    order: int
    draft: bool
    body_html: str
    excerpt: str  # the text's first characters, plain: a summary when none is written
    words: int
    source: Path
    images: tuple[Image, ...] = ()  # images the body shows
    # sample texts of `flash new` left in: warnings to build, errors to send (as errors here)
    placeholders: tuple[Diagnostic, ...] = ()
    issue: Issue = field(init=False, repr=False)

    @property
    def date(self) -> dt.date:
        return self.issue.date

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.words / 200))


@dataclass(frozen=True, eq=False)
class Issue:
    number: int
    date: dt.date  # first day of the issue's month
    title: str
    intro_html: str
    preheader: str | None
    cover: Image | None
    folder: Path
    articles: tuple[Article, ...] = ()
    placeholders: tuple[Diagnostic, ...] = ()  # those of issue.yaml (see Article.placeholders)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def placeholders_left(self) -> tuple[Diagnostic, ...]:
        """Sample texts of `flash new` in the issue or its articles: `flash send` refuses them."""
        return self.placeholders + tuple(d for a in self.articles for d in a.placeholders)


@dataclass(frozen=True, eq=False)
class Corpus:
    issues: tuple[Issue, ...]  # newest first
    organisations: tuple[Organisation, ...]
    themes: tuple[Theme, ...]

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for issue in self.issues for a in issue.articles)


def attach(issue: Issue, articles: list[Article]) -> Issue:
    """Ties articles to their issue; done once, while the corpus is assembled."""
    for article in articles:
        object.__setattr__(article, "issue", issue)
    object.__setattr__(issue, "articles", tuple(articles))
    return issue


@dataclass(frozen=True)
class SiteView:
    """What every template may know of the site: no settings dump."""

    title: str
    description: str
    base_url: str
    publisher: str
    language: str
    assets: dict[str, str]  # logical name -> fingerprinted URL
    search: bool = False
    subscribe: str = ""  # where the sign-up form posts (the subscribers service), if any
    consent: str = ""  # the sentence a subscriber agrees to
    contact: str = ""  # the team's address, for requests by e-mail

    def absolute(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + "/" + url.lstrip("/")
