"""Escaping in templates: Flash's own output escape gives markupsafe's result, and text that
looks like HTML in the front matter reaches the pages as text, in elements and attributes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import parse, settings_for, write_tree
from markupsafe import Markup, escape

from flash.build import build
from flash.templates import _escape, make_environment
from flash.typography import french


class _Html:
    def __html__(self) -> str:
        return "<em>déjà sûr</em>"


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    "", "texte", "a & b < c > d \"e\" 'f'", "<script>alert('x')</script>", "é’«»\u202f\xa0",
    "&amp; déjà", Markup("<b>gras</b> &amp;"), 0, 195, -3, True, False, 2.5, None, _Html(),
    _Text("<i>sous-classe</i>"), ["<x>", 1], dict(a="<y>"),
])
def test_escape_equals_markupsafe(value: object) -> None:
    assert _escape(value) == str(escape(value))


def test_compiled_templates_use_it_and_still_escape(tmp_path: Path) -> None:
    layouts = write_tree(tmp_path, {"t.html": '<p title="{{ v }}">{{ v }}{{ m }}{{ n }}</p>'})
    env = make_environment(layouts)
    template = env.get_template("t.html")
    assert template.root_render_func.__globals__["escape"] is _escape
    out = template.render(v='<a href="x">&', m=Markup("<br>"), n=7)
    assert out == ('<p title="&lt;a href=&#34;x&#34;&gt;&amp;">'
                   '&lt;a href=&#34;x&#34;&gt;&amp;<br>7</p>')


TITLE = 'Les <b>ateliers</b> & le "jardin" <script>alert(1)</script>'
LOCATION = "Pau <i>(64)</i> & Tarbes"
LABEL = "Le <u>programme</u> & les dates"
URL = "https://exemple.fr/agenda?ville=pau&mois=3"


def test_front_matter_that_looks_like_html_stays_text(tmp_path: Path) -> None:
    front = (f"title: '{TITLE}'\norganisation: mesolia\nsummary: 'Un résumé <em>vif</em> & bref.'"
             f"\nlocation: '{LOCATION}'\nlinks:\n  - label: '{LABEL}'\n    url: '{URL}'\n")
    source = write_tree(tmp_path / "issues", {
        "organisations.yaml": "mesolia:\n  name: Mésolia & <Cie>\n  colour: \"#00a19a\"\n",
        "themes.yaml": "enfance:\n  label: Enfance\n",
        "a/issue.yaml": 'number: 10\ndate: "2021-03"\n',
        "a/01-ateliers.md": f"---\n{front}---\n\nUn texte.\n",
    })
    site = tmp_path / "_site"
    build(source, site, settings_for(), search_on=False, emails=False)
    raw = (site / "numeros/10/ateliers/index.html").read_text(encoding="utf-8")
    page = parse(site / "numeros/10/ateliers/index.html")

    heading = page.cssselect("h1")[0]
    assert heading.text_content() == french(TITLE)
    assert not heading.cssselect("b, script")
    assert "<script>alert" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert page.cssselect(".location")[0].text_content() == french(LOCATION)
    assert page.cssselect(".lead")[0].text_content() == french("Un résumé <em>vif</em> & bref.")
    assert not page.cssselect(".article-head em, .article-head i")
    link = page.cssselect(".links a")[0]
    assert link.get("href") == URL and link.text_content() == french(LABEL)
    assert not link.cssselect("u")
    # in attributes too: the page's title, the description, the JSON-LD
    assert page.findtext(".//title").startswith(french(TITLE) + " — ")
    description = page.cssselect('meta[name="description"]')[0].get("content")
    assert description == french("Un résumé <em>vif</em> & bref.")
    jsonld = json.loads(page.cssselect('script[type="application/ld+json"]')[0].text)
    assert jsonld["headline"] == french(TITLE)
    assert "Mésolia & <Cie>" in page.cssselect(".article-head__meta")[0].text_content()
