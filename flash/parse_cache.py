"""Parsed content files kept across builds (.flash-cache/parsed-*.pickle), keyed by the hash
of each file's bytes: a build parses only the files that changed, on every core."""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flash import pickled
from flash.digests import RACY_NS, Stat, code_digest, short_digest
from flash.parallel import fork_map
from flash.paths import image_cache_dir

if TYPE_CHECKING:
    from flash.parse import Parsed


def read_file(path: Path, size: int = -1) -> bytes:
    """The file's bytes, in three system calls (open, read, close) when `size` is its size, as
    the look for changes just saw it: Path.read_bytes makes seven (it asks for the size, whether
    the file is a terminal, the position…), for each file of the archive."""
    handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(handle, size + 1) if size >= 0 else b""
        if 0 <= len(data) <= size:
            return data  # fewer bytes than asked for: the end of the file
        chunks = [data]
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


class ParseCache:
    """Parsed content files of one content folder, kept across builds."""

    def __init__(self, source: Path, folder: Path | None):
        self.source = source
        self.path = (folder / f"parsed-{short_digest(str(source.resolve()))}.pickle"
                     if folder else None)
        # relative path -> (hash of the bytes, parsed form, (size, mtime, inode) when read)
        self.entries: dict[str, tuple[bytes, Parsed, tuple[int, int, int]]] = {}
        self.loaded = False
        self.dirty = False
        self.parsed = 0  # files parsed by the last build (the others came from the cache)
        # Work the build does while files are parsed on other cores (see parallel.fork_map)
        self.meanwhile: Callable[[], object] | None = None
        # What `flash serve` saw of each file while looking for changes, just before building
        self.stats: dict[str, Stat] | None = None
        # True: once files are parsed, a forked process saves them (see _save_aside)
        self.save_aside = False
        self._saver: int | None = None  # that process

    def _ensure_loaded(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        stored = pickled.load(self.path)
        if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == code_digest():
            self.entries = stored[1]

    def prepare(self, paths: list[Path], root: Path) -> dict[Path, Parsed]:
        """The parsed form of each readable file: from the cache, else parsed on every core."""
        from flash import validate
        from flash.parse import parse_file, unchanged

        self._ensure_loaded()
        found: dict[Path, Parsed] = {}
        kept: dict[str, tuple[bytes, Parsed, tuple[int, int, int]]] = {}
        todo: list[tuple[Path, str, tuple[int, int, int]]] = []
        prefix = len(str(self.source)) + 1
        listing = self.stats or {}
        settled_before = time.time_ns() - RACY_NS  # see settled
        for path in paths:
            full = str(path)
            name = full[prefix:]  # relative to the content folder, as paths come from it
            entry = self.entries.get(name)
            known = listing.get(full)
            if known is None:
                try:
                    stat = os.stat(path)
                except OSError:
                    continue  # validation reports it
                known = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            seen = known if known[1] < settled_before else (-1, -1, -1)
            if (entry is not None and entry[2] == seen and seen[0] >= 0
                    and (not entry[1].depends or unchanged(entry[1].depends))):
                found[path] = entry[1]  # untouched since it was read, as for git
                kept[name] = entry
            else:
                todo.append((path, name, seen))
        self.parsed = 0
        if todo:
            resolvers = validate.parse_resolvers(root, image_cache_dir(self.source))

            def read_and_parse(item: tuple[Path, str, Any]) -> tuple[bytes, Parsed | None] | None:
                # Reading and hashing happen in the workers too: a cold build reads every file.
                path, name, seen = item
                try:
                    raw = read_file(path, seen[0])
                except OSError:
                    return None  # validation reports it
                digest = hashlib.blake2b(raw, digest_size=16).digest()
                entry = self.entries.get(name)
                if entry is not None and entry[0] == digest and unchanged(entry[1].depends):
                    return digest, None  # touched, not changed
                return digest, replace(parse_file(path, raw, resolvers), digest=digest)

            results = fork_map(read_and_parse, todo, meanwhile=self.meanwhile)
            for (path, name, seen), result in zip(todo, results, strict=True):
                if result is None:
                    continue
                digest, parsed = result
                if parsed is None:
                    parsed = self.entries[name][1]
                else:
                    self.parsed += 1
                found[path] = parsed
                kept[name] = (digest, parsed, seen)
        self.dirty = self.dirty or bool(todo) or len(kept) != len(self.entries)
        self.entries = kept
        if self.save_aside and self.dirty:
            self._save_aside()
        return found

    def _save_aside(self) -> None:
        """Saves the cache from a forked process, on the core the parsing workers just left,
        while this one checks the content. It touches every parsed object: done here, the page
        workers forked later do not share pages with it (their memory stays lower)."""
        if self.path is None or not hasattr(os, "fork"):
            self.save()
            return
        gc.freeze()  # the saving process's garbage collector leaves the shared objects alone
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            self.save()
            return
        if pid == 0:
            try:
                pickled.save(self.path, (code_digest(), self.entries))
            finally:
                os._exit(0)
        gc.unfreeze()
        self._saver = pid
        self.dirty = False

    def forget(self) -> None:
        """Drops the parsed objects, once saved: a build that ends needs them no more."""
        if not self.dirty:
            self.entries = {}

    def wait(self) -> None:
        """Waits for the process saving the cache, if any (it writes to a temporary name)."""
        if self._saver is not None:
            pid, self._saver = self._saver, None
            os.waitpid(pid, 0)

    def save(self) -> None:
        if self.dirty and self.path is not None:
            pickled.save(self.path, (code_digest(), self.entries))
            self.dirty = False
