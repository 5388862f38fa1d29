"""`flash serve`: a live preview. Watches the content, the layouts, the assets and pyproject.toml,
rebuilds only what changed (the incremental build, with a store kept in memory) and reloads the
pages open in the browser. A content error shows in the browser, naming the file and the line,
and in the terminal; the server keeps running and recovers as soon as the file is fixed.

The preview is built with drafts, into its own folder (.flash-cache/apercu/ by default): it
never touches the published site. Its search index is kept by Pagefind between rebuilds and
served from memory (see flash.search.LiveIndex).

Browsers are reloaded through livereload: its WebSocket handler and its client script speak the
LiveReload protocol. Its `Server.serve` is not used: it looks for changes every 0.8 s, does not
reload the browsers for a change less than 3 s after the previous reload, and serves files with
Tornado's static handler, which cannot show the error page. The watcher here looks every 0.1 s,
at the files' sizes and dates (see flash.digests.tree_stamp), on the same Tornado loop.
"""

from __future__ import annotations

import gc
import html
import mimetypes
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from rich.console import Console
from rich.markup import escape
from tornado import httpserver, ioloop, netutil, web, websocket

from flash import search
from flash.build import BuildReport, build
from flash.diagnostics import ContentError, Diagnostic
from flash.digests import Stat, tree_stamp
from flash.model import Corpus
from flash.output import OutputError
from flash.paths import cache_dir
from flash.search import BUNDLE, LiveIndex
from flash.settings import Settings, SettingsError, load_settings
from flash.shipped import project_dirs
from flash.store import MemoryStore
from flash.typography import french

POLL_SECONDS = 0.1
# Garbage is collected once the preview has been idle this long (see Preview.rebuild).
IDLE_SECONDS = 1.0
# livereload's end of the LiveReload protocol: its client script (which also drives the
# LiveReload browser extensions) and the WebSocket it talks to, at the paths the script expects.
SCRIPT = '<script src="/livereload.js" defer></script>'
# Pages load again whatever changed: styles and images have new fingerprinted names, which a
# stylesheet or image swap in place would miss.
RELOAD = {"command": "reload", "path": "*", "liveCSS": False, "liveImg": False}


class ServeError(Exception):
    pass


@dataclass
class Problem:
    """Why the preview cannot show the site: shown instead of every page until fixed."""

    title: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    message: str | None = None


