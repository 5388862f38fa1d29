"""One issue as an email: the HTML part (table layout, CSS inlined), the text part, the message.

The HTML is rendered from layouts/email/issue.html. Everything the reader needs is in style=""
attributes (css-inline copies the template's stylesheet into them), because the webmails many
subscribers use (Orange, SFR, La Poste) drop <style> blocks; only the @media rules for phones
and dark mode stay in a <style> block, as enhancements.

A composed issue is a template: the recipient's unsubscribe URL is a placeholder, filled per
recipient (`Composed.html_for`, `text_for`), so 1,000 recipients cost one rendering.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.headerregistry import Address, Group, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import quote

import css_inline
from jinja2 import Environment

import flash.mail.text as plain
from flash import urls
from flash.image_jobs import scaled_height
from flash.images import email_variants, responsive
from flash.mail.unsubscribe import generic_url
from flash.model import Article, Image, Issue, Link, Organisation
from flash.output import OutputError
from flash.printing import Printed
from flash.settings import Settings
from flash.templates import month
from flash.typography import NBSP

TEMPLATE = "email/issue.html"
# Gmail clips a message whose HTML passes 102 KB (102 × 1024 bytes, as Gmail counts them).
MAX_HTML_BYTES = 102 * 1024
WIDTH = 600  # the message's column
PADDING = 24  # each side of an article's text: body images are WIDTH - 2 × PADDING wide
CONTENT_MODES = ("auto", "full", "summary")
PLACEHOLDER = "https://flash-unsubscribe.invalid/lien-personnel"


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each header's class once: the stdlib's makes a new
    class for every header of every message, a third of the time a message takes to build
    (the site's e-mails, and `flash send` for every recipient)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# max_line_length 998 (RFC 5322's hard limit): with the default 78, the email package turns a
# long List-Unsubscribe URL into encoded words, which no client would follow.
POLICY = email.policy.SMTP.clone(max_line_length=998, header_factory=_HeaderClasses())
_TEXT_SLOT, _HTML_SLOT = "flash-text-part-slot", "flash-html-part-slot"

ENHANCEMENTS = "email/enhancements.css"
MARKER = "<!-- flash:enhancements -->"
_INLINER = css_inline.CSSInliner(minify_css=True, load_remote_stylesheets=False)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_SPACE = re.compile(r"\s*([{};:,>])\s*")
# caniemail's "HTML5 semantics" elements: Outlook for Windows (Word engine), Windows Mail and
# Yahoo do not know them and drop their styles. Each becomes the element every client knows,
# its name kept as a class ("mail-figure"…) for the stylesheet.
SEMANTIC = {"article": "div", "aside": "div", "details": "div", "figcaption": "div",
            "figure": "div", "footer": "div", "header": "div", "hgroup": "div", "main": "div",
            "nav": "div", "section": "div", "summary": "div", "mark": "span", "time": "span"}
_TAG = re.compile(r"<(/?)(picture|source|img|a|" + "|".join(SEMANTIC) + r")\b([^>]*)>",
                  re.IGNORECASE)
# A footnote's "↩" back to its call: a message has no place to go back to.
_BACKREF = re.compile(r'\s*<a\b[^>]*\bhref="#fnref[^"]*"[^>]*>.*?</a>', re.DOTALL | re.IGNORECASE)
_VIDEO_CARD = re.compile(r'<figure class="video-card">(.*?)</figure>', re.DOTALL)
_VIDEO_PARTS = re.compile(r'href="(?P<href>[^"]*)".*?class="video-card__title">(?P<title>.*?)'
                          r'</span>.*?class="video-card__service">(?P<service>.*?)</span>',
                          re.DOTALL)
_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')
_BLANK_LINES = re.compile(r"\n\s*\n+")


class EmailError(OutputError):
    """A setting makes the email impossible; the message is French, for the person sending.
    An OutputError, so `flash build` reports it like any other reason to stop."""


@dataclass(frozen=True)
class EmailImage:
    src: str
    srcset: str | None
    width: int
    height: int | None
    alt: str
    css_class: str


@dataclass(frozen=True)
class EmailArticle:
    title: str
    url: str
    organisation: Organisation
    location: str | None
    image: EmailImage | None
    image_credit: str | None  # shown under the image, as on the site
    full: bool
    body_html: str
    summary: str
    links: tuple[Link, ...]  # URLs made absolute
    source: Article


@dataclass(frozen=True)
class EmailView:
    """Everything layouts/email/issue.html may use."""

    subject: str
    title: str
    publisher: str
    number: int
    month: str
    preheader: str
    preheader_filler: str
    online_url: str
    archive_url: str
    intro_html: str
    cover: EmailImage | None
    cover_credit: str | None
    articles: tuple[EmailArticle, ...]
    unsubscribe_url: str
    printed: Printed | None = None  # the issue's PDFs, absolute URLs


@dataclass(frozen=True)
class Composed:
    """An issue ready to mail: both bodies with the unsubscribe placeholder, and its headers."""

    issue: Issue
    subject: str
    mode: str  # "full" or "summary": what was chosen to stay under MAX_HTML_BYTES
    html: str
    text: str
    settings: Settings

    @property
    def html_bytes(self) -> int:
        return len(self.html_for(generic_url(self.settings)).encode("utf-8"))

    def html_for(self, unsubscribe_url: str) -> str:
        return self.html.replace(PLACEHOLDER, htmllib.escape(unsubscribe_url))

    def text_for(self, unsubscribe_url: str) -> str:
        return self.text.replace(PLACEHOLDER, unsubscribe_url)


# --- subject, addresses ----------------------------------------------------------------------

def subject(issue: Issue, settings: Settings) -> str:
    try:
        return settings.subject.format(title=settings.title, number=issue.number,
                                       month=month(issue.date), issue_title=issue.title)
    except (KeyError, IndexError, ValueError) as exc:
        raise EmailError(f"[tool.flash] subject « {settings.subject} » : modèle invalide "
                         f"({exc}) ; les champs possibles sont {{title}}, {{number}}, "
                         "{month} et {issue_title}") from None


def mailbox(value: str, what: str) -> Address:
    name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise EmailError(f"[tool.flash] {what} « {value} » : adresse e-mail invalide "
                         "(exemple : \"Flash initiatives locales <flash@alfi-asso.org>\")")
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def unsubscribe_mailto(settings: Settings) -> str:
    """Where mailto: unsubscribe requests go: the setting, else Reply-To, else From."""
    if settings.unsubscribe_mailto:
        return settings.unsubscribe_mailto.removeprefix("mailto:")
    return mailbox(settings.reply_to or settings.email_from, "reply_to").addr_spec


# --- images and article bodies -----------------------------------------------------------------

def email_image(image: Image, width: int, alt: str | None = None,
                css_class: str = "image-full") -> EmailImage:
    """The 600 px copy shown at `width` CSS px at most, with the 1200 px copy for sharp screens."""
    label = image.alt if alt is None else alt
    if image.width <= 0 or image.height <= 0:
        # Unknown size (never after validation): the original, still absolute and bounded.
        return EmailImage(urls.media_url(image.key), None, width, None, label, css_class)
    small, large = email_variants(image)
    shown = min(width, small.width)
    height = scaled_height(image.width, image.height, shown)
    srcset = f"{large.url} 2x" if large.width > small.width else None
    return EmailImage(small.url, srcset, shown, height, label, css_class)


def _absolute_image(image: EmailImage, settings: Settings) -> EmailImage:
    srcset = image.srcset
    if srcset:
        url, _, density = srcset.partition(" ")
        srcset = f"{settings.absolute(url)} {density}".strip()
    return EmailImage(settings.absolute(image.src), srcset, image.width, image.height,
                      image.alt, image.css_class)


@lru_cache(maxsize=4096)
def _image_urls(image: Image) -> tuple[str, ...]:
    """Every URL under which a body image may appear in an article's HTML."""
    found = [urls.media_url(image.key)]
    if image.width > 0 and image.height > 0:
        r = responsive(image)
        found += [v.url for v in (*r.webp, *r.fallback)]
        found += [v.url for v in email_variants(image)]
    return tuple(found)


