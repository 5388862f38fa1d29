"""The printable edition: each issue as an A4 PDF and a one-page poster, made with WeasyPrint.

Layouts (`print/issue.html`, `print/poster.html` and their stylesheets) only present what this
module prepares from the content model: print copies of the images (upright, sRGB, no metadata,
at most PRINT_WIDTH pixels wide, never enlarged), article texts rewritten for paper (each link
followed by a short form of its address, footnotes at the foot of the page), QR codes (segno,
SVG) to each article and to the issue online.

A PDF is named after its key (what it shows: the issue, its articles and their texts, the
layouts, Flash's code and the settings) in `.flash-cache/print/`, and the site hard-links to it:
a build makes only the PDFs whose key is new, on every core, and a deploy that restores the
cache folder (see netlify/plugins/) makes only those of changed issues. Fonts come from the
system (fontconfig), are embedded by WeasyPrint, and nothing is downloaded while building.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flash import urls
from flash.diagnostics import ContentError, Diagnostic
from flash.image_jobs import ImageProblem
from flash.images import responsive
from flash.model import Article, Image, Issue, Organisation
from flash.output import OutputError
from flash.parallel import fork_map
from flash.paths import image_cache_dir, print_cache_dir
from flash.settings import Settings
from flash.templates import month
from flash.typography import NBSP, french
from flash.value_digest import Value

if TYPE_CHECKING:
    from jinja2 import Environment

EDITION_TEMPLATE = "print/issue.html"
POSTER_TEMPLATE = "print/poster.html"
# 300 dpi across the 17 cm of the page's text column: more would only weigh in the PDF.
PRINT_WIDTH = 2000
JPEG_QUALITY = 85
VERSION = 1  # bump when the print copies' encoding changes: they get new names
SHORT_URL = 56  # characters of a link's printed address, past which it is cut
KEEP_UNUSED = 30 * 24 * 3600  # s: PDFs no build used for this long leave the cache


# --- what the pages and e-mails show of the PDFs --------------------------------------------------

def file_size(size: int) -> str:
    """A size as French readers read it: « 90 ko », « 1,2 Mo » (SI units, as file managers
    count them), a no-break space before the unit."""
    kilo = round(size / 1000)
    if kilo < 1000:
        return f"{max(1, kilo)}{NBSP}ko"
    mega = size / 1_000_000
    text = f"{mega:.1f}" if mega < 10 else f"{round(mega)}"
    return f"{text.replace('.', ',')}{NBSP}Mo"


@dataclass(frozen=True)
class PrintFile(Value):
    url: str
    size: int  # bytes

    @property
    def label(self) -> str:
        """« PDF, 1,2 Mo »"""
        return f"PDF, {file_size(self.size)}"


@dataclass(frozen=True)
class Printed(Value):
    """An issue's two PDFs, as its page and its e-mail link to them."""

    edition: PrintFile
    poster: PrintFile

    def absolute(self, settings: Settings) -> Printed:
        return Printed(PrintFile(settings.absolute(self.edition.url), self.edition.size),
                       PrintFile(settings.absolute(self.poster.url), self.poster.size))


def built(number: int, site: Path) -> Printed | None:
    """The PDFs of issue `number` in a built site, if both are there: `flash send` links to
    them as the published e-mail does."""
    files = []
    for url in (urls.edition_url(number), urls.poster_url(number)):
        try:
            files.append(PrintFile(url, (site / urls.output_path(url)).stat().st_size))
        except OSError:
            return None
    return Printed(*files)


# --- addresses and QR codes -------------------------------------------------------------------

