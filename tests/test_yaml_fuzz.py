"""Hostile content files, generated: whatever the bytes, French diagnostics with file and line.

Hypothesis writes one hostile file at a time (an article, issue.yaml, organisations.yaml or
themes.yaml) into a copy of the sample issue: random YAML structures, the hostile classes of
issue 19 (aliases, bombs, tags, impossible dates, huge integers, NUL bytes, long paths, nulls),
random bytes, and mutations of the sample's real files. The content is checked in this process
(and a few examples through `flash check` and `flash build`): no exception, every message
French, every error naming a file of the tree and, for a file's content, its line. The time of
each check is measured in CPU seconds of this process (other processes sharing the cores do not
count) and bounded at one second for files of at most 64 KB (the larger ones are refused by
size before they are read).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flash.validate import load_corpus

ISSUE_DIR = "2021-03-n195"
ARTICLE = f"{ISSUE_DIR}/01-livre-de-recettes-gratines.md"
TARGETS = {
    "article": ARTICLE,
    "issue": f"{ISSUE_DIR}/issue.yaml",
    "organisations": "organisations.yaml",
    "themes": "themes.yaml",
}
ORIGINALS = {target: (SAMPLE / path).read_bytes() for target, path in TARGETS.items()}
KEYS = {
    "article": ["title", "organisation", "themes", "location", "summary", "image", "links",
                "order", "draft", "image.src", "image.alt", "links.0.url"],
    "issue": ["number", "date", "title", "intro", "preheader", "cover", "cover.src",
              "cover.alt"],
    "organisations": ["mesolia", "alfi", "mesolia.name", "mesolia.colour", "alfi.logo"],
    "themes": ["insertion-emploi", "insertion-emploi.label", "vivre-ensemble.description"],
}
# PyYAML's and Python's English, outside the user's own text quoted « like this »
ENGLISH = re.compile(r"\b(found|expected|while|scanning|parsing|could not|cannot|character|"
                     r"Error|Traceback|mapping|sequence|scalar|token|stream|None|errno|"
                     r"invalid|not allowed)\b", re.I)


def bomb(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# Raw YAML values of the hostile classes, written after a key as they are
HOSTILE = [
    "&x {name: *x}", "&a {k: *a}", "&a [&b [*b]]", "*nulle-part", "&ancre valeur",
    "2021-02-30", "2021-13-45", "0000-00-00", "2021-02-30 12:00:00",
    "9" * 5000, "-" + "1" * 4400, '"' + "7" * 5000 + '"', "0x1F", "1e999", ".nan", "1_000",
    '!!float "abc"', "!!binary aGVsbG8=", '!!null "x"', "!!python/object/apply:os.system [x]",
    "!!python/name:os.system", "!x y", "!<tag:yaml.org,2002:str> z", "! nu", "!!timestamp a",
    '"a\x00b"', "a\x00b", "'\x01'", "\x1b[31m", "\ufffe", "\x85", "\u2028suite",
    "images/" + "x" * 300 + ".jpg", "images/" + "a/" * 3000 + "b.jpg", "x" * 6000,
    "C:\\Users\\marie\\Desktop\\jardin.jpg", '"C:\\Users\\marie\\jardin.jpg"', "../../../etc/x",
    "/etc/passwd", "file:///C:/x.jpg", "https://exemple.fr/x.jpg", "images/Couverture.PNG",
    "", "~", "Null", "NULL", '""', "' '", "# commentaire", "#00857c", "yes", "Non", "=", "<<",
    "[" * 300, "{" * 300, "[a, [b, [c, [d]]]]", "{a: {b: {c: {d: e}}}}", "[a, b", "{a: b",
    '"non fermé', "'l'été'", '"Bilan : "une" année"', "a: b: c", "- a", "|", ">-\n  plié",
    "|\n  bloc\n texte", "*", "&", "!", "%", "@x", "`x`", "\t\tx", "a\tb", "environnement, x",
    "Insertion et emploi", "[Insertion et emploi, Vivre-ensemble]", "true", "False", "-0",
    "'''", '"\\q"', '"\\x"', '"\\U0010FFFF"', '"\\uD800"', "? a", ": b", "---", "...",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                    st.text(max_size=40), st.floats(allow_nan=True),
                    st.sampled_from(["mesolia", "images/couverture.png", "2021-03", "196"]))
structures = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(
        ["src", "alt", "credit", "label", "url", "name"])), inner, max_size=4),
    max_leaves=25)


def _nested(key: str, value: str, indent: str) -> str:
    """`a.b.c` as nested keys, the value after the last one."""
    parts = key.split(".")
    lines = []
    for depth, part in enumerate(parts[:-1]):
        lines.append(f"{indent * depth}{'- ' if part.isdigit() else ''}{part}:")
    lines.append(f"{indent * (len(parts) - 1)}{parts[-1]}: {value}")
    return "\n".join(line.replace("0:", "-", 1) if line.strip() == "0:" else line
                     for line in lines)


@st.composite
def hostile_yaml(draw: st.DrawFn, target: str) -> str:
    """Valid lines of the target's keys with hostile values among them, in any order."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from(KEYS[target]))
        value = draw(st.sampled_from(HOSTILE)) if draw(st.booleans()) else \
            draw(st.text(max_size=20)).replace("\n", " ")
        lines.append(_nested(key, value, draw(st.sampled_from(["  ", "    ", "\t", " ", ""]))))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), bomb(draw(st.integers(2, 9)),
                                                            draw(st.integers(2, 12))))
    return "\n".join(lines) + "\n"


@st.composite
def dumped(draw: st.DrawFn, target: str) -> str:
    """A random structure under the target's keys, written by PyYAML (valid YAML, odd types)."""
    keys = [k for k in KEYS[target] if "." not in k]
    data = draw(st.dictionaries(st.sampled_from(keys) | st.text(max_size=10), structures,
                                max_size=6))
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()), default_flow_style=draw(
        st.sampled_from([None, True, False])))


