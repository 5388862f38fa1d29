"""Accessibility (WCAG 2.1 AA): axe-core, injected into every page kind of the built sample
site in a real headless Chromium, finds no violation; organisation colours keep AA contrast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE, parse
from corpus import ORGANISATIONS

from flash.colours import LIGHT_TEXT, WASH, contrast, readable_background, readable_on_white
from flash.validate import load_corpus

AXE = REPO / "tests" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = {
    "home": "/",
    "issue list": "/numeros/",
    "issue": "/numeros/195/",
    "article": "/numeros/195/livre-de-recettes-gratines/",
    "organisation index": "/organisations/",
    "organisation page": "/organisations/mesolia/",
    "theme index": "/themes/",
    "theme page": "/themes/vivre-ensemble/",
    "search": "/recherche/",
    "search with results": "/recherche/?q=habitants",
    "404": "/cette-page-n-existe-pas/",
}
# Every rule axe runs by default: WCAG 2.0/2.1 A and AA, and its best practices.
RUN = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"


def violations(browser, url: str, width: int) -> list[dict]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(url)
    if "?q=" in url:
        page.wait_for_selector(".pagefind-ui__result-link")
        # Open every filter group so that its checkboxes and labels are checked too.
        for summary in page.locator(".pagefind-ui__filter-name").all():
            summary.click()
    # Evaluated through the DevTools protocol: no <script> element, so nothing to allow.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(RUN)
    context.close()
    return found


def describe(found: list[dict]) -> str:
    return json.dumps([{"id": v["id"], "help": v["help"],
                        "nodes": [n["target"] for n in v["nodes"][:5]]} for v in found],
                      ensure_ascii=False, indent=1)


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("kind", list(PAGES))
def test_axe_finds_no_violation(browser, base_url: str, kind: str, width: int) -> None:
    found = violations(browser, base_url + PAGES[kind], width)
    assert found == [], describe(found)


@pytest.mark.parametrize("kind", [k for k in PAGES if "?" not in PAGES[k]])
def test_one_h1_and_landmarks(sample_site: Path, kind: str) -> None:
    path = PAGES[kind].strip("/")
    file = sample_site / "404.html" if kind == "404" else sample_site / path / "index.html"
    page = parse(file)
    assert len(page.cssselect("h1")) == 1
    assert len(page.cssselect("main#contenu")) == 1
    assert page.cssselect("a.skip-link")[0].get("href") == "#contenu"
    assert page.cssselect("header.site-header") and page.cssselect("footer.site-footer")
    assert page.cssselect('nav[aria-label="Navigation principale"]')


def test_organisation_colours_keep_aa_contrast() -> None:
    corpus, _ = load_corpus(SAMPLE)
    assert corpus is not None
    for organisation in corpus.organisations:
        # Badge text on the organisation colour, and the colour used as text on the site's
        # white and beige backgrounds.
        assert contrast(organisation.colour, organisation.on_colour) >= 4.5, organisation
        assert contrast(organisation.ink, LIGHT_TEXT) >= 4.5, organisation
        assert contrast(organisation.ink, WASH) >= 4.5, organisation


@pytest.mark.parametrize("colour", sorted({c for _, c in ORGANISATIONS.values()}
                                          | {"#ffff00", "#777777", "#00ff00", "#000000"}))
def test_any_colour_gets_readable_companions(colour: str) -> None:
    background, text = readable_background(colour)
    assert contrast(background, text) >= 4.5
    ink = readable_on_white(colour)
    assert min(contrast(ink, LIGHT_TEXT), contrast(ink, WASH)) >= 4.5


def test_wash_matches_the_stylesheet() -> None:
    css = (REPO / "assets" / "flash.css").read_text(encoding="utf-8")
    assert f"--wash: {WASH};" in css
