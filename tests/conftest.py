"""Shared fixtures: content trees written in tmp_path, sites built from them, parsed output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree, html

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "issues"
sys.path.insert(0, str(REPO / "bench"))

from corpus import generate  # noqa: E402

from flash.build import build  # noqa: E402
from flash.settings import Settings  # noqa: E402

BASE_URL = "https://flash.example.org"


def settings_for(**changes) -> Settings:
    return Settings(base_url=BASE_URL, root=REPO).with_overrides(**changes)


def parse(path: Path) -> html.HtmlElement:
    return html.fromstring(path.read_bytes())


def parse_xml(path: Path) -> etree._Element:
    return etree.fromstring(path.read_bytes())


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Writes {relative path: content} under root; returns root."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue (issues/) built once for the session."""
    out = tmp_path_factory.mktemp("sample") / "_site"
    build(SAMPLE, out, settings_for())
    return out


@pytest.fixture(scope="session")
def corpus_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated multi-issue archive: 30 issues × 5 articles, some with images."""
    root = tmp_path_factory.mktemp("corpus") / "issues"
    generate(root, issues=30, articles=5, seed=7, images=False, min_words=60, max_words=160)
    return root


@pytest.fixture(scope="session")
def corpus_site(tmp_path_factory: pytest.TempPathFactory, corpus_source: Path) -> Path:
    out = tmp_path_factory.mktemp("corpus-site") / "_site"
    build(corpus_source, out, settings_for())
    return out


@pytest.fixture(scope="module")
def base_url(sample_site: Path) -> Iterator[str]:
    """The sample site served on 127.0.0.1 as Netlify would (see site_server.py)."""
    from site_server import serve

    with serve(sample_site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's headless Chromium, one per test module."""
    from site_server import chromium

    with chromium() as launched:
        yield launched
