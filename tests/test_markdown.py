"""Markdown rendering: sanitizing, video cards, French typography where it belongs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html
from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.rules_core.inline import inline as markdown_it_inline
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token

from flash import markdown_fast
from flash.markdown import EXCERPT, parser, parser_for, render
from flash.typography import NBSP, NNBSP, french

_MD = parser()  # with every rule and the fast paths
_INLINE_MARKS = markdown_fast._INLINE_MARKS


def fragment(source: str) -> html.HtmlElement:
    return html.fragment_fromstring(render(source).html, create_parent="div")


def test_french_spacing_and_quotes() -> None:
    assert french('Il a dit "bonjour" !') == f"Il a dit «{NNBSP}bonjour{NNBSP}»{NNBSP}!"
    assert french("Pourquoi ? Voilà ; ensuite : fin") == (
        f"Pourquoi{NNBSP}? Voilà{NNBSP}; ensuite{NBSP}: fin")
    assert french("l'ALFI") == "l’ALFI"
    assert french("« déjà espacé »") == f"«{NNBSP}déjà espacé{NNBSP}»"
    assert french("1 118 personnes, 98 % et 23 977 €") == (
        f"1{NNBSP}118 personnes, 98{NNBSP}% et 23{NNBSP}977{NNBSP}€")
    assert french("Et puis...") == "Et puis…"


def test_typography_edge_cases() -> None:
    # A quote standing alone stays straight; one touching a letter is an apostrophe.
    assert french("rock ' n ' roll, l'été, 'cité'") == "rock ' n ' roll, l’été, ’cité’"
    # A mark right after markup (start of a piece) or an opening bracket stays tight; spaces
    # before it become one narrow no-break space, and a run of marks keeps together.
    assert french("!") == "!"
    assert french(" ?!") == f"{NNBSP}?!"
    assert french("(?) et [!]") == "(?) et [!]"
    assert french("vraiment   ?!") == f"vraiment{NNBSP}?!"
    # A colon takes a no-break space when it ends a clause, not in a time or at a line start.
    assert french("à 10:30 : fin") == f"à 10:30{NBSP}: fin"
    assert french(": début") == ": début"
    assert french("ligne\n: suite") == "ligne\n: suite"
    # Thousands only in groups of three digits ending a number.
    assert french("1 000 000 et 1 0000 et 2 000_x") == f"1{NNBSP}000{NNBSP}000 et 1 0000 et 2 000_x"
    assert french("20 °C, 5%") == f"20{NNBSP}°C, 5{NNBSP}%"


def test_typography_spares_urls_code_and_attributes() -> None:
    root = fragment(
        "Voir https://exemple.fr/a?b=c ! et `code: x ; y` puis "
        '[lien](https://a.fr/?q=1 "titre : x")\n\n<https://b.fr/x?y=1>\n')
    text = root.text_content()
    assert "https://exemple.fr/a?b=c" in text
    assert "code: x ; y" in root.cssselect("code")[0].text
    link = root.cssselect('a[href="https://a.fr/?q=1"]')[0]
    assert link.get("title") == "titre : x"
    assert root.cssselect('a[href="https://b.fr/x?y=1"]')[0].text == "https://b.fr/x?y=1"
    assert f"c{NNBSP}!" in text


def test_sanitizer_removes_scripts_handlers_and_javascript_urls() -> None:
    out = render(
        '<script>alert(1)</script>\n\n<p onclick="x()">Texte <a href="javascript:alert(1)">a</a>'
        '<img src="x.png" onerror="y()"></p>\n\n[b](javascript:alert(2))\n\n'
        '<iframe src="https://pub.example.com/frame"></iframe>\n'
    ).html
    root = html.fragment_fromstring(out, create_parent="div")
    assert not root.cssselect("script, iframe")
    assert "alert(1)" not in out
    for element in root.iter():
        assert not any(name.startswith("on") for name in element.attrib)
        assert not element.get("href", "").startswith("javascript")


def test_video_link_alone_becomes_a_card_that_loads_nothing() -> None:
    root = fragment("Avant.\n\nhttps://www.youtube.com/watch?v=I-hXjHNDQuc\n\n"
                    "[Le film](https://vimeo.com/12345)\n\n"
                    "Un lien https://youtu.be/x dans le texte.")
    cards = root.cssselect("figure.video-card")
    assert len(cards) == 2
    assert cards[0].cssselect("a")[0].get("href") == "https://www.youtube.com/watch?v=I-hXjHNDQuc"
    assert "YouTube" in cards[0].text_content()
    assert cards[1].cssselect(".video-card__title")[0].text == "Le film"
    assert not root.cssselect("iframe, img, script")
    assert len(root.cssselect("p")) == 2


def test_known_video_iframe_becomes_a_card() -> None:
    root = fragment('<iframe src="https://www.dailymotion.com/embed/video/x8"></iframe>\n')
    assert not root.cssselect("iframe")
    assert root.cssselect("figure.video-card a")[0].get("href").startswith(
        "https://www.dailymotion.com/")


def test_tables_footnotes_attributes_and_headings() -> None:
    root = fragment("# Grand titre\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
                    "Texte[^1] et [mot]{.important} [lien](https://a.fr){.externe}\n\n"
                    "[^1]: La note.\n")
    assert root.cssselect("h2")[0].text == "Grand titre"
    assert not root.cssselect("h1")
    assert root.cssselect("table td")[1].get("style") == "text-align:right"
    assert root.cssselect("section.footnotes li")[0].get("id") == "fn1"
    assert root.cssselect("span.important")
    assert root.cssselect('a.externe[href="https://a.fr"]')


def test_plain_text_and_word_count() -> None:
    rendered = render("## Titre\n\nUn deux trois.\n\n- quatre\n- cinq\n")
    assert rendered.text.split() == ["Titre", "Un", "deux", "trois.", "quatre", "cinq"]
    assert rendered.words == 6
    long = render(" ".join(f"mot{n}" for n in range(1000)))
    assert long.words == 1000
    assert long.text == " ".join(f"mot{n}" for n in range(1000))[:EXCERPT]


def test_shortcuts_give_markdown_its_own_results() -> None:
    """Link normalisation and line-end handling skip markdown-it's general code for common
    input: the result must be what markdown-it itself gives."""
    rng = random.Random(195)
    kept = "abcXYZ019-._~!$&'()*+,;=:@/?#"
    other = "éçœ’«»€\xa0\x85\u202f\u2028\u3000\ufeff\U0001f600 %\"<>[]\\^`{|}\t"
    for _ in range(20000):
        path = "".join(rng.choice(kept + other if rng.random() < 0.3 else kept)
                       for _ in range(rng.randint(0, 20)))
        url = (rng.choice(["https://", "http://", "HTTP://"])
               + rng.choice(["www.mesolia.fr", "a-b.c:8080", "EXAMPLE.org", "exé.fr"])
               + rng.choice(["/", "?", "#", ""]) + path)
        assert markdown_fast._normalize_link(url) == normalizeLink(url), url
    plain = MarkdownIt("commonmark")
    for source in ["un\r\ndeux\rtrois\n\0quatre", "\r\r\n\n\0\0fin", "sans retour"]:
        assert _MD.parse(source)[1].content == plain.parse(source)[1].content


def test_parsers_without_the_rules_a_text_cannot_use_give_the_same_html() -> None:
    """Texts are parsed with the rules switched off whose marks they lack
    (markdown_fast._TRIGGERED): random texts mixing every construct, and near misses of each
    mark, give the same HTML as markdown-it without the fast paths."""
    pieces = [
        "Un paragraphe simple", "# Titre", "## Titre deux ##", "Titre\n===", "Sous-titre\n---",
        "- point\n- autre", "1. un\n2. deux", "* étoile", "> citation\n> suite", ">",
        "```\ncode\n```", "~~~ python\nx = 1\n~~~", "``pas une clôture``", "    code indenté",
        "\tcode tabulé", "   trois espaces", "| a | b |\n|---|---|\n| 1 | 2 |", "a | b",
        "[lien](https://a.fr)", "[réf][x]\n\n[x]: https://b.fr", "[x] : pas une référence",
        "note[^1]\n\n[^1]: la note", "en ligne ^[note]", "[^ pas une note", "^ seul", "~~barré~~",
        "~simple~", "<b>gras</b>", "<div>\nbloc\n</div>", "<https://c.fr>", "a < b > c",
        "&amp; &eacute; &#233;", "& seul", "\\*pas italique\\*", "fin\\\nligne", "`code`",
        "{.classe}", "texte {#id}", "[span]{.x}", "![image](a.png)", "***", "___", "- - -",
        "_souligné_ et **gras**", "a  \nb", "#pas un titre", "\\", "`", "{", "<", "&", "|",
        "Saint-Étienne : 12 % de plus", "a-b:c=d+e>f@g#h$i", "[lien-ici](https://d.fr/a-b)",
        "*x*{.c}-suite", "**gras**: -- : @nom", "- [ ] tâche", "100 % = 2 + 2 > 3 @ #5 $",
    ]
    reference = parser(0, fast=False)  # every rule, markdown-it's own parsing of every piece
    rng = random.Random(195)
    for _ in range(3000):
        text = "\n\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.3:
            text = text.replace("\n\n", "\n")
        if rng.random() < 0.3:  # pieces inside one paragraph, where inline rules meet
            text = text.replace("\n", " ")
        ours = parser_for(text)
        assert ours.renderer.render(ours.parse(text, {}), ours.options, {}) == \
            reference.renderer.render(reference.parse(text, {}), reference.options, {}), text
    assert len({id(parser_for(piece)) for piece in pieces}) > 10  # rules were switched off


def _tokens(tokens: list[Token]) -> list[tuple]:
    return [(t.type, t.tag, t.nesting, t.level, t.content, t.markup, t.info, t.attrs, t.meta,
             t.block, t.hidden, t.map, _tokens(t.children or [])) for t in tokens]


def test_text_without_inline_marks_gets_the_inline_parsers_own_tokens() -> None:
    """Pieces with none of the marks where an inline rule starts skip markdown-it's inline
    parser (markdown_fast._parse_inlines): their tokens must be the ones it gives, for random
    texts of line ends, spaces, tabs, near misses of every mark (! ] } ^ # : - >) and, now and
    then, a mark itself."""
    rng = random.Random(195)
    plain = ["a", "é", "mot", " ", "  ", "   ", "\t", "\n", "\n", "\xa0", "\u202f", "!", "]", "}",
             "^", "#", ":", "-", ">", "'", "«", "»", "…", "1.", "2)", "+", "=", "|", "$", "%",
             "@", "/", "\r", "\x85", "\u2028"]
    marks = ["[", "*", "_", "<", "\\", "`", "~", "{", "&", "![", "^[", "~~", "[^", "&amp;"]
    plain_ones = 0
    for _ in range(20000):
        pieces = [rng.choice(plain) for _ in range(rng.randint(0, 14))]
        if rng.random() < 0.2:
            pieces.insert(rng.randint(0, len(pieces)), rng.choice(marks))
        content = "".join(pieces)
        plain_ones += _INLINE_MARKS.search(content) is None
        ours = [Token("inline", "", 0, content=content)]
        theirs = [Token("inline", "", 0, content=content)]
        markdown_fast._parse_inlines(StateCore(content, _MD, {}, ours))  # type: ignore[arg-type]
        markdown_it_inline(StateCore(content, _MD, {}, theirs))  # type: ignore[arg-type]
        assert _tokens(ours) == _tokens(theirs), repr(content)
    assert plain_ones > 10000
    # and whole documents of such prose, through the block parser, as HTML
    for _ in range(2000):
        text = "".join(rng.choice([*plain, "\n\n", "- ", "# ", "> ", "1. "])
                       for _ in range(rng.randint(0, 40)))
        assert _MD.renderer.render(_MD.parse(text, {}), _MD.options, {}) == \
            reference_html(text), repr(text)


def reference_html(text: str) -> str:
    """The HTML of Flash's parser without flash.markdown_fast: markdown-it's own parsing."""
    reference = parser(0, fast=False)
    return reference.renderer.render(reference.parse(text, {}), reference.options, {})


# Lines for random texts: prose (bold, italics, links, images, figures, French quotes…), and
# near misses of every block construct (indentation, rules, setext underlines, fences, HTML,
# tables, definitions, attributes, ordered items…).
_PROSE = ["Le", "«\u00a0Bien\u00a0»", "**Gras** :", "*italique*", "_souligné_", "__fort__",
          "[lien](https://a.fr)", "![image](a.png)", "2021 fut", "+33 1 02", "(note)", "’ici",
          "Été", "x*y*", "C#", "#", "a > b", "a - b", "fin  ", "fin ", "\u00a0", "a\tb", "1.5"]
_NEAR_MISSES = [
    "", "#", "####### ", "#\t", "-", "--", "- - -", "---", "***", "* * *", "___", "_ _ _", "* ",
    "*\t", "+ ", "+", "1. ", "2) ", "2021. ", "12) ", " ", "   ", "    ", "\t", "=", "===",
    "```", "~~~", "<div>", "<!--", "|", "| a |", ":", ":--", "{#id}", "{.c}", "\\", "[x]: /u",
    "[^1]: n", "> > ", ">", "> ", "- > ", "- # ", "- 1. ", "- * ", "\u00a0", "\u202f", "\x0c"]


def _prose_line(rng: random.Random) -> str:
    return " ".join(rng.choice(_PROSE) for _ in range(rng.randint(1, 6)))


def _simple_text(rng: random.Random, near_misses: float) -> str:
    """Paragraphs, headings, lists and quotes, apart or next to each other, now and then with
    a line made of a near miss and prose."""
    out = []
    for _ in range(rng.randint(1, 10)):
        kind = rng.random()
        if kind < 0.45:
            block = [_prose_line(rng) for _ in range(rng.randint(1, 4))]
        elif kind < 0.6:
            block = ["#" * rng.randint(1, 6) + " " * rng.randint(1, 2) + _prose_line(rng)]
        elif kind < 0.8:
            block = ["- " + _prose_line(rng) for _ in range(rng.randint(1, 5))]
        else:
            block = ["> " + _prose_line(rng) for _ in range(rng.randint(1, 3))]
        if rng.random() < near_misses:
            block[rng.randrange(len(block))] = rng.choice(_NEAR_MISSES) + rng.choice(
                ["", _prose_line(rng)])
        out.append("\n".join(block) + "\n" * rng.choice([1, 2, 2, 2, 3]))
    return "".join(out) + rng.choice(["", "\n", "  ", "\n\n", "\n \t"])


def test_simple_texts_get_the_block_parsers_own_tokens() -> None:
    """Texts of paragraphs, headings, one-line list items and quotes skip markdown-it's block
    parser (markdown_fast.block_tokens): their tokens must be the ones it gives, every field
    compared, and every other text must be left to it."""
    assert markdown_fast._parse_blocks in [rule.fn for rule in _MD.core.ruler.__rules__]
    for fields in ({}, {"map": [1, 3], "level": 2, "content": "a", "children": []},
                   {"markup": "##", "hidden": True}):
        assert markdown_fast._token("inline", "p", 1, **fields) == \
            Token("inline", "p", 1, block=True, **fields)  # type: ignore[arg-type]
    rng = random.Random(195)
    fast = 0
    for number in range(40000):
        text = _simple_text(rng, 0.05 if number % 2 else 0.6)
        ours = markdown_fast.block_tokens(text)
        if ours is None:
            continue
        fast += 1
        theirs: list[Token] = []
        _MD.block.parse(text, _MD, {}, theirs)
        assert _tokens(ours) == _tokens(theirs), repr(text)
    assert fast > 7000
    # and through the whole parser, as HTML
    for _ in range(2000):
        text = _simple_text(rng, 0.3)
        assert _MD.renderer.render(_MD.parse(text, {}), _MD.options, {}) == \
            reference_html(text), repr(text)




_PIECES = [*"ab é«»’\n\t#>-*_+=~`|<{}[]()!^:\\&;.1)0", "https://a.fr/é", "](", "]: ", "```",
           "    ", "- ", "> ", "# ", "1. ", "[^1]", "<div>", "&amp;", "{.x}", "\r\n", "\0", "\n\n"]
_MARKDOWNISH = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@settings(max_examples=1500, deadline=None)
@given(_MARKDOWNISH)
def test_the_fast_paths_give_markdown_its_own_html(text: str) -> None:
    """The one switch: any text renders to the same HTML, plain text and word count with
    flash.markdown_fast as without it (markdown-it alone)."""
    fast, plain = render(text), render(text, fast=False)
    assert (fast.html, fast.text, fast.words) == (plain.html, plain.text, plain.words)


def test_the_fast_paths_give_the_same_html_for_the_sample_and_the_benchmark_archive() -> None:
    import sys
    from pathlib import Path


    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "bench"))
    import tempfile

    from corpus import generate
    with tempfile.TemporaryDirectory() as folder:
        generate(Path(folder), 30, 6, seed=3)
        texts = [path.read_text(encoding="utf-8") for path in
                 [*Path(folder).rglob("*.md"), *(root / "issues").rglob("*.md")]]
    assert len(texts) > 180
    for text in texts:
        body = text.split("\n---\n", 2)[-1]
        assert render(body).html == render(body, fast=False).html