def short_url(url: str, limit: int = SHORT_URL) -> str:
    """The address as a reader types it: no scheme, no « www. », no final slash;
    `mesolia.fr/actualites`. Cut with « … » past `limit` characters (the article's QR code
    leads to the page online, where every link is whole)."""
    if url.startswith("mailto:"):
        return url.removeprefix("mailto:")
    parts = urlsplit(url)
    text = parts.netloc.removeprefix("www.") + parts.path.rstrip("/")
    if parts.query:
        text += "?" + parts.query
    if not parts.netloc:
        text = url
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=1024)
def qr_code(url: str) -> str:
    """An SVG QR code (data: URI) to `url`, with its quiet zone: one that prints sharp at any
    size. Level M survives a crease or a stain on a poster."""
    import segno

    return segno.make(url, error="m", micro=False).svg_data_uri(dark="#000000", border=4)


# --- the view the layouts present -------------------------------------------------------------

@dataclass(frozen=True)
class PaperImage:
    src: str  # file: URI of the print copy
    alt: str
    credit: str | None
    width: int  # px of the print copy
    height: int


@dataclass(frozen=True)
class PaperLink:
    label: str
    url: str
    short: str


@dataclass(frozen=True)
class PaperArticle:
    anchor: str
    title: str
    organisation: Organisation
    location: str | None
    summary: str | None
    themes: tuple[str, ...]
    image: PaperImage | None
    body_html: str
    links: tuple[PaperLink, ...]
    url: str
    short_url: str
    qr: str


@dataclass(frozen=True)
class PaperIssue:
    """Everything layouts/print/*.html may use."""

    title: str  # the issue's
    site_title: str
    publisher: str
    number: int
    month: str
    date: str  # ISO, the first day of the month: the PDF's creation date
    folio: str  # « Flash initiatives locales · N°195 · mars 2021 »: the pages' footers
    intro_html: str
    cover: PaperImage | None
    articles: tuple[PaperArticle, ...]
    url: str
    short_url: str
    qr: str
    keywords: str


_PICTURE = re.compile(r"</?(?:picture|source)\b[^>]*>", re.IGNORECASE)
_IMG = re.compile(r"<img\b([^>]*)>", re.IGNORECASE)
_LINK = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')
_ID = re.compile(r'\bid="(fn[^"]*)"')
_TAGS = re.compile(r"<[^>]+>")
_NOTE_ITEM = re.compile(r'<li id="fn([^"]+)"[^>]*>(.*?)</li>', re.DOTALL)
_NOTE_CALL = re.compile(r'<sup class="footnote-ref"><a href="#fn([^"]+)"[^>]*>(.*?)</a></sup>',
                        re.DOTALL)
_NOTES = re.compile(r'<hr class="footnotes-sep">\s*<section class="footnotes">.*?</section>',
                    re.DOTALL)
_PARAGRAPH = re.compile(r"^\s*<p>(.*)</p>\s*$", re.DOTALL)


def _attributes(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): htmllib.unescape(m.group(2) or "") for m in _ATTR.finditer(raw)}


def _image_urls(image: Image) -> tuple[str, ...]:
    """Every URL under which an image of the text appears in its HTML."""
    found = [urls.media_url(image.key)]
    if image.width > 0 and image.height > 0:
        r = responsive(image)
        found += [v.url for v in (*r.webp, *r.fallback)]
    return tuple(found)


class _Copies:
    """The print copies one issue needs, and the problems met making them."""

    def __init__(self, source: Path):
        self.source = source
        self.folder = image_cache_dir(source) / "print"
        self.problems: list[Diagnostic] = []

    def paper(self, image: Image, alt: str | None = None) -> PaperImage | None:
        path = self.copy(image)
        if path is None:
            return None
        width = min(image.width, PRINT_WIDTH)
        return PaperImage(path.as_uri(), image.alt if alt is None else alt, image.credit,
                          width, max(1, round(image.height * width / max(1, image.width))))

    def copy(self, image: Image) -> Path | None:
        """The print copy of `image` from its original file, made once (see pixels.print_copy)."""
        width = min(image.width, PRINT_WIDTH)
        digest = image.digest or hashlib.sha256(image.source.read_bytes()).hexdigest()
        suffix = "png" if image.transparent else "jpg"
        target = self.folder / digest[:2] / f"{digest}-{width}-v{VERSION}.{suffix}"
        if target.is_file():
            return target
        try:
            try:
                data = image.source.read_bytes()
            except OSError as exc:
                raise ImageProblem(f"lecture impossible ({exc.strerror})") from None
            if hashlib.sha256(data).hexdigest() != digest:
                raise ImageProblem("le fichier a changé pendant la construction : relancez-la")
            from flash import pixels  # Pillow only when a copy is to be made

            pixels.print_copy(data, width, round(image.height * width / max(1, image.width)),
                              target, JPEG_QUALITY)
        except ImageProblem as problem:
            self.problems.append(Diagnostic(
                _display(image.source, self.source), None, "erreur",
                french(f"image refusée pour la version imprimable : {problem}")))
            return None
        return target


