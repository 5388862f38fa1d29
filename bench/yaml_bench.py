"""Times the YAML of content files: flash.sources.parse_yaml against PyYAML's own safe loading.

    python bench/yaml_bench.py [--issues 200] [--articles 6] [--runs 7]

Every YAML document of the sample (issues/) and of a generated archive (bench/corpus.py, seed 1)
is parsed `--runs` times; the best run is printed for Flash's loader and for the reference, the
way Flash loaded YAML before its own loader (PyYAML's C parser and composer, its SafeConstructor
and a walk of the nodes for each key's line), with their ratio. Also a whole `flash check`-like
load of the archive (validate.load_corpus, in this process), before which nothing is cached.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402

from flash.sources import decode, parse_yaml, split_front_matter  # noqa: E402


def reference(text: str, first_line: int = 1) -> object:
    """PyYAML's safe loading with each key's line, as Flash did it before its own loader."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[prefix + str(key.value)] = key.start_mark.line + first_line
                walk(value, f"{prefix}{key.value}.")
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{prefix}{index}"] = item.start_mark.line + first_line
                walk(item, f"{prefix}{index}.")

    if node is not None:
        walk(node, "")
    return data, lines


def documents(source: Path) -> list[tuple[str, int]]:
    """(YAML text, its first line) of every content file under `source`."""
    found = []
    for path in sorted(source.rglob("*")):
        if path.suffix == ".yaml":
            found.append((decode(path.read_bytes()), 1))
        elif path.suffix == ".md":
            document = split_front_matter(decode(path.read_bytes()))
            found.append((document.front, document.front_line))
    return found


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(name: str, docs: list[tuple[str, int]], runs: int) -> None:
    flash = best(runs, lambda: [parse_yaml(text, line) for text, line in docs])
    old = best(runs, lambda: [reference(text, line) for text, line in docs])
    size = sum(len(text) for text, _ in docs) / 1024
    print(f"{name:<28} {len(docs):5} documents {size:7.0f} Ko   PyYAML {old * 1000:7.1f} ms   "
          f"Flash {flash * 1000:7.1f} ms   Flash/PyYAML {flash / old:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from corpus import generate

    compare("échantillon (issues/)", documents(ROOT / "issues"), args.runs)
    with tempfile.TemporaryDirectory() as folder:
        made = generate(Path(folder) / "issues", args.issues, args.articles, seed=1)
        compare(f"archive {args.issues}×{args.articles}", documents(made.root), args.runs)
        from flash.validate import load_corpus

        start = time.perf_counter()
        corpus, report = load_corpus(made.root)
        seconds = time.perf_counter() - start
        assert corpus is not None, report.errors[:3]
        print(f"load_corpus de l’archive (YAML, Markdown, contrôles) : {seconds:.2f} s")


if __name__ == "__main__":
    main()
