"""Where Flash keeps what it makes between builds: the project's cache folder and its parts."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR = ".flash-cache"


def cache_dir(source: Path) -> Path:
    return source.resolve().parent / CACHE_DIR


def image_cache_dir(source: Path) -> Path:
    """`.flash-cache/images/` beside the content folder: processed images, by content hash."""
    return cache_dir(source) / "images"


def compiled_templates_dir(project_cache: Path) -> Path:
    """Where Jinja keeps compiled templates: the user's cache folder, as Python keeps compiled
    modules, so a project's first build does not compile the shipped layouts again (Jinja
    checks each entry against the template's source). The project's cache folder when the
    user's cannot be written."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(base) / "flash" / "jinja", project_cache / "jinja"):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return project_cache / "jinja"


def print_cache_dir(source: Path) -> Path:
    """`.flash-cache/print/` beside the content folder: the PDFs, named after their key."""
    return cache_dir(source) / "print"
