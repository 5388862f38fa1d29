"""The cache's files: pickled values written aside then renamed, and read back as None when
unreadable (a damaged or foreign cache only makes a slower build)."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


def load(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except Exception:  # a damaged or foreign cache only makes a slower build
        return None


def save(path: Path, value: Any) -> None:
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
