"""A built site served as Netlify would: static files on 127.0.0.1, pretty URLs, 404.html for
missing pages, and the [[headers]] of netlify.toml; plus a headless Chromium to look at it.

Also a way to look at a built `_site` itself, which `python3 -m http.server` would answer with
its English error page for a missing address:
    python3 tests/site_server.py [_site] [--port 8000]"""

from __future__ import annotations

import functools
import re
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NETLIFY_TOML = REPO / "netlify.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

HeaderRules = list[tuple[re.Pattern[str], dict[str, str]]]


def netlify_config(path: Path = NETLIFY_TOML) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _pattern(rule: str) -> re.Pattern[str]:
    """Netlify path syntax: `*` is a splat, `:name` one segment, the rest literal."""
    parts = re.split(r"(\*|:[A-Za-z_]+)", rule)
    regex = "".join(".*" if p == "*" else "[^/]+" if p.startswith(":") else re.escape(p)
                    for p in parts)
    return re.compile(f"^{regex}/?$")


def header_rules(config: dict[str, Any]) -> HeaderRules:
    return [(_pattern(rule["for"]), {k: " ".join(str(v).split()) for k, v in
                                     rule.get("values", {}).items()})
            for rule in config.get("headers", [])]


def headers_for(rules: HeaderRules, path: str) -> dict[str, str]:
    """Every matching rule applies; a header named by several rules is appended, as Netlify
    does, so overlapping rules show up as doubled values instead of silently winning."""
    found: dict[str, str] = {}
    for pattern, values in rules:
        if pattern.match(path):
            for name, value in values.items():
                found[name] = f"{found[name]}, {value}" if name in found else value
    return found


class _Handler(SimpleHTTPRequestHandler):
    extra_headers: Callable[[str], dict[str, str]] = staticmethod(lambda path: {})
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        for name, value in self.extra_headers(path).items():
            self.send_header(name, value)
        super().end_headers()

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The browser cancels requests it no longer needs (lazy images, navigation): not a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(root: Path, headers: Callable[[str], dict[str, str]] | None = None, port: int = 0
          ) -> Iterator[str]:
    """Serves `root` on 127.0.0.1 (`port`, by default a free one) until the block ends; yields
    the base URL."""
    handler = type("Handler", (_Handler,), {
        "extra_headers": staticmethod(headers or (lambda path: {}))})
    server = _Server(("127.0.0.1", port), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def main(argv: list[str]) -> None:
    """`python3 tests/site_server.py [_site] [--port 8000]`: the built site as Netlify will
    serve it, until Ctrl+C."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="_site", type=Path)
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args(argv)
    if not (options.root / "index.html").is_file():
        sys.exit(f"{options.root} n’est pas un site construit : lancez d’abord « flash build ».")
    rules = header_rules(netlify_config())
    with serve(options.root, lambda path: headers_for(rules, path), options.port) as url:
        print(f"{options.root} servi sur {url}/ comme le servira Netlify (404.html, en-têtes de "
              "netlify.toml) — Ctrl+C pour arrêter.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