def _attributes(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): htmllib.unescape(m.group(2) or "") for m in _ATTR.finditer(raw)}


def _tag(name: str, attributes: dict[str, str | int | None]) -> str:
    parts = [name] + [f'{key}="{htmllib.escape(str(value))}"' for key, value in attributes.items()
                      if value is not None]
    return "<" + " ".join(parts) + ">"


def email_body(article: Article, settings: Settings) -> str:
    """The article's sanitised HTML, made safe for mail clients (see `mail_safe`)."""
    page = settings.absolute(urls.article_url(article.issue.number, article.slug))
    return mail_safe(article.body_html, settings, page, article.images)


def mail_safe(fragment: str, settings: Settings, page: str, images: tuple[Image, ...] = ()
              ) -> str:
    """Every URL absolute, in-page anchors pointing at `page` online, <picture> reduced to one
    <img>: the email copy of a known image, else the given file with its size scaled down."""
    known = {url: image for image in images for url in _image_urls(image)}
    inner = WIDTH - 2 * PADDING

    def rewrite(match: re.Match[str]) -> str:
        closing, name, raw = match.group(1), match.group(2).lower(), match.group(3)
        if name in ("picture", "source"):
            return ""  # Outlook and most webmails know neither; the <img> inside remains
        if name in SEMANTIC:
            if closing:
                return f"</{SEMANTIC[name]}>"
            attrs = _attributes(raw)
            attrs["class"] = " ".join(filter(None, (f"mail-{name}", attrs.get("class"))))
            return _tag(SEMANTIC[name], {k: attrs[k] for k in ("class", "lang", "dir")
                                         if k in attrs})
        if closing:
            return f"</{name}>"
        attrs = _attributes(raw)
        if name == "a":
            href = attrs.get("href", "")
            attrs["href"] = page + href if href.startswith("#") else settings.absolute(href)
            attrs.pop("id", None)  # footnote back-references: meaningless in a message
            return _tag("a", attrs)
        src = attrs.get("src", "")
        image = known.get(src)
        alt = attrs.get("alt", "")
        if image is not None:
            shown = _absolute_image(email_image(image, inner, alt, "image-body"), settings)
        else:
            width, height = attrs.get("width", ""), attrs.get("height", "")
            sized = width.isdigit() and height.isdigit() and int(width) > 0
            shown_width = min(inner, int(width)) if sized else inner
            shown_height = scaled_height(int(width), int(height), shown_width) if sized else None
            shown = EmailImage(settings.absolute(src), None, shown_width, shown_height, alt,
                               "image-body")
        return _tag("img", {"class": shown.css_class, "src": shown.src, "srcset": shown.srcset,
                            "width": shown.width, "height": shown.height, "alt": shown.alt})

    fragment = _BACKREF.sub("", _VIDEO_CARD.sub(_video_card, fragment))
    return _TAG.sub(rewrite, fragment)


