"""Writing the site: nothing changes online until the whole build has succeeded.

Two ways to stage a build, chosen by the build:
- complete: the whole new site in a temporary folder (unchanged files hard-linked from the
  previous one), swapped in with one rename. Tools that read the finished site (Pagefind) need it.
- patch: only the files that changed are staged; once everything succeeded, each is moved into
  place with an atomic rename and files that left the site are deleted. Nothing is touched while
  content is read, pages are rendered or a stage fails, so the previous site stays intact.

`flash serve` stages a patch in memory: at the commit, each changed file of its preview folder
is overwritten in place. Creating a file costs several times more than rewriting one (a new
inode, and on ext4 a search past the recently freed ones), and nothing reads the folder during
the commit: the preview's server answers between builds, on the same thread.

Every file records a key (what it was made from, or its content's hash) in a manifest that the
next build compares against: a file whose key did not change is neither produced nor written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from flash.parallel import fork_map

T = TypeVar("T")
Group = tuple[str, str]  # (name, key)

MARKER = ".flash-site"


class OutputError(Exception):
    pass


def check_target(final: Path, source: Path) -> None:
    """Refuses an output folder whose replacement would destroy something else."""
    final, source = final.resolve(), source.resolve()
    if final == source or final in source.parents or source in final.parents:
        raise OutputError(f"le dossier de sortie {final} ne peut pas contenir le contenu, "
                          "ni être dedans")
    if final.exists() and (not final.is_dir() or (
            any(final.iterdir()) and not (final / MARKER).exists())):
        raise OutputError(f"{final} existe et n’a pas été écrit par Flash : choisissez un "
                          "autre dossier de sortie (--output) ou videz-le")


class Staging:
    """A site under construction; `commit` publishes it, `abort` forgets it."""

    def __init__(self, final: Path, previous: dict[str, str] | None = None,
                 previous_groups: dict[str, tuple[str, list[str]]] | None = None, *,
                 complete: bool = True, trusted: bool = False, in_place: bool = False):
        self.final = final.resolve()
        self._final = str(self.final)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.previous = previous or {}
        self.previous_groups = previous_groups or {}
        self.complete = complete or not self.previous
        # The previous files are surely in place (this process wrote them, in a folder nothing
        # else writes to: `flash serve`): no need to look for each on the disk.
        self.trusted = trusted
        # Files made together from one key (the e-mails of an issue): name -> (key, files)
        self.groups: dict[str, tuple[str, list[str]]] = {}
        self._group: Group | None = None
        self._log: list[tuple[str, str, bool, Group | None]] | None = None
        self.manifest: dict[str, str] = {}  # every file of the new site -> its key
        self.written: list[str] = []  # files produced by this build
        self.files = 0  # files of the new site (tools that write by themselves add theirs)
        self._staged: Path | None = None  # the temporary folder, made when first needed
        self._root = ""  # the same, as a string
        self._folders: set[str] = set()  # staged folders known to exist
        # Patch kept in memory (see the module's docstring): relative path -> content. Forked
        # workers (see split) stage on the disk: their memory is not this process's.
        self.in_place = in_place and not self.complete
        self._pending: dict[str, bytes] = {}
        self._pid = os.getpid()

    @property
    def root(self) -> Path:
        """The temporary folder beside the final one."""
        if self._staged is None:
            self._staged = Path(tempfile.mkdtemp(prefix=f".{self.final.name}-",
                                                 dir=self.final.parent))
            self._root = str(self._staged)
        return self._staged

    # --- what the stages call ----------------------------------------------------------------

    def fresh(self, relative: str, key: str) -> bool:
        """True when the previous site has `relative` made from the same `key`: it is kept as it
        is, and the caller skips producing it."""
        if self.previous.get(relative) != key:
            return False
        if self.complete:
            try:
                os.link(self.final / relative, self._place(relative))
            except OSError:
                return False
        elif not self.trusted and not os.path.exists(os.path.join(self._final, relative)):
            return False
        self.record(relative, key, written=False)
        return True

    def write_text(self, relative: str, text: str, key: str | None = None) -> None:
        self.write_bytes(relative, text.encode("utf-8"), key)

    def write_bytes(self, relative: str, data: bytes, key: str | None = None) -> None:
        key = key or content_key(data)
        if not self.fresh(relative, key):
            self.put(relative, data)
            self.record(relative, key)

    def link(self, relative: str, source: Path) -> None:
        """A hard link to a file that is never modified (the image cache), else a copy."""
        key = file_key(source)
        if relative in self.manifest or self.fresh(relative, key):
            return  # the same content-addressed file, already placed
        target = self._place(relative)
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:  # another file system, or links not supported
            shutil.copyfile(source, target)
        self.record(relative, key)

    @contextmanager
    def group(self, name: str, key: str) -> Iterator[None]:
        """Files staged inside belong to group `name`, made from `key` (see `reuse`)."""
        self._group = (name, key)
        self.groups[name] = (key, [])
        try:
            yield
        finally:
            self._group = None

    def reuse(self, name: str, key: str) -> bool:
        """True when group `name` was made from the same `key` last time: its files are kept
        and the caller skips producing them."""
        previous = self.previous_groups.get(name)
        if previous is None or previous[0] != key:
            return False
        with self.group(name, key):
            return all(self.fresh(relative, self.previous.get(relative, ""))
                       for relative in previous[1])

    def split(self, items: Sequence[T], work: Callable[[Sequence[T]], Any]) -> None:
        """work(some items) on every core until all are done; what workers stage is recorded."""

        def logged(item: T) -> list[tuple[str, str, bool, Group | None]]:
            self._log = []
            work((item,))
            return self._log

        self.root.mkdir(exist_ok=True)  # made here: the workers stage in the same folder
        try:
            logs = fork_map(logged, items, minimum=2)
        finally:
            self._log = None
        for log in logs:
            for entry in log:
                self._apply(*entry)

    def read(self, relative: str) -> bytes:
        """A file of the new site: staged by this build, else kept from the previous site."""
        data = self._pending.get(relative)
        if data is not None:
            return data
        if self._staged is not None:
            try:
                with open(os.path.join(self._root, relative), "rb") as staged:
                    return staged.read()
            except FileNotFoundError:
                pass
        with open(os.path.join(self._final, relative), "rb") as kept:
            return kept.read()

    def keep(self, prefix: str) -> None:
        """Keeps every previous file under `prefix` (what a skipped tool wrote last time)."""
        for relative, key in self.previous.items():
            if relative.startswith(prefix) and relative not in self.manifest:
                self.fresh(relative, key)

    # --- low level: also used by worker processes, which report what they wrote ---------------

    def put(self, relative: str, data: bytes) -> None:
        if self.in_place and os.getpid() == self._pid:
            self._pending[relative] = data
            return
        target = self._place(relative)
        try:  # the staging folder starts empty: the file is new there
            _write_file(target, data, os.O_EXCL)
        except FileExistsError:
            _replace(target, data)  # never through a hard link to the previous site's file

    def record(self, relative: str, key: str, *, written: bool = True) -> None:
        entry = (relative, key, written, self._group)
        if self._log is not None:
            self._log.append(entry)
        else:
            self._apply(*entry)

    def _apply(self, relative: str, key: str, written: bool, group: Group | None) -> None:
        if relative not in self.manifest:
            self.files += 1
        self.manifest[relative] = key
        if written:
            self.written.append(relative)
        if group is not None:
            name, group_key = group
            files = self.groups.setdefault(name, (group_key, []))[1]
            files.append(relative)

    def _place(self, relative: str) -> str:
        """The staged path of `relative`, its folder created. Plain strings and os calls: this
        runs for every file of the site."""
        target = os.path.join(self._root or str(self.root), relative)
        folder = os.path.dirname(target)
        if folder not in self._folders:
            try:  # one system call when the parent exists, as it mostly does (makedirs: two)
                os.mkdir(folder)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return target

    # --- publishing ---------------------------------------------------------------------------

    @property
    def changed(self) -> bool:
        return bool(self.written) or set(self.previous) != set(self.manifest)

    def commit(self, build_id: str) -> None:
        if self.complete:
            self._write_marker(self.root, build_id)
            os.chmod(self.root, 0o755)
            old = None
            if self.final.exists():
                old = self.final.with_name(f".{self.final.name}-old-{os.getpid()}")
                os.replace(self.final, old)
            os.replace(self.root, self.final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            return
        if self.changed:
            # Until the last rename, the marker names no build: an interrupted commit can only
            # lead the next build to start from scratch, never to trust a half-updated folder.
            self._write_marker(self.final, "", in_place=self.in_place)
            for relative in dict.fromkeys(self.written):
                target = os.path.join(self._final, relative)
                data = self._pending.get(relative)
                if data is not None:
                    _overwrite(target, data)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(os.path.join(self.root, relative), target)
            for relative in set(self.previous) - set(self.manifest):
                _remove(self.final, relative)
        self._write_marker(self.final, build_id, in_place=self.in_place)
        self.abort()

    def abort(self) -> None:
        self._pending.clear()
        if self._staged is not None:
            shutil.rmtree(self._staged, ignore_errors=True)

    @staticmethod
    def _write_marker(folder: Path, build_id: str, *, in_place: bool = False) -> None:
        """In place: a marker cut short by a crash names no build any manifest knows."""
        text = ("Dossier écrit par Flash : il est remplacé à chaque construction.\n"
                f"build: {build_id}\n").encode()
        if in_place:
            _write_file(str(folder / MARKER), text, os.O_TRUNC)
            return
        temporary = folder / f"{MARKER}.tmp"
        temporary.write_bytes(text)
        os.replace(temporary, folder / MARKER)


def build_id_of(final: Path) -> str | None:
    """The build the folder holds, as its marker says; None when unknown."""
    try:
        text = (final / MARKER).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("build: "):
            return line[7:].strip() or None
    return None


def _write_file(path: str, data: bytes, mode: int) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | mode, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view):]
    finally:
        os.close(handle)


def _overwrite(target: str, data: bytes) -> None:
    """Rewrites a file in place; one hard-linked elsewhere (as images are, to the image cache)
    is replaced instead, which leaves the other names with their content."""
    try:
        linked = os.stat(target).st_nlink > 1
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        linked = False
    if linked:
        _replace(target, data)
    else:
        _write_file(target, data, os.O_TRUNC)


def _replace(target: str, data: bytes) -> None:
    """A new file written aside, then renamed over `target`: other names of the old file keep
    their content."""
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    _write_file(temporary, data, os.O_TRUNC)
    os.replace(temporary, target)


def content_key(data: bytes) -> str:
    return "c" + hashlib.blake2b(data, digest_size=16).hexdigest()


def file_key(source: Path) -> str:
    stat = source.stat()
    return f"f{source}:{stat.st_size}:{stat.st_mtime_ns}"


def _remove(final: Path, relative: str) -> None:
    """Deletes a file that left the site, and the folders it leaves empty."""
    target = final / relative
    target.unlink(missing_ok=True)
    parent = target.parent
    while parent != final:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
