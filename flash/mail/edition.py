"""The e-mail edition written into the site: each issue's message (HTML, text, .eml) and the
unsubscribe page."""

from __future__ import annotations

from jinja2 import Environment

from flash import urls
from flash.mail.compose import compose, published, unsubscribe_mailto
from flash.mail.unsubscribe import PAGE
from flash.model import Issue, SiteView
from flash.output import Staging
from flash.pages import Page
from flash.printing import Printed
from flash.render import render_page
from flash.settings import Settings


def write_issue_email(issue: Issue, env: Environment, settings: Settings, staging: Staging,
                      printed: Printed | None = None) -> int:
    """numeros/<n>/email.html, email.txt and email.eml, with the generic unsubscribe link;
    `printed`: the issue's PDFs, which the message links to."""
    composed = compose(env, issue, settings, printed)
    generic = settings.absolute(PAGE)
    staging.write_text(urls.output_path(urls.email_url(issue.number, "html")),
                       composed.html_for(generic))
    staging.write_text(urls.output_path(urls.email_url(issue.number, "txt")),
                       composed.text_for(generic))
    staging.write_bytes(urls.output_path(urls.email_url(issue.number, "eml")),
                        published(composed))
    return 3


def unsubscribe_page(settings: Settings) -> Page:
    """/desabonnement/: how to unsubscribe, linked from every published email."""
    return Page(PAGE, "email/unsubscribe.html", "unsubscribe", "Se désabonner",
                {"mailto": unsubscribe_mailto(settings), "subject": "Désabonnement"},
                description=f"Comment ne plus recevoir le {settings.title} par e-mail.",
                in_sitemap=False)


def write_unsubscribe_page(env: Environment, site: SiteView, settings: Settings,
                           staging: Staging) -> None:
    page = unsubscribe_page(settings)
    staging.write_text(page.path, render_page(env, page, site))
