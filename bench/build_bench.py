"""Flash, Hugo and Pelican side by side on the same generated corpus.

    python bench/build_bench.py [--sizes 200x6,1000x6] [--runs 3] [--no-install]

For each size, the seeded corpus of bench/corpus.py is converted into a Hugo site (one content
file per article, taxonomies for organisations and themes, one section per issue) and a Pelican
site (category = issue, author = organisation, tags = themes). Each generator then builds its
site from scratch in a fresh process; the script prints wall time, peak memory (the sum of the
resident memory of the process tree, sampled, and the largest single process from wait4), the
number of HTML pages per family, and the ratios. Flash's warm builds (nothing changed, one
article edited) and its search indexing are reported on their own lines.

Hugo comes from Debian (`apt-get install hugo`); Pelican is installed into bench/.venv-pelican.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import ORGANISATIONS, THEMES, generate, write_tree  # noqa: E402

PELICAN_VENV = HERE / ".venv-pelican"
PELICAN_REQUIREMENTS = ["pelican==4.12.0", "markdown==3.11.3"]
FLASH = Path(sys.executable).with_name("flash")
BASE_URL = "https://flash.example.org"


# --- tools -----------------------------------------------------------------------------------

def ensure_hugo(install: bool) -> str:
    found = shutil.which("hugo")
    if found or not install:
        if not found:
            sys.exit("hugo introuvable : installez le paquet Debian « hugo »")
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    print("Installation de Hugo (apt-get install hugo)…", flush=True)
    subprocess.run([*prefix, "apt-get", "install", "-y", "hugo"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                   stdout=subprocess.DEVNULL)
    found = shutil.which("hugo")
    if not found:
        sys.exit("hugo introuvable après l’installation")
    return found


def ensure_pelican(install: bool) -> Path:
    pelican = PELICAN_VENV / "bin" / "pelican"
    if pelican.exists() or not install:
        if not pelican.exists():
            sys.exit(f"Pelican introuvable dans {PELICAN_VENV}")
        return pelican
    print(f"Installation de Pelican dans {PELICAN_VENV}…", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(PELICAN_VENV)
    subprocess.run([str(PELICAN_VENV / "bin" / "pip"), "install", "-q",
                    *PELICAN_REQUIREMENTS], check=True)
    return pelican


def flash_package() -> Path:
    """The folder of the flash package that FLASH runs (an editable install: the repository's)."""
    found = subprocess.run([str(FLASH.with_name("python")), "-c",
                            "import flash, os; print(os.path.dirname(flash.__file__))"],
                           capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


def compile_flash() -> None:
    """Compiles Flash's modules as `pip install` does for an installed package, and as Python
    does by itself at the first run, unless PYTHONDONTWRITEBYTECODE is set (it is on some CI
    machines and sandboxes: each run would then compile every module again, ≈ 80 ms)."""
    subprocess.run([str(FLASH.with_name("python")), "-m", "compileall", "-q",
                    str(flash_package())], check=True)


def flash_bytecode() -> list[Path]:
    return list(flash_package().rglob("__pycache__"))


def version(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    return (result.stdout or result.stderr).strip().splitlines()[0]


# --- corpus conversion -----------------------------------------------------------------------

@dataclass(frozen=True)
class SourceArticle:
    number: int
    date: str  # "YYYY-MM"
    slug: str
    weight: int
    front: dict
    body: str


def read_corpus(root: Path) -> tuple[list[dict], list[SourceArticle]]:
    issues: list[dict] = []
    articles: list[SourceArticle] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        issue = yaml.safe_load((folder / "issue.yaml").read_text(encoding="utf-8"))
        issues.append(issue)
        for position, path in enumerate(sorted(folder.glob("*.md")), 1):
            _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
            slug = path.stem.split("-", 1)[1]
            articles.append(SourceArticle(issue["number"], issue["date"], slug, position,
                                          yaml.safe_load(front), body.lstrip("\n")))
    return issues, articles


HUGO_CONFIG = f"""baseURL = "{BASE_URL}/"
languageCode = "fr"
defaultContentLanguage = "fr"
title = "Flash initiatives locales"
paginate = 20
disableKinds = []
buildFuture = true  # the generated archive runs past today when it has many issues

[taxonomies]
organisation = "organisations"
theme = "themes"

[markup.goldmark.renderer]
unsafe = true
"""

# Layouts of the Hugo site: the same pages as Flash's, written the Hugo way.
HUGO_LAYOUTS = HERE / "hugo-layouts"

PELICAN_CONFIG = """AUTHOR = "Flash"
SITENAME = "Flash initiatives locales"
SITEURL = ""
PATH = "content"
TIMEZONE = "Europe/Paris"
DEFAULT_LANG = "fr"
DEFAULT_PAGINATION = 20
LOAD_CONTENT_CACHE = False
ARTICLE_URL = "numeros/{category}/{slug}/"
ARTICLE_SAVE_AS = "numeros/{category}/{slug}/index.html"
CATEGORY_URL = "numeros/{slug}/"
CATEGORY_SAVE_AS = "numeros/{slug}/index.html"
CATEGORIES_SAVE_AS = "numeros/index.html"
AUTHOR_URL = "organisations/{slug}/"
AUTHOR_SAVE_AS = "organisations/{slug}/index.html"
AUTHORS_SAVE_AS = "organisations/index.html"
TAG_URL = "themes/{slug}/"
TAG_SAVE_AS = "themes/{slug}/index.html"
TAGS_SAVE_AS = "themes/index.html"
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
FEED_ALL_ATOM = "feed.xml"
CATEGORY_FEED_ATOM = None
AUTHOR_FEED_ATOM = "organisations/{slug}/feed.xml"
AUTHOR_FEED_RSS = None
TAG_FEED_ATOM = "themes/{slug}/feed.xml"
TRANSLATION_FEED_ATOM = None
"""


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_hugo(site: Path, issues: list[dict], articles: list[SourceArticle]) -> None:
    files: dict[str, str | bytes] = {
        "hugo.toml": HUGO_CONFIG,
        "static/flash.css": (REPO / "assets" / "flash.css").read_bytes()}
    for layout in HUGO_LAYOUTS.rglob("*"):
        if layout.is_file():
            files[f"layouts/{layout.relative_to(HUGO_LAYOUTS).as_posix()}"] = layout.read_bytes()
    files["content/_index.md"] = "---\ntitle: Accueil\n---\n"
    files["content/numeros/_index.md"] = "---\ntitle: Tous les numéros\n---\n"
    for slug, (name, _) in ORGANISATIONS.items():
        files[f"content/organisations/{slug}/_index.md"] = f"---\ntitle: {_quoted(name)}\n---\n"
    for slug, label in THEMES.items():
        files[f"content/themes/{slug}/_index.md"] = f"---\ntitle: {_quoted(label)}\n---\n"
    for issue in issues:
        files[f"content/numeros/{issue['number']}/_index.md"] = (
            f"---\ntitle: \"N°{issue['number']}\"\ndate: {issue['date']}-01\n"
            f"number: {issue['number']}\n---\n\n{issue['intro']}\n")
    for a in articles:
        front = a.front
        lines = ["---", f"title: {_quoted(front['title'])}", f"date: {a.date}-01",
                 f"weight: {a.weight}", f"slug: {a.slug}",
                 # Terms by slug: their pages (content/organisations/<slug>/) carry the names.
                 f"organisations: [{front['organisation']}]",
                 "themes: [" + ", ".join(front["themes"]) + "]",
                 f"location: {_quoted(front['location'])}",
                 f"summary: {_quoted(front['summary'])}"]
        if front.get("links"):
            lines.append("links:")
            for link in front["links"]:
                lines += [f"  - label: {_quoted(link['label'])}", f"    url: {link['url']}"]
        lines.append("---")
        files[f"content/numeros/{a.number}/{a.slug}.md"] = "\n".join(lines) + "\n\n" + a.body
    site.mkdir(parents=True, exist_ok=True)
    write_tree(site, files, keep=("public", "resources", ".hugo_build.lock"))


def write_pelican(site: Path, articles: list[SourceArticle]) -> None:
    files: dict[str, str | bytes] = {"pelicanconf.py": PELICAN_CONFIG}
    for a in articles:
        front = a.front
        header = [f"Title: {front['title']}", f"Date: {a.date}-01 08:00",
                  f"Category: {a.number}", f"Author: {ORGANISATIONS[front['organisation']][0]}",
                  "Tags: " + ", ".join(THEMES[t] for t in front["themes"]),
                  f"Summary: {front['summary']}", f"Slug: {a.slug}",
                  f"Location: {front['location']}"]
        files[f"content/{a.number}/{a.slug}.md"] = "\n".join(header) + "\n\n" + a.body
    site.mkdir(parents=True, exist_ok=True)
    write_tree(site, files, keep=("output", "__pycache__"))


# --- measuring -------------------------------------------------------------------------------

@dataclass
class Run:
    wall: float
    cpu: float  # user + system, the process and all its children
    memory_mb: float  # peak of the summed proportional memory (PSS) of the process tree
    max_rss_mb: float  # largest single process, from the kernel (wait4)
    output: str


def _tree_pss(pid: int) -> int:
    """Kilobytes of memory of `pid` and all its descendants, pages shared between them (fork)
    counted once: the sum of their PSS."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii", errors="replace") as f:
                for text in f:
                    if text.startswith("Pss:"):
                        total += int(text.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    pending.extend(int(c) for c in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(command: list[str], cwd: Path | None = None, *, sample: bool = False,
            env: dict[str, str] | None = None) -> Run:
    """Runs `command` in a fresh process. With `sample`, the memory of its process tree is
    sampled every 10 ms (reading it costs CPU: timed runs do without, memory_mb is then 0).
    The files the previous run wrote are flushed first, outside the timing: the kernel writing
    them out during the next run would slow whichever generator came next."""
    os.sync()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "COLUMNS": "200", **(env or {})})
    peak = 0
    done = threading.Event()

    def sample_memory() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss(process.pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    if sample:
        sampler.start()
    output = process.stdout.read().decode("utf-8", "replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    if sample:
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        print(output)
        sys.exit(f"échec : {' '.join(command)}")
    return Run(wall, usage.ru_utime + usage.ru_stime, peak / 1024, usage.ru_maxrss / 1024,
               output)


def median_run(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.wall)
    middle = ordered[len(ordered) // 2]
    return Run(middle.wall, statistics.median(r.cpu for r in runs),
               max(r.memory_mb for r in runs), max(r.max_rss_mb for r in runs), middle.output)


def with_memory(timed: Run, sampled: Run) -> Run:
    return Run(timed.wall, timed.cpu, sampled.memory_mb, max(timed.max_rss_mb,
               sampled.max_rss_mb), timed.output)


FAMILIES = [
    ("articles", re.compile(r"^numeros/[^/]+/[^/]+/index\.html$")),
    ("numéros", re.compile(r"^numeros/[^/]+/index\.html$")),
    ("organisations", re.compile(r"^organisations/[^/]+/(page/\d+/)?index\.html$")),
    ("thèmes", re.compile(r"^themes/[^/]+/(page/\d+/)?index\.html$")),
]


def count_pages(root: Path) -> Counter:
    counts: Counter = Counter()
    for path in root.rglob("*.html"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("numeros/page/"):
            counts["autres"] += 1
            continue
        family = next((name for name, pattern in FAMILIES if pattern.match(relative)), "autres")
        counts[family] += 1
    counts["total"] = sum(counts.values())
    return counts


# --- the benchmark ---------------------------------------------------------------------------

def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return (f"{os.cpu_count()} cœurs ({model}), {memory / 1024 / 1024:.1f} Go de mémoire, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def edit_one_article(source: Path) -> Path:
    article = sorted(sorted(p for p in source.iterdir() if p.is_dir())[-1].glob("*.md"))[0]
    text = article.read_text(encoding="utf-8")
    article.write_text(text.rstrip("\n") + "\n\nUne phrase ajoutée pour le banc d’essai.\n",
                       encoding="utf-8")
    return article


STAGE = re.compile(r"^\s{2}(\S.*?)\s{2,}([\d.]+) ms$", re.M)


def stages(output: str) -> dict[str, float]:
    return {name: float(ms) / 1000 for name, ms in STAGE.findall(output)}


def rendered(output: str) -> str:
    found = re.search(r"(\d+) pages? rendues?|aucune page rendue", output)
    return found.group(0) if found else "?"


def serve_rebuilds(source: Path, output: Path, edits: int = 15) -> list[tuple[float, int]]:
    """What `flash serve` does after each edit, in its own process: look for changes, then an
    incremental build with the cache kept in memory. The time is the rebuild's, from the end
    of the look for changes to the moment the browsers are told to reload."""
    import io

    from rich.console import Console

    from flash.serve import Preview
    from flash.settings import Settings
    from flash.store import MemoryStore

    settings = Settings(base_url="http://127.0.0.1:8000", root=source.parent)
    preview = Preview(source, output, settings, Console(file=io.StringIO()),
                      MemoryStore(source))
    preview.rebuild()
    results = []
    for _ in range(edits):
        edit_one_article(source)
        stats: dict = {}
        stamp = preview.current_stamp(stats)
        start = time.perf_counter()
        report = preview.rebuild(stamp, stats)
        results.append((time.perf_counter() - start, len(report.rendered) if report else -1))
        preview.collect_garbage()  # as the server does once idle, after the reload
    return results


def pagefind_binary() -> str:
    """The Pagefind executable Flash uses (the `pagefind[bin]` package)."""
    from flash.search import executable

    found = executable()
    if found is None:
        sys.exit("Pagefind introuvable : installez le paquet « pagefind[bin] »")
    return str(found)


def line(name: str, run: Run, pages: Counter | None = None) -> str:
    families = ""
    if pages is not None:
        families = "  " + ", ".join(f"{pages[f]} {f}" for f, _ in FAMILIES) + \
                   f", {pages['total']} pages HTML"
    return (f"  {name:<26} {run.wall:6.2f} s  (CPU {run.cpu:5.2f} s)  "
            f"mémoire {run.memory_mb:5.0f} Mo (plus gros processus {run.max_rss_mb:4.0f} Mo)"
            f"{families}")


# Previous outputs go here, deleted once every size is measured. On ext4 without a journal
# (this machine's), creating a file searches past every inode freed in the last one to five
# minutes: deleting thousands of files before a timed run made its time depend on what ran
# before it (the corpora are rewritten in place for the same reason: see corpus.write_tree).
TRASH = HERE / "out" / "trash"


def set_aside(path: Path, trash: Path = TRASH) -> None:
    """Moves a previous output out of the way instead of deleting it."""
    if path.exists():
        trash.mkdir(parents=True, exist_ok=True)
        path.rename(trash / f"{path.parent.name}-{path.name}-{time.monotonic_ns()}")


def empty_trash(*, before_runs: bool) -> None:
    if not TRASH.exists():
        return
    shutil.rmtree(TRASH, ignore_errors=True)
    if before_runs:  # left by an interrupted run: wait until the freed inodes are not recent
        os.sync()
        print("(sorties d’une passe interrompue supprimées : 60 s d’attente avant de mesurer)",
              flush=True)
        time.sleep(60)


def bench_size(issues: int, per_issue: int, runs: int, hugo: str, pelican: Path) -> None:
    work = HERE / "out" / f"{issues}x{per_issue}"
    trash = TRASH
    source = work / "flash" / "issues"
    generate(source, issues, per_issue, seed=1)
    source_issues, articles = read_corpus(source)
    write_hugo(work / "hugo", source_issues, articles)
    write_pelican(work / "pelican", articles)
    (work / "flash" / "pyproject.toml").write_text(
        f'[tool.flash]\nbase_url = "{BASE_URL}"\n', encoding="utf-8")
    flash_out = work / "flash" / "_site"
    flash_cache = work / "flash" / ".flash-cache"
    hugo_out = work / "hugo" / "public"
    pelican_out = work / "pelican" / "output"
    # Without the printable edition, which Hugo and Pelican do not make (bench/print_bench.py)
    build_command = [str(FLASH), "build", "-s", str(source), "-o", str(flash_out), "--profile",
                     "--no-print"]
    print(f"\n{issues} numéros × {per_issue} articles = {len(articles)} articles "
          f"({runs} passes alternées, médiane)", flush=True)

    def flash_cold(sample: bool = False, env: dict[str, str] | None = None) -> Run:
        set_aside(flash_out, trash)
        set_aside(flash_cache, trash)
        return measure([*build_command, "--no-search", "--no-emails"], sample=sample, env=env)

    def hugo_cold(sample: bool = False) -> Run:
        set_aside(hugo_out, trash)
        set_aside(work / "hugo" / "resources", trash)
        return measure([hugo, "--quiet", "-s", str(work / "hugo"), "-d", str(hugo_out)],
                       sample=sample)

    def pelican_cold(sample: bool = False) -> Run:
        set_aside(pelican_out, trash)
        return measure([str(pelican), "-q", "-s", "pelicanconf.py", "-o", "output", "content"],
                       cwd=work / "pelican", sample=sample)

    cold = {"Flash": flash_cold, "Hugo": hugo_cold, "Pelican": pelican_cold}
    results: dict[str, list[Run]] = {name: [] for name in cold}
    for _ in range(runs):  # interleaved, so that a slow moment of the machine hits all three
        for name, run in cold.items():
            results[name].append(run())
    memory = {name: run(sample=True) for name, run in cold.items()}  # one more, not timed
    flash, hugo_run, pelican_run = (with_memory(median_run(results[k]), memory[k])
                                    for k in ("Flash", "Hugo", "Pelican"))
    print(line("Flash, à froid", flash, count_pages(flash_out)))
    print(line("Hugo", hugo_run, count_pages(hugo_out)))
    print(line("Pelican", pelican_run, count_pages(pelican_out)))
    print(f"  Flash / Hugo = {flash.wall / hugo_run.wall:.2f} (objectif ≤ 1,0) ; "
          f"Pelican / Flash = {pelican_run.wall / flash.wall:.1f} (objectif ≥ 4) ; "
          f"mémoire de Flash {flash.memory_mb:.0f} Mo (objectif ≤ 250 Mo)")
    print("  étapes de Flash : " + ", ".join(f"{name} {seconds:.2f} s"
                                             for name, seconds in stages(flash.output).items()
                                             if seconds >= 0.005))
    # Compiled templates live in the user's cache folder, as Python's compiled modules do: the
    # runs above find them there. The very first build on a machine compiles both.
    for folder in flash_bytecode():
        shutil.rmtree(folder)
    with tempfile.TemporaryDirectory() as empty:
        first = flash_cold(env={"XDG_CACHE_HOME": empty, "PYTHONDONTWRITEBYTECODE": ""})
    compile_flash()
    print(line("Flash, 1re fois sur la machine", first)
          + "  (modules Python et modèles Jinja pas encore compilés, une passe)")

    # The whole build (e-mails and search; the PDFs aside: Hugo makes none) against Hugo
    # followed by Pagefind on Hugo's site, interleaved.
    def full_cold(sample: bool = False) -> Run:
        set_aside(flash_out, trash)
        set_aside(flash_cache, trash)
        return measure(build_command, sample=sample)

    pagefind = pagefind_binary()

    def hugo_and_pagefind() -> tuple[Run, Run]:
        built = hugo_cold()
        return built, measure([pagefind, "--site", str(hugo_out), "--silent"])

    fulls, pairs = [], []
    for _ in range(runs):
        fulls.append(full_cold())
        pairs.append(hugo_and_pagefind())
    full = with_memory(median_run(fulls), full_cold(sample=True))
    both = sorted(hugo.wall + index.wall for hugo, index in pairs)[len(pairs) // 2]
    indexing = statistics.median(index.wall for _, index in pairs)
    timed = stages(full.output)
    print(line("Flash complet, à froid", full) + "  (avec e-mails et recherche, sans PDF)")
    print(f"    dont e-mails des {issues} numéros : {timed.get('e-mails', 0):.2f} s ; "
          f"recherche (Pagefind) : {timed.get('index de recherche', 0):.2f} s")
    print(f"  Hugo puis Pagefind sur son site : {both:.2f} s (dont Pagefind {indexing:.2f} s) ; "
          f"Flash complet / (Hugo + Pagefind) = {full.wall / both:.2f} (objectif ≤ 1,5)")
    time.sleep(2.1)  # files older than the clock's tick: the build may trust their dates
    unchanged = measure(build_command, sample=True)
    print(line("Flash, rien de changé", unchanged) + f"  ({rendered(unchanged.output)})")
    edit_one_article(source)
    edited = measure(build_command, sample=True)
    print(line("Flash, 1 article modifié", edited) + f"  ({rendered(edited.output)})")
    rebuilds = serve_rebuilds(source, work / "flash" / "_apercu")
    times = sorted(seconds for seconds, _ in rebuilds)
    median = statistics.median(times)
    print(f"  flash serve, 1 article modifié : reconstruction {median * 1000:.0f} ms"
          f" (médiane de {len(times)}, de {times[0] * 1000:.0f} à {times[-1] * 1000:.0f} ms), "
          f"{rebuilds[-1][1]} fichiers rendus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200x6,1000x6",
                        help="tailles N×K séparées par des virgules (défaut : 200x6,1000x6)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-install", action="store_true",
                        help="ne pas installer Hugo ni Pelican s’ils manquent")
    args = parser.parse_args()
    hugo = ensure_hugo(not args.no_install)
    pelican = ensure_pelican(not args.no_install)
    compile_flash()
    print(f"Machine : {machine()}")
    print(f"Flash {version([str(FLASH), '--version'])} ; {version([hugo, 'version'])} ; "
          f"{version([str(pelican), '--version'])}")
    empty_trash(before_runs=True)
    try:
        for size in args.sizes.split(","):
            issues, per_issue = (int(n) for n in size.lower().split("x"))
            bench_size(issues, per_issue, args.runs, hugo, pelican)
    finally:
        empty_trash(before_runs=False)


if __name__ == "__main__":
    main()