def _video_card(match: re.Match[str]) -> str:
    """The site's video card (a <figure> around a block link) as a one-cell table: Outlook for
    Windows draws neither a <figure> nor the padding and borders of a link, but it draws a
    cell's."""
    parts = _VIDEO_PARTS.search(match.group(1))
    if parts is None:  # not the markup flash.markdown writes: its elements are converted one by one
        return match.group(0)
    href, title, service = parts.group("href"), parts.group("title"), parts.group("service")
    return ('<table role="presentation" class="video-card" width="100%" cellpadding="0" '
            'cellspacing="0" border="0"><tr><td class="video-card__cell" bgcolor="#f7f8fa">'
            f'<p class="video-card__title"><a class="video-card__title-link" href="{href}">'
            f'{title}</a></p><p class="video-card__service"><a class="video-card__service-link" '
            f'href="{href}">&#9654;&#65038;&nbsp;{service}</a></p></td></tr></table>')


def summary_of(article: Article) -> str:
    if article.summary:
        return article.summary
    text = re.sub(r"[ \t\r\n]+", " ", article.excerpt).strip()
    return text if len(text) <= 240 else text[:237].rsplit(" ", 1)[0] + "…"


def preheader(issue: Issue) -> str:
    """issue.yaml's preheader, else the first articles' titles: what inboxes show after the
    subject."""
    if issue.preheader:
        return issue.preheader
    text = " · ".join(f"{a.organisation.name}{NBSP}: {a.title}" for a in issue.articles[:3])
    return text if len(text) <= 140 else text[:139].rsplit(" ", 1)[0] + "…"