def _display(path: Path, source: Path) -> str:
    try:
        return path.resolve().relative_to(source.resolve().parent).as_posix()
    except ValueError:
        return path.as_posix()


def paper_html(fragment: str, settings: Settings, page: str, anchor: str,
               images: Sequence[Image], copies: _Copies) -> str:
    """An article's sanitised HTML for paper: the print copy of each image, each link followed
    by the short form of its address, footnotes as WeasyPrint's page footnotes, ids made unique
    in the issue (every article numbers its notes from 1)."""
    known = {url: image for image in images for url in _image_urls(image)}
    fragment = _footnotes(fragment)

    def image(match: re.Match[str]) -> str:
        attrs = _attributes(match.group(1))
        found = known.get(attrs.get("src", ""))
        alt = attrs.get("alt", "")
        shown = copies.paper(found, alt) if found is not None else None
        if shown is None:  # an image from elsewhere: nothing is downloaded to print it
            return f'<span class="missing-image">[image{NBSP}: {htmllib.escape(alt)}]</span>'
        return (f'<img class="body-image" src="{htmllib.escape(shown.src)}" '
                f'alt="{htmllib.escape(alt)}">')

    def link(match: re.Match[str]) -> str:
        attrs = _attributes(match.group(1))
        href, label = attrs.get("href", ""), match.group(2)
        if href.startswith("#fn"):
            return f'<a href="#{anchor}-{href[1:]}">{label}</a>'
        if href.startswith("#"):
            return f'<a href="{htmllib.escape(page + href)}">{label}</a>'
        absolute = settings.absolute(href) if href else ""
        if not absolute:
            return label
        short = short_url(absolute)
        text = htmllib.unescape(_TAGS.sub("", label)).strip()
        tail = "" if short_url(text) == short or text == absolute else (
            f' <span class="url">({htmllib.escape(short)})</span>')
        return f'<a href="{htmllib.escape(absolute)}">{label}</a>{tail}'

    fragment = _PICTURE.sub("", fragment)
    fragment = _IMG.sub(image, fragment)
    fragment = _LINK.sub(link, fragment)
    return _ID.sub(lambda m: f'id="{anchor}-{m.group(1)}"', fragment)


def _footnotes(fragment: str) -> str:
    """markdown-it's notes (a list at the end, calls linking to it) as notes at the foot of the
    page where they are called (CSS `float: footnote`). A note called twice is printed once,
    the second call pointing to it."""
    if 'class="footnote-ref"' not in fragment:
        return fragment
    section = _NOTES.search(fragment)
    if section is None:
        return fragment
    notes: dict[str, str] = {}
    for match in _NOTE_ITEM.finditer(section.group(0)):
        text = re.sub(r'\s*<a href="#fnref[^"]*"[^>]*>.*?</a>', "", match.group(2),
                      flags=re.DOTALL).strip()
        paragraph = _PARAGRAPH.match(text)
        notes[match.group(1)] = paragraph.group(1) if paragraph else text
    placed: set[str] = set()

    def call(match: re.Match[str]) -> str:
        name = match.group(1)
        note = notes.get(name)
        if note is None or name in placed:
            return f'<sup class="footnote-again">{match.group(2)}</sup>'
        placed.add(name)
        return f'<span class="footnote">{note}</span>'

    body = fragment[: section.start()] + fragment[section.end():]
    return _NOTE_CALL.sub(call, body)


