"""Markdown to safe HTML: CommonMark + tables, footnotes and attributes, French typography,
video cards, and a maintained sanitizer (nh3) over the result."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import quote, urlparse

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.rules_core import StateCore
from markdown_it.rules_core import block as block_rule
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.footnote import footnote_plugin

from flash import blocks
from flash.typography import Quotes, french

# Video hosts whose links become cards. Nothing is loaded from them until the reader clicks.
VIDEO_HOSTS = {
    "youtube.com": "YouTube",
    "www.youtube.com": "YouTube",
    "m.youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "www.youtube-nocookie.com": "YouTube",
    "vimeo.com": "Vimeo",
    "www.vimeo.com": "Vimeo",
    "player.vimeo.com": "Vimeo",
    "dailymotion.com": "Dailymotion",
    "www.dailymotion.com": "Dailymotion",
    "dai.ly": "Dailymotion",
}

_ALONE_URL = re.compile(r"^<?(https?://\S+?)>?$")
_ALONE_LINK = re.compile(r"^\[([^\]]+)\]\((https?://[^)\s]+)\)$")

_TAGS = (nh3.ALLOWED_TAGS - {"center", "strike", "tt", "acronym", "map", "area"}) | {
    "section", "picture", "source"}
_ATTRIBUTES = {
    **{tag: set(attrs) - {"align", "char", "charoff", "size", "width"}
       for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "lang", "title", "dir", "aria-hidden", "aria-label"},
    "a": {"href", "hreflang", "rel"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "source": {"srcset", "sizes", "type", "media", "width", "height"},
    "th": {"scope", "rowspan", "colspan", "style"},
    "td": {"rowspan", "colspan", "style"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "mailto", "tel"},
    link_rel=None,
    filter_style_properties={"text-align"},
)


def video_service(url: str) -> str | None:
    return VIDEO_HOSTS.get((urlparse(url).hostname or "").lower())


def video_card(url: str, label: str | None) -> str:
    service = video_service(url) or "vidéo"
    title = html.escape(french(label) if label else f"Vidéo {service}")
    return (
        f'<figure class="video-card"><a class="video-card__link" href="{html.escape(url)}">'
        f'<span class="video-card__play" aria-hidden="true"></span>'
        f'<span class="video-card__text"><span class="video-card__title">{title}</span>'
        f'<span class="video-card__service">Regarder sur {service}</span></span></a></figure>\n'
    )


class _IframeFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.sources.append(dict(attrs).get("src") or "")


def _embedded_videos(block: str) -> list[str]:
    finder = _IframeFinder()
    finder.feed(block)
    return [src for src in finder.sources if video_service(src)]


class ImageMarkup(Protocol):
    """A resolved image that writes its own markup (a responsive <picture>)."""

    def html(self, alt: str, title: str | None) -> str: ...


# (src, line) -> public URL or markup, or None if refused (the resolver reports why)
ImageResolver = Callable[[str, int], "str | ImageMarkup | None"]


EXCERPT = 400  # characters of plain text kept per article


@dataclass
class Rendered:
    html: str
    text: str  # the first EXCERPT characters of the plain text
    words: int
    images: list[str] = field(default_factory=list)


def _video_rule(state: StateCore) -> None:
    tokens = state.tokens
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "paragraph_open" and index + 2 < len(tokens):
            card = _alone_video(tokens[index + 1].content)
            if card is not None:  # the paragraph (open, inline, close) becomes the card
                tokens[index : index + 3] = [Token("html_block", "", 0, content=card,
                                                   map=token.map)]
        elif token.type == "html_block" and "<iframe" in token.content:
            # The sanitizer removes every iframe; a known player also becomes a card, so the
            # video stays one click away without a third-party frame in the page.
            videos = _embedded_videos(token.content)
            token.content += "".join(video_card(src, None) for src in videos)
        index += 1


def _alone_video(content: str) -> str | None:
    """The card for a paragraph that is only a link to a known video player."""
    if "://" not in content:  # most paragraphs: no address at all
        return None
    content = content.strip()
    link = _ALONE_LINK.match(content)
    bare = _ALONE_URL.match(content)
    url, label = (link.group(2), link.group(1)) if link else (
        (bare.group(1), None) if bare else (None, None))
    return video_card(url, label) if url and video_service(url) else None


def _inline_rule(state: StateCore) -> None:
    """One walk over the parsed article for everything done per piece of text: headings
    demoted, French typography, images resolved, and the plain text collected (the tokens are
    walked once: this runs for every article of the archive)."""
    env = state.env
    resolve: ImageResolver | None = env.get(_RESOLVE)
    first_line: int = env.get(_FIRST_LINE, 1)
    images: list[str] = env.setdefault(_IMAGES, [])
    parts: list[str] = env.setdefault(_TEXT, [])
    append = parts.append
    for token in state.tokens:
        kind = token.type
        if kind == "inline":
            children = token.children
            if not children:
                continue
            quotes = Quotes()
            in_autolink = 0
            for index, child in enumerate(children):
                child_kind = child.type
                if child_kind == "text":
                    if not in_autolink:
                        child.content = french(child.content, quotes)
                    append(child.content)
                elif child_kind == "softbreak" or child_kind == "hardbreak":
                    append(" ")
                elif child_kind == "code_inline" or child_kind == "text_special":
                    append(child.content)
                elif child_kind == "link_open":
                    in_autolink += child.markup == "autolink"
                elif child_kind == "link_close":
                    in_autolink = max(0, in_autolink - 1)
                elif child_kind == "image" and resolve is not None:
                    line = first_line + (token.map[0] if token.map else 0)
                    replacement = _resolved_image(state, child, resolve, line, images)
                    if replacement is not None:
                        children[index] = replacement
            append("\n")
        elif (kind == "heading_open" or kind == "heading_close") and token.tag == "h1":
            token.tag = "h2"  # the page title is the only h1
        elif kind == "fence" or kind == "code_block":
            append(token.content)


def _resolved_image(state: StateCore, image: Token, resolve: ImageResolver, line: int,
                    images: list[str]) -> Token | None:
    """The image token made to point at the published file, or the markup that replaces it."""
    src = str(image.attrGet("src") or "")
    resolved = resolve(src, line)
    if resolved is None:
        image.attrSet("loading", "lazy")
        return None
    images.append(src)
    if isinstance(resolved, str):
        image.attrSet("src", resolved)
        image.attrSet("loading", "lazy")
        return None
    alt = french(state.md.renderer.renderInlineAsText(image.children or [], state.md.options,
                                                      state.env))
    title = image.attrGet("title")
    return Token("html_inline", "", 0,
                 content=resolved.html(alt, french(str(title)) if title else None))


# Keys of the markdown-it env through which render() and _inline_rule talk.
_RESOLVE, _FIRST_LINE = "flash_resolve", "flash_first_line"
_IMAGES, _TEXT = "flash_images", "flash_text"


def _make_parser(absent: int = 0) -> MarkdownIt:
    """The parser; `absent`: bits of the _TRIGGERED groups whose rules are switched off."""
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.use(footnote_plugin).use(attrs_plugin, spans=True).use(attrs_block_plugin)
    md.core.ruler.at("normalize", _normalize_source)
    md.core.ruler.after("block", "flash_video", _video_rule)
    md.core.ruler.after("inline", "flash_inline", _inline_rule)
    if (set(md.inline.ruler.get_active_rules()) <= _RULES_AT_MARKS
            and set(md.inline.ruler2.get_active_rules()) <= _RULES_AFTER):
        md.core.ruler.at("inline", _parse_inlines)
    if set(md.block.ruler.get_active_rules()) <= _BLOCK_RULES:
        md.core.ruler.at("block", _parse_blocks)
    md.normalizeLink = _normalize_link  # type: ignore[method-assign]
    if hasattr(md.inline, "terminator_re"):  # markdown-it-py 4.1 and later
        md.inline.terminator_re = _STOPS
    for bit, (_, block_rules, inline_rules) in enumerate(_TRIGGERED):
        if absent >> bit & 1:
            md.block.ruler.disable(list(block_rules), ignoreInvalid=True)
            md.inline.ruler.disable(list(inline_rules), ignoreInvalid=True)
    return md


# The inline rules of Flash's parser, which can only start at one of _INLINE_MARKS or at a line
# end (image: at "![", footnote_inline: at "^[", strikethrough: at "~~"), and the rules that then
# tidy their tokens, which leave text and line breaks alone. With others (a plugin, a newer
# markdown-it), every piece is parsed by markdown-it.
_RULES_AT_MARKS = {
    "text", "newline", "escape", "backticks", "strikethrough", "emphasis", "link", "span",
    "image", "footnote_inline", "footnote_ref", "autolink", "html_inline", "entity", "attr"}
_RULES_AFTER = {"balance_pairs", "strikethrough", "emphasis", "fragments_join"}
_INLINE_MARKS = re.compile(r"[&*<\[\\_`{~]")


# The block rules of Flash's parser: flash.blocks knows which lines none of them but the
# paragraph, heading, list and quote rules could match. With others, markdown-it parses all.
_BLOCK_RULES = {"table", "code", "attr", "fence", "blockquote", "hr", "list", "footnote_def",
                "reference", "html_block", "heading", "lheading", "paragraph"}


def _parse_blocks(state: StateCore) -> None:
    """markdown-it's `block` core rule, with flash.blocks's fast path for simple texts."""
    if not state.inlineMode:
        tokens = blocks.parse(state.src)
        if tokens is not None:
            state.tokens.extend(tokens)
            return
    block_rule(state)


def _parse_inlines(state: StateCore) -> None:
    """markdown-it's `inline` core rule, with one shortcut: most pieces of prose (four in five
    paragraphs, list items and headings of an archive) hold none of the marks where an inline
    rule may start: their tokens are text and line breaks, made here for a third of what the
    inline parser's walk costs, the check included (see BENCHMARKS.md)."""
    md = state.md
    for token in state.tokens:
        if token.type != "inline":
            continue
        content = token.content
        if not token.children and _INLINE_MARKS.search(content) is None:
            token.children = _plain_children(content)
            continue
        if token.children is None:
            token.children = []
        md.inline.parse(content, md, state.env, token.children)