# --- rendering ----------------------------------------------------------------------------

def _articles(issue: Issue, settings: Settings, full: bool) -> Iterator[EmailArticle]:
    for article in issue.articles:
        yield EmailArticle(
            title=article.title,
            url=settings.absolute(urls.article_url(issue.number, article.slug)),
            organisation=article.organisation,
            location=article.location,
            image=_absolute_image(email_image(article.image, WIDTH), settings)
            if article.image else None,
            image_credit=article.image.credit if article.image else None,
            full=full,
            body_html=email_body(article, settings) if full else "",
            summary=summary_of(article),
            links=tuple(Link(link.label, settings.absolute(link.url)) for link in article.links),
            source=article,
        )


def _intro(issue: Issue, settings: Settings) -> str:
    if not issue.intro_html:
        return ""
    return mail_safe(issue.intro_html, settings, settings.absolute(urls.issue_url(issue.number)))


def render_html(env: Environment, issue: Issue, settings: Settings, *, full: bool,
                printed: Printed | None = None) -> str:
    view = EmailView(
        subject=subject(issue, settings),
        title=settings.title,
        publisher=settings.publisher,
        number=issue.number,
        month=month(issue.date),
        preheader=preheader(issue),
        # Fills the preview after the preheader, so inboxes don't append the body's first words.
        preheader_filler="&#847;&zwnj;&nbsp;" * 60,
        online_url=settings.absolute(urls.issue_url(issue.number)),
        archive_url=settings.absolute(urls.ISSUES),
        intro_html=_intro(issue, settings),
        cover=_absolute_image(email_image(issue.cover, WIDTH), settings) if issue.cover else None,
        cover_credit=issue.cover.credit if issue.cover else None,
        articles=tuple(_articles(issue, settings, full)),
        unsubscribe_url=PLACEHOLDER,
        printed=printed.absolute(settings) if printed else None,
    )
    rendered = env.get_template(TEMPLATE).render(mail=view)
    inlined = _BLANK_LINES.sub("\n", _INLINER.inline(rendered))
    return inlined.replace(MARKER, f"<style>{_enhancements(env)}</style>", 1)


def _enhancements(env: Environment) -> str:
    """The @media rules (phones, dark mode), minified: every byte counts towards Gmail's 102 KB."""
    assert env.loader is not None
    css, _, _ = env.loader.get_source(env, ENHANCEMENTS)
    css = " ".join(_CSS_COMMENT.sub("", css).split())
    return _CSS_SPACE.sub(r"\1", css).replace(";}", "}")


def _modes(settings: Settings) -> tuple[bool, ...]:
    if settings.email_content not in CONTENT_MODES:
        raise EmailError(f"[tool.flash] email_content « {settings.email_content} » : choisissez "
                         "« auto » (articles complets s’ils tiennent, sinon résumés), « full » "
                         "ou « summary »")
    return {"auto": (True, False), "full": (True,), "summary": (False,)}[settings.email_content]


def compose(env: Environment, issue: Issue, settings: Settings,
            printed: Printed | None = None) -> Composed:
    """Full articles if the HTML stays under Gmail's clipping size, else summaries with a
    « Lire la suite » link (unless email_content forces one of them). `printed`: the issue's
    PDFs, which the message links to."""
    modes = _modes(settings)
    html = ""
    chosen = modes[-1]
    for full in modes:
        html = render_html(env, issue, settings, full=full, printed=printed)
        chosen = full
        if len(html.replace(PLACEHOLDER, generic_url(settings)).encode()) <= MAX_HTML_BYTES:
            break
    return Composed(issue=issue, subject=subject(issue, settings),
                    mode="full" if chosen else "summary", html=html,
                    text=render_text(issue, settings, full=chosen, printed=printed),
                    settings=settings)


