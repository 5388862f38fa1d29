"""flash.parallel.fork_map: the same results as a plain map, in order, whatever process computed
each item; failures reach the caller; the caller's own work runs while workers compute."""

from __future__ import annotations

import os
import time

import pytest

from flash.parallel import MAX_CHUNKS, chunks, fork_map


def slow(n: int) -> int:
    """An item that takes long enough for a freshly forked worker to get its share."""
    time.sleep(0.002)
    return n


def test_results_come_back_in_order_from_every_process() -> None:
    items = list(range(300))
    results = fork_map(lambda n: (slow(n) ** 2, os.getpid()), items, workers=2, minimum=2)
    assert [square for square, _ in results] == [n * n for n in items]
    # Both this process and a forked worker took chunks from the queue.
    assert len({pid for _, pid in results}) == 2
    assert os.getpid() in {pid for _, pid in results}


def test_meanwhile_runs_once_in_this_process_while_workers_compute() -> None:
    calls: list[int] = []
    results = fork_map(lambda n: n + 1, list(range(500)), workers=2, minimum=2,
                       meanwhile=lambda: calls.append(os.getpid()))
    assert results == list(range(1, 501))
    assert calls == [os.getpid()]


def test_meanwhile_also_runs_when_there_is_too_little_to_fork() -> None:
    calls: list[str] = []
    assert fork_map(str, [1, 2], meanwhile=lambda: calls.append("done")) == ["1", "2"]
    assert calls == ["done"]


def test_a_failure_in_a_worker_reaches_the_caller() -> None:
    parent = os.getpid()

    def fails_elsewhere(n: int) -> int:
        if os.getpid() != parent:
            raise ValueError(f"élément {n} refusé")
        return slow(n)

    with pytest.raises(ValueError, match="refusé"):
        fork_map(fails_elsewhere, list(range(300)), workers=2, minimum=2)


def test_a_failure_in_meanwhile_stops_the_map() -> None:
    def meanwhile() -> None:
        raise RuntimeError("gabarit cassé")

    with pytest.raises(RuntimeError, match="gabarit cassé"):
        fork_map(lambda n: n, list(range(1000)), workers=2, minimum=2, meanwhile=meanwhile)


def test_a_worker_that_dies_is_reported() -> None:
    parent = os.getpid()

    def dies(n: int) -> int:
        if os.getpid() != parent:
            os._exit(3)
        return slow(n)

    with pytest.raises(RuntimeError, match="worker process died"):
        fork_map(dies, list(range(300)), workers=2, minimum=2)


def test_a_result_that_cannot_come_back_is_reported() -> None:
    parent = os.getpid()

    def local_function(n: int) -> object:
        slow(n)
        return n if os.getpid() == parent else (lambda: n)  # a lambda cannot be pickled

    with pytest.raises(Exception, match=r"(?i)pickle"):
        fork_map(local_function, list(range(300)), workers=2, minimum=2)


@pytest.mark.parametrize(("total", "count"), [(1, 2), (48, 2), (1400, 2), (1611, 3),
                                              (100_000, 2), (7, 8)])
def test_chunks_cover_every_item_once_and_shrink(total: int, count: int) -> None:
    bounds = chunks(total, count)
    assert [start for start, _ in bounds] == [0] + [end for _, end in bounds[:-1]]
    assert bounds[-1][1] == total
    sizes = [end - start for start, end in bounds]
    assert all(size > 0 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # large first, small last
    assert len(bounds) <= MAX_CHUNKS
    if total >= 1000:
        assert sizes[0] >= total // (count * 4) and sizes[-1] <= max(2, total // MAX_CHUNKS + 1)
