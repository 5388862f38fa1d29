"""Where layouts and assets come from: a project's own files first, then the ones Flash ships."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flash.settings import Settings

PACKAGE = Path(__file__).resolve().parent
# A checkout (or an editable install): the folders at the top of the repository.
CHECKOUT = PACKAGE.parent


class LayoutError(Exception):
    """A layout cannot be found: the message says which one, where it was looked for, and what
    to do."""


def shipped_dir(name: str) -> Path:
    """Flash's own layouts/ or assets/: inside the installed package (the wheel maps the
    repository's top-level folders there), else the checkout's top-level folder."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else CHECKOUT / name


def project_dirs(settings: Settings, name: str) -> list[Path]:
    """The folders layouts/ or assets/ are read from, in order: the project's own (beside its
    pyproject.toml, else in the working directory) first, whose files override Flash's of the
    same name, then Flash's."""
    shipped = shipped_dir(name)
    own = settings.root / name
    if own.is_dir() and own.resolve() != shipped.resolve():
        return [own, shipped]
    return [shipped]


def merged_files(folders: Sequence[Path]) -> dict[str, Path]:
    """Relative name -> file, the first folder having a name winning, sorted by name."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                found.setdefault(path.relative_to(folder).as_posix(), path)
    return dict(sorted(found.items()))


def _caller(traceback: TracebackType | None, folders: Sequence[Path]) -> tuple[str, int] | None:
    """The innermost layout (file, line) in the traceback: the one that asked for the missing
    template (Jinja names template frames after their files)."""
    roots = [str(folder.resolve()) for folder in folders]
    found = None
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if any(filename.startswith(root) for root in roots):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def missing_layout(name: str, folders: Sequence[Path],
                   traceback: TracebackType | None = None) -> LayoutError:
    """The French message for a template that none of `folders` holds."""
    shipped = folders[-1]
    caller = _caller(traceback, folders)
    asked = f" (demandé par {caller[0]}, ligne {caller[1]})" if caller else ""
    if len(folders) > 1:
        own = folders[0]
        return LayoutError(
            f"gabarit introuvable : « {name} »{asked}. Flash l’a cherché dans {own}, puis "
            f"parmi les gabarits fournis avec Flash ({shipped}). Créez le fichier "
            f"{own / name}, ou corrigez ce nom dans le gabarit qui le demande.")
    return LayoutError(
        f"gabarit introuvable : « {name} »{asked}, absent des gabarits fournis avec Flash "
        f"({shipped}) : l’installation de Flash est incomplète. Réinstallez Flash "
        f"(pip install --force-reinstall …), ou placez un dossier layouts/ contenant {name} "
        "à côté du pyproject.toml du projet.")


def layout_problem(exc: BaseException, folders: Sequence[Path]) -> LayoutError | None:
    """The LayoutError to raise instead of `exc`, when it is Jinja's TemplateNotFound."""
    jinja = sys.modules.get("jinja2")  # not loaded: the error cannot be Jinja's
    if jinja is None:
        return None
    if isinstance(exc, jinja.TemplatesNotFound):
        return missing_layout(" ou ".join(map(str, exc.templates)), folders, exc.__traceback__)
    if isinstance(exc, jinja.TemplateNotFound):
        return missing_layout(str(exc.name), folders, exc.__traceback__)
    return None