def _article(article: Article, settings: Settings, copies: _Copies) -> PaperArticle:
    url = settings.absolute(urls.article_url(article.issue.number, article.slug))
    anchor = f"article-{article.slug}"
    return PaperArticle(
        anchor=anchor, title=article.title, organisation=article.organisation,
        location=article.location, summary=article.summary,
        themes=tuple(theme.label for theme in article.themes),
        image=copies.paper(article.image) if article.image else None,
        body_html=paper_html(article.body_html, settings, url, anchor, article.images, copies),
        links=tuple(PaperLink(link.label, settings.absolute(link.url),
                              short_url(settings.absolute(link.url)))
                    for link in article.links),
        url=url, short_url=short_url(url, limit=200), qr=qr_code(url))


def paper_issue(issue: Issue, settings: Settings, copies: _Copies, *, articles: bool = True
                ) -> PaperIssue:
    """The view of an issue; `articles=False`: without texts and images (the poster)."""
    url = settings.absolute(urls.issue_url(issue.number))
    shown = month(issue.date)
    items = tuple(_article(a, settings, copies) for a in issue.articles) if articles else tuple(
        PaperArticle(f"article-{a.slug}", a.title, a.organisation, a.location, a.summary, (),
                     None, "", (), "", "", "") for a in issue.articles)
    organisations = dict.fromkeys(a.organisation.name for a in issue.articles)
    return PaperIssue(
        title=issue.title, site_title=settings.title, publisher=settings.publisher,
        number=issue.number, month=shown, date=issue.date.isoformat(),
        folio=f"{settings.title} · N°{issue.number} · {shown}",
        intro_html=paper_html(issue.intro_html, settings, url, "intro", (), copies)
        if articles else "",
        cover=copies.paper(issue.cover) if articles and issue.cover else None,
        articles=items, url=url,
        # The short address /195 leads to the issue (the site's _redirects).
        short_url=short_url(settings.absolute(f"/{issue.number}"), limit=200),
        qr=qr_code(url), keywords=", ".join(organisations))


# --- rendering --------------------------------------------------------------------------------

