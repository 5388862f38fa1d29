"""Spreading independent work over the CPU cores with fork: workers inherit the loaded content
(nothing to pickle on the way in) and take chunks of items from a shared queue until none is
left, so that a core never waits while another has work.

Each worker writes the results of a chunk to a temporary file as soon as it is done, then
announces it on a pipe; this process reads what was announced between its own chunks. Once the
last chunk is done, little is left to read: the cores do the reading while the others work, not
after."""

from __future__ import annotations

import gc
import os
import pickle
import struct
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting a process costs more than it saves.
MINIMUM = 48
# The queue (8 bytes a chunk) and the announcements (20 bytes a chunk) are pipes written without
# waiting for a reader: stay well within the smallest pipe buffer (16 pages of 4 KiB on Linux).
MAX_CHUNKS = 1024
_RANGE = struct.Struct("=II")  # a chunk: first item, end
_NOTE = struct.Struct("=IQQ")  # a worker's record is written: worker, offset, length
_END = -1  # the start of a worker's last record: how it ended


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def chunks(total: int, count: int) -> list[tuple[int, int]]:
    """Guided: each chunk takes a share of what is left, so the first ones are large (little
    overhead) and the last ones small (the cores finish together)."""
    smallest = max(1, -(-total // MAX_CHUNKS))
    bounds = []
    start = 0
    while start < total:
        size = max(smallest, (total - start) // (count * 3), 2)
        bounds.append((start, min(total, start + size)))
        start += size
    return bounds


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
    queue_read, queue_write = os.pipe()
    try:
        os.write(queue_write, b"".join(_RANGE.pack(*bounds)
                                       for bounds in chunks(len(items), count)))
    finally:
        os.close(queue_write)
    notes_read, notes_write = os.pipe()
    # Frozen objects are never visited by the garbage collector: a worker does not copy the
    # memory pages it shares with this process just by collecting.
    gc.freeze()
    try:
        files = [_fork(func, items, queue_read, notes_write, index)
                 for index in range(count - 1)]
    finally:
        gc.unfreeze()
        os.close(notes_write)  # the workers hold theirs: end of file once they all left
    results = _Results(notes_read, [file for _, file in files])
    try:
        try:
            if meanwhile is not None:
                meanwhile()
            while record := os.read(queue_read, _RANGE.size):
                start, end = _RANGE.unpack(record)
                results.done[start] = [func(item) for item in items[start:end]]
                results.collect()
        except BaseException as exc:
            results.failure = exc
            _empty(queue_read)  # the workers stop after their current chunk
        results.collect(until_end=True)
        for index, (pid, _) in enumerate(files):  # every worker is waited for
            _, status = os.waitpid(pid, 0)
            if index not in results.ended and results.failure is None:
                results.failure = RuntimeError(f"a worker process died (status {status})")
    finally:
        os.close(queue_read)
        os.close(notes_read)
        for _, file in files:
            file.close()
    if results.failure is not None:
        raise results.failure
    merged: list[R] = []
    for start in sorted(results.done):
        merged += results.done[start]
    return merged


class _Results:
    """What the workers announced, read from their files."""

    def __init__(self, notes: int, files: list[IO[bytes]]):
        self.notes = notes
        self.files = files
        self.done: dict[int, list[Any]] = {}  # first item of a chunk -> its results
        self.ended: set[int] = set()  # workers whose last record was read
        self.failure: BaseException | None = None
        os.set_blocking(notes, False)

    def collect(self, *, until_end: bool = False) -> None:
        """Reads the records announced so far; `until_end`: and every one to come."""
        if until_end:
            os.set_blocking(self.notes, True)
        while True:
            try:
                # Announcements are written whole (less than PIPE_BUF): a read of a multiple of
                # their size returns whole ones.
                data = os.read(self.notes, _NOTE.size * 200)
            except BlockingIOError:
                return
            if not data:
                return  # every worker has left
            for index, offset, length in _NOTE.iter_unpack(data):
                start, value = pickle.loads(os.pread(self.files[index].fileno(), length, offset))
                if start == _END:
                    self.ended.add(index)
                    if value is not None and self.failure is None:
                        self.failure = value
                else:
                    self.done[start] = value


def _empty(queue: int) -> None:
    while os.read(queue, 4096):
        pass


def _fork(func: Callable[[T], R], items: Sequence[T], queue: int, notes: int, index: int
          ) -> tuple[int, IO[bytes]]:
    file = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    pid = os.fork()
    if pid:
        return pid, file
    # The worker: compute, write, and leave without running any cleanup of the parent's.
    try:
        offset = 0

        def send(start: int, value: object) -> None:
            nonlocal offset
            data = pickle.dumps((start, value), protocol=5)
            view = memoryview(data)
            while view:
                view = view[os.write(file.fileno(), view):]
            # Announced once written: the reader then finds the whole record in the file.
            os.write(notes, _NOTE.pack(index, offset, len(data)))
            offset += len(data)

        outcome: BaseException | None = None
        try:
            while record := os.read(queue, _RANGE.size):
                start, end = _RANGE.unpack(record)
                send(start, [func(item) for item in items[start:end]])
        except BaseException as exc:  # re-raised in the parent
            _empty(queue)
            outcome = exc
        try:
            send(_END, outcome)
        except Exception:  # an exception that cannot be pickled
            send(_END, RuntimeError(repr(outcome)))
    finally:
        os._exit(0)
