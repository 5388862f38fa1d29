"""The build: load and check everything, plan the pages, render what changed, publish.

Incremental by value (see flash.store and flash.fingerprints): files whose content did not
change are not parsed again, outputs whose key (the digest of what they show, of the layouts,
settings and code) did not change are not rendered again, and files that did not change are
not written again. The stages never see how: `flash serve` hands the same build another store.
Cold builds spread parsing and rendering over the CPU cores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from flash.diagnostics import ContentError, Diagnostic
from flash.digests import Stat, code_digest, files_digest, tree_stamp
from flash.fingerprints import TEXT_FIELDS, Fingerprints
from flash.model import Article, Corpus, Image, Issue
from flash.output import Staging, check_target
from flash.paths import compiled_templates_dir
from flash.settings import Settings
from flash.shipped import layout_problem, merged_files, project_dirs
from flash.store import Store

if TYPE_CHECKING:
    from jinja2 import Environment

    from flash.archive import Archive
    from flash.model import SiteView
    from flash.pages import Feed, Page
    from flash.printing import Printed
    from flash.search import LiveIndex

# Jinja, Markdown, YAML, Pillow… are imported by the stages that use them, not here: a build
# with nothing to do is over before they would have loaded.

# Everything under /assets/ is named after its content, so it can be cached for a year.
FINGERPRINTED = {".css", ".js", ".svg", ".png", ".jpg", ".webp", ".ico", ".woff2", ".json"}


@dataclass
class BuildReport:
    pages: int = 0
    files: int = 0
    articles: int = 0
    issues: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # files rendered from templates this time
    written: list[str] = field(default_factory=list)  # files that changed in the output folder
    parsed: int = 0  # content files parsed (the others came from the cache)
    indexed: int = 0  # files of the search index, which Pagefind wrote anew
    print_seconds: list[float] = field(default_factory=list)  # each PDF made, how long it took
    print_missing: bool = False  # WeasyPrint could not run: the next build must try again
    corpus: Corpus | None = None  # what was built (None when nothing changed)

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


STYLESHEET = "flash.css"


def fingerprinted(name: str, data: bytes) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}{dot}{suffix}"


def collect_assets(assets: list[Path], corpus: Corpus) -> dict[str, tuple[str, bytes]]:
    """Logical name -> (public URL, content). CSS and JS get a content hash in their name.
    `assets`: the folders to read, the first one having a file winning (see project_dirs)."""
    from flash.render import organisation_css

    found: dict[str, tuple[str, bytes]] = {}
    for relative, path in merged_files(assets).items():
        data = path.read_bytes()
        if relative == STYLESHEET:
            data += organisation_css(corpus.organisations).encode()
        name = fingerprinted(relative, data) if path.suffix in FINGERPRINTED else relative
        found[relative] = (f"/assets/{name}", data)
    return found


def load(source: Path, drafts: bool = False, store: Store | None = None
         ) -> tuple[Corpus, list[Diagnostic]]:
    """Loads and checks the content; raises ContentError with every problem."""
    from flash.validate import load_corpus

    prepare = store.parsed.prepare if store is not None else None
    reuse = store.checked if store is not None else None
    # The look for changes just walked the folder: its listing spares a second walk.
    listing = store.parsed.stats if store is not None and store.parsed.stats else None
    corpus, report = load_corpus(source, drafts=drafts, prepare=prepare, reuse=reuse,
                                 listing=listing,
                                 listed=store.listed if store is not None else None)
    if corpus is None:
        raise ContentError(report.sorted())
    return corpus, report.sorted()


def site_view(settings: Settings, assets: dict[str, str], search_on: bool | None = None
              ) -> SiteView:
    from flash import search
    from flash.mail.compose import EmailError, mailbox
    from flash.model import SiteView

    try:
        contact = mailbox(settings.reply_to or settings.email_from, "reply_to").addr_spec
    except EmailError:  # told by flash send; the site still builds
        contact = ""
    service = settings.subscribers_url.rstrip("/")
    return SiteView(title=settings.title, description=settings.description,
                    base_url=settings.site_url, publisher=settings.publisher,
                    language=settings.language, assets=assets,
                    search=search.available() if search_on is None else search_on,
                    subscribe=f"{service}/abonnement" if service else "",
                    consent=settings.consent_text, contact=contact)


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


def build(source: Path, output: Path, settings: Settings, *, drafts: bool = False,
          search_on: bool | None = None, emails: bool = True, store: Store | None = None,
          use_cache: bool = True, skip_if_unchanged: bool = True,
          meanwhile: Callable[[], object] | None = None,
          search_index: LiveIndex | None = None, printing: bool = True) -> BuildReport:
    """Builds the site of `source` into `output`, stage by stage. `store`: the results of
    previous builds (flash.store; `flash serve` keeps its own in memory); `use_cache=False`
    rebuilds everything; `skip_if_unchanged`: first compare the files' dates with the last
    build's; `meanwhile`: the caller's work, done while other cores parse; `search_index`:
    `flash serve`'s live index; `printing`: the PDFs."""
    report = BuildReport()
    check_target(output, source)
    store = store or Store(source, enabled=use_cache)
    folders = _Folders(project_dirs(settings, "layouts"), project_dirs(settings, "assets"))
    printing = printing and settings.print
    seen = _Seen()
    if use_cache and skip_if_unchanged:
        seen = _look_for_changes(report, store, source, output, folders,
                                 (settings, drafts, search_on, emails, printing))
    if seen.last is not None:  # nothing changed since the site online was built
        report.pages, report.files, report.articles, report.issues, report.warnings = seen.last
        return report
    corpus, archive = _read_and_check(report, store, source, drafts, folders, seen, meanwhile)
    env = _environment(store, folders.layouts, folders.layouts_key)
    assets = collect_assets(folders.assets, corpus)
    site = site_view(settings, {name: url for name, (url, _) in assets.items()}, search_on)
    with _stage(report, "plan"):
        keys = _Keys.for_build(folders, site, settings)
        staging, cold = store.staging(output, use_cache)
    with _undone_on_failure(staging, store, folders):
        printed: dict[int, Printed] = {}  # first: pages and e-mails show the PDFs' sizes
        if printing:
            with _stage(report, "version imprimable"):
                printed = _write_prints(staging, keys, corpus, env, settings, source, report,
                                        use_cache)
        pages, rendered = _write_pages(report, staging, store, env, site, settings, archive,
                                       keys, printed, cold)
        _write_extras(staging, site, corpus, settings, source, assets)
        if emails:
            with _stage(report, "e-mails"):
                report.rendered += _write_emails(staging, keys, corpus, env, site, settings,
                                                 printed)
        with _stage(report, "images et fichiers"):
            _write_files(staging, corpus, source, assets)
        with _stage(report, "index de recherche"):
            report.indexed = _index(staging, env, site, pages, rendered, search_index)
        with _stage(report, "écriture"):
            _publish(report, staging, store, output, pages, archive, corpus, seen)
    report.corpus = corpus
    return report


