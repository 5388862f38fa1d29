"""Flash as an installed tool: the wheel (built from the sdist) ships its layouts and assets,
installs into a fresh virtual environment and builds a content folder from any directory; a
project's own layouts and assets override Flash's file by file; a missing layout is a French
error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, SAMPLE, parse, write_tree

from flash.build import build
from flash.cli import main
from flash.settings import Settings
from flash.shipped import LayoutError, missing_layout

SHIPPED = ("layouts", "assets")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _run(args: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=600, env={**os.environ, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist and the wheel built from it (python -m build), from a copy of the sources:
    building writes flash.egg-info/ and build/ where it runs."""
    root = tmp_path_factory.mktemp("source")
    for name in ("flash", *SHIPPED):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, root / name)
    result = _run([sys.executable, "-m", "build", "--outdir", root / "dist", root], root)
    warnings = [line for line in (result.stdout + result.stderr).splitlines()
                if "warning" in line.lower() and "byte-compiling is disabled" not in line]
    assert not warnings  # e.g. setuptools' deprecation of `license = { text = … }`
    return root / "dist"


def test_wheel_and_sdist_hold_the_layouts_assets_and_every_module(dist: Path) -> None:
    (wheel,) = dist.glob("flash-*.whl")
    (sdist,) = dist.glob("flash-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
        metadata = archive.read(next(n for n in in_wheel if n.endswith("METADATA"))).decode()
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in SHIPPED:
        expected = _files(REPO / name)
        assert expected
        assert {f"flash/{name}/{f}" for f in expected} <= in_wheel
        assert {f"{name}/{f}" for f in expected} <= in_sdist
    modules = {f"flash/{f}" for f in _files(REPO / "flash") if f.endswith(".py")}
    assert modules <= in_wheel, "a subpackage is missing from [tool.setuptools] packages"
    assert "flash/locale/fr/LC_MESSAGES/click.mo" in in_wheel  # the CLI's French
    assert "License-Expression: MIT" in metadata


def test_installed_wheel_builds_a_content_folder_from_elsewhere(dist: Path,
                                                                 tmp_path: Path) -> None:
    (wheel,) = dist.glob("flash-*.whl")
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", wheel], tmp_path)
    # Nothing of the checkout: a content folder elsewhere, run from an unrelated folder.
    content = tmp_path / "projet" / "issues"
    shutil.copytree(SAMPLE, content)
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    result = _run([env / "bin" / "flash", "build", "--source", content, "--output",
                   tmp_path / "out"], elsewhere)
    assert "Traceback" not in result.stderr
    assert "Site construit" in result.stdout
    out = tmp_path / "out"
    home = parse(out / "index.html")
    stylesheet = home.cssselect('link[rel="stylesheet"]')[0].get("href")
    assert (out / stylesheet.lstrip("/")).stat().st_size > 1000  # the shipped flash.css
    themes = parse(out / "themes" / "index.html")
    assert themes.cssselect("main h1")
    assert (out / "404.html").is_file()
    assert (out / "pagefind" / "pagefind.js").is_file()  # the search index, from the venv
    (email,) = out.glob("numeros/*/email.html")
    assert parse(email).cssselect("table")
    (edition,) = out.glob("numeros/*/flash-*.pdf")  # the print layouts/print/, shipped too
    assert edition.read_bytes().startswith(b"%PDF") and edition.stat().st_size > 10_000
    # The e-mail of an issue, from the installed layouts too.
    number = next(content.glob("*/issue.yaml")).read_text().split("number:")[1].split()[0]
    proof = _run([env / "bin" / "flash", "send", number, "--to", "epreuve@example.org",
                  "--dry-run", "--source", content], elsewhere)
    assert "Simulation (--dry-run)" in proof.stdout
    assert "epreuve@example.org" in proof.stdout
    assert _run([env / "bin" / "flash", "--help"], elsewhere).stdout.startswith(
        "Utilisation\u00a0: flash [OPTIONS] COMMANDE [ARGUMENTS]...")
    typo = subprocess.run([env / "bin" / "flash", "bulid"], cwd=elsewhere, capture_output=True,
                          text=True, timeout=60)
    assert typo.returncode == 2
    assert typo.stderr.endswith("Erreur\u00a0: la commande «\u00a0bulid\u00a0» n’existe pas. "
                                "Vouliez-vous dire «\u00a0build\u00a0»\u00a0?\n")


def test_project_files_override_flash_s_one_by_one(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "projet", {
        "layouts/partials/macros.html": (REPO / "layouts/partials/macros.html").read_text(),
        "layouts/404.html": '{% extends "base.html" %}{% block main %}'
                            '<h1 id="perdu">Page perdue</h1>{% endblock %}',
        "assets/search.css": "/* notre recherche */",
    })
    shutil.copytree(SAMPLE, project / "issues")
    out = tmp_path / "_site"
    build(project / "issues", out, Settings(root=project))
    assert parse(out / "404.html").get_element_by_id("perdu").text == "Page perdue"
    assert parse(out / "index.html").cssselect("main")  # Flash's home.html and base.html
    search_css = next((out / "assets").glob("search.*.css")).read_text()
    assert search_css == "/* notre recherche */"
    assert next((out / "assets").glob("flash.*.css")).stat().st_size > 1000  # Flash's


def test_a_missing_layout_is_a_french_error(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "projet", {
        "pyproject.toml": '[tool.flash]\ntitle = "Flash"\n',
        "layouts/404.html": '{% extends "base.html" %}\n{% block main %}\n'
                            '{% include "partials/bandeau.html" %}\n{% endblock %}',
    })
    shutil.copytree(SAMPLE, project / "issues")
    with pytest.raises(LayoutError) as caught:
        build(project / "issues", tmp_path / "_site", Settings(root=project))
    message = str(caught.value)
    assert "« partials/bandeau.html »" in message
    assert f"{project / 'layouts' / '404.html'}, ligne 3" in message
    assert str(project / "layouts" / "partials" / "bandeau.html") in message
    result = CliRunner().invoke(main, ["build", "--source", str(project / "issues"),
                                       "--output", str(tmp_path / "_site")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Construction annulée" in result.output
    assert "gabarit introuvable : « partials/bandeau.html »" in result.output
    assert not (tmp_path / "_site").exists()


def test_a_missing_e_mail_layout_stops_send_in_french(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "projet", {
        "pyproject.toml": '[tool.flash]\ntitle = "Flash"\n',
        "layouts/email/issue.html": '{% include "email/entete.html" %}\n',
    })
    shutil.copytree(SAMPLE, project / "issues")
    number = next((project / "issues").glob("*/issue.yaml")).read_text().split("number:")[1]
    result = CliRunner().invoke(main, ["send", number.split()[0], "--to", "a@example.org",
                                       "--dry-run", "--source", str(project / "issues")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert ("Envoi impossible\u00a0: gabarit introuvable : « email/entete.html » (demandé par "
            f"{project / 'layouts' / 'email' / 'issue.html'}, ligne 1)") in result.output


def test_a_layout_missing_from_flash_itself_says_to_reinstall() -> None:
    shipped = Path("/opt/venv/lib/python3.11/site-packages/flash/layouts")
    message = str(missing_layout("themes.html", [shipped]))
    assert message.startswith("gabarit introuvable : « themes.html », absent des gabarits "
                              f"fournis avec Flash ({shipped}) : l’installation de Flash est "
                              "incomplète. Réinstallez Flash")
