"""Renderers: pages, Atom feeds, sitemap and robots.txt, from the page plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from flash.model import Organisation
from flash.pages import Feed, Page


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

    def absolute(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + "/" + url.lstrip("/")


def timestamp(date: dt.date) -> str:
    return f"{date.isoformat()}T08:00:00+00:00"


def render_page(env: Environment, page: Page, site: SiteView) -> str:
    template = env.get_template(page.template)
    context: dict[str, Any] = dict(page.context)
    context.update(site=site, page=page)
    return template.render(context)


def render_feed(env: Environment, feed: Feed, site: SiteView) -> str:
    updated = max((a.date for a in feed.articles), default=dt.date(2000, 1, 1))
    return env.get_template("feed.xml").render(
        feed=feed, site=site, updated=timestamp(updated), timestamp=timestamp)


def render_sitemap(env: Environment, pages: list[Page], site: SiteView) -> str:
    return env.get_template("sitemap.xml").render(
        pages=[p for p in pages if p.in_sitemap], site=site)


def render_robots(site: SiteView) -> str:
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.absolute('/sitemap.xml')}\n"


def organisation_css(organisations: tuple[Organisation, ...]) -> str:
    """Each organisation's colours as CSS classes: no inline styles, so the CSP stays strict."""
    rules = ["/* Organisations (generated from organisations.yaml) */"]
    for o in organisations:
        rules.append(f".org-{o.slug}{{--org:{o.colour};--org-on:{o.on_colour};--org-ink:{o.ink}}}")
        rules.append(f".org-text-{o.slug}{{color:{o.ink}}}")
    return "\n".join(rules) + "\n"
