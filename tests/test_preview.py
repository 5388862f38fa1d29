"""The preview is the site: `flash serve` has the site's search (Pagefind, kept up to date as
articles are edited and removed), and the e-mail seen in the preview takes its images and links
from the preview, at whatever address the browser used; `flash build` says where the e-mails
of `_site` take theirs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from conftest import SAMPLE, generate
from lxml import html
from test_serve import edit, fetch, free_port, wait_for

PRODUCTION = "https://flash.example.org"
RESULT_LINK = ".pagefind-ui__result-link"


@contextmanager
def serving(project: Path) -> Iterator[str]:
    """`flash serve` on the project's issues/, stopped at the end whatever happens."""
    port = free_port()
    log = (project / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "flash", "serve", "-s", "issues", "--port", str(port)],
        cwd=project, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", lambda status, _: status == 200, "the first build")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert "Traceback" not in (project / "serve.log").read_text(encoding="utf-8")


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    generate(tmp_path / "issues", issues=3, articles=3, seed=11, min_words=40, max_words=80)
    return tmp_path


def result_urls(page) -> list[str]:
    """The result links once Pagefind UI announced how many it found (all, up to 5)."""
    page.wait_for_function(
        "() => /^(\\d+ résultats?|Aucun résultat) /.test("
        "document.querySelector('.pagefind-ui__message')?.textContent || '')", timeout=60_000)
    message = page.locator(".pagefind-ui__message").inner_text()
    if message.startswith("Aucun"):
        return []
    shown = min(int(re.match(r"(\d+)", message).group(1)), 5)
    page.wait_for_function(
        f"n => document.querySelectorAll('{RESULT_LINK}').length >= n", arg=shown)
    return [a.get_attribute("href") for a in page.locator(RESULT_LINK).all()]


def article_url(source: Path, markdown: Path) -> str:
    number = int(markdown.parent.name.rsplit("-n", 1)[1])
    return f"/numeros/{number}/{markdown.stem.split('-', 1)[1]}/"


def test_the_preview_has_the_search_of_the_site(generated: Path) -> None:
    from site_server import chromium

    source = generated / "issues"
    articles = sorted(source.glob("*/*.md"))
    first, second = articles[0], articles[4]
    with serving(generated) as base:
        # The header's box, the search page and the index, as on the site.
        home = html.fromstring(fetch(base + "/")[1])
        box = home.cssselect("header form[role=search]")
        assert box and box[0].get("action") == "/recherche/"
        status, body = fetch(base + "/recherche/?q=jardin")
        assert status == 200
        assert html.fromstring(body).cssselect('script[src="/pagefind/pagefind-ui.js"]')
        status, kind, data = get(base + "/pagefind/pagefind-entry.json")
        assert status == 200 and kind.startswith("application/json")
        assert json.loads(data)["languages"]["fr"]["page_count"] == len(articles) == 9
        status, kind, data = get(base + "/pagefind/pagefind-ui.js")
        assert status == 200 and "javascript" in kind and b"PagefindUI" in data
        assert fetch(base + "/pagefind/rien.pf_fragment")[0] == 404

        with chromium() as browser:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Typed in the header of an article page: the search page lists it.
            page.goto(base + article_url(source, second))
            page.get_by_role("search").get_by_label("Rechercher dans le Flash").fill(
                "coquelicot")
            page.get_by_role("search").get_by_role("button", name="Rechercher").click()
            page.wait_for_url(re.compile(r"/recherche/\?q=coquelicot$"))
            assert result_urls(page) == []  # no article says it yet

            # An edit in the running preview: the open search page reloads itself, and finds
            # the new word.
            with page.expect_navigation(timeout=60_000):
                edit(first, "\n\n", "\n\nUn coquelicot pousse au pied de l’immeuble.\n\n")
            assert result_urls(page) == [article_url(source, first)]
            page.screenshot(path=str(generated / "recherche-apercu.png"), full_page=True)

            # Removed from the content: gone from the results too.
            with page.expect_navigation(timeout=60_000):
                first.unlink()
            assert result_urls(page) == []
            assert fetch(base + article_url(source, first))[0] == 404
            status, _, data = get(base + "/pagefind/pagefind-entry.json")
            assert json.loads(data)["languages"]["fr"]["page_count"] == len(articles) - 1
            assert not errors, errors


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """The sample issue, in a project whose public address is the production one."""
    shutil.copytree(SAMPLE, tmp_path / "issues")
    (tmp_path / "pyproject.toml").write_text(f'[tool.flash]\nbase_url = "{PRODUCTION}"\n',
                                             encoding="utf-8")
    return tmp_path


def email_images(document: str) -> list[str]:
    page = html.fromstring(document)
    urls = [img.get("src") for img in page.iter("img")]
    for img in page.iter("img"):
        urls += [item.split()[0] for item in (img.get("srcset") or "").split(",") if item]
    return urls


def test_the_email_in_the_preview_shows_the_preview_s_images(sample_project: Path) -> None:
    with serving(sample_project) as base:
        port = base.rsplit(":", 1)[1]
        for origin in (base, f"http://localhost:{port}"):  # whatever address the browser used
            status, body = fetch(origin + "/numeros/195/email.html")
            assert status == 200
            images = email_images(body)
            assert len(images) >= 12  # the cover and six articles, each with its 2x copy
            assert all(url.startswith(origin + "/media/") for url in images), images
            for url in images:
                status, kind, data = get(url)
                assert (status, kind) == (200, "image/jpeg") and data[:2] == b"\xff\xd8"
            links = html.fromstring(body).xpath("//a/@href")
            assert origin + "/numeros/195/" in links  # « Voir la version en ligne »
            assert not [link for link in links if link.startswith(PRODUCTION)]

            # The complete message, to open in a mail client while the preview runs.
            status, kind, data = get(origin + "/numeros/195/email.eml")
            message = message_from_bytes(data, policy=policy.default)
            part = message.get_body(("html",))
            assert part is not None
            images = email_images(part.get_content())
            assert images and all(url.startswith(origin + "/media/") for url in images)
            assert get(images[0])[0] == 200
            text = message.get_body(("plain",)).get_content()
            assert f"{origin}/numeros/195/" in text and PRODUCTION not in text


def test_the_build_says_where_the_emails_of_the_site_take_their_images(
        sample_project: Path) -> None:
    """The e-mails of _site are the very messages subscribers get: their images are those of the
    site online, and the build says so, with where to proof-read them before."""
    done = subprocess.run([sys.executable, "-m", "flash", "build", "-s", "issues", "-o", "_site"],
                          cwd=sample_project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300"})
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert (f"les images viennent de {PRODUCTION} et n’apparaissent qu’une fois le site publié "
            "à cette adresse") in said
    assert "flash serve" in said and "/numeros/N/email.html" in said
    site = sample_project / "_site"
    images = email_images((site / "numeros/195/email.html").read_text(encoding="utf-8"))
    assert images and all(url.startswith(PRODUCTION + "/media/") for url in images)
    assert all((site / url.removeprefix(PRODUCTION + "/")).is_file() for url in images)
    message = message_from_bytes((site / "numeros/195/email.eml").read_bytes(),
                                 policy=policy.default)
    assert email_images(message.get_body(("html",)).get_content()) == images
