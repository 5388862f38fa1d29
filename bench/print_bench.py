"""Timings of the printable edition: PDF time per issue, then cold and incremental builds.

    python bench/print_bench.py [--issues 200] [--articles 6] [--images] [--sample]

Generates the seeded archive of bench/corpus.py, then builds it in this process (as
`flash build` does, search index off to time Flash alone): cold with print off, cold with print
on (every PDF made, on every core), again with nothing changed, then with one article edited.
Prints wall times, the time each PDF took (in its worker) and the sizes. `--sample`: the sample
issue N°195 alone (its 7 illustrations), cold, to time one real issue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402

from flash.build import BuildReport, build  # noqa: E402
from flash.parallel import cores  # noqa: E402
from flash.settings import Settings  # noqa: E402

SETTINGS = Settings(base_url="https://flash.example.org", root=REPO)


def timed(source: Path, site: Path, **options: object) -> tuple[float, BuildReport]:
    start = time.perf_counter()
    report = build(source, site, SETTINGS.with_overrides(print=options.pop("printing", True)),
                   search_on=False, **options)
    return time.perf_counter() - start, report


def pdf_seconds(report: BuildReport) -> tuple[list[float], list[float]]:
    """(editions, posters): what each PDF made by this build took, in its worker."""
    made = [path for path in report.rendered if path.endswith(".pdf")]
    editions = [s for p, s in zip(made, report.print_seconds, strict=True) if "/flash-" in p]
    posters = [s for p, s in zip(made, report.print_seconds, strict=True) if "/affiche-" in p]
    return editions, posters


def describe(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none made"
    return (f"{label}: {len(values)} made, median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s")


def sizes(site: Path, pattern: str) -> str:
    found = [p.stat().st_size for p in site.glob(pattern)]
    if not found:
        return "none"
    return (f"{len(found)} files, median {statistics.median(found) / 1000:.0f} kB, "
            f"max {max(found) / 1000:.0f} kB, total {sum(found) / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--images", action="store_true", help="one article in two has a photo")
    parser.add_argument("--sample", action="store_true", help="the sample issue N°195 only")
    args = parser.parse_args()
    print(f"{dt.date.today().isoformat()} · {cores()} cores · load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="flash-print-bench-") as folder:
        work = Path(folder)
        source = work / "issues"
        if args.sample:
            shutil.copytree(REPO / "issues", source)
            seconds, report = timed(source, work / "site")
            editions, posters = pdf_seconds(report)
            print(f"sample N°195, cold: {seconds:.2f} s; {describe('edition', editions)}; "
                  f"{describe('poster', posters)}")
            print(f"  edition {sizes(work / 'site', 'numeros/*/flash-*.pdf')}")
            return
        generate(source, args.issues, args.articles, seed=1, images=args.images)
        print(f"archive: {args.issues} issues × {args.articles} articles"
              f"{', photos' if args.images else ''}")
        seconds, report = timed(source, work / "off", printing=False)
        print(f"cold build, print off: {seconds:.1f} s")
        shutil.rmtree(work / ".flash-cache" / "print", ignore_errors=True)
        site = work / "site"
        seconds, report = timed(source, site)
        editions, posters = pdf_seconds(report)
        stage = report.stages.get("version imprimable", 0.0)
        print(f"cold build, print on: {seconds:.1f} s (print stage {stage:.1f} s)")
        print(f"  {describe('editions', editions)}; {describe('posters', posters)}")
        print(f"  per issue (both PDFs, CPU of one core): "
              f"{(sum(editions) + sum(posters)) / max(1, len(editions)):.2f} s")
        print(f"  editions: {sizes(site, 'numeros/*/flash-*.pdf')}")
        print(f"  posters: {sizes(site, 'numeros/*/affiche-*.pdf')}")
        seconds, report = timed(source, site, skip_if_unchanged=False)
        print(f"nothing changed: {seconds:.2f} s, {len(pdf_seconds(report)[0])} PDF made")
        article = sorted(source.glob("*/*.md"))[len(list(source.glob("*/*.md"))) // 2]
        article.write_text(article.read_text(encoding="utf-8") + "\nUne phrase de plus.\n",
                           encoding="utf-8")
        seconds, report = timed(source, site)
        editions, posters = pdf_seconds(report)
        print(f"one article edited: {seconds:.2f} s; {describe('editions', editions)}; "
              f"{describe('posters', posters)}")
        seconds, report = timed(source, work / "elsewhere")
        print(f"new output folder, cache kept (a Netlify deploy with its cache): {seconds:.1f} s,"
              f" {len(pdf_seconds(report)[0])} PDF made")


if __name__ == "__main__":
    main()
