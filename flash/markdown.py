"""Markdown to safe HTML: CommonMark + tables, footnotes and attributes, French typography,
video cards, and a maintained sanitizer (nh3) over the result."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import urlparse

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.footnote import footnote_plugin

from flash import markdown_fast
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


# The fast paths to use: True for all of flash.markdown_fast's, False for none (markdown-it
# alone, the same HTML), or some of them by name (bench/markdown_bench.py measures each).
Fast = bool | frozenset[str]


@lru_cache(maxsize=64)  # one per mixture of marks met (absent_rules) and of paths: a handful
def parser(absent: int = 0, fast: Fast = True) -> MarkdownIt:
    """Flash's parser; `absent`: with the fast paths, bits of markdown_fast.absent_rules for
    the texts it will parse."""
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.use(footnote_plugin).use(attrs_plugin, spans=True).use(attrs_block_plugin)
    md.core.ruler.after("block", "flash_video", _video_rule)
    md.core.ruler.after("inline", "flash_inline", _inline_rule)
    paths = markdown_fast.PATHS if fast is True else fast or frozenset()
    if paths:
        markdown_fast.install(md, absent, paths)
    return md


def parser_for(source: str, fast: Fast = True) -> MarkdownIt:
    if fast is False or fast == frozenset():
        return parser(0, False)
    return parser(markdown_fast.absent_rules(source), fast)


def _compact(html_text: str) -> str:
    """Characters beyond Latin-1 (’ « » … and the narrow no-break space) as character
    references: CPython then stores the HTML with one byte per character instead of two, which
    halves what a large archive's texts take in memory. Browsers and parsers read them alike."""
    if html_text.isascii():
        return html_text
    return html_text.encode("latin-1", "xmlcharrefreplace").decode("latin-1")


def render(source: str, resolve_image: ImageResolver | None = None, first_line: int = 1,
           *, fast: Fast = True) -> Rendered:
    """The article's HTML, sanitised, and its text; `fast`: see Fast."""
    env: dict = {_RESOLVE: resolve_image, _FIRST_LINE: first_line}
    md = parser_for(source, fast)
    tokens = md.parse(source, env)
    body = _compact(_CLEANER.clean(md.renderer.render(tokens, md.options, env)))
    words = "".join(env[_TEXT]).split()
    # The start of the text a reader sees, on one line (single spaces between words): only the
    # start is ever shown, and n words make at least 2n - 1 characters.
    text = " ".join(words[:EXCERPT // 2 + 1])[:EXCERPT]
    return Rendered(html=body, text=text, words=len(words), images=env[_IMAGES])
