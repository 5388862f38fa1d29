"""Spreading independent work over the CPU cores with fork: workers inherit the loaded content
(nothing to pickle on the way in) and take chunks of items from a shared queue until none is
left, so that a core never waits while another has work; results come back through a
temporary file, which a worker fills without waiting for this process to read it."""

from __future__ import annotations

import gc
import os
import pickle
import struct
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting a process costs more than it saves.
MINIMUM = 48
# Each chunk start is 4 bytes in a pipe written before any worker reads it: stay well within
# the smallest pipe buffer (4 KiB pages × 16 on Linux), or the write would block.
MAX_CHUNKS = 4096
_START = struct.Struct("=I")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_map(func: Callable[[T], R], items: Sequence[T], workers: int | None = None, *,
             minimum: int = MINIMUM, meanwhile: Callable[[], object] | None = None
             ) -> list[R]:
    """[func(item) for item in items], computed by this process and forked workers.
    `meanwhile`: work this process does first, while the workers have started; it takes its
    share of the items afterwards, whatever is left."""
    count = min(workers or cores(), max(1, len(items) // max(1, minimum // 2)))
    if count <= 1 or not hasattr(os, "fork"):
        if meanwhile is not None:
            meanwhile()
        return [func(item) for item in items]
    # Chunks of a few items: small enough to even out the end, large enough that reading the
    # queue costs nothing next to the work.
    size = max(1, len(items) // (count * 32), -(-len(items) // MAX_CHUNKS))
    queue_read, queue_write = os.pipe()
    try:
        os.write(queue_write, b"".join(_START.pack(start)
                                       for start in range(0, len(items), size)))
    finally:
        os.close(queue_write)
    # Frozen objects are never visited by the garbage collector: a worker does not copy the
    # memory pages it shares with this process just by collecting.
    gc.freeze()
    try:
        children = [_fork(func, items, size, queue_read) for _ in range(count - 1)]
    finally:
        gc.unfreeze()
    done: list[tuple[int, list[R]]] = []
    failure: BaseException | None = None
    try:
        if meanwhile is not None:
            meanwhile()
        done += _drain(func, items, size, queue_read)
    except BaseException as exc:
        failure = exc
        _empty(queue_read)  # the workers stop after their current chunk
    finally:
        os.close(queue_read)
    for pid, results in children:  # every worker is waited for, even after a failure
        _, status = os.waitpid(pid, 0)
        with results:
            try:
                results.seek(0)
                ok, payload = pickle.load(results)
            except (EOFError, pickle.UnpicklingError):
                ok, payload = False, RuntimeError(f"a worker process died (status {status})")
        if failure is None and not ok:
            failure = payload
        elif failure is None:
            done += payload
    if failure is not None:
        raise failure
    merged: list[R] = []
    for _, results in sorted(done, key=lambda chunk: chunk[0]):
        merged += results
    return merged


def _drain(func: Callable[[T], R], items: Sequence[T], size: int, queue: int
           ) -> list[tuple[int, list[R]]]:
    """Takes chunks from the queue until it is empty. A read of 4 bytes from a pipe holding
    whole 4-byte records returns one whole record: processes never split or share one."""
    done = []
    while record := os.read(queue, _START.size):
        (start,) = _START.unpack(record)
        done.append((start, [func(item) for item in items[start:start + size]]))
    return done


def _empty(queue: int) -> None:
    while os.read(queue, 4096):
        pass


def _fork(func: Callable[[T], R], items: Sequence[T], size: int, queue: int
          ) -> tuple[int, IO[bytes]]:
    results = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    pid = os.fork()
    if pid:
        return pid, results
    # The worker: compute, write, and leave without running any cleanup of the parent's.
    try:
        try:
            outcome: tuple[bool, object] = (True, _drain(func, items, size, queue))
        except BaseException as exc:  # re-raised in the parent
            _empty(queue)
            outcome = (False, exc)
        try:
            pickle.dump(outcome, results, protocol=5)
        except Exception:  # an exception that cannot be pickled
            results.seek(0)
            results.truncate()
            pickle.dump((False, RuntimeError(repr(outcome[1]))), results, protocol=5)
        results.flush()
    finally:
        os._exit(0)
