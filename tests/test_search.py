"""The search index: built by Pagefind at the end of every build, articles only, with the
organisation, theme and year filters; a failing indexer stops the build in French and leaves
the previous site online."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE, parse, settings_for
from lxml import html

from flash import search
from flash.build import build
from flash.search import SearchError


def test_every_article_and_nothing_else_is_indexed(sample_site: Path) -> None:
    entry = json.loads((sample_site / "pagefind" / "pagefind-entry.json").read_text())
    assert list(entry["languages"]) == ["fr"]  # French stemming
    articles = list(sample_site.glob("numeros/195/*/index.html"))
    assert entry["languages"]["fr"]["page_count"] == len(articles) == 6
    for article in articles:
        page = parse(article)
        body = page.cssselect("[data-pagefind-body]")
        assert len(body) == 1 and body[0].tag == "article"
        filters = {e.get("data-pagefind-filter").split(":")[0]
                   for e in body[0].cssselect("[data-pagefind-filter]")}
        assert filters == {"Organisation", "Année", "Thème"}
    assert not parse(sample_site / "numeros/195/index.html").cssselect("[data-pagefind-body]")
    assert list((sample_site / "pagefind" / "filter").iterdir())


def test_search_page_and_field(sample_site: Path) -> None:
    page = parse(sample_site / "recherche" / "index.html")
    form = page.cssselect("form[role=search]")[0]
    assert (form.get("action"), form.get("method")) == ("/recherche/", "get")
    assert form.cssselect("input[name=q]")[0].get("id") == \
        form.cssselect("label")[0].get("for")
    scripts = [s.get("src") for s in page.cssselect("script[src]")]
    assert "/pagefind/pagefind-ui.js" in scripts
    assert all((sample_site / s.lstrip("/")).is_file() for s in scripts)
    home = parse(sample_site / "index.html")
    header_form = home.cssselect("header form[role=search]")[0]
    assert header_form.get("action") == "/recherche/"
    assert header_form.cssselect("input[type=search][name=q]")


def failing_pagefind(folder: Path) -> Path:
    script = folder / "pagefind"
    script.write_text("#!/bin/sh\necho 'Error: disk full' >&2\nexit 3\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_failing_indexer_keeps_the_previous_site(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "_site"
    build(SAMPLE, out, settings_for())
    before = (out / "index.html").read_bytes()
    monkeypatch.setattr(search, "executable", lambda: failing_pagefind(tmp_path))
    with pytest.raises(SearchError, match=r"Pagefind.*disk full"):
        build(SAMPLE, out, settings_for(), use_cache=False)
    assert (out / "index.html").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("._site-")]


def test_the_command_reports_it_in_french_without_traceback(tmp_path: Path) -> None:
    fake = failing_pagefind(tmp_path)
    code = ("import sys; from pathlib import Path; import flash.search as s; "
            f"s.executable = lambda: Path({str(fake)!r}); "
            "from flash.cli import main; sys.argv = ['flash'] + sys.argv[1:]; main()")
    done = subprocess.run([sys.executable, "-c", code, "build", "-s", str(SAMPLE),
                           "-o", str(tmp_path / "_site")], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "l’indexation de la recherche (Pagefind) a échoué" in done.stderr
    assert not (tmp_path / "_site").exists()


def test_pagefind_is_handed_the_indexed_element_only(sample_site: Path) -> None:
    """Pagefind reads only the element marked data-pagefind-body (and the filters, meta and
    sorts inside it): it gets the page's head and that element, nothing it would skip."""
    for path in sample_site.glob("numeros/195/*/index.html"):
        page = path.read_text(encoding="utf-8")
        part = search.indexed_part(page)
        assert len(part) < len(page)
        whole, handed = html.fromstring(page), html.fromstring(part)
        [body] = whole.cssselect("[data-pagefind-body]")
        assert handed.cssselect("body > [data-pagefind-body]")[0].text_content() == \
            body.text_content()
        marked = [(e.tag, sorted(k for k in e.attrib if k.startswith("data-pagefind")))
                  for e in whole.iter() if any(k.startswith("data-pagefind") for k in e.attrib)]
        assert marked == [(e.tag, sorted(k for k in e.attrib if k.startswith("data-pagefind")))
                          for e in handed.iter()
                          if any(k.startswith("data-pagefind") for k in e.attrib)]
        assert handed.findtext(".//title") == whole.findtext(".//title")
        assert not handed.cssselect(".site-header, .site-nav, .site-footer")


def test_nested_elements_and_marks_outside_the_body() -> None:
    head = "<!DOCTYPE html><html lang=\"fr\"><head><title>T</title></head>"
    nested = (head + '<body><header>menu</header><article data-pagefind-body><p>a</p>'
              "<article>b</article><p>c</p></article><footer>pied</footer></body></html>")
    part = search.indexed_part(nested)
    assert "<p>c</p></article></body>" in part and "pied" not in part and "menu" not in part
    # A filter outside the indexed element (a project's own layout): the page goes whole.
    outside = nested.replace("<header>", '<header data-pagefind-filter="Rubrique:x">')
    assert search.indexed_part(outside) == outside
    for broken in (head + "<body><article data-pagefind-body><p>jamais fermé</p></body>",
                   head + "<body><p>rien à indexer</p></body></html>", "", "<article"):
        assert search.indexed_part(broken) == broken
