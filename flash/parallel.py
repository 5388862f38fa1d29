"""Spreading independent work over the CPU cores with fork: workers inherit the loaded content
(nothing to pickle on the way in) and stream compact results back through a pipe."""

from __future__ import annotations

import gc
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
    # Frozen objects are never visited by the garbage collector: a worker does not copy the
    # memory pages it shares with this process just by collecting.
    gc.freeze()
    try:
        children = [_fork(func, share) for share in shares[1:]]
    finally:
        gc.unfreeze()
    results: list[list[R]] = []
    failure: BaseException | None = None
    try:
        results.append([func(item) for item in shares[0]])
    except BaseException as exc:
        failure = exc
    for pid, read in children:  # every worker is waited for, even after a failure
        with os.fdopen(read, "rb") as incoming:
            try:
                ok, payload = pickle.load(incoming)
            except (EOFError, pickle.UnpicklingError):
                ok, payload = False, RuntimeError("a worker process died")
        os.waitpid(pid, 0)
        if failure is None and not ok:
            failure = payload
        elif failure is None:
            results.append(payload)
    if failure is not None:
        raise failure
    merged: list[R] = [None] * len(items)  # type: ignore[list-item]
    for k, share_results in enumerate(results):
        merged[k::count] = share_results
    return merged


def _fork(func: Callable[[T], R], share: Sequence[T]) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write)
        return pid, read
    # The worker: compute, send, and leave without running any cleanup of the parent's.
    os.close(read)
    with os.fdopen(write, "wb") as out:
        try:
            results = [func(item) for item in share]
            pickle.dump((True, results), out, protocol=5)  # streamed, never whole in memory
        except BaseException as exc:  # re-raised in the parent
            try:
                pickle.dump((False, exc), out, protocol=5)
            except Exception:  # an exception that cannot be pickled
                pickle.dump((False, RuntimeError(repr(exc))), out, protocol=5)
    os._exit(0)
