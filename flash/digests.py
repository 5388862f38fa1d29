"""What a build's inputs are worth: digests of Flash's code and of the layouts, and the
stamp of a tree of files (sizes and dates), which tells a build that nothing changed."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from functools import lru_cache
from pathlib import Path

FORMAT = 1
PACKAGE = Path(__file__).resolve().parent




def short_digest(*parts: str | bytes) -> str:
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
    return short_digest(*parts)


def files_digest(files: dict[str, Path]) -> str:
    """Every file of the layouts (relative name -> file): any change may change any page."""
    parts: list[str | bytes] = []
    for relative, path in sorted(files.items()):
        parts += [relative, path.read_bytes()]
    return short_digest(*parts)


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
