"""The search stage before and after a change, side by side on the same generated archive.

    python bench/search_bench.py [--ref 771a3f1] [--issues 200] [--articles 6] [--runs 3]

`--ref` is a commit of this repository (the code before the change): it is extracted into a
temporary folder and run with the same Python and libraries. For each of `--runs` interleaved
rounds, each version makes a cold `flash build --profile` (e-mails and search, no cache, no
previous site), then a build after one article's text was edited. The script prints the median
of the search stage (« index de recherche ») and of the whole build, and their ratio.

Then `flash serve`'s index (flash.search.LiveIndex, current code only): its first refresh (every
article page) and the refresh after one article was rendered again, which the preview runs after
the rebuild, on its event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402

STAGE = "index de recherche"


def extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def flash_build(code: Path, source: Path, output: Path) -> tuple[float, float, float]:
    """(whole build, search stage, CPU of the build's processes, Pagefind's included) in
    seconds, from a fresh process running `code`'s flash."""
    env = {**os.environ, "PYTHONPATH": str(code), "COLUMNS": "200", "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flash", "build", "-s", str(source), "-o",
                           str(output), "--profile"], capture_output=True, text=True, env=env,
                          cwd=source.parent, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    found = re.search(rf"{STAGE}\s+([\d.]+) ms", done.stdout)
    return wall, float(found.group(1)) / 1000 if found else 0.0, cpu


def edit_one(source: Path, round_: int) -> None:
    article = sorted(source.glob("*/*.md"))[round_ * 7 % 50]
    text = article.read_text(encoding="utf-8")
    article.write_text(text + f"\nUne phrase ajoutée au passage {round_}.\n", encoding="utf-8")


def live_index(source: Path, output: Path) -> tuple[float, float, int]:
    """(first refresh, refresh after one page, pages) of flash serve's index, current code."""
    from flash.build import build
    from flash.search import LiveIndex
    from flash.settings import load_settings
    from flash.store import MemoryStore

    settings = load_settings(source)
    cache = MemoryStore(source)
    index = LiveIndex(output, settings.language)

    async def run() -> tuple[float, float, int]:
        build(source, output, settings, drafts=True, search_on=True, store=cache,
              skip_if_unchanged=False, search_index=index)
        await index.refresh()
        first = index.seconds
        article = sorted(source.glob("*/*.md"))[3]
        article.write_text(article.read_text(encoding="utf-8") + "\nEncore une phrase.\n",
                           encoding="utf-8")
        build(source, output, settings, drafts=True, search_on=True, store=cache,
              skip_if_unchanged=False, search_index=index)
        await index.refresh()
        pages = len(index._articles)
        await index.close()
        return first, index.seconds, pages

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default="771a3f1")
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="search-bench-") as folder:
        work = Path(folder)
        source = work / "site" / "issues"
        generate(source, args.issues, args.articles, seed=1)
        (source.parent / "pyproject.toml").write_text(
            '[tool.flash]\nbase_url = "https://flash.example.org"\n', encoding="utf-8")
        versions = {f"avant ({args.ref})": extract(args.ref, Path(tempfile.mkdtemp(dir=work))),
                    "après": REPO}
        cold: dict[str, list[tuple[float, float, float]]] = {name: [] for name in versions}
        edited: dict[str, list[tuple[float, float, float]]] = {name: [] for name in versions}
        for round_ in range(args.runs):  # interleaved: a slow moment hits both
            for name, code in versions.items():
                output = work / f"out-{len(cold[name])}-{name[:5]}"
                shutil.rmtree(source.parent / ".flash-cache", ignore_errors=True)
                cold[name].append(flash_build(code, source, output))
                time.sleep(1.1)  # older than the clock's tick: the next build trusts dates
                edit_one(source, round_ * 2 + len(edited[name]))
                edited[name].append(flash_build(code, source, output))
                shutil.rmtree(output, ignore_errors=True)
        count = args.issues * args.articles
        print(f"{count} articles, {args.runs} passes alternées, médianes ; "
              f"nproc = {os.cpu_count()}")
        for title, runs in (("construction à froid", cold), ("1 article modifié", edited)):
            before, after = ([statistics.median(run[i] for run in r) for i in range(3)]
                             for r in runs.values())
            print(f"  {title} : étape de recherche {before[1]:.2f} s → {after[1]:.2f} s "
                  f"(après / avant = {after[1] / before[1]:.2f}) ; construction entière "
                  f"{before[0]:.2f} s → {after[0]:.2f} s ({after[0] / before[0]:.2f}) ; "
                  f"CPU {before[2]:.2f} s → {after[2]:.2f} s ({after[2] / before[2]:.2f})")
            for name, r in runs.items():
                print(f"    {name} : recherche " + ", ".join(f"{run[1]:.2f}" for run in r)
                      + " s ; entière " + ", ".join(f"{run[0]:.2f}" for run in r)
                      + " s ; CPU " + ", ".join(f"{run[2]:.2f}" for run in r) + " s")
        first, one, pages = live_index(source, work / "apercu")
        print(f"  flash serve, index tenu par Pagefind ({pages} articles) : mise à jour complète "
              f"{first:.2f} s, après 1 article modifié {one:.2f} s (après la reconstruction, "
              "sans la retarder)")


if __name__ == "__main__":
    main()
