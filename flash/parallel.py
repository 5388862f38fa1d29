"""Spreading independent work over the CPU cores with fork: workers inherit the loaded content
(nothing to pickle on the way in) and send back compact results through a pipe."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting a process costs more than it saves.
MINIMUM = 48


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_map(func: Callable[[T], R], items: Sequence[T], workers: int | None = None, *,
             minimum: int = MINIMUM) -> list[R]:
    """[func(item) for item in items], computed by this process and forked workers."""
    count = min(workers or cores(), max(1, len(items) // max(1, minimum // 2)))
    if count <= 1 or not hasattr(os, "fork"):
        return [func(item) for item in items]
    shares = [items[k::count] for k in range(count)]  # interleaved: sizes vary along the archive
    children: list[tuple[int, int]] = []
    for share in shares[1:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: compute, send, leave without running any cleanup of the parent
            os.close(read)
            try:
                payload = pickle.dumps((True, [func(item) for item in share]), protocol=5)
            except BaseException as exc:  # re-raised in the parent
                try:
                    payload = pickle.dumps((False, exc), protocol=5)
                except Exception:  # an exception that cannot be pickled
                    payload = pickle.dumps((False, RuntimeError(repr(exc))), protocol=5)
            with os.fdopen(write, "wb") as out:
                out.write(payload)
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    results: list[list[R]] = []
    failure: BaseException | None = None
    try:
        results.append([func(item) for item in shares[0]])
    except BaseException as exc:
        failure = exc
    for pid, read in children:
        with os.fdopen(read, "rb") as incoming:
            data = incoming.read()
        os.waitpid(pid, 0)
        if failure is not None:
            continue
        ok, payload = pickle.loads(data) if data else (False, RuntimeError("worker died"))
        if not ok:
            failure = payload
        else:
            results.append(payload)
    if failure is not None:
        raise failure
    merged: list[R] = [None] * len(items)  # type: ignore[list-item]
    for k, share_results in enumerate(results):
        merged[k::count] = share_results
    return merged
