"""What a page says about itself to search engines and share previews: Open Graph, Twitter
card and JSON-LD (NewsArticle for an article, PublicationIssue in its Periodical for an issue)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flash import images, urls
from flash.model import Article, Image, Issue, SiteView

if TYPE_CHECKING:
    from flash.pages import Page

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@dataclass(frozen=True)
class Meta:
    description: str
    properties: tuple[tuple[str, str], ...]  # <meta property=…> (Open Graph)
    names: tuple[tuple[str, str], ...]  # <meta name=…> (Twitter card)
    jsonld: str | None  # already safe to place inside <script type="application/ld+json">


def _shareable(image: Image | None) -> Image | None:
    """Images whose size is known: the ones the image pipeline publishes."""
    return image if image and image.width > 0 and image.height > 0 else None


def share_copy(image: Image) -> images.Variant:
    """The 1200 px JPEG (or PNG) copy: the size share previews ask for, in a format all read."""
    return images.email_variants(image)[1]


def _issue_image(issue: Issue) -> Image | None:
    if _shareable(issue.cover):
        return issue.cover
    return next((a.image for a in issue.articles if _shareable(a.image)), None)


def page_image(page: Page) -> Image | None:
    article = page.context.get("article")
    if article is not None:
        return _shareable(article.image) or _issue_image(page.context["issue"])
    issue = page.context.get("issue")
    if issue is not None:
        return _issue_image(issue)
    organisation = page.context.get("organisation")
    if organisation is not None and _shareable(organisation.logo):
        return organisation.logo
    articles = page.context.get("articles") or ()
    return next((a.image for a in articles if _shareable(a.image)), None)


def _organisation(name: str, url: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"@type": "Organization", "name": name}
    if url:
        found["url"] = url
    return found


def _periodical(site: SiteView) -> dict[str, Any]:
    return {"@type": "Periodical", "@id": site.absolute("/#periodique"), "name": site.title,
            "url": site.absolute("/"), "inLanguage": site.language,
            "publisher": _organisation(site.publisher)}


def _publication_issue(issue: Issue, site: SiteView) -> dict[str, Any]:
    return {"@type": "PublicationIssue", "@id": site.absolute(urls.issue_url(issue.number)),
            "issueNumber": str(issue.number), "name": f"{issue.title} N°{issue.number}",
            "datePublished": issue.date.isoformat(),
            "url": site.absolute(urls.issue_url(issue.number)), "isPartOf": _periodical(site)}


def _image_object(image: Image, site: SiteView) -> dict[str, Any]:
    copy = share_copy(image)
    found: dict[str, Any] = {"@type": "ImageObject", "url": site.absolute(copy.url),
                             "width": copy.width, "height": copy.height}
    if image.alt:
        found["description"] = image.alt
    if image.credit:
        found["creditText"] = image.credit
    return found


def article_jsonld(article: Article, site: SiteView, description: str) -> dict[str, Any]:
    url = site.absolute(urls.article_url(article.issue.number, article.slug))
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "NewsArticle", "@id": url,
        "headline": article.title, "description": description, "url": url,
        "mainEntityOfPage": url, "inLanguage": site.language,
        "datePublished": article.date.isoformat(), "wordCount": article.words,
        "author": _organisation(article.organisation.name, article.organisation.url),
        "publisher": _organisation(site.publisher),
        "isPartOf": _publication_issue(article.issue, site),
    }
    if article.location:
        data["contentLocation"] = {"@type": "Place", "name": article.location}
    if article.themes:
        data["keywords"] = [t.label for t in article.themes]
    if _shareable(article.image):
        assert article.image is not None
        data["image"] = _image_object(article.image, site)
    return data


def issue_jsonld(issue: Issue, site: SiteView) -> dict[str, Any]:
    data = {"@context": "https://schema.org", **_publication_issue(issue, site)}
    image = _issue_image(issue)
    if image:
        data["image"] = _image_object(image, site)
    data["hasPart"] = [
        {"@type": "NewsArticle", "headline": a.title,
         "url": site.absolute(urls.article_url(issue.number, a.slug))}
        for a in issue.articles]
    return data


def home_jsonld(site: SiteView) -> dict[str, Any]:
    website: dict[str, Any] = {"@type": "WebSite", "@id": site.absolute("/#site"),
                               "name": site.title, "url": site.absolute("/"),
                               "inLanguage": site.language}
    if site.search:
        website["potentialAction"] = {
            "@type": "SearchAction",
            "target": {"@type": "EntryPoint",
                       "urlTemplate": site.absolute(urls.SEARCH) + "?q={search_term_string}"},
            "query-input": "required name=search_term_string"}
    return {"@context": "https://schema.org", "@graph": [website, _periodical(site)]}


def script_json(data: dict[str, Any]) -> str:
    """JSON that cannot close its <script> element nor open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def clip(text: str, limit: int = 300) -> str:
    """At most `limit` characters, cut between words: longer descriptions are truncated anyway."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def page_meta(page: Page, site: SiteView) -> Meta:
    description = clip(page.description or site.description)
    url = site.absolute(page.url)
    article: Article | None = page.context.get("article")
    issue: Issue | None = page.context.get("issue")
    jsonld: dict[str, Any] | None = None
    if page.kind == "article" and article is not None:
        og_type = "article"
        jsonld = article_jsonld(article, site, description)
    elif page.kind == "issue" and issue is not None:
        og_type = "website"
        jsonld = issue_jsonld(issue, site)
    elif page.kind == "home":
        og_type = "website"
        jsonld = home_jsonld(site)
    else:
        og_type = "website"
    title = page.title if page.kind != "home" else site.title
    properties: list[tuple[str, str]] = [
        ("og:type", og_type), ("og:site_name", site.title), ("og:title", title),
        ("og:description", description), ("og:url", url),
        ("og:locale", LOCALES.get(site.language, site.language)),
    ]
    names: list[tuple[str, str]] = [("twitter:title", title), ("twitter:description", description)]
    image = page_image(page)
    if image is not None:
        copy = share_copy(image)
        image_url = site.absolute(copy.url)
        properties += [("og:image", image_url), ("og:image:width", str(copy.width)),
                       ("og:image:height", str(copy.height))]
        if image.alt:
            properties.append(("og:image:alt", image.alt))
        names = [("twitter:card", "summary_large_image"), *names, ("twitter:image", image_url)]
        if image.alt:
            names.append(("twitter:image:alt", image.alt))
    else:
        names.insert(0, ("twitter:card", "summary"))
    if og_type == "article" and article is not None:
        properties.append(("article:published_time", article.date.isoformat()))
        properties.append(("article:section", article.organisation.name))
        properties += [("article:tag", t.label) for t in article.themes]
    return Meta(description=description, properties=tuple(properties), names=tuple(names),
                jsonld=script_json(jsonld) if jsonld else None)