def _fetcher(allowed: Sequence[Path]) -> Any:
    """WeasyPrint's URL fetcher, limited to data: URIs and the print copies: a layout asking for
    anything online gets nothing rather than a download during the build."""
    from weasyprint import URLFetcher

    roots = tuple(folder.resolve().as_uri() + "/" for folder in allowed)

    class LocalOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:") and not url.startswith(roots):
                raise ValueError(f"fichier hors du cache d’images : {url}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols=("data", "file"))


class PrintUnavailable(OutputError):
    """WeasyPrint cannot run here (Pango missing): the build goes on without the PDFs."""


def load_weasyprint() -> Any:
    """WeasyPrint, or PrintUnavailable saying in French what to install: it needs Pango, a
    system library that pip does not bring."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PrintUnavailable(french(
            "version imprimable et affiches (PDF) non produites : WeasyPrint ne trouve pas "
            f"la bibliothèque Pango ({str(exc)[:120]}). Installez-la (sous Debian ou Ubuntu : "
            "sudo apt install libpango-1.0-0 libpangoft2-1.0-0) ; pour construire sans elle "
            "et sans ce message : flash build --no-print, ou print = false dans [tool.flash] "
            "de pyproject.toml")) from None
    return weasyprint


def render_pdf(html: str, base_url: str, allowed: Sequence[Path]) -> bytes:
    """A tagged PDF (PDF/UA-1: structure tree, /Lang from <html lang>, title and author from
    <title> and <meta name="author">), fonts embedded."""
    weasyprint = load_weasyprint()
    # WeasyPrint warns of each CSS property it ignores: noise in every build's output.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_fetcher(allowed))
    return document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)


def render_edition(env: Environment, issue: Issue, settings: Settings, source: Path
                   ) -> tuple[bytes, list[Diagnostic]]:
    copies = _Copies(source)
    paper = paper_issue(issue, settings, copies)
    if copies.problems:
        return b"", copies.problems
    html = env.get_template(EDITION_TEMPLATE).render(paper=paper)
    return render_pdf(html, paper.url, [copies.folder]), []


def render_poster(env: Environment, issue: Issue, settings: Settings, source: Path) -> bytes:
    copies = _Copies(source)
    paper = paper_issue(issue, settings, copies, articles=False)
    html = env.get_template(POSTER_TEMPLATE).render(paper=paper)
    return render_pdf(html, paper.url, [copies.folder])


# --- the build's stage ------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One issue's PDFs and their keys (flash.build computes them)."""

    issue: Issue
    edition_key: str
    poster_key: str


def _cached(folder: Path, key: str) -> Path:
    return folder / key[1:3] / f"{key}.pdf"


def _make(env: Environment, settings: Settings, source: Path, folder: Path,
          item: tuple[Issue, str, str]) -> tuple[list[Diagnostic], float]:
    """Renders one PDF into the cache (written aside, renamed into place); returns the problems
    and the seconds it took."""
    start = time.perf_counter()
    issue, kind, key = item
    problems: list[Diagnostic] = []
    if kind == "edition":
        data, problems = render_edition(env, issue, settings, source)
    else:
        data = render_poster(env, issue, settings, source)
    if problems:
        return problems, time.perf_counter() - start
    target = _cached(folder, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    return [], time.perf_counter() - start


@dataclass
class PrintReport:
    printed: dict[int, Printed]
    rendered: list[str]  # site paths of the PDFs made by this build
    seconds: list[float]  # time each of them took


def publish(jobs: Sequence[Job], env: Environment, settings: Settings, source: Path,
            staging: Any, *, reuse: bool = True) -> PrintReport:
    """Makes the PDFs the cache lacks (on every core), then links each issue's two into the
    site. Raises ContentError naming each image that cannot be printed."""
    folder = print_cache_dir(source)
    todo: list[tuple[Issue, str, str]] = []
    for job in jobs:
        for kind, key in (("edition", job.edition_key), ("poster", job.poster_key)):
            if not (reuse and _cached(folder, key).is_file()):
                todo.append((job.issue, kind, key))
    if todo:
        load_weasyprint()  # once, before the workers are forked

        for name in (EDITION_TEMPLATE, POSTER_TEMPLATE):
            env.get_template(name)
    results = fork_map(partial(_make, env, settings, source, folder), todo, minimum=2)
    problems = sorted({d for found, _ in results for d in found}, key=str)
    if problems:
        raise ContentError(problems)
    report = PrintReport({}, [], [seconds for _, seconds in results])
    for issue, kind, _ in todo:
        url = urls.edition_url(issue.number) if kind == "edition" else urls.poster_url(
            issue.number)
        report.rendered.append(urls.output_path(url))
    used = set()
    for job in jobs:
        number = job.issue.number
        files = []
        for url, key in ((urls.edition_url(number), job.edition_key),
                         (urls.poster_url(number), job.poster_key)):
            cached = _cached(folder, key)
            staging.link(urls.output_path(url), cached)
            used.add(cached.name)
            files.append(PrintFile(url, cached.stat().st_size))
        report.printed[number] = Printed(*files)
    _prune(folder, used)
    return report


def _prune(folder: Path, used: set[str]) -> None:
    """Deletes the PDFs that no build used for KEEP_UNUSED (a PDF's file is never modified:
    its date is when it was made). `flash serve`'s preview, with drafts, may use others."""
    limit = time.time() - KEEP_UNUSED
    try:
        shards = list(os.scandir(folder))
    except OSError:
        return
    for shard in shards:
        if not shard.is_dir():
            continue
        for entry in os.scandir(shard.path):
            try:
                if entry.name not in used and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
            except OSError:
                continue
