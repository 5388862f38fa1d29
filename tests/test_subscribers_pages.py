"""The pages of sign-up and unsubscribe, judged as readers meet them: the site built with a
subscribers service (footer form, /abonnement/) and the service's own answers, served for
real, pass the W3C Nu HTML Checker with zero errors and axe-core with no violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import parse
from test_a11y import describe, violations
from test_html_valid import check, errors_of
from test_send import free_port
from test_subscribers import SECRET, flash, service, write_project

from flash.mail.unsubscribe import recipient_url
from flash.settings import load_settings


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    from site_server import serve

    root = tmp_path_factory.mktemp("abonnement")
    site_port, service_port = free_port(), free_port()
    project = write_project(root / "projet", site_port, service_port, free_port())
    database = f"sqlite:///{root / 'abonnes.sqlite'}"
    built = flash(project, database, "build", "--no-search")
    assert built.returncode == 0, built.stderr
    with serve(project / "_site", port=site_port) as site, \
            service(project, database, service_port) as url:
        yield project, site, url


def answers(project: Path, url: str) -> dict[str, httpx.Response]:
    settings = load_settings(project / "issues")
    link = recipient_url(settings, SECRET.encode(), "lecteur@exemple.fr")
    return {
        "form": httpx.get(f"{url}/abonnement"),
        "sent": httpx.post(f"{url}/abonnement", data={"email": "x@exemple.fr",
                                                      "site_web": "robot"}),
        "refused": httpx.post(f"{url}/abonnement", data={"email": "x@exemple.fr"}),
        "forged": httpx.get(f"{url}/confirmer?email=x@exemple.fr&t=1&token=0"),
        "unsubscribe": httpx.get(link),
        "bad link": httpx.get(f"{url}/desabonnement?email=x@exemple.fr&token=0"),
    }


def test_the_form_is_in_every_footer_and_on_its_page(running) -> None:
    project, _, url = running
    site = project / "_site"
    for page in ("index.html", "numeros/195/index.html", "themes/index.html"):
        form = parse(site / page).xpath("//footer//form[@class='subscribe']")
        assert len(form) == 1 and form[0].get("action") == f"{url}/abonnement"
        assert form[0].xpath(".//input[@name='consent'][@required]")
        assert form[0].xpath(".//input[@name='site_web']")  # the honeypot
    own = parse(site / "abonnement" / "index.html")
    assert own.xpath("//footer//form") == []  # not twice on its own page
    fields = own.xpath("//main//form[@class='subscribe']//input/@name")
    assert fields == ["page", "email", "prenom", "nom", "site_web", "consent"]
    assert "pas de pixel espion" in own.xpath("string(//main)")


def test_site_and_service_pages_are_valid_html(running, tmp_path: Path) -> None:
    project, _, url = running
    files = [project / "_site" / p for p in ("index.html", "abonnement/index.html",
                                             "numeros/195/index.html")]
    for name, response in answers(project, url).items():
        assert response.headers["content-type"].startswith("text/html"), name
        path = tmp_path / f"{name.replace(' ', '-')}.html"
        path.write_text(response.text, encoding="utf-8")
        files.append(path)
    assert errors_of(check(files)) == []


@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_violation_on_sign_up_pages(running, browser, width: int) -> None:
    project, site, url = running
    settings = load_settings(project / "issues")
    pages = [f"{site}/abonnement/", f"{site}/numeros/195/", f"{url}/abonnement",
             recipient_url(settings, SECRET.encode(), "lecteur@exemple.fr")]
    for page in pages:
        found = violations(browser, page, width)
        assert found == [], f"{page}: {describe(found)}"
