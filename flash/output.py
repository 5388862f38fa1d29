"""Writing the site: into a temporary folder, swapped in only once complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
    """A site under construction; `commit` replaces the previous site in one step."""

    def __init__(self, final: Path):
        self.final = final.resolve()
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{self.final.name}-", dir=self.final.parent))
        self.files = 0
        self._dirs: set[Path] = set()

    def _target(self, relative: str) -> Path:
        target = self.root / relative
        parent = target.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        self.files += 1
        return target

    def write_text(self, relative: str, text: str) -> None:
        self._target(relative).write_text(text, encoding="utf-8")

    def write_bytes(self, relative: str, data: bytes) -> None:
        self._target(relative).write_bytes(data)

    def copy(self, relative: str, source: Path) -> None:
        shutil.copyfile(source, self._target(relative))

    def commit(self) -> None:
        (self.root / MARKER).write_text("Dossier écrit par Flash : il est remplacé à chaque "
                                        "construction.\n", encoding="utf-8")
        os.chmod(self.root, 0o755)
        old = None
        if self.final.exists():
            old = self.final.with_name(f".{self.final.name}-old-{os.getpid()}")
            os.replace(self.final, old)
        os.replace(self.root, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