@contextmanager
def _undone_on_failure(staging: Staging, store: Store, folders: _Folders) -> Iterator[None]:
    """Whatever fails, the output folder stays as it was; a missing layout says which."""
    try:
        yield
    except BaseException as exc:
        staging.abort()
        missing = layout_problem(exc, folders.layouts)
        if missing is not None:
            raise missing from None
        raise
    finally:
        store.parsed.wait()


@dataclass
class _Folders:
    """The layouts and assets folders of the build, the project's first (see project_dirs)."""

    layouts: list[Path]
    assets: list[Path]

    @cached_property
    def layouts_key(self) -> str:
        """Digest of the layouts: read once, and only when something is to be built."""
        return files_digest(merged_files(self.layouts))


@dataclass
class _Seen:
    """What the look for changes found: the tree's stamp, whether it may be trusted, the
    summary of the build it matches (nothing to do), and each file's stat."""

    stamp: str = ""
    trusted: bool = False
    last: tuple | None = None
    stats: dict[str, Stat] = field(default_factory=dict)


def _look_for_changes(report: BuildReport, store: Store, source: Path, output: Path,
                      folders: _Folders, options: tuple) -> _Seen:
    """The sources' stamp (with the options and Flash's code), and the summary of the last
    build into `output` if it had the same."""
    with _stage(report, "vérification des changements"):
        seen = _Seen()
        options = (code_digest(), *options, importlib.util.find_spec("pagefind_bin") is not None)
        seen.stamp, seen.trusted = tree_stamp([source, *folders.layouts, *folders.assets],
                                              repr(options), seen.stats)
        seen.last = store.manifests.summary(output, seen.stamp)
        return seen


