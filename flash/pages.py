"""The page plan: every output page as (URL, template, the model objects it presents)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flash import urls
from flash.archive import Archive, Neighbours
from flash.model import Article, Issue


@dataclass(frozen=True)
class Pagination:
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

    @cached_property
    def path(self) -> str:
        return urls.output_path(self.url)

    @cached_property
    def sitemap_entry(self) -> str:
        """What layouts/sitemap.xml shows of the page: its URL and its issue's date."""
        issue = self.context.get("issue")
        return f"{self.url} {issue.date.isoformat() if issue else '-'}"


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


def plan(archive: Archive, *, per_page: int = 20, previous: dict[str, Page] | None = None,
         printed: dict[int, Any] | None = None) -> list[Page]:
    """Every page of the site. `previous`: the last plan's pages by URL (`flash serve`); a page
    made of the same objects is that same Page, which the build recognises by identity.
    `printed`: each issue's PDFs (flash.printing.Printed), which its page links to."""
    printed = printed or {}
    corpus = archive.corpus
    pages: list[Page] = []
    before = previous or {}

    def same(page: Page) -> Page:
        old = before.get(page.url)
        return old if old is not None and old == page else page

    latest = archive.latest
    pages.append(same(Page("/", "home.html", "home",
                           f"N°{latest.number}" if latest else "Accueil",
                           {"issue": latest, "recent": corpus.issues[1:7]})))
    pages.append(same(Page(urls.ISSUES, "issues.html", "issues", "Tous les numéros",
                           {"years": list(archive.by_year.items())},
                           description="Tous les numéros du Flash initiatives locales, "
                           "par année.")))
    for issue in corpus.issues:
        url = urls.issue_url(issue.number)
        old = before.get(url)
        pdfs = printed.get(issue.number)
        # All it shows is the issue's, and the sizes of its PDFs.
        if (old is not None and old.context.get("issue") is issue
                and old.context.get("printed") == pdfs):
            pages.append(old)
        else:
            pages.append(Page(url, "issue.html", "issue", f"N°{issue.number}",
                              {"issue": issue, "printed": pdfs},
                              description=f"Le Flash initiatives locales N°{issue.number} : "
                              + ", ".join(a.title for a in issue.articles[:4])))
        for article in issue.articles:
            url = urls.article_url(issue.number, article.slug)
            around = archive.around(article)
            more = archive.more_from(article)
            old = before.get(url)
            if old is not None and _shows(old, article, issue, around, more):
                pages.append(old)
                continue
            pages.append(Page(
                url, "article.html", "article", article.title,
                {"article": article, "issue": issue, "previous": around.previous,
                 "next": around.next, "more": more},
                description=_summary(article)))
    pages.append(same(Page(urls.ORGANISATIONS, "organisations.html", "organisations",
                           "Organisations", {"organisations": archive.organisations()},
                           description="Les initiatives classées par organisation.")))
    for organisation, _ in archive.organisations():
        listed = archive.by_organisation[organisation.slug]
        for chunk, pagination in _paginate(
                listed, per_page, lambda n, s=organisation.slug: urls.organisation_url(s, n)):
            pages.append(same(Page(
                urls.organisation_url(organisation.slug, pagination.page), "organisation.html",
                "organisation", organisation.name,
                {"organisation": organisation, "articles": chunk, "pagination": pagination,
                 "total": len(listed)},
                description=f"Les initiatives de {organisation.name} dans le Flash.",
                feed=urls.organisation_feed(organisation.slug))))
    pages.append(same(Page(urls.THEMES, "themes.html", "themes", "Thèmes",
                           {"themes": archive.themes()},
                           description="Les initiatives classées par thème.")))
    for theme, _ in archive.themes():
        listed = archive.by_theme[theme.slug]
        for chunk, pagination in _paginate(
                listed, per_page, lambda n, s=theme.slug: urls.theme_url(s, n)):
            pages.append(same(Page(
                urls.theme_url(theme.slug, pagination.page), "theme.html", "theme", theme.label,
                {"theme": theme, "articles": chunk, "pagination": pagination,
                 "total": len(listed)},
                description=theme.description or f"Les initiatives du thème {theme.label}.",
                feed=urls.theme_feed(theme.slug))))
    pages.append(same(Page(urls.SUBSCRIBE, "subscribe.html", "subscribe",
                           "Recevoir le Flash par e-mail", {},
                           description="S’abonner au Flash initiatives locales : un message "
                           "par mois, sans suivi de lecture.")))
    pages.append(same(Page("/404.html", "404.html", "404", "Page introuvable", {},
                           in_sitemap=False)))
    return pages


def _shows(page: Page, article: Article, issue: Issue, around: Neighbours,
           more: tuple[Article, ...]) -> bool:
    """Whether an article page of the last plan is made of these same objects (its title and
    description come from the article)."""
    context = page.context
    return (context.get("article") is article and context["issue"] is issue
            and context["previous"] is around.previous and context["next"] is around.next
            and len(context["more"]) == len(more)
            and all(a is b for a, b in zip(context["more"], more, strict=True)))


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
