"""Search: the /recherche/ page, and its Pagefind index made from the rendered article pages.

The pages are handed to Pagefind through its Python API (`pagefind.index.PagefindIndex`, a
Pagefind process in service mode), from memory: `flash build` stages the index's files with the
site it describes, so they go online together; `flash serve` keeps one index alive, re-adds the
pages a rebuild changed and serves the index's files from memory. Only article pages carry
`data-pagefind-body`: results are articles, never the index pages that repeat their titles.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment
from pagefind.index import PagefindIndex
from pagefind.service import PagefindService

from flash import urls
from flash.model import SiteView
from flash.output import OutputError, Staging
from flash.pages import Page
from flash.render import render_page

BUNDLE = "pagefind"  # folder of the index inside the site, and its URL: /pagefind/
TIMEOUT = 600.0
# Pagefind's service cannot delete a page: a page that left the site is replaced (same URL) by
# one without `data-pagefind-body`, which Pagefind leaves out of the index as it does the
# site's other pages.
GONE = '<!DOCTYPE html><html lang="fr"><head><title></title></head><body></body></html>'


class SearchError(OutputError):
    """Indexing failed: the build stops and the previous site stays online."""


@dataclass(frozen=True)
class SearchIndex:
    pages: int  # pages in the index
    files: int  # files of the bundle
    bytes: int  # size of the bundle


def executable() -> Path | None:
    """The Pagefind binary shipped by the `pagefind[bin]` extra, if this platform has one."""
    try:
        from pagefind_bin import get_executable
    except ImportError:
        return None
    try:
        return get_executable()
    except (FileNotFoundError, OSError):
        return None


def available() -> bool:
    return executable() is not None


def search_page() -> Page:
    return Page(urls.SEARCH, "search.html", "search", "Rechercher",
                description="Rechercher une initiative dans toutes les archives du Flash.",
                in_sitemap=False)


def _failed(detail: str) -> SearchError:
    return SearchError(f"l’indexation de la recherche (Pagefind) a échoué : {detail}")


class _Service(PagefindService):
    """Pagefind's service process, whose answers are read as they come. The wrapper's own
    reader (pagefind 1.5) waits 0.1 s before reading each answer, which makes 1,200 pages take
    two minutes, and it stops for good at an answer over 2 MiB, as the index's files are."""

    def __init__(self, binary: Path) -> None:
        self._loop = asyncio.get_running_loop()
        self._bin = binary
        self._responses = {}
        self._printed = b""  # what the process wrote besides its answers (an error message)
        self._ended: str | None = None  # why the process stopped, once it has

    async def send(self, payload):  # type: ignore[no-untyped-def]
        if self._ended is not None:  # nothing would ever answer
            raise _failed(self._ended)
        return await super().send(payload)

    async def _wait_for_responses(self) -> None:
        stream = self._backend.stdout
        assert stream is not None
        pending = bytearray()
        while chunk := await stream.read(1 << 20):
            pending += chunk
            if b"," not in chunk:
                continue
            *answers, rest = bytes(pending).split(b",")
            pending = bytearray(rest)
            for answer in answers:
                self._answer(answer)
        self._printed += bytes(pending)
        lines = self._printed.decode("utf-8", "replace").strip().splitlines()
        code = self._backend.returncode
        detail = lines[-1] if lines else ("le programme s’est arrêté" + (
            f" (code de sortie {code})" if code else ""))
        self._ended = detail
        for future in self._responses.values():
            if not future.done():
                future.set_exception(_failed(detail))
                future.exception()  # its sender may have stopped at a broken pipe already
        self._responses.clear()

    def _answer(self, data: bytes) -> None:
        try:
            answer = json.loads(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            self._printed += data + b"\n"
            return
        payload = answer.get("payload") or {}
        message_id = answer.get("message_id")
        if message_id is None and payload.get("original_message"):
            try:  # an answer to a message Pagefind could not read names it by its content
                message_id = json.loads(payload["original_message"]).get("message_id")
            except (ValueError, AttributeError):
                message_id = None
        future = self._responses.pop(message_id, None)
        if future is None or future.done():
            return
        if payload.get("type") == "Error":
            future.set_exception(_failed(str(payload.get("message", ""))))
        else:
            future.set_result(payload)

    async def close(self) -> None:
        self._poll_task.cancel()
        if self._backend.returncode is None:
            self._backend.terminate()
        await self._backend.wait()


class Indexer:
    """One Pagefind index, in its own service process: pages added (a page added again with the
    same URL replaces the previous one), then the index's files, in memory."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._service: _Service | None = None
        self._index: PagefindIndex | None = None

    async def start(self) -> None:
        binary = executable()
        if binary is None:
            raise SearchError("la recherche ne peut pas être indexée : le programme Pagefind est "
                              "introuvable (installez le paquet « pagefind[bin] »)")
        self._service = await _Service(binary).launch()
        try:
            self._index = await self._service.create_index({"force_language": self.language})
        except OSError as exc:
            raise await self._stopped(exc) from exc

    async def add(self, pages: Mapping[str, str]) -> None:
        """Adds or replaces pages: URL -> HTML. Sent all at once: Pagefind reads them in turn."""
        assert self._index is not None
        try:
            await asyncio.gather(*(self._index.add_html_file(content=html, url=url)
                                   for url, html in pages.items()))
        except OSError as exc:
            raise await self._stopped(exc) from exc

    async def files(self) -> dict[str, bytes]:
        """The index's files (path inside /pagefind/ -> content), built from the pages now in."""
        assert self._index is not None
        try:
            found = await self._index.get_files()
        except OSError as exc:
            raise await self._stopped(exc) from exc
        return {item["path"]: item["content"] for item in found}

    async def _stopped(self, exc: OSError) -> SearchError:
        """The error of a process that stopped while it was written to: its last words say why,
        once its reader has seen the end of its output."""
        service = self._service
        if service is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(service._poll_task), 5.0)
            if service._ended is not None:
                return _failed(service._ended)
        return _failed(str(exc))

    async def close(self) -> None:
        service, self._service, self._index = self._service, None, None
        if service is not None and hasattr(service, "_backend"):
            await service.close()