def _read_and_check(report: BuildReport, store: Store, source: Path, drafts: bool,
                    folders: _Folders, seen: _Seen, meanwhile: Callable[[], object] | None
                    ) -> tuple[Corpus, Archive]:
    """Reads, parses and checks the content (raises ContentError); the archive's indexes."""
    from flash.archive import build_archive

    with _stage(report, "lecture et vérification"):
        # While other cores parse the content, this one loads Jinja and compiles the templates.
        store.parsed.meanwhile = partial(_compile_templates, store, folders.layouts,
                                         folders.layouts_key, meanwhile)
        if seen.stats:
            store.parsed.stats = seen.stats  # the look for changes' listing spares a walk
        try:
            corpus, report.warnings = load(source, drafts, store)
        except BaseException:
            store.parsed.wait()
            raise
        finally:
            if seen.stats:
                store.parsed.stats = None
        store.checked_all()
        report.parsed = store.parsed.parsed
        return corpus, build_archive(corpus)


@dataclass(frozen=True)
class _Keys:
    """How outputs are keyed by what they show: the fingerprints, the site's own key (its
    settings and view) and the article texts a page shows."""

    fingerprints: Fingerprints
    site: str
    texts: Callable[[Page], tuple]

    @classmethod
    def for_build(cls, folders: _Folders, site: SiteView, settings: Settings) -> _Keys:
        fingerprints = Fingerprints(code_digest() + folders.layouts_key,
                                    bodies=not _text_aware(folders.layouts))
        texts = _texts(fingerprints) if not fingerprints.bodies else lambda page: ()
        return cls(fingerprints, fingerprints.key(site, settings), texts)


def _write_pages(report: BuildReport, staging: Staging, store: Store, env: Environment,
                 site: SiteView, settings: Settings, archive: Archive, keys: _Keys,
                 printed: dict[int, Printed], cold: bool) -> tuple[list[Page], set[str]]:
    """Plans the pages, then renders those whose key is new, with the feeds and the sitemap.
    Returns the plan and the paths rendered."""
    from flash.pages import plan

    with _stage(report, "plan"):
        pages: list[Page] = plan(archive, per_page=settings.per_page, printed=printed)
        page_keys: list[str] | list[Callable[[], str]]
        if not cold:
            page_keys = store.keys(keys.site, pages, lambda page: page.url,
                                   lambda page: page.signature(),
                                   partial(_page_key, keys.fingerprints, keys.site, keys.texts))
        else:  # nothing to compare with: the workers compute the keys of what they render
            page_keys = [partial(_page_key, keys.fingerprints, keys.site, keys.texts, page)
                         for page in pages]
    with _stage(report, "pages, flux et plan du site"):
        jobs = _jobs(store, env, site, settings, archive, keys, pages, page_keys, cold)
        todo = [job for job in jobs if not (isinstance(job[1], str)
                                            and staging.fresh(job[0], job[1]))]
        if len(todo) >= PARALLEL_PAGES:
            # The process saving the parse cache copies much of this one's memory as it goes:
            # rendering workers forked meanwhile would raise the build's peak memory (see
            # BENCHMARKS.md).
            store.parsed.wait()
        _render(staging, env, todo)
        report.rendered += [path for path, *_ in todo]
    return pages, {path for path, *_ in todo}


def _jobs(store: Store, env: Environment, site: SiteView, settings: Settings,
          archive: Archive, keys: _Keys, pages: list[Page],
          page_keys: list[str] | list[Callable[[], str]], cold: bool) -> list[Job]:
    """The sitemap, the feeds and the pages to render, each with its key. The longest jobs
    first (the sitemap lists every page, a feed holds whole articles): the last ones are
    short, and the cores finish together."""
    from flash import urls
    from flash.pages import feeds
    from flash.render import render_feed, render_page, render_sitemap

    fragments = store.fragments(env, site, keys.site)
    key = partial(keys.fingerprints.key, keys.site, _sitemap_inputs(pages))
    jobs: list[Job] = [("sitemap.xml", key if cold else key(),
                        partial(render_sitemap, env, pages, site), "sitemap.xml")]
    for feed in feeds(archive, settings.title):
        key = partial(_feed_key, keys.fingerprints, keys.site, feed)
        jobs.append((urls.output_path(feed.url), key if cold else key(),
                     partial(render_feed, env, feed, site, fragments), "feed.xml"))
    jobs += [(page.path, key, partial(render_page, env, page, site, fragments), page.template)
             for page, key in zip(pages, page_keys, strict=True)]
    return jobs


