"""The build cache, in .flash-cache/ beside the content folder (git ignores it).

- Parsed files (flash.parse), keyed by the hash of each file's bytes: a build skips YAML and
  Markdown for every file that did not change.
- The manifest of each output folder (flash.output): which key produced each file of the site
  online, so that the next build produces only what changed.
- Fingerprints: one digest per model object and per page, from everything a template can see.

Everything is also keyed by a digest of Flash's own code and of the installed packages: a cache
written by another version is ignored, never trusted. Deleting the folder is always safe.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from flash.model import Article, Image, Issue, Link, Organisation, Theme
from flash.output import build_id_of
from flash.parallel import fork_map
from flash.paths import cache_dir, image_cache_dir

if TYPE_CHECKING:
    from flash.parse import Parsed

FORMAT = 1
PACKAGE = Path(__file__).resolve().parent




def _digest(*parts: str | bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(b"%d:" % len(data))
        h.update(data)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Flash's source files, Python's version and the installed distributions' names."""
    parts: list[str | bytes] = [sys.version, str(FORMAT)]
    for path in sorted(PACKAGE.rglob("*.py")):
        parts += [path.relative_to(PACKAGE).as_posix(), path.read_bytes()]
    for folder in {Path(p) for p in sys.path if p.endswith("site-packages")}:
        try:
            parts += sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))
        except OSError:
            continue
    return _digest(*parts)


def files_digest(files: dict[str, Path]) -> str:
    """Every file of the layouts (relative name -> file): any change may change any page."""
    parts: list[str | bytes] = []
    for relative, path in sorted(files.items()):
        parts += [relative, path.read_bytes()]
    return _digest(*parts)


# A file modified less than this long ago may be modified again without its modification time
# changing (the clock ticks every few ms): its stat is not trusted to tell it was untouched.
RACY_NS = 2_000_000_000


def settled(mtime_ns: int) -> bool:
    return mtime_ns < time.time_ns() - RACY_NS


Stat = tuple[int, int, int]  # size, modification time (ns), inode


def tree_stamp(folders: list[Path], extra: str, stats: dict[str, Stat] | None = None
               ) -> tuple[str, bool]:
    """Name, size, modification time and inode of every file under `folders`, with `extra`:
    equal stamps mean nothing was edited, as far as the file system can tell (as for git).
    Also tells whether every file is settled (see RACY_NS): only then may the stamp be trusted.
    `stats` receives what was seen of each file, for a build that follows at once."""
    h = hashlib.blake2b(extra.encode(), digest_size=16)
    newest = 0
    pending = [str(folder) for folder in folders]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except NotADirectoryError:  # a single file (pyproject.toml)
            stat = os.stat(folder)
            h.update(b"%s:%d:%d;" % (folder.encode(), stat.st_size, stat.st_mtime_ns))
            newest = max(newest, stat.st_mtime_ns)
            continue
        except OSError:
            h.update(b"missing:" + folder.encode())
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=True):
                pending.append(entry.path)
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            h.update(b"%s:%d:%d:%d;" % (entry.path.encode("utf-8", "surrogateescape"),
                                        stat.st_size, stat.st_mtime_ns, stat.st_ino))
            if stats is not None:
                stats[entry.path] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            newest = max(newest, stat.st_mtime_ns)
    return h.hexdigest(), settled(newest)