@dataclass
class Preview:
    source: Path
    output: Path
    settings: Settings
    console: Console
    store: MemoryStore
    search: LiveIndex | None = None  # None when Pagefind is missing: no search box either
    # The PDFs take seconds an issue: the live preview makes them only when asked (--print).
    printing: bool = False
    problem: Problem | None = None
    stamp: str = ""
    builds: int = 0
    garbage: bool = False  # a rebuild ran since the last full collection
    last_change: float = 0.0  # time.monotonic() of the last change seen
    corpus: Corpus | None = None  # the content of the last good build (the editor's)

    def watched(self) -> list[Path]:
        folders = [self.source, *project_dirs(self.settings, "layouts"),
                   *project_dirs(self.settings, "assets")]
        pyproject = self.settings.root / "pyproject.toml"
        return [*folders, pyproject] if pyproject.is_file() else folders

    def current_stamp(self, stats: dict[str, Stat] | None = None) -> str:
        return tree_stamp(self.watched(), "", stats)[0]

    def rebuild(self, stamp: str | None = None, stats: dict[str, Stat] | None = None
                ) -> BuildReport | None:
        """One incremental build; problems become the error page instead of an exception.
        `stamp` and `stats`: what looking for changes just saw (see check)."""
        if stamp is None:
            stats = {}
            stamp = self.current_stamp(stats)
        self.stamp = stamp
        start = time.perf_counter()
        self.store.parsed.stats = stats  # the build need not look at every file again
        # Python's cycle collector would run many times in a rebuild, and now and then make a
        # full pass over the archive kept in memory, only to find the few cycles a build
        # leaves. It is off during a rebuild; then what the rebuild left is set aside (frozen)
        # until the preview is idle.
        gc.disable()
        self.garbage = True
        try:
            self.settings = _preview_settings(self.source, self.settings)
            report = build(self.source, self.output, self.settings, drafts=True,
                           search_on=self.search is not None, store=self.store,
                           skip_if_unchanged=False, search_index=self.search,
                           printing=self.printing)
        except SettingsError as exc:
            self._fail(Problem("Réglages illisibles (pyproject.toml)", message=str(exc)))
            return None
        except ContentError as exc:
            self._fail(Problem("Le contenu a des erreurs", exc.diagnostics))
            return None
        except OutputError as exc:
            self._fail(Problem("Le site ne peut pas être écrit", message=str(exc)))
            return None
        except Exception as exc:  # a layout error must not stop the preview
            self._fail(Problem("Erreur dans les gabarits (layouts)", message=_describe(exc)))
            return None
        finally:
            self.store.parsed.stats = None
            gc.freeze()
            gc.enable()
        seconds = time.perf_counter() - start
        if self.search is not None:  # after the reload: a search waits for it, pages do not
            ioloop.IOLoop.current().spawn_callback(self.search.refresh)
        self.builds += 1
        self.corpus = report.corpus or self.corpus
        recovered = self.problem is not None
        self.problem = None
        for d in report.warnings if self.builds == 1 else []:
            self.console.print(_diagnostic_line(d))
        rendered = len(report.rendered)
        what = (f"{rendered} page{'s' if rendered > 1 else ''} rendue{'s' if rendered > 1 else ''}"
                if rendered else "aucune page à rendre")
        self.console.print(f"[green]{'Corrigé : site' if recovered else 'Site'} reconstruit[/] "
                           f"en {seconds * 1000:,.0f}\u00a0ms ({what}).".replace(",", "\u202f"))
        return report

    def _fail(self, problem: Problem) -> None:
        self.problem = problem
        self.console.print(f"[red bold]{escape(problem.title)}[/] : l’aperçu affiche l’erreur "
                           "jusqu’à sa correction.")
        for d in problem.diagnostics:
            self.console.print(_diagnostic_line(d))
        if problem.message:
            self.console.print(escape(problem.message))

    def check(self) -> None:
        """Called every POLL_SECONDS: rebuilds and reloads the browsers when something changed,
        else collects the garbage of the last rebuilds once the preview is idle."""
        stats: dict[str, Stat] = {}
        stamp = self.current_stamp(stats)
        if stamp == self.stamp:
            if self.garbage and time.monotonic() - self.last_change > IDLE_SECONDS:
                self.collect_garbage()
            return
        self.last_change = time.monotonic()
        self.rebuild(stamp, stats)
        for client in list(LiveReloadHandler.waiters):
            try:
                client.write_message(RELOAD)
            except websocket.WebSocketClosedError:
                LiveReloadHandler.waiters.discard(client)

    def collect_garbage(self) -> None:
        gc.unfreeze()
        gc.collect()
        self.garbage = False


def _preview_settings(source: Path, current: Settings) -> Settings:
    """Settings read again (pyproject.toml may have changed), pointing at the preview server."""
    fresh = load_settings(source)
    return fresh.with_overrides(base_url=current.base_url)


def _describe(exc: Exception) -> str:
    where = ""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if filename:
        where = f"{filename}:{line} : " if line else f"{filename} : "
    return f"{where}{exc}"


def _diagnostic_line(d: Diagnostic) -> str:
    where = f"{d.path}:{d.line}" if d.line else d.path
    colour = "red" if d.is_error else "yellow"
    return f"[bold]{escape(where)}[/]: [{colour}]{d.level}[/] : {escape(d.message)}"


