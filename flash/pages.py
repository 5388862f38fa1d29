"""The page plan: every output page as (URL, template, the model objects it presents)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flash import urls
from flash.archive import Archive
from flash.model import Article
from flash.value_digest import Value, signature


@dataclass(frozen=True)
class Pagination(Value):
    page: int
    pages: int
    previous_url: str | None
    next_url: str | None
    page_urls: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    url: str
    template: str
    kind: str
    title: str
    context: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    feed: str | None = None  # this page's own Atom feed, when it has one
    in_sitemap: bool = True

    @property
    def path(self) -> str:
        return urls.output_path(self.url)

    @property
    def sitemap_entry(self) -> str:
        """What layouts/sitemap.xml shows of the page: its URL and its issue's date."""
        issue = self.context.get("issue")
        return f"{self.url} {issue.date.isoformat() if issue else '-'}"

    def signature(self) -> list:
        """What the page shows, as it compares by value (see value_digest.signature)."""
        shows = signature(self.context)
        shows += (self.template, self.kind, self.title, self.description, self.feed,
                  self.in_sitemap)
        return shows


def _paginate(articles: tuple[Article, ...], per_page: int, url_of) -> Iterator[
        tuple[tuple[Article, ...], Pagination]]:
    pages = max(1, math.ceil(len(articles) / per_page))
    page_urls = tuple(url_of(n) for n in range(1, pages + 1))
    for number in range(1, pages + 1):
        chunk = articles[(number - 1) * per_page : number * per_page]
        yield chunk, Pagination(
            page=number, pages=pages,
            previous_url=page_urls[number - 2] if number > 1 else None,
            next_url=page_urls[number] if number < pages else None,
            page_urls=page_urls,
        )


def _summary(article: Article) -> str:
    if article.summary:
        return article.summary
    text = article.excerpt.replace("\n", " ")
    return text if len(text) <= 200 else text[:197].rsplit(" ", 1)[0] + "…"


def plan(archive: Archive, *, per_page: int = 20, printed: dict[int, Any] | None = None
         ) -> list[Page]:
    """Every page of the site. `printed`: each issue's PDFs (flash.printing.Printed), which
    its page links to."""
    printed = printed or {}
    corpus = archive.corpus
    pages: list[Page] = []
    latest = archive.latest
    pages.append(Page("/", "home.html", "home", f"N°{latest.number}" if latest else "Accueil",
                      {"issue": latest, "recent": corpus.issues[1:7]}))
    pages.append(Page(urls.ISSUES, "issues.html", "issues", "Tous les numéros",
                      {"years": list(archive.by_year.items())},
                      description="Tous les numéros du Flash initiatives locales, par année."))
    for issue in corpus.issues:
        pages.append(Page(urls.issue_url(issue.number), "issue.html", "issue",
                          f"N°{issue.number}",
                          {"issue": issue, "printed": printed.get(issue.number)},
                          description=f"Le Flash initiatives locales N°{issue.number} : "
                          + ", ".join(a.title for a in issue.articles[:4])))
        for article in issue.articles:
            around = archive.around(article)
            pages.append(Page(
                urls.article_url(issue.number, article.slug), "article.html", "article",
                article.title,
                {"article": article, "issue": issue, "previous": around.previous,
                 "next": around.next, "more": archive.more_from(article)},
                description=_summary(article)))
    pages.append(Page(urls.ORGANISATIONS, "organisations.html", "organisations",
                      "Organisations", {"organisations": archive.organisations()},
                      description="Les initiatives classées par organisation."))
    for organisation, _ in archive.organisations():
        listed = archive.by_organisation[organisation.slug]
        for chunk, pagination in _paginate(
                listed, per_page, lambda n, s=organisation.slug: urls.organisation_url(s, n)):
            pages.append(Page(
                urls.organisation_url(organisation.slug, pagination.page), "organisation.html",
                "organisation", organisation.name,
                {"organisation": organisation, "articles": chunk, "pagination": pagination,
                 "total": len(listed)},
                description=f"Les initiatives de {organisation.name} dans le Flash.",
                feed=urls.organisation_feed(organisation.slug)))
    pages.append(Page(urls.THEMES, "themes.html", "themes", "Thèmes",
                      {"themes": archive.themes()},
                      description="Les initiatives classées par thème."))
    for theme, _ in archive.themes():
        listed = archive.by_theme[theme.slug]
        for chunk, pagination in _paginate(
                listed, per_page, lambda n, s=theme.slug: urls.theme_url(s, n)):
            pages.append(Page(
                urls.theme_url(theme.slug, pagination.page), "theme.html", "theme", theme.label,
                {"theme": theme, "articles": chunk, "pagination": pagination,
                 "total": len(listed)},
                description=theme.description or f"Les initiatives du thème {theme.label}.",
                feed=urls.theme_feed(theme.slug)))
    pages.append(Page(urls.SUBSCRIBE, "subscribe.html", "subscribe",
                      "Recevoir le Flash par e-mail", {},
                      description="S’abonner au Flash initiatives locales : un message "
                      "par mois, sans suivi de lecture."))
    pages.append(Page("/404.html", "404.html", "404", "Page introuvable", {}, in_sitemap=False))
    return pages


@dataclass(frozen=True)
class Feed:
    url: str
    title: str
    page_url: str
    articles: tuple[Article, ...]


FEED_LENGTH = 30


def feeds(archive: Archive, site_title: str) -> list[Feed]:
    result = [Feed(urls.FEED, site_title, "/", archive.articles[:FEED_LENGTH])]
    for organisation, _ in archive.organisations():
        result.append(Feed(urls.organisation_feed(organisation.slug),
                           f"{site_title} — {organisation.name}",
                           urls.organisation_url(organisation.slug),
                           archive.by_organisation[organisation.slug][:FEED_LENGTH]))
    for theme, _ in archive.themes():
        result.append(Feed(urls.theme_feed(theme.slug), f"{site_title} — {theme.label}",
                           urls.theme_url(theme.slug),
                           archive.by_theme[theme.slug][:FEED_LENGTH]))
    return result
