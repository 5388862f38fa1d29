"""Every page kind passes the W3C Nu HTML Checker (vnu.jar from the npm package vnu-jar, run
with Java) with zero errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

VNU = REPO / "tests" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SAMPLE_PAGES = [
    "index.html",
    "numeros/index.html",
    "numeros/195/index.html",
    "numeros/195/livre-de-recettes-gratines/index.html",
    "numeros/195/concours-de-masques-auby/index.html",
    "organisations/index.html",
    "organisations/mesolia/index.html",
    "themes/index.html",
    "themes/vivre-ensemble/index.html",
    "recherche/index.html",
    "404.html",
]


def check(files: list[Path]) -> list[dict]:
    java = shutil.which("java")
    assert java, "Java is needed by the Nu HTML Checker (tests/run installs it)"
    assert VNU.is_file(), "run `npm ci` in tests/ (tests/run does it)"
    done = subprocess.run([java, "-jar", str(VNU), "--format", "json", "--exit-zero-always",
                           *map(str, files)], capture_output=True, text=True, timeout=300)
    # vnu writes its JSON report to standard error.
    return json.loads(done.stderr)["messages"]


def errors_of(messages: list[dict]) -> list[str]:
    return [f"{m.get('url', '').rsplit('_site/', 1)[-1]}:{m.get('lastLine')}: {m['message']}"
            for m in messages if m["type"] in ("error", "non-document-error")]


def test_every_page_kind_of_the_sample_is_valid(sample_site: Path) -> None:
    files = [sample_site / page for page in SAMPLE_PAGES]
    assert all(f.is_file() for f in files)
    messages = check(files)
    assert errors_of(messages) == []


def test_paginated_indexes_are_valid(corpus_site: Path) -> None:
    files = sorted(corpus_site.glob("organisations/*/page/2/index.html"))[:2] + sorted(
        corpus_site.glob("themes/*/page/2/index.html"))[:2]
    if not files:
        pytest.skip("the generated archive has no second index page")
    files += [corpus_site / "numeros" / "index.html"]
    assert errors_of(check(files)) == []
