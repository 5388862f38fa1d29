"""The web archive built from a generated multi-issue corpus: the output contract, indexes,
pagination, feeds and sitemap, checked on parsed HTML and XML."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from conftest import BASE_URL, parse, parse_xml

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def expected_articles(source: Path) -> list[dict]:
    """Reads the generated sources independently of Flash: the oracle for index pages."""
    found = []
    for issue_yaml in source.glob("*/issue.yaml"):
        issue = yaml.safe_load(issue_yaml.read_text(encoding="utf-8"))
        for md in sorted(issue_yaml.parent.glob("*.md")):
            front = yaml.safe_load(md.read_text(encoding="utf-8").split("---")[1])
            found.append({
                "number": issue["number"], "date": issue["date"], "file": md.name,
                "slug": re.sub(r"^\d+-", "", md.stem), "organisation": front["organisation"],
                "themes": front.get("themes", []), "title": front["title"],
            })
    return found


def article_links(page) -> list[str]:
    return [a.get("href") for a in page.cssselect(".card__title a")]


def follow_pages(site: Path, first_url: str) -> list[str]:
    """Article URLs listed on an index and all its next pages, in order."""
    links: list[str] = []
    url: str | None = first_url
    seen = set()
    while url:
        assert url not in seen
        seen.add(url)
        page = parse(site / url.lstrip("/") / "index.html")
        links += article_links(page)
        following = page.cssselect('a[rel="next"]')
        url = following[0].get("href") if following else None
    return links


def newest_first(entries: list[dict]) -> list[str]:
    ordered = sorted(entries, key=lambda e: (-int(e["date"].replace("-", "")), -e["number"],
                                             e["file"]))
    return [f"/numeros/{e['number']}/{e['slug']}/" for e in ordered]


def test_output_contract(corpus_site: Path, corpus_source: Path) -> None:
    articles = expected_articles(corpus_source)
    for path in ["index.html", "numeros/index.html", "organisations/index.html",
                 "themes/index.html", "feed.xml", "sitemap.xml", "robots.txt", "404.html"]:
        assert (corpus_site / path).is_file(), path
    for entry in articles:
        assert (corpus_site / f"numeros/{entry['number']}/index.html").is_file()
        assert (corpus_site / f"numeros/{entry['number']}/{entry['slug']}/index.html").is_file()
    css = list((corpus_site / "assets").glob("flash.*.css"))
    assert len(css) == 1 and re.fullmatch(r"flash\.[0-9a-f]{10}\.css", css[0].name)


@pytest.mark.parametrize("kind", ["organisation", "themes"])
def test_index_pages_list_exactly_the_matching_articles(
        corpus_site: Path, corpus_source: Path, kind: str) -> None:
    articles = expected_articles(corpus_source)
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in articles:
        keys = [entry["organisation"]] if kind == "organisation" else entry["themes"]
        for key in keys:
            groups[key].append(entry)
    folder = "organisations" if kind == "organisation" else "themes"
    assert len(groups) >= 5
    for key, entries in groups.items():
        listed = follow_pages(corpus_site, f"/{folder}/{key}/")
        assert listed == newest_first(entries), key
    index = parse(corpus_site / folder / "index.html")
    for key, entries in groups.items():
        item = index.xpath(f'//a[@href="/{folder}/{key}/"]/ancestor::li[1]')[0]
        count = item.cssselect(".entity__count")[0].text_content()
        assert count.split()[0] == str(len(entries)), key


def test_pagination_past_twenty(corpus_site: Path) -> None:
    page = parse(corpus_site / "organisations/mesolia/index.html")
    assert len(article_links(page)) == 20
    assert page.cssselect('a[rel="next"]')[0].get("href") == "/organisations/mesolia/page/2/"
    second = parse(corpus_site / "organisations/mesolia/page/2/index.html")
    assert second.cssselect('a[rel="prev"]')[0].get("href") == "/organisations/mesolia/"
    assert "page 2 sur" in second.cssselect("h1")[0].text_content()


def test_issue_page_has_every_article_in_order(corpus_site: Path, corpus_source: Path) -> None:
    articles = expected_articles(corpus_source)
    by_issue = defaultdict(list)
    for entry in articles:
        by_issue[entry["number"]].append(entry)
    for number, entries in by_issue.items():
        page = parse(corpus_site / f"numeros/{number}/index.html")
        assert len(page.cssselect("h1")) == 1
        toc = [a.get("href") for a in page.cssselect(".toc__list a")]
        ordered = sorted(entries, key=lambda e: e["file"])
        assert toc == [f"#{e['slug']}" for e in ordered]
        assert [a.get("id") for a in page.cssselect("article.issue-article")] == [
            e["slug"] for e in ordered]


def test_issues_index_grouped_by_year_newest_first(corpus_site: Path, corpus_source: Path) -> None:
    page = parse(corpus_site / "numeros/index.html")
    years = [int(h.text_content()) for h in page.cssselect("section.year h2")]
    assert years == sorted(years, reverse=True) and len(years) >= 2
    numbers = [int(n.text_content().lstrip("N°")) for n in page.cssselect(".issue-list__number")]
    assert numbers == sorted(numbers, reverse=True)
    assert len(numbers) == len(list(corpus_source.glob("*/issue.yaml")))


def test_article_page_navigation(corpus_site: Path, corpus_source: Path) -> None:
    articles = [e for e in expected_articles(corpus_source) if e["number"] == 5]
    ordered = sorted(articles, key=lambda e: e["file"])
    middle = ordered[2]
    page = parse(corpus_site / f"numeros/5/{middle['slug']}/index.html")
    assert page.cssselect("h1")[0].text_content().startswith(middle["title"].split("(")[0][:10])
    assert page.cssselect('a[rel="prev"]')[0].get("href") == f"/numeros/5/{ordered[1]['slug']}/"
    assert page.cssselect('a[rel="next"]')[0].get("href") == f"/numeros/5/{ordered[3]['slug']}/"
    badge = page.cssselect(".article-head .org-badge")[0]
    assert badge.get("href") == f"/organisations/{middle['organisation']}/"
    more = [a.get("href") for a in page.cssselect("section .card__title a")]
    same_org = {f"/numeros/{e['number']}/{e['slug']}/" for e in expected_articles(corpus_source)
                if e["organisation"] == middle["organisation"]}
    assert more and set(more) <= same_org
    assert f"/numeros/5/{middle['slug']}/" not in more


def test_atom_feed(corpus_site: Path) -> None:
    feed = parse_xml(corpus_site / "feed.xml")
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 30
    first = entries[0]
    url = first.find(f"{ATOM}link").get("href")
    assert url.startswith(BASE_URL + "/numeros/")
    assert first.find(f"{ATOM}id").text == url
    assert re.match(r"\d{4}-\d{2}-\d{2}T", first.find(f"{ATOM}updated").text)
    content = first.find(f"{ATOM}content")
    assert content.get("type") == "html" and "<p>" in content.text
    dates = [e.find(f"{ATOM}published").text for e in entries]
    assert dates == sorted(dates, reverse=True)


def test_sitemap_lists_every_page(corpus_site: Path) -> None:
    sitemap = parse_xml(corpus_site / "sitemap.xml")
    locs = {loc.text for loc in sitemap.iter(f"{SITEMAP}loc")}
    pages = set()
    for html_file in corpus_site.rglob("index.html"):
        if parse(html_file).cssselect('meta[name="robots"][content*="noindex"]'):
            continue
        relative = html_file.parent.relative_to(corpus_site).as_posix()
        pages.add(BASE_URL + "/" + ("" if relative == "." else relative + "/"))
    assert pages <= locs
    assert not any(loc.endswith("404.html") for loc in locs)
    robots = (corpus_site / "robots.txt").read_text()
    assert f"Sitemap: {BASE_URL}/sitemap.xml" in robots


def test_every_page_has_one_h1_and_canonical(corpus_site: Path) -> None:
    web_pages = [p for p in corpus_site.rglob("*.html") if p.name != "email.html"]
    for html_file in web_pages[:400]:
        page = parse(html_file)
        assert len(page.cssselect("h1")) == 1, html_file
        assert page.get("lang") == "fr"
        if html_file.name != "404.html":
            canonical = page.cssselect('link[rel="canonical"]')[0].get("href")
            relative = html_file.parent.relative_to(corpus_site).as_posix()
            assert canonical == BASE_URL + "/" + ("" if relative == "." else relative + "/")


def test_article_addresses_come_from_file_names() -> None:
    """File names that are already slugs are kept as they are (no call to slugify): the result
    must be what slugify gives."""
    from slugify import slugify

    from flash.urls import article_slug

    assert article_slug("03-mille-et-une-histoires") == "mille-et-une-histoires"
    assert article_slug("02-Fête des voisins à Évry") == "fete-des-voisins-a-evry"
    assert article_slug("2021") == "2021"
    assert article_slug("04-") == "04"
    rng = random.Random(195)
    for _ in range(5000):
        name = "".join(rng.choice("ab9-") for _ in range(rng.randint(1, 12)))
        assert article_slug(f"01-{name}") == (slugify(name) or slugify(f"01-{name}") or "article")