def indexed_part(page: str) -> str:
    """What Pagefind needs of an article page: its head and the element marked
    `data-pagefind-body`, which holds every `data-pagefind-*` attribute of the shipped layouts.
    Pagefind skips the rest (header, neighbours, footer), but reading it took a third of its
    time. A page with such an attribute elsewhere (a project's own layout) is sent whole."""
    mark = page.find("data-pagefind-body")
    body = page.find("<body")
    start = page.rfind("<", 0, mark)
    if mark < 0 or body < 0 or start < body:
        return page
    name = re.match(r"<([a-zA-Z][a-zA-Z0-9]*)", page[start:])
    if name is None:
        return page
    end = _closing(page, start, name.group(1))
    if end < 0:
        return page
    head, inside = page[:body], page[start:end]
    if page.count("data-pagefind-") != head.count("data-pagefind-") + inside.count(
            "data-pagefind-"):
        return page
    return f"{head}<body>{inside}</body></html>"


def _closing(page: str, start: int, name: str) -> int:
    """Where the element opened at `start` ends (after its closing tag), or -1."""
    tags = re.compile(rf"<(/?){name}[\s>]")
    depth = 0
    for tag in tags.finditer(page, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            close = page.find(">", tag.start())
            return close + 1 if close >= 0 else -1
    return -1


async def index_pages(pages: Mapping[str, str], language: str) -> dict[str, bytes]:
    """The files of an index of `pages` (URL -> HTML)."""
    indexer = Indexer(language)
    await indexer.start()
    try:
        await indexer.add(pages)
        return await indexer.files()
    finally:
        await indexer.close()


def page_count(files: Mapping[str, bytes]) -> int:
    entry = json.loads(files["pagefind-entry.json"])
    return sum(int(language.get("page_count", 0)) for language in entry["languages"].values())


def _article_paths(paths: Iterable[str]) -> set[str]:
    """Article pages among a site's files: /numeros/<number>/<slug>/ (see flash.urls)."""
    prefix = urls.ISSUES.strip("/") + "/"
    return {path for path in paths if path.startswith(prefix) and path.endswith("/index.html")
            and path.count("/") == 3}


def index_site(staging: Staging, env: Environment, site: SiteView, articles: Sequence[Page],
               rendered: set[str], live: LiveIndex | None = None) -> SearchIndex | None:
    """Writes the search page and brings the index up to date with the article pages: every
    page when one was rendered or one left the site (Pagefind makes an index whole), none
    otherwise. `live` (`flash serve`): the index kept between rebuilds, which gets only the
    pages rendered this time. Nothing when search is off."""
    if not site.search:
        return None
    page = search_page()
    staging.write_text(page.path, render_page(env, page, site))
    if live is not None:
        live.stage(staging, articles, rendered)
        return None
    current = {article.path for article in articles}
    gone = _article_paths(staging.previous) - current
    if not (current & rendered or gone) and any(
            path.startswith(BUNDLE + "/") for path in staging.previous):
        staging.keep(BUNDLE + "/")  # the index of the previous build holds these very pages
        return None
    pages = {article.url: indexed_part(staging.read(article.path).decode("utf-8"))
             for article in sorted(articles, key=lambda article: article.path)}
    try:
        files = _run_apart(lambda: asyncio.wait_for(index_pages(pages, site.language), TIMEOUT))
    except TimeoutError as exc:
        raise _failed(f"pas de réponse en {TIMEOUT:.0f} s") from exc
    size = 0
    for path, data in files.items():
        staging.write_bytes(f"{BUNDLE}/{path}", data)
        size += len(data)
    return SearchIndex(pages=page_count(files), files=len(files), bytes=size)


def _run_apart(make: Callable[[], Awaitable[dict[str, bytes]]]) -> dict[str, bytes]:
    """Runs a coroutine to its end from synchronous code, on a thread of its own when the
    caller's thread already runs an event loop (Playwright's sync API, a Starlette handler):
    asyncio.run refuses to start a second loop there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@dataclass
class LiveIndex:
    """`flash serve`'s index: kept in its Pagefind process between rebuilds, brought up to date
    after each one (`refresh`, on the preview's event loop, so a rebuild never waits for it);
    its files are served from memory. A request for them waits until it is current."""

    root: Path  # the preview folder, where the rebuilds wrote the pages
    language: str
    report: Callable[[str], None] = print
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0  # what the last refresh took
    _articles: dict[str, str] = field(default_factory=dict)  # URL -> page path
    _dirty: set[str] = field(default_factory=set)  # URLs to add again
    _gone: set[str] = field(default_factory=set)  # URLs that left the site
    _indexer: Indexer | None = None
    _running: bool = False
    _current: asyncio.Event | None = None

    def stage(self, staging: Staging, articles: Sequence[Page], rendered: set[str]) -> None:
        """Notes what the rebuild changed; `refresh` hands it to Pagefind."""
        now = {article.url: article.path for article in articles}
        self._gone |= self._articles.keys() - now.keys()
        self._gone -= now.keys()
        self._dirty |= {url for url, path in now.items() if path in rendered}
        self._articles = now
        self._event().clear()

    def _event(self) -> asyncio.Event:
        if self._current is None:
            self._current = asyncio.Event()
        return self._current

    async def ready(self) -> None:
        """Returns once the files describe the last rebuild (or `refresh` gave up)."""
        if self._running or self._dirty or self._gone or self._indexer is None:
            await asyncio.wait_for(self._event().wait(), TIMEOUT)

    async def refresh(self) -> None:
        """Hands Pagefind the pages changed since the last refresh, then takes its files."""
        if self._running:
            return  # the refresh under way starts again with what is new
        self._running = True
        try:
            while True:
                start = time.perf_counter()
                fresh = self._indexer is None
                if fresh:
                    self._indexer = Indexer(self.language)
                    await self._indexer.start()
                    self._dirty = set(self._articles)
                    self._gone = set()
                # Read now, on the preview's thread, between rebuilds: the pages are whole.
                pages = {url: indexed_part((self.root / self._articles[url]).read_text(
                    encoding="utf-8")) for url in self._dirty if url in self._articles}
                pages.update((url, GONE) for url in self._gone)
                self._dirty, self._gone = set(), set()
                if pages or fresh:
                    await self._indexer.add(pages)
                    self.files = await self._indexer.files()
                    self.seconds = time.perf_counter() - start
                if not (self._dirty or self._gone):
                    break
        except (SearchError, OSError) as exc:
            self.report(f"la recherche de l’aperçu n’a pas pu être mise à jour : {exc}")
            await self.close()
        finally:
            self._running = False
            self._event().set()

    async def close(self) -> None:
        indexer, self._indexer = self._indexer, None
        if indexer is not None:
            await indexer.close()