def _write_extras(staging: Staging, site: SiteView, corpus: Corpus, settings: Settings,
                  source: Path, assets: dict[str, tuple[str, bytes]]) -> None:
    """robots.txt, Netlify's _redirects and, when a Git repository is set, the online editor."""
    from flash.render import render_redirects, render_robots

    staging.write_text("robots.txt", render_robots(site))
    staging.write_text("_redirects", render_redirects(corpus))
    if settings.editor_repo:
        from flash.editor import site as editor

        for name, data in editor.files(corpus, settings, source,
                                       assets[STYLESHEET][0]).items():
            staging.write_bytes(f"{editor.FOLDER}/{name}", data)


def _write_files(staging: Staging, corpus: Corpus, source: Path,
                 assets: dict[str, tuple[str, bytes]]) -> None:
    """The images in their sizes (flash.images) and the stylesheets and scripts."""
    from flash import images

    images.publish(images_of(corpus).values(), staging, source)
    for url, data in assets.values():
        staging.write_bytes(url.lstrip("/"), data)


def _index(staging: Staging, env: Environment, site: SiteView, pages: list[Page],
           rendered: set[str], live: LiveIndex | None) -> int:
    """The search index of the article pages (Pagefind); how many files it holds."""
    from flash import search

    indexed = search.index_site(staging, env, site,
                                [page for page in pages if page.kind == "article"],
                                rendered, live=live)
    return indexed.files if indexed else 0


def _publish(report: BuildReport, staging: Staging, store: Store, output: Path,
             pages: list[Page], archive: Archive, corpus: Corpus, seen: _Seen) -> None:
    """Puts the new site in place of the old one, then records what it holds."""
    build_id = uuid.uuid4().hex
    staging.commit(build_id)
    report.pages = len(pages)
    report.files = staging.files
    report.written = staging.written
    report.articles = len(archive.articles)
    report.issues = len(corpus.issues)
    summary = (report.pages, report.files, report.articles, report.issues, report.warnings)
    # Without the PDFs (Pango missing), the next build must try again: no "nothing to do".
    store.record(output, build_id, staging,
                 (seen.stamp, summary) if seen.trusted and not report.print_missing else None)


def _page_key(fingerprints: Fingerprints, site_key: str, texts: Callable[[Page], tuple],
              page: Page) -> str:
    return fingerprints.key(site_key, page, texts(page))


def _feed_key(fingerprints: Fingerprints, site_key: str, feed: Feed) -> str:
    return fingerprints.key(site_key, feed, _bodies(fingerprints, feed.articles))


# Page kinds whose template shows the text of articles, and which articles: elsewhere (cards,
# neighbours, lists) layouts show titles, summaries and images, so an edit of an article's text
# re-renders its page, its issue, the feeds and its e-mail, not every page that links to it.
SHOWS_TEXT: dict[str, Callable[[dict], Sequence[Article]]] = {
    "article": lambda context: (context["article"],),
    "issue": lambda context: context["issue"].articles,
}
TEXT_LAYOUTS = ("article.html", "issue.html", "feed.xml", "partials/feed.xml", "email/",
                "print/")


def _bodies(fingerprints: Fingerprints, articles: Sequence[Article]) -> tuple[bytes, ...]:
    return tuple(fingerprints.text(article) for article in articles)


def _texts(fingerprints: Fingerprints) -> Callable[[Page], tuple[bytes, ...]]:
    def texts(page: Page) -> tuple[bytes, ...]:
        pick = SHOWS_TEXT.get(page.kind)
        return _bodies(fingerprints, pick(page.context)) if pick else ()
    return texts


def _text_aware(layouts: list[Path]) -> bool:
    """True when only the layouts of TEXT_LAYOUTS show article texts (as the shipped ones do);
    a project layout showing them elsewhere makes every page depend on every text it lists."""
    for relative, path in merged_files(layouts).items():
        if relative.startswith(TEXT_LAYOUTS):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(name in text for name in TEXT_FIELDS) or "reading_minutes" in text:
            return False
    return True


def _sitemap_inputs(pages: list[Page]) -> str:
    """What layouts/sitemap.xml shows of each page, its URL and its issue's date, a line each:
    one text to hash rather than some 3,000 pieces (URLs hold no space and no line end)."""
    return "\n".join([page.sitemap_entry for page in pages if page.in_sitemap])