def error_page(problem: Problem) -> str:
    items = "".join(
        f'<li><code>{html.escape(f"{d.path}:{d.line}" if d.line else d.path)}</code> : '
        f'<span class="{"erreur" if d.is_error else "avertissement"}">{html.escape(d.level)}'
        f"</span> : {html.escape(french(d.message))}</li>" for d in problem.diagnostics)
    message = f"<pre>{html.escape(french(problem.message))}</pre>" if problem.message else ""
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Erreur — aperçu du Flash</title>
<style>
body {{ font: 1.05rem/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }}
main {{ max-width: 52rem; margin: 2rem auto; padding: 0 1.25rem; }}
h1 {{ color: #a4001d; font-size: 1.6rem; }}
li {{ margin: .6rem 0; }}
code, pre {{ font-family: ui-monospace, monospace; background: #f3f3f3; padding: .1rem .3rem; }}
pre {{ padding: .8rem; white-space: pre-wrap; }}
.erreur {{ color: #a4001d; font-weight: 700; }}
.avertissement {{ color: #7a4b00; }}
</style>
{SCRIPT}
</head>
<body>
<main>
<h1>{html.escape(problem.title)}</h1>
<p>Corrigez le fichier indiqué puis enregistrez-le : la page se rechargera d’elle-même.</p>
<ul class="diagnostics">{items}</ul>
{message}
</main>
</body>
</html>
"""


class SiteFiles(web.RequestHandler):
    """The preview folder, with the reload script in every page, or the error page."""

    def initialize(self, preview: Preview) -> None:
        self.preview = preview

    async def get(self, path: str) -> None:
        self.set_header("Cache-Control", "no-store")
        if path.startswith(BUNDLE + "/") and self.preview.search is not None:
            await self._search_file(path[len(BUNDLE) + 1:])
            return
        root = self.preview.output.resolve()
        target = (root / path.lstrip("/")).resolve()
        if target != root and root not in target.parents:
            raise web.HTTPError(404)
        if target.is_dir():
            if path and not path.endswith("/"):
                self.redirect("/" + path.lstrip("/") + "/")
                return
            target = target / "index.html"
        is_page = target.suffix in (".html", "") and not path.startswith("assets/")
        if self.preview.problem is not None and is_page:
            self.set_status(500)
            self._html(error_page(self.preview.problem))
            return
        if not target.is_file():
            self.set_status(404)
            missing = root / "404.html"
            self._html(missing.read_text(encoding="utf-8") if missing.is_file() else
                       "<!DOCTYPE html><title>Page introuvable</title><h1>Page introuvable</h1>")
            return
        data = target.read_bytes()
        origins = self._origins()
        if target.suffix == ".html":
            text = data.decode("utf-8", "replace")
            self._html(text.replace(*origins) if origins else text)
            return
        if origins and target.suffix == ".eml":
            data = message_at(data, *origins)
        elif origins and target.suffix in (".txt", ".xml"):
            data = data.replace(*(origin.encode() for origin in origins))
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("xml", "json", "javascript")):
            kind += "; charset=utf-8"
        self.set_header("Content-Type", kind)
        self.write(data)

    def _origins(self) -> tuple[str, str] | None:
        """(the preview's address, as the build wrote it in e-mails and feeds; the one this
        browser used) when they differ: localhost for 127.0.0.1, or this computer's address on
        the network, as a phone reading the e-mail uses with --host 0.0.0.0."""
        built = self.preview.settings.site_url
        asked = f"{self.request.protocol}://{self.request.host}"
        return (built, asked) if asked != built else None

    async def _search_file(self, name: str) -> None:
        """A file of the search index, from memory, once it describes the last rebuild."""
        search = self.preview.search
        assert search is not None
        await search.ready()
        data = search.files.get(name)
        if data is None:
            self.set_status(404)
            return
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("json", "javascript")):
            kind += "; charset=utf-8"
        self.set_header("Content-Type", kind)
        self.write(data)

    def _html(self, text: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        if SCRIPT not in text:
            head = text.find("</head>")
            text = text[:head] + SCRIPT + text[head:] if head >= 0 else text + SCRIPT
        self.write(text)


def message_at(data: bytes, built: str, asked: str) -> bytes:
    """An e-mail (.eml) of the preview, its images and links at the address the browser used.
    Its bodies are quoted-printable, where an address may be cut across two lines: they are
    decoded, changed and encoded again."""
    from email import message_from_bytes, policy

    message = message_from_bytes(data, policy=policy.default)
    for name, value in list(message.items()):
        if built in str(value):
            message.replace_header(name, str(value).replace(built, asked))
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_multipart():
            text = part.get_content()
            if built in text:
                part.set_content(text.replace(built, asked), subtype=part.get_content_subtype(),
                                 cte="quoted-printable")
    return message.as_bytes()


class EditorFiles(web.RequestHandler):
    """/admin/: Decap CMS on the local files, its configuration made from the content of the
    last good build, pointing at this server's local backend."""

    def initialize(self, preview: Preview) -> None:
        self.preview = preview

    def get(self, name: str) -> None:
        from flash.editor import site

        corpus = self.preview.corpus
        if corpus is None:  # the content never built: the error page says why
            problem = self.preview.problem or Problem("L’éditeur attend un contenu valide")
            self.set_status(503)
            self._html(error_page(problem))
            return
        stylesheets = sorted((self.preview.output / "assets").glob("flash.*.css"),
                             key=lambda path: path.stat().st_mtime)
        stylesheet = f"/assets/{stylesheets[-1].name}" if stylesheets else ""
        local = f"{self.request.protocol}://{self.request.host}/api/v1"
        found = site.files(corpus, self.preview.settings, self.preview.source, stylesheet,
                           local_url=local).get(name or "index.html")
        if found is None:
            raise web.HTTPError(404)
        self.set_header("Cache-Control", "no-store")
        kind = "text/yaml" if name.endswith(".yml") else mimetypes.guess_type(
            name or "index.html")[0]
        self.set_header("Content-Type", kind or "application/octet-stream")
        self.write(found)

    def _html(self, text: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(text)


class LocalBackendHandler(web.RequestHandler):
    """Decap's local backend protocol (see flash.editor.backend), same origin as the editor."""

    def initialize(self, preview: Preview) -> None:
        from flash.editor.backend import LocalBackend
        from flash.validate import load_corpus

        self.backend = LocalBackend(
            preview.settings.root, preview.source,
            lambda folder: load_corpus(folder, drafts=True)[1].items)

    def post(self) -> None:
        import json

        from flash.editor.backend import Refused

        self.set_header("Content-Type", "application/json; charset=utf-8")
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise Refused("requête illisible")
            self.write(json.dumps(self.backend.handle(body), ensure_ascii=False))
        except Refused as exc:
            self.set_status(422)
            self.write(json.dumps({"error": str(exc)}, ensure_ascii=False))
        except (ValueError, OSError) as exc:
            self.set_status(400)
            self.write(json.dumps({"error": f"requête impossible ({type(exc).__name__})"}))


def application(preview: Preview) -> web.Application:
    return web.Application([
        (r"/livereload", LiveReloadHandler),
        (r"/livereload\.js", LiveReloadJSHandler),
        (r"/admin", web.RedirectHandler, {"url": "/admin/"}),
        (r"/admin/(.*)", EditorFiles, {"preview": preview}),
        (r"/api/v1", LocalBackendHandler, {"preview": preview}),
        (r"/(.*)", SiteFiles, {"preview": preview}),
    ], log_function=lambda handler: None)  # the terminal shows builds, not every request


def serve(source: Path, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
          output: Path | None = None, console: Console | None = None,
          printing: bool = False) -> None:
    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    if not source.is_dir():
        raise ServeError(f"dossier de contenu introuvable : {source}")
    output = output or cache_dir(source) / "apercu"
    try:
        sockets = netutil.bind_sockets(port, address=host)
    except OSError as exc:
        raise ServeError(f"impossible d’écouter sur {host}:{port} ({exc.strerror}) : essayez "
                         "un autre port avec --port") from exc
    port = sockets[0].getsockname()[1]
    url = f"http://{host}:{port}"
    preview = Preview(source, output, settings.with_overrides(base_url=url), console,
                      MemoryStore(source), printing=printing)
    if search.available():
        preview.search = LiveIndex(output, settings.language, report=lambda message:
                                   console.print(f"[yellow]{escape(message)}[/]"))
    preview.rebuild()
    loop = ioloop.IOLoop.current()
    server = httpserver.HTTPServer(application(preview))
    server.add_sockets(sockets)
    watcher = ioloop.PeriodicCallback(preview.check, POLL_SECONDS * 1000)
    watcher.start()
    signal.signal(signal.SIGTERM, lambda *_: loop.add_callback(loop.stop))
    console.print(f"Aperçu sur [bold]{url}/[/] (brouillons compris) — Ctrl+C pour arrêter.")
    try:
        loop.start()
    finally:
        watcher.stop()
        server.stop()
        if preview.search is not None:
            loop.run_sync(preview.search.close)
        preview.store.save()
