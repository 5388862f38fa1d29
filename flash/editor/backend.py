"""Decap CMS's local backend protocol (what `decap-server` speaks), answered by `flash serve`
on the project's own files: list, read and write entries and images, with Flash's checks run
on an entry before it is written.

Why in `flash serve` rather than decap-server: the team would need Node.js and a second
command; here the editor, its files and the live preview are one process, and a save that
`flash check` would refuse is refused with its French message before anything is written.

Every path is relative to the project root and must stay inside the content folder: a
request naming `../` or an absolute path is refused.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flash.diagnostics import Diagnostic

Checker = Callable[[Path], list[Diagnostic]]  # a content folder -> its problems


MAX_DEPTH = 4  # issues are two levels down; a deeper listing is refused work


class Refused(Exception):
    """A request the backend will not carry out; French, shown by Decap."""


class LocalBackend:
    def __init__(self, root: Path, source: Path, check: Checker) -> None:
        self.root = root.resolve()
        self.source = source.resolve()
        self.check = check

    # -- paths ---------------------------------------------------------------------------

    def path(self, relative: str) -> Path:
        """The file `relative` names, if it is inside the content folder."""
        if not isinstance(relative, str) or not relative or "\x00" in relative:
            raise Refused("chemin de fichier manquant")
        target = (self.root / relative).resolve()
        if target != self.source and self.source not in target.parents:
            raise Refused(f"« {relative} » est hors du dossier du contenu")
        return target

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- the actions ---------------------------------------------------------------------

    def handle(self, body: dict[str, Any]) -> Any:
        action = body.get("action")
        params = body.get("params") or {}
        handler = getattr(self, f"_{action}", None) if isinstance(action, str) else None
        if handler is None or not action.isidentifier() or action.startswith("_"):
            raise Refused(f"action inconnue : {action!s:.40}")
        if not isinstance(params, dict):
            raise Refused("requête illisible : « params » doit être un ensemble de clés")
        try:
            return handler(params)
        except OSError as exc:
            raise Refused(f"fichier inaccessible ({exc.strerror or type(exc).__name__})"
                          ) from None
        except (ValueError, TypeError):  # base64 or numbers that are not
            raise Refused("requête illisible") from None

    def _info(self, params: dict) -> dict:
        return {"repo": self.root.name, "publish_modes": ["simple"], "type": "local_fs"}

    # Method names are the actions of Decap's protocol.
    def _entriesByFolder(self, params: dict) -> list[dict]:
        folder = self.path(_text(params, "folder"))
        extension = _text(params, "extension")
        depth = min(MAX_DEPTH, int(params.get("depth", 1) or 1))
        listed = _listed(folder, extension, depth)
        if folder == self.source and depth > 1:
            # The issues (issue.yaml in each issue's folder), not the registries beside them:
            # Decap's Git backends apply the collection's path pattern, its proxy does not.
            listed = [path for path in listed if path.parent != self.source]
        return [self._entry(path) for path in listed]

    def _entriesByFiles(self, params: dict) -> list[dict]:
        return [self._entry(self.path(_text(f, "path")), _text(f, "label") or None)
                for f in _items(params, "files")]

    def _getEntry(self, params: dict) -> dict:
        return self._entry(self.path(_text(params, "path")))

    def _entry(self, path: Path, label: str | None = None) -> dict:
        try:
            data = path.read_bytes()
        except OSError:
            return {"data": None, "file": {"path": self._relative(path), "label": label,
                                           "id": None}}
        return {"data": data.decode("utf-8", "replace"),
                "file": {"path": self._relative(path), "label": label,
                         "id": hashlib.sha256(data).hexdigest()}}

    def _persistEntry(self, params: dict) -> dict:
        entry = params.get("entry") or {}
        files = _items(params, "dataFiles") or ([entry] if isinstance(entry, dict) else [])
        if not files:
            raise Refused("requête illisible : aucun fichier à enregistrer")
        writes = {self.path(_text(f, "path")): _text(f, "raw").encode("utf-8") for f in files}
        assets = {self.path(_text(a, "path")): _decoded(a) for a in _items(params, "assets")}
        self._checked({**writes, **assets}, set(writes))
        for path, data in {**assets, **writes}.items():
            _write(path, data)
        return {"message": "entry persisted"}

    def _getMedia(self, params: dict) -> list[dict]:
        folder = self.path(_text(params, "mediaFolder"))
        return [self._media(path) for path in _listed(folder, "", 1)]

    def _getMediaFile(self, params: dict) -> dict:
        return self._media(self.path(_text(params, "path")))

    def _persistMedia(self, params: dict) -> dict:
        asset = params.get("asset")
        if not isinstance(asset, dict):
            raise Refused("requête illisible : aucune image à enregistrer")
        path = self.path(_text(asset, "path"))
        _write(path, _decoded(asset))
        return self._media(path)

    def _deleteFile(self, params: dict) -> dict:
        self._delete(self.path(_text(params, "path")))
        return {"message": "deleted"}

    def _deleteFiles(self, params: dict) -> dict:
        paths = params.get("paths")
        targets = [self.path(p) for p in (paths if isinstance(paths, list) else [])]
        for target in targets:
            self._delete(target)
        return {"message": "deleted"}

    def _delete(self, path: Path) -> None:
        if path == self.source or path.is_dir():
            raise Refused(f"« {self._relative(path)} » est un dossier : il n’est pas supprimé")
        path.unlink(missing_ok=True)

    def _getDeployPreview(self, params: dict) -> None:
        return None

    def _media(self, path: Path) -> dict:
        data = path.read_bytes()
        return {"id": hashlib.sha256(data).hexdigest(),
                "content": base64.b64encode(data).decode(), "encoding": "base64",
                "path": self._relative(path), "name": path.name}

    # -- Flash's checks before a save ----------------------------------------------------

    def _checked(self, files: dict[Path, bytes], entries: set[Path]) -> None:
        """Runs Flash's checks on a copy of the content with these files written; refuses the
        save with the French messages that concern the entries."""
        with tempfile.TemporaryDirectory(prefix="flash-editeur-") as folder:
            copy = Path(folder) / self.source.name
            # Hard links: a copy of a large archive in milliseconds; a file to be written is
            # unlinked first, so the original is never touched.
            shutil.copytree(self.source, copy, copy_function=_link)
            for path, data in files.items():
                target = copy / path.relative_to(self.source)
                target.unlink(missing_ok=True)
                _write(target, data)
            # Diagnostics name files relative to the content folder's parent.
            problems = [d for d in self.check(copy)
                        if d.is_error and self.source.parent / d.path in entries]
        if problems:
            raise Refused(" ; ".join(_said(d) for d in problems[:3]))


def _said(d: Diagnostic) -> str:
    where = f"ligne {d.line} : " if d.line else ""
    return f"{where}{d.message}"


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _text(params: dict, key: str) -> str:
    value = params.get(key, "")
    if not isinstance(value, str):
        raise Refused(f"requête illisible : « {key} » doit être un texte")
    return value


def _items(params: dict, key: str) -> list[dict]:
    value = params.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Refused(f"requête illisible : « {key} » doit être une liste")
    return value


def _decoded(asset: dict) -> bytes:
    content = _text(asset, "content")
    if asset.get("encoding") == "base64":
        return base64.b64decode(content, validate=True)
    return content.encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise Refused(f"« {path.name} » est un dossier : rien n’y est écrit")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.flash-tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # the watcher never sees half a file


def _listed(folder: Path, extension: str, depth: int) -> list[Path]:
    if depth <= 0 or not folder.is_dir():
        return []
    found: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            found += _listed(child, extension, depth - 1)
        elif child.name.endswith(extension):
            found.append(child)
    return found
