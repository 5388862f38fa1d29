"""`flash check` on broken content: every mistake reported as path:line, exit 1, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import settings_for, write_tree

from flash.build import build
from flash.diagnostics import ContentError

REGISTRIES = {
    "organisations.yaml": (
        "mesolia:\n  name: Mésolia\n  colour: \"#00a19a\"\n"
        "norevie:\n  name: Norevie\n  colour: \"#1d4f91\"\n"
    ),
    "themes.yaml": "enfance:\n  label: Enfance\ninsertion:\n  label: Insertion\n",
}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def article(front: str, body: str = "Un texte.\n") -> str:
    return f"---\n{front}---\n\n{body}"


GOOD = "title: Bon\norganisation: mesolia\nsummary: Résumé.\n"

BROKEN = {
    **REGISTRIES,
    "a/issue.yaml": 'number: 10\ndate: "2021-03"\n',
    "a/images/ok.png": PNG,
    "a/01-yaml.md": article("title: Bon\norganisation: mesolia\nsummary: [non fermé\n"),
    "a/02-sans-titre.md": article("organisation: mesolia\nsummary: Résumé.\n"),
    "a/03-orga.md": article("title: Orga\norganisation: Mesolia\nsummary: Résumé.\n"),
    "a/04-theme.md": article(GOOD + "themes: [enfance, insertions]\n"),
    "a/05-image-absente.md": article(GOOD + "image:\n  src: images/absente.jpg\n  alt: x\n"),
    "a/06-image-dehors.md": article(GOOD + "image:\n  src: ../../dehors.png\n  alt: x\n"),
    "a/07-image-absolue.md": article(GOOD + "image:\n  src: /etc/passwd\n  alt: x\n"),
    "a/08-sans-alt.md": article(GOOD + "image:\n  src: images/ok.png\n"),
    "a/09-vide.md": article(GOOD, body="\n   \n"),
    "a/10-latin1.md": article(GOOD, body="Été à Bourges.\n").encode("latin-1"),
    "a/11-doublon.md": article(GOOD),
    "a/12-doublon.md": article(GOOD),
    "a/13-type.md": article(GOOD + "order: premier\n"),
    "a/14-corps-image.md": article(GOOD, body="Texte.\n\n![Photo](images/manque.jpg)\n"),
    "a/15-avertissements.md": article("title: Bon\norganisation: mesolia\nauteur: Moi\n"),
    "b/issue.yaml": 'number: cent\ndate: "2021-13"\n',
    "b/01-ok.md": article(GOOD),
    "c/issue.yaml": 'number: 10\ndate: "2021-04"\n',
    "c/01-ok.md": article(GOOD),
}
# 11 and 12 both have the slug "doublon".
BROKEN["a/11-doublon.md"] = article(GOOD)
BROKEN["a/12-doublon.md"] = article(GOOD)


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "issues", BROKEN)
    (tmp_path / "dehors.png").write_bytes(PNG)
    return root


def run_check(source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flash", "check", "--source", str(source)],
        capture_output=True, text=True, cwd=source.parent, timeout=60,
    )


EXPECTED = [
    # (file, line, words that must be in the message)
    ("a/01-yaml.md", 4, "crochet « ] » non refermé"),
    ("a/02-sans-titre.md", 2, "« title » manque"),
    ("a/03-orga.md", 3, "organisation inconnue « Mesolia »"),
    ("a/04-theme.md", 5, "thème inconnu « insertions »"),
    ("a/05-image-absente.md", 6, "image introuvable"),
    ("a/06-image-dehors.md", 6, "en dehors du dossier"),
    ("a/07-image-absolue.md", 6, "chemin absolu"),
    ("a/08-sans-alt.md", 5, "texte alternatif"),
    ("a/09-vide.md", 5, "l’article est vide"),
    ("a/10-latin1.md", 4, "UTF-8"),
    ("a/12-doublon.md", 1, "« doublon » est déjà pris"),
    ("a/13-type.md", 5, "« order » doit être un nombre entier"),
    ("a/14-corps-image.md", 9, "image introuvable"),
    ("b/issue.yaml", 1, "« number » doit être un nombre entier"),
    ("b/issue.yaml", 2, "date « 2021-13 » invalide"),
    ("c/issue.yaml", 1, "le numéro 10 est déjà utilisé"),
]


def test_check_reports_every_mistake_with_path_and_line(broken: Path) -> None:
    result = run_check(broken)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    for name, line, words in EXPECTED:
        prefix = f"issues/{name}:{line}: erreur : "
        matching = [entry for entry in lines if entry.startswith(prefix)]
        assert any(words in entry for entry in matching), (name, line, words, result.stderr)


def test_did_you_mean_and_warnings(broken: Path) -> None:
    stderr = run_check(broken).stderr
    assert "Vouliez-vous dire « mesolia » ?" in stderr
    assert "Vouliez-vous dire « insertion » ?" in stderr
    assert re.search(r"issues/a/15-avertissements\.md:4: avertissement : clé inconnue « auteur »",
                     stderr)
    assert "issues/a/15-avertissements.md:2: avertissement : pas de résumé" in stderr


def test_every_error_is_path_line_message(broken: Path) -> None:
    stderr = run_check(broken).stderr.splitlines()
    diagnostics = [line for line in stderr if ": erreur : " in line]
    assert len(diagnostics) >= len(EXPECTED)
    assert all(re.match(r"^issues/[\w/.-]+:\d+: erreur : \S", line) for line in diagnostics)


def test_valid_content_passes(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {
        **REGISTRIES, "n/issue.yaml": 'number: 1\ndate: "2020-01"\n', "n/01-ok.md": article(GOOD)})
    result = run_check(root)
    assert result.returncode == 0, result.stderr
    assert "Contenu valide\u00a0: 1 numéro, 1 article" in result.stdout


def test_failed_build_leaves_previous_site_untouched(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {
        **REGISTRIES, "n/issue.yaml": 'number: 1\ndate: "2020-01"\n', "n/01-ok.md": article(GOOD)})
    out = tmp_path / "_site"
    build(root, out, settings_for())
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert Path("numeros/1/ok/index.html") in before
    (root / "n" / "02-casse.md").write_text(article("title: [\n"), encoding="utf-8")
    with pytest.raises(ContentError) as failure:
        build(root, out, settings_for())
    assert any(d.path.endswith("02-casse.md") for d in failure.value.diagnostics)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("._site")]


def test_failed_build_via_cli_exits_1_without_traceback(broken: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flash", "build", "--source", str(broken), "--output",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Construction annulée" in result.stderr
    assert not (tmp_path / "out").exists()


def test_front_matter_is_found_as_line_by_line_whatever_the_line_ends() -> None:
    """split_front_matter looks for the closing line in the first characters only: it must
    find what splitting the whole text into lines finds, with every kind of line end and
    front matters longer than what it first looks at."""
    import random

    from flash.sources import Document, SourceError, split_front_matter

    def by_lines(text: str) -> Document | None:
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].strip() != "---":
            return None
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return Document("".join(lines[1:index]), 2, "".join(lines[index + 1:]),
                                index + 2)
        return None

    rng = random.Random(195)
    pieces = ["---", "...", " --- ", "titre: x", "", "texte", "\r", "é" * 50, "x" * 3000, "----"]
    ends = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(ends if rng.random() < 0.3 else ["\n"])
                       for _ in range(rng.randint(0, 12)))
        text = ("---\n" if rng.random() < 0.5 else "") + text
        if rng.random() < 0.2:
            text = text.replace("x" * 3000, "y" * rng.randint(7000, 9000))
        try:
            found: Document | None = split_front_matter(text)
        except SourceError:
            found = None
        assert found == by_lines(text), repr(text[:80])
