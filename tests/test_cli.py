"""The `flash` command as the communications team uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, parse, write_tree
from test_check import REGISTRIES

from flash import __version__


def flash(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flash", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_version_and_help() -> None:
    assert flash("--version").stdout.strip() == f"Flash {__version__}"
    for command in ([], ["build"], ["check"], ["new"], ["new", "issue"], ["new", "article"]):
        result = flash(*command, "--help")
        assert result.returncode == 0, command
        assert "Utilisation\u00a0:" in result.stdout


def test_new_issue_then_article_then_build(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "issues", dict(REGISTRIES))
    made = flash("new", "issue", "196", "--date", "2021-04", "--source", str(source))
    assert made.returncode == 0, made.stderr
    issue_yaml = source / "2021-04-n196" / "issue.yaml"
    assert issue_yaml.is_file()
    again = flash("new", "issue", "196", "--source", str(source))
    assert again.returncode == 1 and "existe déjà" in again.stderr

    wrong = flash("new", "article", "196", "Jardin", "--organisation", "Mesolia",
                  "--source", str(source))
    assert wrong.returncode == 1 and "Vouliez-vous dire « mesolia » ?" in wrong.stderr
    made = flash("new", "article", "196", "Un jardin partagé à Auby !", "--organisation",
                 "mesolia", "--source", str(source))
    assert made.returncode == 0, made.stderr
    article = source / "2021-04-n196" / "01-un-jardin-partage-a-auby.md"
    assert article.is_file()

    checked = flash("check", "--source", str(source))
    assert checked.returncode == 0, checked.stderr
    out = tmp_path / "site"
    built = flash("build", "--source", str(source), "--output", str(out), "--base-url",
                  "https://exemple.fr")
    assert built.returncode == 0, built.stderr
    # The command leaves with os._exit after a build: what it printed must all be there.
    assert built.stdout.startswith("Site construit") and built.stdout.endswith(
        "cette construction les a tous écrits.\n"), built.stdout
    page = parse(out / "numeros/196/un-jardin-partage-a-auby/index.html")
    assert page.cssselect("h1")[0].text_content() == "Un jardin partagé à Auby\u202f!"
    assert page.cssselect('link[rel="canonical"]')[0].get("href") == (
        "https://exemple.fr/numeros/196/un-jardin-partage-a-auby/")


def test_drafts_only_with_flag(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "issues", {
        **REGISTRIES, "n/issue.yaml": 'number: 1\ndate: "2020-01"\n',
        "n/01-public.md": "---\ntitle: Public\norganisation: mesolia\nsummary: R.\n---\nTexte.\n",
        "n/02-brouillon.md": "---\ntitle: Brouillon\norganisation: mesolia\nsummary: R.\n"
                             "draft: true\n---\nTexte.\n",
    })
    assert flash("build", "-s", str(source), "-o", str(tmp_path / "a")).returncode == 0
    assert not (tmp_path / "a/numeros/1/brouillon").exists()
    assert flash("build", "-s", str(source), "-o", str(tmp_path / "b"), "--drafts").returncode == 0
    assert (tmp_path / "b/numeros/1/brouillon/index.html").is_file()


def test_build_refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "issues", {
        **REGISTRIES, "n/issue.yaml": 'number: 1\ndate: "2020-01"\n',
        "n/01-a.md": "---\ntitle: A\norganisation: mesolia\nsummary: R.\n---\nTexte.\n"})
    precious = write_tree(tmp_path / "documents", {"notes.txt": "ne pas effacer"})
    result = flash("build", "-s", str(source), "-o", str(precious))
    assert result.returncode == 1 and "n’a pas été écrit par Flash" in result.stderr
    assert (precious / "notes.txt").read_text() == "ne pas effacer"


def test_removed_article_disappears_after_rebuild(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "issues", {
        **REGISTRIES, "n/issue.yaml": 'number: 1\ndate: "2020-01"\n',
        "n/01-a.md": "---\ntitle: A\norganisation: mesolia\nsummary: R.\n---\nTexte.\n",
        "n/02-b.md": "---\ntitle: B\norganisation: norevie\nsummary: R.\n---\nTexte.\n"})
    out = tmp_path / "site"
    assert flash("build", "-s", str(source), "-o", str(out)).returncode == 0
    assert (out / "numeros/1/b/index.html").is_file()
    (source / "n/02-b.md").unlink()
    assert flash("build", "-s", str(source), "-o", str(out)).returncode == 0
    assert not (out / "numeros/1/b").exists()
    assert not (out / "organisations/norevie").exists()
