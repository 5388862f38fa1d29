"""Fingerprints: one digest per model object and per page, from everything a template can
see, which key every output."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import fields, is_dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from flash.model import Article, Image, Issue, Link, Organisation, Theme

MODEL = frozenset((Article, Issue, Organisation, Theme, Image, Link))
# An article's text and what is computed from it (its reading time): see Fingerprints.bodies
TEXT_FIELDS = ("body_html", "excerpt", "words")


@lru_cache(maxsize=256)
def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, None for any other type."""
    if not is_dataclass(kind):
        return None
    return tuple(f.name for f in fields(kind))


_ARTICLE_APART = frozenset(("issue", *TEXT_FIELDS))  # fields an article's digest treats apart


class Fingerprints:
    """Digests of values as templates see them, memoised per model object for one build.

    An article's digest covers its issue's own fields but not the issue's other articles (an
    issue's digest covers its articles): what a page shows through `article.issue` is covered,
    without a cycle.
    """

    def __init__(self, salt: str, *, bodies: bool = True,
                 texts: dict[int, tuple[str, bytes]] | None = None,
                 articles: dict[int, tuple[Any, bytes, bytes]] | None = None,
                 heads: dict[int, tuple[Any, bytes]] | None = None,
                 issues: dict[int, tuple[Any, bytes]] | None = None):
        self.salt = salt.encode()
        # article digests by article identity, with the digest of the issue they were computed
        # with: `flash serve` reuses unchanged articles from one build to the next
        self.articles = articles if articles is not None else {}
        # digests of article texts, by the identity of the text: kept between builds by
        # `flash serve`, where an unchanged file keeps the same parsed objects
        self.texts = texts if texts is not None else {}
        # False: an article's digest leaves out its text, which callers add where it is shown
        self.bodies = bodies
        self._memo: dict[int, tuple[Any, bytes]] = {}
        # digests of issues' own fields, by issue identity (issues are frozen): kept between
        # builds by `flash serve` too, where unchanged issues stay the same objects
        self._heads = heads if heads is not None else {}
        # whole issues' digests, by identity: an issue kept by `flash serve` has the same
        # articles, which point back to it, so the same digest (every e-mail's key needs one)
        self.issues = issues if issues is not None else {}

    # What is hashed is gathered in a list of bytes and hashed once: one join costs less than
    # an update of the hasher for each of the few dozen small pieces of a page.

    def key(self, *values: Any) -> str:
        out = [self.salt]
        for value in values:
            self._feed(out, value)
        return "p" + hashlib.blake2b(b"".join(out), digest_size=16).hexdigest()

    def text(self, article: Article) -> bytes:
        """Digest of what an article's text shows (see TEXT_FIELDS)."""
        memo = self.texts.get(id(article.body_html))
        if memo is not None and memo[0] is article.body_html:
            return memo[1]
        out = [b"text"]
        for name in TEXT_FIELDS:
            self._feed(out, getattr(article, name))
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self.texts[id(article.body_html)] = (article.body_html, digest)
        return digest

    def _feed(self, out: list[bytes], value: Any) -> None:
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogatepass")
            out.append(b"s%d:" % len(data))
            out.append(data)
        elif kind in MODEL:
            out.append(self._model(value))
        elif kind is tuple or kind is list:
            out.append(b"(%d" % len(value))
            feed = self._feed
            for item in value:
                feed(out, item)
            out.append(b")")
        elif value is None or kind is int or kind is bool or kind is float:
            out.append(b"v%r;" % (value,))
        elif kind is dict:
            out.append(b"{%d" % len(value))
            feed = self._feed
            for name, item in value.items():
                feed(out, name)
                feed(out, item)
        elif (names := _field_names(kind)) is not None:
            out.append(b"D" + kind.__qualname__.encode())
            feed = self._feed
            for name in names:
                feed(out, getattr(value, name))
        elif isinstance(value, (dt.date, PurePath)):
            out.append(b"r" + repr(value).encode())
        elif isinstance(value, (set, frozenset)):
            self._feed(out, sorted(value, key=repr))
        else:
            out.append(b"o" + repr(value).encode())

    def _model(self, obj: Any) -> bytes:
        memo = self._memo.get(id(obj))
        if memo is not None:
            return memo[1]
        kind = type(obj)
        names = _field_names(kind) or ()
        if kind is Article:
            head = self._issue_head(getattr(obj, "issue", None))
            kept = self.articles.get(id(obj))
            if kept is not None and kept[0] is obj and kept[1] == head:
                self._memo[id(obj)] = (obj, kept[2])
                return kept[2]
        elif kind is Issue:
            known = self.issues.get(id(obj))
            if known is not None and known[0] is obj:
                self._memo[id(obj)] = known
                return known[1]
        out = [kind.__name__.encode()]
        feed = self._feed
        for name in names:
            value = getattr(obj, name, None)
            if kind is Article and name in _ARTICLE_APART:
                if name == "issue":
                    out.append(self._issue_head(value))
                elif self.bodies:
                    feed(out, value)
            else:
                feed(out, value)
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self._memo[id(obj)] = (obj, digest)  # holding obj keeps its id from being reused
        if kind is Article:
            self.articles[id(obj)] = (obj, head, digest)
        elif kind is Issue:
            self.issues[id(obj)] = (obj, digest)
        return digest

    def _issue_head(self, issue: Issue | None) -> bytes:
        if issue is None:
            return b"-"
        memo = self._heads.get(id(issue))
        if memo is not None:
            return memo[1]
        out = [b"issue-head"]
        for name in _field_names(Issue) or ():
            if name != "articles":
                self._feed(out, getattr(issue, name))
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self._heads[id(issue)] = (issue, digest)
        return digest
