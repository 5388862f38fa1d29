"""The store of previous results, what one build hands the next: on disk for `flash build`
(.flash-cache/ beside the content folder, git-ignored), in memory too for `flash serve`.

It holds the parsed files (flash.parse_cache), the manifests of output folders
(flash.manifests: each file's key), the Jinja environments and, in memory, the checked
articles and issues, the last listing of the content and the fragments of pages. Everything in
it is keyed by value (content digests, digests of what an output shows, Flash's code): a build
asks it whether what it would make is already there, and never compares objects. Deleting the
folder is always safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flash.manifests import Manifests
from flash.output import Staging
from flash.parse_cache import ParseCache
from flash.paths import cache_dir

if TYPE_CHECKING:
    from jinja2 import Environment

    from flash.model import SiteView
    from flash.render import Fragments
    from flash.validate import Listed

T = TypeVar("T")


class Store:
    """`flash build`'s store: what is worth keeping goes to the disk once the build is over."""

    def __init__(self, source: Path, enabled: bool = True):
        self.folder = cache_dir(source) if enabled else None
        self.parsed = ParseCache(source, self.folder)
        # Once files are parsed, a forked process saves them while this one checks the content.
        self.parsed.save_aside = True
        self.manifests = Manifests(self.folder)
        self.environments: dict[str, Any] = {}  # layouts digest -> Jinja environment
        # Checked articles and issues by path, with the key of what they were made from
        # (validate.Context.reuse); the last listing of the content (validate.Listed).
        self.checked: dict[Path, tuple] | None = None
        self.listed: Listed | None = None

    def checked_all(self) -> None:
        """The content is checked: the parsed files are no longer needed in memory."""
        self.parsed.forget()

    def keys(self, salt: str, items: Sequence[T], name: Callable[[T], str],
             signature: Callable[[T], Any], compute: Callable[[T], str]) -> list[str]:
        """The key of each item (a page): compute(item). `signature`: what its key is made
        of but `salt`, compared by value (value_digest.signature); `name`: its own name."""
        return [compute(item) for item in items]

    def fragments(self, env: Environment, site: SiteView, salt: str) -> Fragments:
        from flash.render import Fragments

        return Fragments(env, site, salt=salt)

    def staging(self, output: Path, use_cache: bool) -> tuple[Staging, bool]:
        """Where the build writes: a patch of the output folder, made beside it and moved in
        once complete; and whether the build is cold (nothing built there to compare with)."""
        previous, groups = self._previous(output, use_cache)
        return Staging(output, previous, groups, complete=False), not previous

    def _previous(self, output: Path, use_cache: bool) -> tuple[dict, dict]:
        """What the last build recorded of `output`: each file's key, each group's."""
        return (self.manifests.load(output) if use_cache else None) or ({}, {})

    def record(self, output: Path, build_id: str, staging: Staging,
               summary: tuple[str, Any] | None) -> None:
        """What the output folder now holds; `summary`: (stamp of the sources, report) when the
        next build may trust that nothing changed."""
        self.manifests.save(output, build_id, staging.manifest, staging.groups, summary)
        self.save()

    def save(self) -> None:
        self.parsed.save()
        self.manifests.flush()


class MemoryStore(Store):
    """`flash serve`'s store: everything stays in memory from one build to the next, and the
    preview folder is patched in place; the disk gets it when the preview stops (`save`)."""

    def __init__(self, source: Path):
        from flash.validate import Listed

        super().__init__(source)
        self.parsed.save_aside = False
        self.checked = {}
        self.listed = Listed()
        self._fragments: Fragments | None = None
        self._keys: dict[str, tuple[Any, str]] = {}  # name -> (signature, key): see keys
        self._keys_salt = ""

    def checked_all(self) -> None:
        pass  # the next build reuses the parsed files

    def keys(self, salt: str, items: Sequence[T], name: Callable[[T], str],
             signature: Callable[[T], Any], compute: Callable[[T], str]) -> list[str]:
        """As Store.keys, the last build's key kept for an item of the same name and signature
        (and salt): after an edit, most pages of the archive show what they showed."""
        known = self._keys if self._keys_salt == salt else {}
        self._keys, self._keys_salt = {}, salt
        found = []
        for item in items:
            shows = signature(item)
            old = known.get(name(item))
            key = old[1] if old is not None and old[0] == shows else compute(item)
            self._keys[name(item)] = (shows, key)
            found.append(key)
        return found

    def fragments(self, env: Environment, site: SiteView, salt: str) -> Fragments:
        from flash.render import Fragments

        previous = self._fragments.pieces if self._fragments is not None else None
        self._fragments = Fragments(env, site, salt=salt, previous=previous, keep_entries=True)
        return self._fragments

    def staging(self, output: Path, use_cache: bool) -> tuple[Staging, bool]:
        """The changes are kept in memory, then written over the files of the folder: nothing
        else writes there, and what this process wrote is surely in place (trusted)."""
        previous, groups = self._previous(output, use_cache)
        trusted = output.resolve() in self.manifests.written
        return (Staging(output, previous, groups, complete=False, trusted=trusted,
                        in_place=True), not previous)

    def record(self, output: Path, build_id: str, staging: Staging,
               summary: tuple[str, Any] | None) -> None:
        self.manifests.save(output, build_id, staging.manifest, staging.groups, summary,
                            later=True)
