"""Looking at a built `_site` as Netlify will serve it: `python3 tests/site_server.py _site`,
which the README gives instead of `python3 -m http.server` (English error page, no 404.html)."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO
from lxml import html


def test_the_built_site_is_served_with_its_404_page(sample_site: Path) -> None:
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "site_server.py"),
                               str(sample_site), "--port", "0"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert " servi sur http://127.0.0.1:" in line and "Ctrl+C pour arrêter" in line
        url = line.split(" servi sur ")[1].split("/ ")[0]
        with urllib.request.urlopen(f"{url}/numeros/", timeout=10) as response:
            assert response.status == 200
        try:
            urllib.request.urlopen(f"{url}/numeros/999/nulle-part/", timeout=10)
        except urllib.error.HTTPError as missing:
            assert missing.code == 404
            page = html.fromstring(missing.read())
        else:
            raise AssertionError("a missing page answered 200")
        assert page.cssselect("h1")[0].text_content() == "Page introuvable"
        assert page.get("lang") == "fr"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_unbuilt_folder_is_refused_in_french(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "tests" / "site_server.py"),
                             str(tmp_path / "_site")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "n’est pas un site construit : lancez d’abord « flash build »" in result.stderr


def test_the_readme_points_to_a_server_that_honours_404_html() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python3 tests/site_server.py _site" in readme
    assert "through any static server, e.g. `python3 -m http.server" not in readme
