"""The web editor for real: headless Chromium drives Decap CMS at /admin/ of a running
`flash serve` on a copy of the sample. It creates issue 196, writes an article with an image
and a YouTube link, is refused the save while the image has no alt (Flash's French message),
fixes it, and edits an existing article's title; the files on disk pass `flash check`, the
editor's preview and the served site show the change, and nothing is asked of another origin.

Screenshots (1280 px wide) go to the test's folder, and to $FLASH_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SAMPLE
from site_server import chromium
from test_serve import fetch, serving, title_of, wait_for

from flash.editor.fmt import formatted
from flash.sources import split_front_matter

TIMEOUT = 60_000  # ms: the machines running the suite are shared
NEW_TITLE = "Un jardin partagé au pied des immeubles"
EDITED_TITLE = "Gratiné.e.s : le livre de recettes solidaire"
YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "issues")
    return tmp_path


@pytest.fixture
def served(project: Path) -> Iterator[str]:
    for base, _process in serving(project):
        yield base


def shoot(page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / name)
    if os.environ.get("FLASH_SCREENSHOTS"):
        target = Path(os.environ["FLASH_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / name, target / name)


def publish(page) -> None:
    """Decap's « Publier » menu, then « Publier maintenant »."""
    page.get_by_role("button", name="Publier", exact=True).click()
    page.get_by_text("Publier maintenant", exact=True).click()


def go(page, route: str) -> None:
    """Decap's own navigation (its hash router), as a click in its menus would do."""
    page.evaluate("route => { window.location.hash = route; }", "#" + route)


def choose(page, label: str, option: str) -> None:
    """A select of Decap (react-select, labelled by its field label): type, then Enter."""
    page.get_by_label(label, exact=True).fill(option)
    page.keyboard.press("Enter")


def front_matter(path: Path) -> dict:
    return yaml.safe_load(split_front_matter(path.read_text(encoding="utf-8")).front)