# --- the text part ---------------------------------------------------------------------------

RULE = "-" * plain.WIDTH


def render_text(issue: Issue, settings: Settings, *, full: bool,
                printed: Printed | None = None) -> str:
    lines: list[str] = []
    lines += plain.heading(subject(issue, settings), "=")
    lines += ["", f"Version en ligne{NBSP}: {settings.absolute(urls.issue_url(issue.number))}"]
    if printed:
        pdfs = printed.absolute(settings)
        lines += plain.wrap(f"Version imprimable ({pdfs.edition.label}){NBSP}: "
                            f"{pdfs.edition.url}")
        lines += plain.wrap(f"Affiche à imprimer ({pdfs.poster.label}){NBSP}: {pdfs.poster.url}")
    if issue.intro_html:
        lines += [""]
        intro_links = plain.Links()
        lines += plain.html_to_lines(issue.intro_html, intro_links, settings.absolute)
        if intro_links.urls:
            lines += ["", *intro_links.lines()]
    if issue.cover and issue.cover.credit:
        lines += ["", *plain.wrap(_credit_line(issue.cover, "Couverture"))]
    if len(issue.articles) > 1:
        lines += ["", f"Dans ce numéro{NBSP}:"]
        for index, article in enumerate(issue.articles, 1):
            lines += plain.wrap(f"{article.organisation.name} – {article.title}",
                                indent=f"  {index}. ", hanging="     ")
    for article in issue.articles:
        links = plain.Links()
        head = article.organisation.name.upper()
        if article.location:
            head += f" · {article.location}"
        lines += ["", "", RULE, *plain.wrap(head), "", *plain.heading(article.title, "=")]
        if article.image and article.image.credit:
            lines += ["", *plain.wrap(_credit_line(article.image, "Image de l’article"))]
        lines += [""]
        if full:
            body, numbered = _body_lines(article.body_html, _article_absolute(article, settings))
            lines += body
            links.urls += numbered
        else:
            lines += plain.wrap(summary_of(article))
        page = settings.absolute(urls.article_url(issue.number, article.slug))
        label = "Lire l’article en ligne" if full else "Lire la suite"
        lines += ["", *plain.wrap(f"{label}{NBSP}[{links.number(page)}]")]
        if article.links:
            lines += ["", f"Pour aller plus loin{NBSP}:"]
            for link in article.links:
                number = links.number(settings.absolute(link.url))
                lines += plain.wrap(f"{link.label}{NBSP}[{number}]", indent="  – ", hanging="    ")
        lines += ["", *links.lines()]
    lines += ["", "", RULE]
    lines += plain.wrap(f"{settings.title} — le journal mensuel des initiatives locales, sociales "
                        f"et innovantes. Publié par {settings.publisher}.")
    lines += ["", f"Tous les numéros{NBSP}: {settings.absolute(urls.ISSUES)}",
              f"Se désabonner{NBSP}: {PLACEHOLDER}", ""]
    return "\n".join(line.rstrip() for line in lines)


def _credit_line(image: Image, what: str) -> str:
    """Whose the picture is, as the site credits it, though a text reader does not see it."""
    return f"({what} — {image.credit})"


@dataclass(frozen=True)
class _ArticleUrls:
    """Absolute addresses for the links of an article's text: an in-page anchor (a footnote)
    points into the article's page."""

    page: str
    settings: Settings

    def __call__(self, url: str) -> str:
        return self.page + url if url.startswith("#") else self.settings.absolute(url)


def _article_absolute(article: Article, settings: Settings) -> _ArticleUrls:
    return _ArticleUrls(settings.absolute(urls.article_url(article.issue.number, article.slug)),
                        settings)


