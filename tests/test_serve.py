"""`flash serve` for real: a server process on a free port, pages fetched over HTTP while the
content is edited, broken and fixed; the reload message over the LiveReload protocol, and a
page open in headless Chromium that reloads itself after an edit."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import generate
from lxml import html
from tornado.websocket import websocket_connect

TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def wait_for(url: str, accept: Callable[[int, str], bool], what: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    status, body = 0, ""
    while time.monotonic() < deadline:
        status, body = fetch(url)
        if accept(status, body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{what}: still {status} after {TIMEOUT} s\n{body[:2000]}")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "issues"
    generate(source, issues=4, articles=3, seed=5, min_words=40, max_words=80)
    draft = next(source.glob("*-n4")) / "09-brouillon.md"
    draft.write_text('---\ntitle: "Un brouillon en cours"\norganisation: alfi\n'
                     'summary: "Pas encore publié."\ndraft: true\n---\n\nTexte du brouillon.\n',
                     encoding="utf-8")
    return tmp_path


@pytest.fixture
def server(project: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    yield from serving(project)


def serving(project: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    log = (project / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "flash", "serve", "-s", "issues", "--port", str(port),
         *options],
        cwd=project, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", lambda status, _: status == 200, "the first build")
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def title_of(body: str) -> str:
    return html.fromstring(body).cssselect("h1")[0].text_content().strip()


def test_edit_break_and_fix_an_article(project: Path, server) -> None:
    base, process = server
    source = project / "issues"
    article = next(source.glob("*-n3/02-*.md"))
    url = f"{base}/numeros/3/{article.stem.split('-', 1)[1]}/"
    page = wait_for(url, lambda status, _: status == 200, "the article page")
    assert '<script src="/livereload.js" defer></script>' in page
    assert "Un brouillon en cours" in fetch(f"{base}/numeros/4/brouillon/")[1]  # drafts shown

    edit(article, 'title: "', 'title: "Titre corrigé en direct : ')
    body = wait_for(url, lambda s, b: s == 200 and "Titre corrigé en direct" in b, "the edit")
    assert title_of(body).startswith("Titre corrigé en direct")

    line = next(text for text in article.read_text(encoding="utf-8").splitlines()
                if text.startswith("organisation: "))
    edit(article, line, "organisation: organisme-inconnu")
    body = wait_for(url, lambda status, _: status == 500, "the error page")
    page = html.fromstring(body)
    where = [code.text_content() for code in page.cssselect(".diagnostics li code")]
    assert where == [f"issues/{article.parent.name}/{article.name}:3"]
    text = " ".join(page.text_content().split())  # French spaces (U+202F, U+00A0) as spaces
    assert "organisation inconnue « organisme-inconnu »" in text
    assert page.cssselect('script[src="/livereload.js"]')  # it reloads once fixed

    edit(article, "organisation: organisme-inconnu", line)
    body = wait_for(url, lambda status, _: status == 200, "the recovery")
    assert title_of(body).startswith("Titre corrigé en direct")
    assert process.poll() is None  # the error did not stop the server

    log = (project / "serve.log").read_text(encoding="utf-8")
    assert f"issues/{article.parent.name}/{article.name}:3" in log  # also in the terminal
    assert "Traceback" not in log


def test_open_pages_are_told_to_reload(project: Path, server) -> None:
    """The exchange livereload.js (and the LiveReload browser extensions) have with the server."""
    base, _ = server
    article = next((project / "issues").glob("*-n2/01-*.md"))

    async def listen() -> tuple[dict, dict]:
        socket_ = await websocket_connect(base.replace("http", "ws") + "/livereload")
        await socket_.write_message(json.dumps(
            {"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
        hello = json.loads(await asyncio.wait_for(socket_.read_message(), TIMEOUT))
        await socket_.write_message(json.dumps({"command": "info", "url": base + "/"}))
        await asyncio.sleep(0.3)  # the server counts the page among the open ones
        edit(article, 'title: "', 'title: "Rechargé ')
        message = json.loads(await asyncio.wait_for(socket_.read_message(), TIMEOUT))
        socket_.close()
        return hello, message

    hello, message = asyncio.run(listen())
    assert hello["command"] == "hello"
    assert "http://livereload.com/protocols/official-7" in hello["protocols"]
    assert message["command"] == "reload" and message["liveCSS"] is False
    status, script = fetch(base + "/livereload.js")
    assert status == 200 and "LiveReload" in script


def test_the_preview_makes_pdfs_only_when_asked(project: Path, server) -> None:
    """Seconds an issue: without --print an edit is shown at once, and no PDF is linked."""
    base, _ = server
    status, page = fetch(base + "/numeros/1/")
    assert status == 200 and ".pdf" not in page
    assert fetch(base + "/numeros/1/flash-1.pdf")[0] == 404
    for url, process in serving(project, "--print"):
        status, page = fetch(url + "/numeros/1/")
        assert status == 200 and "/numeros/1/flash-1.pdf" in page
        with urllib.request.urlopen(url + "/numeros/1/flash-1.pdf", timeout=10) as response:
            assert response.read(5) == b"%PDF-"
        process.terminate()


def test_a_page_open_in_the_browser_shows_the_edit(project: Path, server) -> None:
    from site_server import chromium

    base, _ = server
    article = next((project / "issues").glob("*-n1/01-*.md"))
    url = f"{base}/numeros/1/{article.stem.split('-', 1)[1]}/"
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sockets: list[str] = []
        sent: list[str] = []  # what the page's livereload.js told the server

        def opened(socket_) -> None:
            sockets.append(socket_.url)
            socket_.on("framesent", lambda payload: sent.append(str(payload)))

        page.on("websocket", opened)
        page.goto(url)
        before = page.locator("h1").inner_text()
        deadline = time.monotonic() + TIMEOUT
        while not any('"info"' in frame for frame in sent) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        with page.expect_navigation(timeout=TIMEOUT * 1000):  # the page reloads by itself
            edit(article, 'title: "', 'title: "Vu dans le navigateur : ')
        after = page.locator("h1").inner_text()
    assert set(sockets) == {base.replace("http", "ws") + "/livereload"}
    assert after.startswith("Vu dans le navigateur") and after != before
    assert not errors, errors


def test_garbage_is_collected_when_the_preview_is_idle(project: Path, tmp_path: Path) -> None:
    """Rebuilds run without the cycle collector, which runs once no change came for a while;
    a failed rebuild turns it back on too."""
    import gc
    import io

    from rich.console import Console

    from flash.serve import IDLE_SECONDS, Preview
    from flash.settings import load_settings
    from flash.store import MemoryStore

    source = project / "issues"
    preview = Preview(source, tmp_path / "apercu", load_settings(source),
                      Console(file=io.StringIO()), MemoryStore(source))
    assert preview.rebuild() is not None and gc.isenabled() and preview.garbage
    assert gc.get_freeze_count() > 0  # what the rebuild left waits for the idle collection
    article = next(source.glob("*-n2/01-*.md"))
    edit(article, "organisation: ", "organisation: inconnue-")
    preview.check()
    assert preview.problem is not None and gc.isenabled() and preview.garbage
    preview.check()  # nothing changed, but the last change is recent
    assert preview.garbage
    preview.last_change -= IDLE_SECONDS
    collections = gc.get_stats()[2]["collections"]
    preview.check()
    assert not preview.garbage and gc.get_stats()[2]["collections"] == collections + 1
    assert gc.get_freeze_count() == 0