@st.composite
def mutated(draw: st.DrawFn, target: str) -> bytes:
    """The sample's real file with a few characters inserted, removed or replaced."""
    data = bytearray(ORIGINALS[target])
    pieces = [b":", b'"', b"'", b"#", b"-", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a",
              b"!", b"|", b">", b"\t", b"\n", b"  ", b"%", b"@", b"\\", b"\x00", b"\xe9",
              b"\xff", b"\r", b"---\n", b"? ", b",", b"~"]
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(pieces) | st.binary(min_size=1, max_size=4))
        if action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        else:
            data[at:at + len(piece)] = piece
    return bytes(data)


def _as_file(target: str, text: str) -> bytes:
    body = "\nUn texte.\n"
    return (f"---\n{text}---\n{body}" if target == "article" else text).encode("utf-8")


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes]:
    target = draw(st.sampled_from(list(TARGETS)))
    kind = draw(st.sampled_from(["hostile", "dumped", "mutated", "bytes"]))
    if kind == "hostile":
        content = _as_file(target, draw(hostile_yaml(target)))
    elif kind == "dumped":
        content = _as_file(target, draw(dumped(target)))
    elif kind == "mutated":
        content = draw(mutated(target))
    else:
        content = draw(st.binary(max_size=3000))
        if target == "article" and draw(st.booleans()):
            content = b"---\n" + content + b"\n---\n\nTexte.\n"
    return target, content


@pytest.fixture(scope="module")
def tree() -> Iterator[Path]:
    """A copy of the sample issue; each example rewrites one of its files."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "issues"
        root.mkdir()
        for name in ("organisations.yaml", "themes.yaml"):
            shutil.copy(SAMPLE / name, root / name)
        shutil.copytree(SAMPLE / ISSUE_DIR / "images", root / ISSUE_DIR / "images")
        shutil.copy(SAMPLE / TARGETS["issue"], root / TARGETS["issue"])
        shutil.copy(SAMPLE / ARTICLE, root / ARTICLE)
        yield root


def _restore(root: Path) -> None:
    for target, path in TARGETS.items():
        (root / path).write_bytes(ORIGINALS[target])


def _assert_reported(root: Path, target: str, content: bytes) -> None:
    """The check of the tree with `content` as the target's file: French, file and line, fast."""
    (root / TARGETS[target]).write_bytes(content)
    start = time.process_time()
    corpus, report = load_corpus(root)
    seconds = time.process_time() - start
    if len(content) <= 64 * 1024:
        assert seconds < 1.0, f"{seconds:.2f} s of CPU for {len(content)} bytes"
    known = {f"issues/{path}" for path in TARGETS.values()}
    for diagnostic in report.items:
        outside = re.sub(r"«[^»]*»", "", diagnostic.message)
        assert not ENGLISH.search(outside), diagnostic
        assert diagnostic.message and len(diagnostic.message) < 1000, diagnostic
        assert diagnostic.path.startswith("issues"), diagnostic
        if diagnostic.is_error and diagnostic.path in known:
            assert diagnostic.line is not None or "manquant" in diagnostic.message, diagnostic
    if corpus is None:
        assert report.errors


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(hostile_files())
# found by CI: a mapping or a list where a text belongs was quoted as Python's repr ("None")
@example(("article", b'---\ntitle: {"\\xBB": null}\n---\n\nUn texte.\n'))
@example(("article", b'---\ntitle: T\norganisation: mesolia\nthemes: [null, {a: null}]\n---\n'))
@example(("issue", b'number: 195\ndate: 2021-03\nintro: [null, true]\n'))
def test_any_content_file_gets_french_diagnostics_with_file_and_line(
        tree: Path, case: tuple[str, bytes]) -> None:
    target, content = case
    try:
        _assert_reported(tree, target, content)
    finally:
        _restore(tree)


EVERY = {"article": ["title", "image.alt", "links.0.url"], "issue": ["number", "date", "cover.src"],
         "organisations": ["mesolia", "mesolia.name"], "themes": ["insertion-emploi.label"]}


def test_every_hostile_value_under_keys_of_each_file(tree: Path) -> None:
    """Not left to chance: each hostile value under keys of each kind of file."""
    try:
        for target, keys in EVERY.items():
            for key in keys:
                for value in HOSTILE:
                    _assert_reported(tree, target, _as_file(target, _nested(key, value, "  ")
                                                            + "\n"))
    finally:
        _restore(tree)


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A copy of the sample, built by the commands below: its image cache serves them all."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(SAMPLE, Path(folder) / "issues")
        yield Path(folder)


@settings(max_examples=3, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_files())
def test_flash_check_and_build_commands_on_hostile_files(project: Path,
                                                         case: tuple[str, bytes]) -> None:
    target, content = case
    root = project / "issues"
    (root / TARGETS[target]).write_bytes(content)
    flash = [sys.executable, "-m", "flash"]
    try:
        for command in (["check", "--source", str(root)],
                        ["build", "--source", str(root), "--output", str(project / "_site"),
                         "--no-search", "--no-emails"]):
            result = subprocess.run([*flash, *command], capture_output=True, text=True,
                                    cwd=project, timeout=120)
            assert result.returncode in (0, 1), result.stderr
            assert "Traceback" not in result.stderr + result.stdout
            for line in result.stderr.splitlines():
                if ": erreur : " in line:
                    assert re.match(r"^issues/[^:]+(:\d+)?: erreur : \S", line), line
            if result.returncode == 1:
                assert re.search(r"\d+ erreurs?", result.stderr), result.stderr
    finally:
        _restore(root)