@lru_cache(maxsize=64)
def _body_lines(body_html: str, absolute: _ArticleUrls) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An article's text as wrapped lines, and the links they number (in order). `flash serve`
    composes an issue's e-mail again at each edit of one of its articles: the others' text,
    unchanged, is not converted again (≈ 0.5 ms an article with Python's HTML parser)."""
    links = plain.Links()
    lines = plain.html_to_lines(body_html, links, absolute)
    return tuple(lines), tuple(links.urls)


# --- the message -------------------------------------------------------------------------------

def _part(subtype: str, slot: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(slot)
    return part


def _quoted_printable(body: str) -> bytes:
    """binascii's C encoder: the email package's own is ~20 times slower, which matters for
    1,000 personalised copies. CRLF in, so soft line breaks are CRLF too."""
    crlf = body.replace("\r\n", "\n").replace("\n", "\r\n")
    return binascii.b2a_qp(crlf.encode("utf-8"), istext=True)


def message(composed: Composed, *, to: Address | Group | None = None,
            unsubscribe_url: str | None = None, mailto_subject: str = "Désabonnement",
            message_id: str | None = None, date: str | None = None) -> bytes:
    """The whole message: multipart/alternative, text then HTML (clients show the last part
    they can render), with the headers bulk mail needs (RFC 2369, RFC 8058).

    The email package writes every header and the MIME structure around two short slots;
    the bodies, encoded once in quoted-printable, then take the slots' place. Quoted-printable
    never contains "=_", so the fixed boundary cannot occur in a body."""
    unsubscribe = unsubscribe_url or generic_url(composed.settings)
    skeleton = _skeleton(composed.settings, composed.subject, composed.issue.number, to,
                         unsubscribe, mailto_subject, message_id, date)
    return _filled(skeleton, composed, unsubscribe)


def _filled(skeleton: bytes, composed: Composed, unsubscribe: str) -> bytes:
    return skeleton.replace(_TEXT_SLOT.encode(), _quoted_printable(
        composed.text_for(unsubscribe)), 1).replace(_HTML_SLOT.encode(), _quoted_printable(
            composed.html_for(unsubscribe)), 1)


def _skeleton(settings: Settings, subject: str, number: int, to: Address | Group | None,
              unsubscribe: str, mailto_subject: str, message_id: str | None, date: str | None
              ) -> bytes:
    """Headers and MIME structure, with a slot for each body."""
    sender = mailbox(settings.email_from, "email_from")
    mailto = f"mailto:{unsubscribe_mailto(settings)}?subject={_quote(mailto_subject)}"
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to if to is not None else Group("Abonnés du Flash")
    if settings.reply_to:
        msg["Reply-To"] = mailbox(settings.reply_to, "reply_to")
    msg["Date"] = date or format_datetime(dt.datetime.now(dt.UTC).astimezone())
    msg["Message-ID"] = message_id or make_msgid("flash", domain=sender.domain)
    msg["MIME-Version"] = "1.0"
    msg["List-Id"] = f"{settings.title} <flash.{sender.domain}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe}>, <{mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Content-Type"] = f'multipart/alternative; boundary="=_flash-{number}_="'
    msg.set_payload([_part("plain", _TEXT_SLOT), _part("html", _HTML_SLOT)])
    return msg.as_bytes()


def _quote(text: str) -> str:
    return quote(text, safe="@")


def published(composed: Composed) -> bytes:
    """The message as the build publishes it (email.eml): no recipient, the generic unsubscribe
    page, and a Date and Message-ID derived from the issue, so two builds write the same file."""
    sender = mailbox(composed.settings.email_from, "email_from")
    issue = composed.issue
    sent = dt.datetime.combine(issue.date, dt.time(8, 0), tzinfo=dt.UTC)
    unsubscribe = generic_url(composed.settings)
    skeleton = _published_skeleton(composed.settings, composed.subject, issue.number,
                                   unsubscribe, format_datetime(sent),
                                   f"<flash-{issue.number}@{sender.domain}>")
    return _filled(skeleton, composed, unsubscribe)


@lru_cache(maxsize=1024)
def _published_skeleton(settings: Settings, subject: str, number: int, unsubscribe: str,
                        date: str, message_id: str) -> bytes:
    """The published message's headers change only with the issue's subject and number: when
    an article is edited (`flash serve`), the email package need not write them again (it
    takes a few ms per message)."""
    return _skeleton(settings, subject, number, None, unsubscribe, "Désabonnement",
                     message_id, date)
