"""What each output folder holds, as recorded by the build that wrote it: which key produced
each file of the site online, so that the next build produces only what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flash import pickled
from flash.digests import code_digest, short_digest
from flash.output import build_id_of


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
        return self.folder / "outputs" / f"{short_digest(str(final.resolve()))}.pickle"

    def _stored(self, final: Path) -> tuple | None:
        online = build_id_of(final)
        if online is None:
            return None
        stored = self.memory.get(final.resolve()) or pickled.load(self._path(final))
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
            pickled.save(path, self.memory[final])
