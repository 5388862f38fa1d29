"""The build: load and check everything, plan the pages, render them, then swap the site in."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flash import urls
from flash.archive import Archive, build_archive
from flash.diagnostics import ContentError, Diagnostic
from flash.model import Corpus, Image
from flash.output import Staging, check_target
from flash.pages import Page, feeds, plan
from flash.render import (
    SiteView,
    organisation_css,
    render_feed,
    render_page,
    render_robots,
    render_sitemap,
)
from flash.settings import Settings
from flash.templates import make_environment
from flash.validate import load_corpus

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
FINGERPRINTED = {".css", ".js"}


@dataclass
class BuildReport:
    pages: int = 0
    files: int = 0
    articles: int = 0
    issues: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.stages.values())


@contextmanager
def _stage(report: BuildReport, name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        report.stages[name] = report.stages.get(name, 0.0) + time.perf_counter() - start


def project_dir(settings: Settings, name: str) -> Path:
    """layouts/ or assets/ of the project, else the ones shipped beside the package."""
    own = settings.root / name
    return own if own.is_dir() else PACKAGE_ROOT / name


STYLESHEET = "flash.css"


def fingerprinted(name: str, data: bytes) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}{dot}{suffix}"


def collect_assets(assets: Path, corpus: Corpus) -> dict[str, tuple[str, bytes]]:
    """Logical name -> (public URL, content). CSS and JS get a content hash in their name."""
    found: dict[str, tuple[str, bytes]] = {}
    for path in sorted(p for p in assets.rglob("*") if p.is_file()):
        relative = path.relative_to(assets).as_posix()
        data = path.read_bytes()
        if relative == STYLESHEET:
            data += organisation_css(corpus.organisations).encode()
        name = fingerprinted(relative, data) if path.suffix in FINGERPRINTED else relative
        found[relative] = (f"/assets/{name}", data)
    return found


def load(source: Path, drafts: bool = False) -> tuple[Corpus, list[Diagnostic]]:
    """Loads and checks the content; raises ContentError with every problem."""
    corpus, report = load_corpus(source, drafts=drafts)
    if corpus is None:
        raise ContentError(report.sorted())
    return corpus, report.sorted()


def site_view(settings: Settings, assets: dict[str, str]) -> SiteView:
    return SiteView(title=settings.title, description=settings.description,
                    base_url=settings.site_url, publisher=settings.publisher,
                    language=settings.language, assets=assets)


def images_of(corpus: Corpus) -> dict[str, Image]:
    found: dict[str, Image] = {}
    for issue in corpus.issues:
        if issue.cover:
            found[issue.cover.key] = issue.cover
        for article in issue.articles:
            for image in (article.image, *article.images):
                if image:
                    found[image.key] = image
    for organisation in corpus.organisations:
        if organisation.logo:
            found[organisation.logo.key] = organisation.logo
    return found


def build(source: Path, output: Path, settings: Settings, *, drafts: bool = False
          ) -> BuildReport:
    report = BuildReport()
    check_target(output, source)
    with _stage(report, "lecture et vérification"):
        corpus, report.warnings = load(source, drafts)
        archive: Archive = build_archive(corpus)
    assets = collect_assets(project_dir(settings, "assets"), corpus)
    site = site_view(settings, {name: url for name, (url, _) in assets.items()})
    env = make_environment(project_dir(settings, "layouts"))
    staging = Staging(output)
    try:
        with _stage(report, "plan"):
            page_plan: list[Page] = plan(archive, per_page=settings.per_page)
        with _stage(report, "pages"):
            for page in page_plan:
                staging.write_text(page.path, render_page(env, page, site))
        with _stage(report, "flux et plan du site"):
            for feed in feeds(archive, settings.title):
                staging.write_text(urls.output_path(feed.url), render_feed(env, feed, site))
            staging.write_text("sitemap.xml", render_sitemap(env, page_plan, site))
            staging.write_text("robots.txt", render_robots(site))
        with _stage(report, "images et fichiers"):
            for key, image in images_of(corpus).items():
                staging.copy(urls.output_path(urls.media_url(key)), image.source)
            for url, data in assets.values():
                staging.write_bytes(url.lstrip("/"), data)
        with _stage(report, "écriture"):
            staging.commit()
    except BaseException:
        staging.abort()
        raise
    report.pages = len(page_plan)
    report.files = staging.files
    report.articles = len(archive.articles)
    report.issues = len(corpus.issues)
    return report
