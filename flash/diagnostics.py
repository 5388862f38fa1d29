"""Problems found in content, as values: collected, sorted and reported together."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Level = Literal["erreur", "avertissement"]
# The line breaks YAML counts (libyaml's marks number lines by these).
LINE_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


def shown(value: object, limit: int = 60) -> str:
    """A value as quoted in a message: its first characters only."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    line: int | None
    level: Level
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level} : {self.message}"

    @property
    def is_error(self) -> bool:
        return self.level == "erreur"


@dataclass
class Collector:
    """Gathers every problem of a run so the team fixes them all at once."""

    root: Path
    items: list[Diagnostic] = field(default_factory=list)

    def display(self, path: Path | str) -> str:
        p = Path(path)
        try:
            return p.resolve().relative_to(self.root.resolve().parent).as_posix()
        except ValueError:
            return p.as_posix()

    def error(self, path: Path | str, line: int | None, message: str) -> None:
        self.items.append(Diagnostic(self.display(path), line, "erreur", message))

    def warning(self, path: Path | str, line: int | None, message: str) -> None:
        self.items.append(Diagnostic(self.display(path), line, "avertissement", message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.path, d.line or 0, d.level))


class ContentError(Exception):
    """Raised when content cannot be built; carries every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        count = len(self.diagnostics)
        super().__init__(f"{count} problème{'s' if count > 1 else ''} dans le contenu")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def did_you_mean(wrong: str, candidates: dict[str, str]) -> str | None:
    """Closest key of `candidates` (key -> display name), matching keys and names loosely."""
    folded = {}
    for key, name in candidates.items():
        folded.setdefault(_fold(key), key)
        folded.setdefault(_fold(name), key)
    target = _fold(wrong).replace(" ", "-")
    if target in folded:
        return folded[target]
    if _fold(wrong) in folded:
        return folded[_fold(wrong)]
    match = difflib.get_close_matches(_fold(wrong), list(folded), n=1, cutoff=0.6)
    return folded[match[0]] if match else None


def suggestion(wrong: str, candidates: dict[str, str]) -> str:
    best = did_you_mean(wrong, candidates)
    return f" Vouliez-vous dire « {best} » ?" if best else ""


# A path on the writer's own computer: Windows (C:\…, \\server\…), file:// addresses, and the
# home folders of macOS and Linux.
_COMPUTER_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|file:|/Users/|/home/|~/)", re.I)


def looks_like_computer_path(src: str) -> bool:
    return bool(_COMPUTER_PATH.match(src))


def computer_path(src: str, written: str = "src: images/{name}") -> str:
    """Why `src`, a path on the writer's computer, cannot be an image of the site, and the fix.
    `written` shows how the image is named once copied (`{name}`: its file name)."""
    name = re.split(r"[\\/]", src.rstrip("\\/"))[-1] or "photo.jpg"
    shown_src = src if len(src) <= 60 else src[:60] + "…"
    return (f"« {shown_src} » est un chemin sur votre ordinateur : le site ne peut pas y lire "
            "l’image. Copiez l’image dans le dossier images/ du numéro, puis écrivez "
            f"{written.format(name=name)}")


def closest_files(wanted: str, names: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the name that differs from `wanted` only by its case, the names closest first)."""
    names = list(names)
    same_case = next((n for n in names if n.casefold() == wanted.casefold()), None)
    ranked = sorted(names, key=lambda n: (-difflib.SequenceMatcher(
        None, _fold(wanted), _fold(n)).ratio(), n))
    return same_case, ranked