def test_the_team_writes_an_issue_in_the_browser(project: Path, served: str,
                                                 tmp_path: Path) -> None:
    source = project / "issues"
    folder = source / "2021-04-n196"
    photo = tmp_path / "jardin.jpg"
    shutil.copy(next((SAMPLE / "2021-03-n195" / "images").glob("*.jpg")), photo)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        context.set_default_timeout(TIMEOUT)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))

        try:
            # Log in to the local backend, then create issue 196.
            page.goto(served + "/admin/")
            page.get_by_role("button", name="Se connecter").click()
            page.goto(served + "/admin/#/collections/numeros/new")
            page.get_by_label("Dossier du numéro").fill("2021-04-n196")
            page.get_by_label("Numéro", exact=True).fill("196")
            page.get_by_label("Mois").fill("2021-04")
            page.get_by_label("Texte d’aperçu").fill("Jardins, emploi et voisinage en avril.")
            publish(page)
            wait_until(lambda: (folder / "issue.yaml").is_file(), "issue.yaml written")
            issue = yaml.safe_load((folder / "issue.yaml").read_text(encoding="utf-8"))
            assert (issue["number"], issue["date"]) == (196, "2021-04")

            # The new issue's articles: the editor reads its configuration again.
            page.reload()
            page.goto(served + "/admin/#/collections/articles-196/new")
            page.get_by_label("Titre").fill(NEW_TITLE)
            choose(page, "Organisation", "Mésolia")
            page.get_by_label("Lieu").fill("Bordeaux (33)")
            page.get_by_label("Résumé").fill("Des locataires cultivent ensemble un potager.")
            page.get_by_role("button", name="Choisir une image").click()
            page.locator("input[type=file]").set_input_files(photo)
            page.get_by_role("button", name="Choisir les éléments sélectionnés").click()
            page.get_by_label("Crédit").fill("Photo : Mésolia")
            page.get_by_role("button", name="Ajouter lien").click()
            page.get_by_label("Texte du lien").fill("La vidéo du jardin")
            page.get_by_label("Adresse").fill(YOUTUBE)
            body = page.locator("[data-slate-editor=true]").last
            body.click()
            page.keyboard.type("Au printemps, les habitants ont planté leurs premières tomates.")

            # Without alt, Flash refuses the save with the message of flash check.
            publish(page)
            refusal = page.get_by_text("n’a pas de texte alternatif")
            refusal.wait_for()
            assert "images/jardin.jpg" in refusal.inner_text()
            page.wait_for_timeout(600)  # the notification slides in
            shoot(page, tmp_path, "editeur-refus-alt.png")
            assert not list(folder.glob("*.md"))

            page.get_by_label("Texte alternatif (alt)").fill(
                "Des locataires plantent des tomates dans un bac")
            publish(page)
            wait_until(lambda: list(folder.glob("*.md")), "the article written")
            page.get_by_text("Modifications enregistrées").wait_for()
            shoot(page, tmp_path, "editeur-article-196.png")

            # An existing article: its title edited, the preview shows it as the site will.
            page.goto(served + "/admin/")  # a new visit: the list of articles of N°195
            page.get_by_role("link", name="Articles du N°195 (mars 2021)").click()
            page.get_by_text("Gratiné.e.s", exact=False).first.wait_for()
            shoot(page, tmp_path, "editeur-liste-195.png")
            go(page, "/collections/articles-195/entries/01-livre-de-recettes-gratines")
            title = page.get_by_label("Titre")
            title.fill(EDITED_TITLE)
            preview = page.frame_locator("iframe").first
            preview.locator("h1.article-head__title").filter(has_text=EDITED_TITLE).wait_for()
            # with the site's markup and stylesheet: the organisation's badge in its colour
            badge = preview.locator(".article-head__meta .org-badge.org-mesolia")
            assert badge.text_content() == "Mésolia"
            assert badge.evaluate("e => getComputedStyle(e).backgroundColor") != (
                "rgba(0, 0, 0, 0)")
            shoot(page, tmp_path, "editeur-apercu-195.png")
            publish(page)
            edited = source / "2021-03-n195" / "01-livre-de-recettes-gratines.md"
            wait_until(lambda: EDITED_TITLE in edited.read_text(encoding="utf-8"), "title saved")
        except Exception:
            shoot(page, tmp_path, "editeur-echec.png")  # what the page showed
            print("dialogs", dialogs, page.url)
            Path("/tmp/shots/dom.html").write_text(page.content())
            raise
        context.close()

    # blob: URLs are the page's own objects (the uploaded photo, previewed before the save).
    outside = [url for url in requests if not url.startswith((served + "/", f"blob:{served}/"))]
    assert outside == []

    # The files are those the writing guide describes, and flash check passes on them.
    (article,) = folder.glob("*.md")
    assert article.name == "un-jardin-partage-au-pied-des-immeubles.md"
    meta = front_matter(article)
    assert meta["title"] == NEW_TITLE and meta["organisation"] == "mesolia"
    assert meta["image"] == {"src": "images/jardin.jpg", "credit": "Photo : Mésolia",
                             "alt": "Des locataires plantent des tomates dans un bac"}
    assert meta["links"] == [{"label": "La vidéo du jardin", "url": YOUTUBE}]
    assert (folder / "images" / "jardin.jpg").read_bytes() == photo.read_bytes()
    assert front_matter(edited)["title"] == EDITED_TITLE
    # One style: what Decap wrote is what `flash fmt` writes (quotes, folds, lists), the
    # same lines; only the order of the image's keys may differ, as Decap keeps the order in
    # which the writer filled them (here alt last, after the refusal).
    for written in (article, edited, folder / "issue.yaml"):
        text = written.read_text(encoding="utf-8")
        again = formatted(written)[0]
        assert sorted(again.splitlines()) == sorted(text.splitlines()), written.name
        if written != article:
            assert again == text, written.name
    check = subprocess.run([sys.executable, "-m", "flash", "check", "-s", "issues"],
                           cwd=project, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "2 numéros, 7 articles" in check.stdout

    # The live preview of the site shows both.
    slug = article.stem
    page_url = f"{served}/numeros/196/{slug}/"
    wait_for(page_url, lambda status, body: status == 200 and NEW_TITLE in body, "new article")
    body = fetch(page_url)[1]
    assert title_of(body) == NEW_TITLE
    # The uploaded photo goes through the images' pipeline: sizes made, metadata stripped.
    sizes = set(re.findall(r"/media/jardin-(\d+)\.[0-9a-f]+\.(webp|jpg)", body))
    assert {kind for _, kind in sizes} == {"webp", "jpg"} and len(sizes) >= 4, sizes
    wait_for(served + "/numeros/195/livre-de-recettes-gratines/",
             lambda status, body: status == 200 and words(title_of(body)) == words(EDITED_TITLE),
             "edited title")


def words(text: str) -> list[str]:
    """The words of a title, whatever the spaces (the site puts no-break ones before « : »)."""
    return text.split()


def wait_until(condition, what: str, seconds: float = TIMEOUT / 1000) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not after {seconds} s")


def test_editor_files_come_from_the_project(served: str) -> None:
    """The page, its configuration and Decap itself are served by flash serve."""
    status, page = fetch(served + "/admin/")
    assert status == 200 and '<link href="config.yml"' in page
    status, config = fetch(served + "/admin/config.yml")
    assert status == 200
    parsed = yaml.safe_load(config)
    assert parsed["backend"]["name"] == "proxy"
    assert parsed["local_backend"]["url"] == served + "/api/v1"
    assert [c["name"] for c in parsed["collections"]] == ["numeros", "articles-195"]
    assert (REPO / "flash" / "editor" / "static" / "decap-cms.js").is_file()