def _load(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except Exception:  # a damaged or foreign cache only makes a slower build
        return None


def _save(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(descriptor, "wb") as stream:
            pickler = pickle.Pickler(stream, protocol=5)
            # Without its memo of every object written, the pickler needs no memory of its own
            # (the cached values share nothing worth keeping shared).
            pickler.fast = True
            try:
                pickler.dump(value)
            except RecursionError:  # a self-referencing YAML alias: the memo is needed
                stream.seek(0)
                stream.truncate()
                pickle.dump(value, stream, protocol=5)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only project still builds, only without cache


# --- parsed files ----------------------------------------------------------------------------

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
        self.path = folder / f"parsed-{_digest(str(source.resolve()))}.pickle" if folder else None
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
        stored = _load(self.path)
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
                return digest, parse_file(path, raw, resolvers)

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
                _save(self.path, (code_digest(), self.entries))
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
            _save(self.path, (code_digest(), self.entries))
            self.dirty = False


# --- manifests of output folders -------------------------------------------------------------

class Manifests:
    """What each output folder holds, as recorded by the build that wrote it."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.memory: dict[Path, tuple] = {}  # `flash serve` skips reading the file back
        self.written: set[Path] = set()  # output folders this process wrote
        self.unsaved: set[Path] = set()  # see save(later=True)

    def _path(self, final: Path) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / "outputs" / f"{_digest(str(final.resolve()))}.pickle"

    def _stored(self, final: Path) -> tuple | None:
        online = build_id_of(final)
        if online is None:
            return None
        stored = self.memory.get(final.resolve()) or _load(self._path(final))
        if not (isinstance(stored, tuple) and len(stored) == 5 and stored[0] == code_digest()
                and stored[1] == online):
            return None
        self.memory[final.resolve()] = stored
        return stored

    def load(self, final: Path) -> tuple[dict[str, str], dict] | None:
        """(file -> key, group -> (key, files)) of the site in `final`, if it is known for sure."""
        stored = self._stored(final)
        return (stored[2], stored[3]) if stored else None

    def summary(self, final: Path, stamp: str) -> Any:
        """What the build that wrote `final` reported, if its sources had this same stamp."""
        stored = self._stored(final)
        if stored is None or stored[4] is None or stored[4][0] != stamp:
            return None
        return stored[4][1]

    def save(self, final: Path, build_id: str, files: dict[str, str], groups: dict,
             summary: tuple[str, Any] | None = None, *, later: bool = False) -> None:
        """`summary`: (stamp of the sources, report) for a build that may be skipped next time.
        `later`: kept in memory until `flush` (`flash serve` builds the same folder again and
        again; if it stops without flushing, the folder's marker names a build the stored
        manifest does not, and the next build starts from scratch)."""
        value = (code_digest(), build_id, files, groups, summary)
        self.memory[final.resolve()] = value
        self.written.add(final.resolve())
        if later:
            self.unsaved.add(final.resolve())
        else:
            self._write(final.resolve())

    def flush(self) -> None:
        for final in sorted(self.unsaved):
            self._write(final)
        self.unsaved.clear()

    def _write(self, final: Path) -> None:
        self.unsaved.discard(final)
        path = self._path(final)
        if path is not None:
            _save(path, self.memory[final])


# --- fingerprints ----------------------------------------------------------------------------

MODEL = frozenset((Article, Issue, Organisation, Theme, Image, Link))
# An article's text and what is computed from it (its reading time): see Fingerprints.bodies
TEXT_FIELDS = ("body_html", "excerpt", "words")


@lru_cache(maxsize=256)
def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, None for any other type."""
    if not is_dataclass(kind):
        return None
    return tuple(f.name for f in fields(kind))


_ARTICLE_APART = frozenset(("issue", *TEXT_FIELDS))  # fields an article's digest treats apart


class Fingerprints:
    """Digests of values as templates see them, memoised per model object for one build.

    An article's digest covers its issue's own fields but not the issue's other articles (an
    issue's digest covers its articles): what a page shows through `article.issue` is covered,
    without a cycle.
    """

    def __init__(self, salt: str, *, bodies: bool = True,
                 texts: dict[int, tuple[str, bytes]] | None = None,
                 articles: dict[int, tuple[Any, bytes, bytes]] | None = None,
                 heads: dict[int, tuple[Any, bytes]] | None = None,
                 issues: dict[int, tuple[Any, bytes]] | None = None):
        self.salt = salt.encode()
        # article digests by article identity, with the digest of the issue they were computed
        # with: `flash serve` reuses unchanged articles from one build to the next
        self.articles = articles if articles is not None else {}
        # digests of article texts, by the identity of the text: kept between builds by
        # `flash serve`, where an unchanged file keeps the same parsed objects
        self.texts = texts if texts is not None else {}
        # False: an article's digest leaves out its text, which callers add where it is shown
        self.bodies = bodies
        self._memo: dict[int, tuple[Any, bytes]] = {}
        # digests of issues' own fields, by issue identity (issues are frozen): kept between
        # builds by `flash serve` too, where unchanged issues stay the same objects
        self._heads = heads if heads is not None else {}
        # whole issues' digests, by identity: an issue kept by `flash serve` has the same
        # articles, which point back to it, so the same digest (every e-mail's key needs one)
        self.issues = issues if issues is not None else {}

    # What is hashed is gathered in a list of bytes and hashed once: one join costs less than
    # an update of the hasher for each of the few dozen small pieces of a page.

    def key(self, *values: Any) -> str:
        out = [self.salt]
        for value in values:
            self._feed(out, value)
        return "p" + hashlib.blake2b(b"".join(out), digest_size=16).hexdigest()

    def text(self, article: Article) -> bytes:
        """Digest of what an article's text shows (see TEXT_FIELDS)."""
        memo = self.texts.get(id(article.body_html))
        if memo is not None and memo[0] is article.body_html:
            return memo[1]
        out = [b"text"]
        for name in TEXT_FIELDS:
            self._feed(out, getattr(article, name))
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self.texts[id(article.body_html)] = (article.body_html, digest)
        return digest

    def _feed(self, out: list[bytes], value: Any) -> None:
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogatepass")
            out.append(b"s%d:" % len(data))
            out.append(data)
        elif kind in MODEL:
            out.append(self._model(value))
        elif kind is tuple or kind is list:
            out.append(b"(%d" % len(value))
            feed = self._feed
            for item in value:
                feed(out, item)
            out.append(b")")
        elif value is None or kind is int or kind is bool or kind is float:
            out.append(b"v%r;" % (value,))
        elif kind is dict:
            out.append(b"{%d" % len(value))
            feed = self._feed
            for name, item in value.items():
                feed(out, name)
                feed(out, item)
        elif (names := _field_names(kind)) is not None:
            out.append(b"D" + kind.__qualname__.encode())
            feed = self._feed
            for name in names:
                feed(out, getattr(value, name))
        elif isinstance(value, (dt.date, PurePath)):
            out.append(b"r" + repr(value).encode())
        elif isinstance(value, (set, frozenset)):
            self._feed(out, sorted(value, key=repr))
        else:
            out.append(b"o" + repr(value).encode())

    def _model(self, obj: Any) -> bytes:
        memo = self._memo.get(id(obj))
        if memo is not None:
            return memo[1]
        kind = type(obj)
        names = _field_names(kind) or ()
        if kind is Article:
            head = self._issue_head(getattr(obj, "issue", None))
            kept = self.articles.get(id(obj))
            if kept is not None and kept[0] is obj and kept[1] == head:
                self._memo[id(obj)] = (obj, kept[2])
                return kept[2]
        elif kind is Issue:
            known = self.issues.get(id(obj))
            if known is not None and known[0] is obj:
                self._memo[id(obj)] = known
                return known[1]
        out = [kind.__name__.encode()]
        feed = self._feed
        for name in names:
            value = getattr(obj, name, None)
            if kind is Article and name in _ARTICLE_APART:
                if name == "issue":
                    out.append(self._issue_head(value))
                elif self.bodies:
                    feed(out, value)
            else:
                feed(out, value)
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self._memo[id(obj)] = (obj, digest)  # holding obj keeps its id from being reused
        if kind is Article:
            self.articles[id(obj)] = (obj, head, digest)
        elif kind is Issue:
            self.issues[id(obj)] = (obj, digest)
        return digest

    def _issue_head(self, issue: Issue | None) -> bytes:
        if issue is None:
            return b"-"
        memo = self._heads.get(id(issue))
        if memo is not None:
            return memo[1]
        out = [b"issue-head"]
        for name in _field_names(Issue) or ():
            if name != "articles":
                self._feed(out, getattr(issue, name))
        digest = hashlib.blake2b(b"".join(out), digest_size=16).digest()
        self._heads[id(issue)] = (issue, digest)
        return digest


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
