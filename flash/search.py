"""Search: the /recherche/ page, and Pagefind's static index of the staged site.

Pagefind runs on the complete staged folder, just before it is swapped in, so the index always
describes exactly the pages published with it. Only article pages carry `data-pagefind-body`:
results are articles, never the index pages that repeat their titles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment

from flash import urls
from flash.output import OutputError, Staging
from flash.pages import Page
from flash.render import SiteView, render_page

BUNDLE = "pagefind"  # folder of the index inside the site, and its URL: /pagefind/
# Only article pages carry data-pagefind-body: Pagefind need not parse the others (a third of
# its time on a large archive). Article URLs are /numeros/<number>/<slug>/ (flash.urls).
ARTICLE_GLOB = urls.ISSUES.strip("/") + "/*/*/index.html"
TIMEOUT = 600.0


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


def _bundle_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _page_count(bundle: Path) -> int:
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(int(language.get("page_count", 0)) for language in entry["languages"].values())


def run_pagefind(site_root: Path, language: str) -> SearchIndex:
    """Indexes every HTML page under `site_root` into `site_root/pagefind/`."""
    import subprocess  # only when the index is built: a build without search does without

    binary = executable()
    if binary is None:
        raise SearchError("la recherche ne peut pas être indexée : le programme Pagefind est "
                          "introuvable (installez le paquet « pagefind[bin] »)")
    command = [str(binary), "--site", str(site_root), "--output-subdir", BUNDLE,
               "--glob", ARTICLE_GLOB, "--force-language", language, "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchError(f"l’indexation de la recherche (Pagefind) a échoué : {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SearchError("l’indexation de la recherche (Pagefind) a échoué : "
                          + (detail[-1] if detail else f"code de sortie {done.returncode}"))
    bundle = site_root / BUNDLE
    files, size = _bundle_size(bundle)
    return SearchIndex(pages=_page_count(bundle), files=files, bytes=size)


def index_site(staging: Staging, env: Environment, site: SiteView) -> SearchIndex | None:
    """Writes the search page, then indexes the staged site. Nothing when search is off."""
    if not site.search:
        return None
    page = search_page()
    staging.write_text(page.path, render_page(env, page, site))
    index = run_pagefind(staging.root, site.language)
    staging.files += index.files
    return index
