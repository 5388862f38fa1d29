"""The build cache, in .flash-cache/ beside the content folder (git ignores it): what one build
hands the next. The parsed files (flash.parse_cache), the manifests of output folders
(flash.manifests), and the memos of fingerprints and pages that `flash serve` keeps alive.

Everything is also keyed by a digest of Flash's own code and of the installed packages
(flash.digests): a cache written by another version is ignored, never trusted. Deleting the
folder is always safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flash.manifests import Manifests
from flash.parse_cache import ParseCache
from flash.paths import cache_dir


class BuildCache:
    """Everything a build may reuse; `flash serve` keeps one alive between its builds."""

    def __init__(self, source: Path, enabled: bool = True, *, keep_parsed_in_memory: bool = False):
        self.folder = cache_dir(source) if enabled else None
        self.parsed = ParseCache(source, self.folder)
        self.manifests = Manifests(self.folder)
        # `flash serve` writes the parsed files once, when it stops, not after every build.
        self.keep_parsed_in_memory = keep_parsed_in_memory
        self.environments: dict[str, Any] = {}  # layouts digest -> Jinja environment
        self.validated: dict[Path, tuple] = {}  # see validate._article
        self.texts: dict[int, tuple[str, bytes]] = {}  # see Fingerprints.text
        self.article_digests: dict[int, tuple[Any, bytes, bytes]] = {}  # Fingerprints.articles
        self.issue_heads: dict[int, tuple[Any, bytes]] = {}  # Fingerprints._heads
        self.issue_digests: dict[int, tuple[Any, bytes]] = {}  # Fingerprints.issues
        self.corpus: Any = None  # the previous build's corpus (see build._canonical)
        self.moved: set[int] = set()  # see build._moved
        self.page_keys: dict[str, tuple[Any, str]] = {}  # path -> (page, key): build._page_keys
        self.page_keys_site = ""
        self.fragments: Any = None  # render.Fragments of the previous build
        self.pages: dict[str, Any] = {}  # url -> Page of the previous plan (see pages.plan)
        # issue number -> (issue, site key, key of its e-mail): see build._write_emails
        self.email_keys: dict[int, tuple[Any, str, str]] = {}

    def save(self, final: bool = False) -> None:
        if final or not self.keep_parsed_in_memory:
            self.parsed.save()
            self.manifests.flush()
