"""What each of flash.markdown_fast's paths is worth: the article bodies of the benchmark's
archive rendered by flash.markdown.render in one process, with every fast path, with none, and
with all but one, in interleaved rounds.

    python bench/markdown_bench.py [--issues 200] [--rounds 8]

Prints, for each variant, the median time to render the whole archive and its ratio to the
time with every path (a path is worth what removing it costs).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpus import generate  # noqa: E402

from flash import markdown, markdown_fast  # noqa: E402


def bodies(issues: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        generate(Path(folder), issues, 6, seed=1)
        texts = [path.read_text(encoding="utf-8") for path in sorted(Path(folder).rglob("*.md"))]
    return [text.split("\n---\n", 1)[-1] for text in texts]


def timed(texts: list[str], fast: markdown.Fast) -> float:
    gc.collect()
    start = time.perf_counter()
    for text in texts:
        markdown.render(text, fast=fast)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    texts = bodies(args.issues)
    variants: dict[str, markdown.Fast] = {"toutes": True, "aucune": False}
    for path in sorted(markdown_fast.PATHS):
        variants[f"sans {path}"] = markdown_fast.PATHS - {path}
    for fast in variants.values():  # warm-up: parsers made, regular expressions compiled
        timed(texts[:50], fast)
    same = all(markdown.render(t).html == markdown.render(t, fast=False).html for t in texts)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, fast in variants.items():
            times[name].append(timed(texts, fast))
    base = statistics.median(times["toutes"])
    print(f"{len(texts)} articles, {args.rounds} passes alternées ; HTML identique avec et "
          f"sans les raccourcis : {'oui' if same else 'NON'}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<16} {median * 1000:8.1f} ms  ({median / len(texts) * 1e6:6.1f} µs "
              f"l’article)  rapport {median / base:5.3f}")


if __name__ == "__main__":
    main()
