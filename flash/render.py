"""Renderers: pages, Atom feeds, sitemap and robots.txt, from the page plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from flash import urls
from flash.model import Article, Corpus, Organisation
from flash.pages import Feed, Page
from flash.seo import page_meta


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


def timestamp(date: dt.date) -> str:
    return f"{date.isoformat()}T08:00:00+00:00"


class Fragments:
    """Pieces of pages that many pages repeat, rendered once per build (as Hugo's
    partialCached): an article's card shows on its organisation's and themes' pages and under
    its neighbours; its feed entry in the site's feed and in its organisation's and themes'
    (see keep_entries).
    Templates call `fragments.card(article, …)` and `fragments.entry(article)` where they would
    call the macros. `flash serve` keeps them from one build to the next (see `next_build`)."""

    def __init__(self, env: Environment, site: SiteView | None = None, *,
                 keep_entries: bool = False):
        self.env = env
        self.site = site
        # Feed entries hold whole articles: a cold build renders each where it is shown (kept,
        # they took 7 MB more at 6,000 articles, for no measurable time); `flash serve` keeps
        # them from one build to the next.
        self.keep_entries = keep_entries
        # key -> (article, its issue, markup): holding both keeps their ids from being reused
        self._pieces: dict[tuple, tuple[Article, Any, Markup]] = {}
        self._older: dict[tuple, tuple[Article, Any, Markup]] = {}

    def serves(self, env: Environment, site: SiteView) -> bool:
        return env is self.env and site == self.site

    def next_build(self) -> None:
        """Pieces the next build does not use are dropped after it: edits leave none behind."""
        self._older, self._pieces = self._pieces, {}

    def card(self, article: Article, show_issue: bool = False, heading: str = "h3") -> Markup:
        return self._piece(("card", id(article), show_issue, heading), article, lambda macros:
                           macros.card(article, show_issue=show_issue, heading=heading),
                           "partials/macros.html")

    def entry(self, article: Article) -> Markup:
        def make(macros: Any) -> Markup:
            return macros.entry(article, self.site, timestamp)

        if not self.keep_entries:
            return make(self.env.get_template("partials/feed.xml").module)
        return self._piece(("entry", id(article)), article, make, "partials/feed.xml")

    def _piece(self, key: tuple, article: Article, make: Callable[[Any], Markup],
               template: str) -> Markup:
        known = self._pieces.get(key) or self._older.get(key)
        # The same article object may have been attached to a new issue (flash serve)
        if known is None or known[0] is not article or known[1] is not article.issue:
            known = (article, article.issue, make(self.env.get_template(template).module))
        self._pieces[key] = known
        return known[2]


def render_page(env: Environment, page: Page, site: SiteView,
                fragments: Fragments | None = None) -> str:
    template = env.get_template(page.template)
    context: dict[str, Any] = dict(page.context)
    context.update(site=site, page=page, seo=page_meta(page, site),
                   fragments=fragments or Fragments(env, site))
    return template.render(context)


def render_feed(env: Environment, feed: Feed, site: SiteView,
                fragments: Fragments | None = None) -> str:
    updated = max((a.date for a in feed.articles), default=dt.date(2000, 1, 1))
    return env.get_template("feed.xml").render(
        feed=feed, site=site, updated=timestamp(updated), timestamp=timestamp,
        fragments=fragments or Fragments(env, site))


def render_sitemap(env: Environment, pages: list[Page], site: SiteView) -> str:
    return env.get_template("sitemap.xml").render(
        pages=[p for p in pages if p.in_sitemap], site=site)


def render_robots(site: SiteView) -> str:
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.absolute('/sitemap.xml')}\n"


def render_redirects(corpus: Corpus) -> str:
    """Netlify `_redirects`: the short address of each issue (/195) to its page."""
    lines = ["# Generated by Flash: /N -> the page of issue N."]
    lines += [f"/{i.number} {urls.issue_url(i.number)} 301" for i in corpus.issues]
    return "\n".join(lines) + "\n"


def organisation_css(organisations: tuple[Organisation, ...]) -> str:
    """Each organisation's colours as CSS classes: no inline styles, so the CSP stays strict."""
    rules = ["/* Organisations (generated from organisations.yaml) */"]
    for o in organisations:
        rules.append(f".org-{o.slug}{{--org:{o.colour};--org-on:{o.on_colour};--org-ink:{o.ink}}}")
        rules.append(f".org-text-{o.slug}{{color:{o.ink}}}")
    return "\n".join(rules) + "\n"