def _environment(store: Store, layouts: list[Path], layouts_key: str) -> Environment:
    """The Jinja environment, reused while the layouts do not change (`flash serve`), with
    compiled templates kept for the next process."""
    from jinja2 import FileSystemBytecodeCache

    from flash.templates import make_environment

    env = store.environments.get(layouts_key)
    if env is None:
        env = make_environment(layouts)
        if store.folder is not None:
            env.bytecode_cache = FileSystemBytecodeCache(
                str(compiled_templates_dir(store.folder)))
        store.environments = {layouts_key: env}
    return env


# A file to render: (path in the site, its key or what computes it, what renders it, the
# template it uses)
Job = tuple[str, "str | Callable[[], str]", Callable[[], str], str]


def _compile_templates(store: Store, layouts: list[Path], layouts_key: str,
                       then: Callable[[], object] | None = None) -> None:
    """Compiles every template ahead of rendering; one that fails to compile is left for the
    render stage, which reports it where it is used. Also loads Babel's French data (15 ms, once
    per process) and the render stage's modules: the rendering workers, forked later, find them
    loaded. Then runs `then`."""
    from jinja2 import TemplateError

    importlib.import_module("flash.search")  # with flash.render, flash.pages, flash.seo

    from flash.templates import month

    env = _environment(store, layouts, layouts_key)
    for name in env.list_templates(extensions=("html", "xml")):
        with contextlib.suppress(TemplateError):
            env.get_template(name)
    month(dt.date(2000, 1, 1))
    if then is not None:
        then()


def _render(staging: Staging, env: Environment, todo: list[Job]) -> None:
    """Renders pages, feeds and the sitemap, on every core when there are many."""
    for template in {template for *_, template in todo}:
        env.get_template(template)  # compiled once, before workers are forked

    def work(share: Sequence[Job]) -> None:
        for path, key, render, _ in share:
            staging.write_text(path, render(), key if isinstance(key, str) else key())

    if len(todo) >= PARALLEL_PAGES:
        staging.split(todo, work)
    else:
        work(todo)


PARALLEL_PAGES = 200  # below this, a forked worker costs more than it saves


def _write_emails(staging: Staging, keys: _Keys, corpus: Corpus, env: Environment,
                  site: SiteView, settings: Settings,
                  printed: dict[int, Printed] | None = None) -> list[str]:
    """Each issue's e-mail files, as a group keyed by what they show (the sizes of its PDFs
    too): only changed issues are composed again."""
    printed = printed or {}
    from flash.mail import edition as mail

    todo = []
    for issue in corpus.issues:
        name = f"e-mail {issue.number}"
        key = keys.fingerprints.key(keys.site, "e-mail", issue, issue.text_fingerprint,
                                    printed.get(issue.number))
        if not staging.reuse(name, key):
            todo.append((issue, name, key))

    def work(share: Sequence[tuple[Issue, str, str]]) -> None:
        for issue, name, key in share:
            with staging.group(name, key):
                mail.write_issue_email(issue, env, settings, staging,
                                       printed.get(issue.number))

    before = len(staging.written)
    if len(todo) >= 8:
        staging.split(todo, work)
    else:
        work(todo)
    mail.write_unsubscribe_page(env, site, settings, staging)  # once, outside every group
    return staging.written[before:]


def _write_prints(staging: Staging, keys: _Keys, corpus: Corpus, env: Environment,
                  settings: Settings, source: Path, report: BuildReport, use_cache: bool
                  ) -> dict[int, Printed]:
    """Each issue's printable edition and poster, keyed by what they show (the poster: the
    titles, not the texts); only PDFs with a new key are made. Returns their URLs and sizes."""
    from flash import printing

    fingerprints, site_key = keys.fingerprints, keys.site
    jobs = [printing.Job(issue,
                         fingerprints.key(site_key, "impression", issue,
                                          issue.text_fingerprint),
                         fingerprints.key(site_key, "affiche", issue))
            for issue in corpus.issues]
    try:
        made = printing.publish(jobs, env, settings, source, staging, reuse=use_cache)
    except printing.PrintUnavailable as missing:  # the site is still worth building
        report.warnings.append(Diagnostic("pyproject.toml", None, "avertissement", str(missing)))
        report.print_missing = True
        return {}
    report.rendered += made.rendered
    report.print_seconds = made.seconds
    return made.printed
