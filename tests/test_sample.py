"""The sample issue N°195 (issues/): every seed article, French typography, images, video."""

from __future__ import annotations

from pathlib import Path

from conftest import BASE_URL, SAMPLE, parse, parse_xml

from flash.typography import NNBSP
from flash.validate import load_corpus

SEED_ORGANISATIONS = {"mesolia", "norevie", "aiguillon-construction", "le-foyer-stephanais",
                      "france-loire", "alfi"}


def test_sample_content_is_valid_and_complete() -> None:
    corpus, report = load_corpus(SAMPLE)
    assert corpus is not None, [str(d) for d in report.errors]
    assert not report.items, [str(d) for d in report.items]
    (issue,) = corpus.issues
    assert issue.number == 195 and issue.date.isoformat() == "2021-03-01"
    assert [a.organisation.slug for a in issue.articles] == [
        "mesolia", "norevie", "aiguillon-construction", "le-foyer-stephanais", "france-loire",
        "alfi"]
    registry = {o.slug for o in corpus.organisations}
    assert SEED_ORGANISATIONS | {"antin-residences", "sfhe", "cph-arcade-vyv"} <= registry
    assert all(a.summary and a.themes for a in issue.articles)


def test_issue_page(sample_site: Path) -> None:
    page = parse(sample_site / "numeros/195/index.html")
    assert page.cssselect("h1")[0].text_content() == "Flash initiatives locales N°195"
    assert "mars 2021" in page.cssselect(".issue-head__kicker")[0].text_content()
    assert len(page.cssselect(".toc__list li")) == 6
    assert len(page.cssselect("article.issue-article")) == 6
    cover = page.cssselect(".issue-head__cover img")[0]
    assert cover.get("alt") and cover.get("width") and cover.get("height")
    assert page.cssselect(".issue-head__cover figcaption.credit")[0].text_content().strip()


def test_article_page_with_video_quote_and_typography(sample_site: Path) -> None:
    page = parse(sample_site / "numeros/195/habitat-participatif-bourges/index.html")
    assert page.cssselect(".article-head .org-badge")[0].text_content() == "France Loire"
    assert page.cssselect(".article-head .location")[0].text_content() == "Bourges (18)"
    assert {a.text_content() for a in page.cssselect(".article__themes .tag")} == {
        "Habitat participatif", "Vivre-ensemble"}
    card = page.cssselect(".prose figure.video-card a")[0]
    assert card.get("href") == "https://www.youtube.com/watch?v=I-hXjHNDQuc"
    assert not page.cssselect("iframe")
    quote = page.cssselect(".prose blockquote")[0].text_content()
    assert f"«{NNBSP}" in quote and f"{NNBSP}»" in quote
    body = page.cssselect(".prose")[0].text_content()
    assert f"suivre{NNBSP}!" in body
    assert "'" not in body and '"' not in body
    figure = page.cssselect(".article figure.figure")[0]
    assert figure.cssselect("img")[0].get("alt").startswith("Illustration")
    assert figure.cssselect("figcaption")[0].text_content() == "Illustration : Flash".replace(
        " :", "\xa0:")
    assert page.cssselect('a[rel="prev"]')[0].get("href") == (
        "/numeros/195/partenariat-insertion-abbei/")
    assert page.cssselect('a[rel="next"]')[0].get("href") == (
        "/numeros/195/accompagnement-social-bilan-2020/")


def test_links_section(sample_site: Path) -> None:
    page = parse(sample_site / "numeros/195/livre-de-recettes-gratines/index.html")
    links = page.cssselect(".links-box a")
    assert links and links[0].get("href").startswith("https://")


def test_home_shows_latest_issue(sample_site: Path) -> None:
    page = parse(sample_site / "index.html")
    assert "N°195" in page.cssselect(".hero")[0].text_content()
    assert len(page.cssselect(".cards .card")) == 6
    assert page.cssselect('a[href="/numeros/195/"]')


def test_organisation_index_counts(sample_site: Path) -> None:
    page = parse(sample_site / "organisations/index.html")
    names = [a.text_content() for a in page.cssselect(".entity__name")]
    assert len(names) == 6
    assert "Mésolia" in names
    assert not (sample_site / "organisations/sfhe").exists()  # SFHE has no article in N°195


def test_feed_of_the_sample(sample_site: Path) -> None:
    feed = parse_xml(sample_site / "feed.xml")
    ns = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{ns}entry")
    assert len(entries) == 6
    assert entries[0].find(f"{ns}link").get("href") == (
        f"{BASE_URL}/numeros/195/livre-de-recettes-gratines/")