def _plain_children(content: str) -> list[Token]:
    """The tokens of markdown-it's inline parser for a text where only its `newline` rule can
    match: at each line end, a soft break, or a hard break after two spaces or more; the spaces
    before the line end are dropped, and so are the spaces and tabs that start the next line."""
    if "\n" not in content:
        return [Token("text", "", 0, content=content)] if content else []
    children: list[Token] = []
    lines = content.split("\n")
    last = len(lines) - 1
    for index, line in enumerate(lines):
        _line_end(children, line.lstrip(" \t") if index else line, index < last)
    return children


def _line_end(children: list[Token], text: str, broken: bool) -> None:
    """The text that ends a line (or the piece), then the line break if `broken`."""
    kind = "softbreak"
    if broken and text.endswith("  "):
        kind, text = "hardbreak", text.rstrip(" ")
    elif broken and text.endswith(" "):
        text = text[:-1]
    if text:
        children.append(Token("text", "", 0, content=text))
    if broken:
        children.append(Token(kind, "br", 0))


# The marks where markdown-it's text rule stops to try the inline rules: the ones Flash's rules
# react to (line end, ! & * < [ backslash ] ^ _ ` { } ~; "]" ends link labels). markdown-it's
# own set also stops at # $ % + - : = > @ for other plugins: French prose is full of hyphens
# and colons, and each stop tried every rule in vain (≈ 3 % of the parsing time).
_STOPS = re.compile(r"[\n!&*<\[\\\]^_`{}~]")

