"""Discoverability of the built sample site: Atom feeds (site, organisation, theme) linked from
their pages and well-formed per RFC 4287; a sitemap of every page; canonical URLs and meta
descriptions; Open Graph and Twitter cards with absolute URLs; JSON-LD of the right types."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import BASE_URL, parse, parse_xml
from lxml import html

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NOT_IN_SITEMAP = {"/recherche/", "/desabonnement/"}  # utility pages, marked noindex or private


def pages_of(site: Path) -> dict[str, html.HtmlElement]:
    """Every HTML page of the site by URL (the e-mail copies are not pages of the site)."""
    found = {}
    for file in sorted(site.rglob("index.html")):
        folder = file.parent.relative_to(site).as_posix()
        found["/" if folder == "." else f"/{folder}/"] = parse(file)
    found["/404.html"] = parse(site / "404.html")
    return found


@pytest.fixture(scope="module")
def pages(sample_site: Path) -> dict[str, html.HtmlElement]:
    return pages_of(sample_site)


def local(site: Path, url: str) -> Path:
    assert url.startswith(BASE_URL + "/"), url
    path = url[len(BASE_URL):]
    return site / (path.lstrip("/") + "index.html" if path.endswith("/") else path.lstrip("/"))


def rfc3339(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def check_atom(feed_file: Path, url: str) -> list:
    """The RFC 4287 rules a reader relies on; returns the entries."""
    feed = parse_xml(feed_file)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    rfc3339(feed.findtext(f"{ATOM}updated"))
    self_links = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [BASE_URL + url]
    feed_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert entry.findtext(f"{ATOM}id").startswith(BASE_URL + "/")
        rfc3339(entry.findtext(f"{ATOM}updated"))
        assert feed_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        alternate = [link for link in entry.findall(f"{ATOM}link")
                     if link.get("rel", "alternate") == "alternate"]
        assert len(alternate) == 1
        content = entry.find(f"{ATOM}content")
        if content is not None and content.get("type") == "html":
            assert html.fromstring(content.text).text_content().strip()
    return entries


def test_site_feed_is_linked_from_every_page(pages, sample_site: Path) -> None:
    for url, page in pages.items():
        hrefs = page.xpath('//head/link[@rel="alternate"][@type="application/atom+xml"]/@href')
        assert "/feed.xml" in hrefs, url
    entries = check_atom(sample_site / "feed.xml", "/feed.xml")
    assert len(entries) == 6


@pytest.mark.parametrize("section", ["organisations", "themes"])
def test_each_organisation_and_theme_has_its_linked_feed(pages, sample_site: Path,
                                                         section: str) -> None:
    listed = [url for url in pages if url.startswith(f"/{section}/") and url.count("/") == 3]
    assert len(listed) >= 5
    for url in listed:
        feed_url = f"{url}feed.xml"
        page = pages[url]
        head = page.xpath('//head/link[@rel="alternate"][@type="application/atom+xml"]/@href')
        assert feed_url in head, url
        assert feed_url in page.xpath("//main//a/@href"), url  # a visible link too
        entries = check_atom(sample_site / feed_url.lstrip("/"), feed_url)
        listed_articles = page.cssselect(".card__title a")
        assert len(entries) == len(listed_articles)
        assert {e.findtext(f"{ATOM}id") for e in entries} == {
            BASE_URL + a.get("href") for a in listed_articles}


def test_sitemap_lists_every_page(pages, sample_site: Path) -> None:
    sitemap = parse_xml(sample_site / "sitemap.xml")
    locs = [loc.text for loc in sitemap.iter(f"{SITEMAP}loc")]
    assert len(locs) == len(set(locs))
    expected = {BASE_URL + url for url in pages if url not in NOT_IN_SITEMAP | {"/404.html"}}
    assert set(locs) == expected
    for loc in locs:
        assert local(sample_site, loc).is_file()
    robots = (sample_site / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {BASE_URL}/sitemap.xml" in robots


def test_pages_left_out_of_the_sitemap_ask_not_to_be_indexed(pages) -> None:
    search = pages["/recherche/"]
    assert search.xpath('//meta[@name="robots"]/@content') == ["noindex, follow"]


def test_canonical_and_description_on_every_page(pages) -> None:
    for url, page in pages.items():
        canonical = page.xpath('//head/link[@rel="canonical"]/@href')
        assert canonical == [BASE_URL + url], url
        description = page.xpath('//head/meta[@name="description"]/@content')
        assert len(description) == 1 and 20 <= len(description[0]) <= 300, url


def meta(page: html.HtmlElement, key: str, attribute: str = "property") -> list[str]:
    return page.xpath(f'//head/meta[@{attribute}="{key}"]/@content')


def test_open_graph_and_twitter_cards_use_absolute_urls(pages, sample_site: Path) -> None:
    for url, page in pages.items():
        assert meta(page, "og:url") == [BASE_URL + url], url
        assert meta(page, "og:title") and meta(page, "og:description"), url
        assert meta(page, "og:locale") == ["fr_FR"]
        for image in meta(page, "og:image") + meta(page, "twitter:image", "name"):
            assert local(sample_site, image).is_file(), image
        card = meta(page, "twitter:card", "name")
        assert card == (["summary_large_image"] if meta(page, "og:image") else ["summary"]), url


def test_article_cards_show_the_article_image(pages) -> None:
    page = pages["/numeros/195/livre-de-recettes-gratines/"]
    assert meta(page, "og:type") == ["article"]
    image = meta(page, "og:image")[0]
    assert "/media/gratines-livre-" in image and image.endswith(".jpg")
    assert int(meta(page, "og:image:width")[0]) == 1200
    assert meta(page, "og:image:alt")[0].startswith("Illustration\u00a0: un livre de cuisine")
    assert meta(page, "twitter:image", "name") == [image]
    assert meta(page, "article:published_time") == ["2021-03-01"]
    assert meta(page, "article:section") == ["Mésolia"]


def jsonld(page: html.HtmlElement) -> list[dict]:
    return [json.loads(s.text) for s in page.xpath('//script[@type="application/ld+json"]')]


def test_article_jsonld_is_a_news_article(pages) -> None:
    articles = [url for url in pages if url.startswith("/numeros/195/") and url.count("/") == 4]
    assert len(articles) == 6
    for url in articles:
        page = pages[url]
        [data] = jsonld(page)
        assert data["@context"] == "https://schema.org"
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == page.cssselect("h1")[0].text_content().strip()
        assert data["url"] == data["mainEntityOfPage"] == BASE_URL + url
        assert data["datePublished"] == "2021-03-01"
        assert data["author"]["@type"] == "Organization"
        assert data["author"]["name"] == page.cssselect(".article-head .org-badge")[0].text
        issue = data["isPartOf"]
        assert issue["@type"] == "PublicationIssue" and issue["issueNumber"] == "195"
        assert issue["isPartOf"]["@type"] == "Periodical"
        if "image" in data:
            assert data["image"]["url"].startswith(BASE_URL + "/media/")


def test_issue_jsonld_is_a_publication_issue_of_the_periodical(pages) -> None:
    [data] = jsonld(pages["/numeros/195/"])
    assert data["@type"] == "PublicationIssue"
    assert data["issueNumber"] == "195" and data["datePublished"] == "2021-03-01"
    assert data["isPartOf"]["@type"] == "Periodical"
    assert data["isPartOf"]["name"] == "Flash initiatives locales"
    assert len(data["hasPart"]) == 6
    assert {part["@type"] for part in data["hasPart"]} == {"NewsArticle"}
    assert data["image"]["url"].startswith(BASE_URL + "/media/")


def test_home_jsonld_names_the_site_and_its_search(pages) -> None:
    [data] = jsonld(pages["/"])
    types = {node["@type"]: node for node in data["@graph"]}
    assert set(types) == {"WebSite", "Periodical"}
    action = types["WebSite"]["potentialAction"]
    assert action["target"]["urlTemplate"] == BASE_URL + "/recherche/?q={search_term_string}"


def test_jsonld_cannot_break_out_of_its_script(tmp_path: Path) -> None:
    from flash.seo import script_json

    text = script_json({"headline": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["headline"].startswith("</script>")
