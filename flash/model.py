"""The content model: immutable plain objects built once, then handed to every renderer.

Nothing here reads files or knows about HTML templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from flash.value_digest import Value, digest_of

if TYPE_CHECKING:
    from flash.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)
class Image(Value):
    source: Path  # absolute path of the original file
    key: str  # path relative to the content root, posix: stable identity for outputs
    alt: str
    credit: str | None = None
    width: int = 0  # as displayed, after EXIF orientation
    height: int = 0
    digest: str = ""  # sha256 of the file: names its derivatives (flash.images)
    transparent: bool = False  # has see-through pixels: PNG rather than JPEG fallbacks


@dataclass(frozen=True, slots=True)
class Link(Value):
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Organisation(Value):
    slug: str
    name: str
    url: str | None
    colour: str  # brand colour, "#rrggbb"
    on_colour: str  # text colour readable on the brand colour (WCAG AA)
    ink: str  # brand colour darkened until readable as text on white (WCAG AA)
    logo: Image | None = None


@dataclass(frozen=True, slots=True)
class Theme(Value):
    slug: str
    label: str
    description: str | None = None


@dataclass(frozen=True)
class IssueHead:
    """An issue's own fields (its issue.yaml), which each of its articles holds."""

    number: int
    date: dt.date  # first day of the issue's month
    title: str
    intro_html: str
    preheader: str | None
    cover: Image | None
    folder: Path

    @cached_property
    def fingerprint(self) -> bytes:
        return digest_of(b"IssueHead", *(getattr(self, name) for name in _HEAD_FIELDS))

    text_fingerprint = b""  # no article text of its own


_HEAD_FIELDS = ("number", "date", "title", "intro_html", "preheader", "cover", "folder")
# An article's text and what is computed from it (its reading time): see Article.text_fingerprint
TEXT_FIELDS = ("body_html", "excerpt", "words")


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
    issue: IssueHead
    images: tuple[Image, ...] = ()  # images the body shows
    # sample texts of `flash new` left in: warnings to build, errors to send (as errors here)
    placeholders: tuple[Diagnostic, ...] = ()

    @property
    def date(self) -> dt.date:
        return self.issue.date

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.words / 200))

    @cached_property
    def fingerprint(self) -> bytes:
        """Digest of what the article shows but its text (see text_fingerprint), its issue's own
        fields included: what cards, lists and neighbours show of it."""
        return digest_of(b"Article", *(getattr(self, name) for name in _ARTICLE_FIELDS))

    @cached_property
    def text_fingerprint(self) -> bytes:
        return digest_of(b"text", *(getattr(self, name) for name in TEXT_FIELDS))


_ARTICLE_FIELDS = ("slug", "title", "organisation", "themes", "location", "summary", "image",
                   "links", "order", "draft", "source", "issue", "images", "placeholders")


@dataclass(frozen=True, eq=False)
class Issue:
    head: IssueHead
    articles: tuple[Article, ...] = ()
    placeholders: tuple[Diagnostic, ...] = ()  # those of issue.yaml (see Article.placeholders)

    number = property(lambda self: self.head.number)
    date = property(lambda self: self.head.date)
    title = property(lambda self: self.head.title)
    intro_html = property(lambda self: self.head.intro_html)
    preheader = property(lambda self: self.head.preheader)
    cover = property(lambda self: self.head.cover)
    folder = property(lambda self: self.head.folder)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def placeholders_left(self) -> tuple[Diagnostic, ...]:
        """Sample texts of `flash new` in the issue or its articles: `flash send` refuses them."""
        return self.placeholders + tuple(d for a in self.articles for d in a.placeholders)

    @cached_property
    def fingerprint(self) -> bytes:
        """Digest of what the issue shows but its articles' texts (see text_fingerprint)."""
        return digest_of(b"Issue", self.head.fingerprint,
                         b"".join(a.fingerprint for a in self.articles), self.placeholders)

    @cached_property
    def text_fingerprint(self) -> bytes:
        return digest_of(b"texts", b"".join(a.text_fingerprint for a in self.articles))


@dataclass(frozen=True, eq=False)
class Corpus:
    issues: tuple[Issue, ...]  # newest first
    organisations: tuple[Organisation, ...]
    themes: tuple[Theme, ...]

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for issue in self.issues for a in issue.articles)


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