# markdown-it tries its rules at every line (block rules) and at every punctuation mark
# (inline rules). Many can only match where certain characters occur: a text without any of
# them is parsed with those rules off, which gives the same tokens with fewer calls (≈ 10 % of
# the parsing time for a typical article). (any of these in the text, block rules, inline rules)
_TRIGGERED: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("|",), ("table",), ()),
    (("    ", "\t"), ("code",), ()),  # indented code: four columns of spaces or a tab
    (("{",), ("attr",), ("span", "attr")),
    (("```", "~~~"), ("fence",), ()),
    ((">",), ("blockquote",), ()),
    (("[^",), ("footnote_def",), ("footnote_ref",)),
    (("]:",), ("reference",), ()),
    (("<",), ("html_block",), ("autolink", "html_inline")),
    (("#",), ("heading",), ()),
    (("\\",), (), ("escape",)),
    (("`",), (), ("backticks",)),
    (("~~",), (), ("strikethrough",)),
    (("^[",), (), ("footnote_inline",)),
    (("&",), (), ("entity",)),
)
_PARSERS: dict[int, MarkdownIt] = {}
# (mark, one of its less common characters, bit): a search for one character is far faster
# than for several (5 µs for "[^" in a 5 KB article), so "[^" is looked for only in a text that
# has a "^".
_GUARDS = {"```": "`", "~~~": "~", "~~": "~", "[^": "^", "^[": "^", "]:": ":"}
_MARKS = tuple((mark, _GUARDS.get(mark, ""), 1 << bit)
               for bit, (marks, _, _) in enumerate(_TRIGGERED) for mark in marks)
_ALL = (1 << len(_TRIGGERED)) - 1


def _parser_for(source: str) -> MarkdownIt:
    present = 0
    for mark, guard, bit in _MARKS:  # a plain loop: this runs for every text of the archive
        if (not guard or guard in source) and mark in source:
            present |= bit
    absent = _ALL ^ present
    parser = _PARSERS.get(absent)
    if parser is None:
        if len(_PARSERS) >= 64:  # texts of unusual mixtures: keep a bounded set
            _PARSERS.clear()
        parser = _PARSERS[absent] = _make_parser(absent)
    return parser


# Plain http(s) addresses: markdown-it's normalizeLink (parsing, punycode host names,
# percent-encoding) returns them unchanged but for letters beyond ASCII in the path, which it
# percent-encodes as UTF-8 like `quote` does; its cost showed in the build of a large archive.
# The path: the characters markdown-it keeps as they are (ASCII letters, digits and
# -._~!$&'()*+,;=:@/?#) and any beyond ASCII but surrogates, written as what is excluded (a
# class of ranges up to U+10FFFF took 3 ms to compile, in every process).
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]+)?"
                        r"(?:[/?#][^\x00-\x20\"%<>\[\\\]^`{|}\x7f\ud800-\udfff]*)?")
_KEPT_IN_URLS = "!$&'()*+,;=:@/?#"


def _normalize_link(url: str) -> str:
    if not _PLAIN_URL.fullmatch(url) or url[-1].isspace():  # it trims trailing spaces
        return normalizeLink(url)
    return url if url.isascii() else quote(url, safe=_KEPT_IN_URLS)


def _normalize_source(state: StateCore) -> None:
    """markdown-it's first rule, without its regular expression that replaces every line end."""
    source = state.src
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in source:
        source = source.replace("\0", "\ufffd")
    state.src = source


_MD = _make_parser()  # with every rule


def _compact(html_text: str) -> str:
    """Characters beyond Latin-1 (’ « » … and the narrow no-break space) as character
    references: CPython then stores the HTML with one byte per character instead of two, which
    halves what a large archive's texts take in memory. Browsers and parsers read them alike."""
    if html_text.isascii():
        return html_text
    return html_text.encode("latin-1", "xmlcharrefreplace").decode("latin-1")


def render(source: str, resolve_image: ImageResolver | None = None, first_line: int = 1
           ) -> Rendered:
    env: dict = {_RESOLVE: resolve_image, _FIRST_LINE: first_line}
    parser = _parser_for(source)
    tokens = parser.parse(source, env)
    body = _compact(_CLEANER.clean(parser.renderer.render(tokens, parser.options, env)))
    words = "".join(env[_TEXT]).split()
    # The start of the text a reader sees, on one line (single spaces between words): only the
    # start is ever shown, and n words make at least 2n - 1 characters.
    text = " ".join(words[:EXCERPT // 2 + 1])[:EXCERPT]
    return Rendered(html=body, text=text, words=len(words), images=env[_IMAGES])
