"""Markdown to safe HTML: CommonMark + tables, footnotes and attributes, French typography,
video cards, and a maintained sanitizer (nh3) over the result."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import urlparse

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.footnote import footnote_plugin

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


@dataclass
class Rendered:
    html: str
    text: str
    words: int
    images: list[str] = field(default_factory=list)


def _video_rule(state: StateCore) -> None:
    tokens = state.tokens
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "paragraph_open" and index + 2 < len(tokens):
            content = tokens[index + 1].content.strip()
            link = _ALONE_LINK.match(content)
            bare = _ALONE_URL.match(content)
            url, label = (link.group(2), link.group(1)) if link else (
                (bare.group(1), None) if bare else (None, None))
            if url and video_service(url):
                card = Token("html_block", "", 0, content=video_card(url, label), map=token.map)
                out.append(card)
                index += 3
                continue
        if token.type == "html_block" and "<iframe" in token.content:
            # The sanitizer removes every iframe; a known player also becomes a card, so the
            # video stays one click away without a third-party frame in the page.
            videos = _embedded_videos(token.content)
            token.content += "".join(video_card(src, None) for src in videos)
        out.append(token)
        index += 1
    state.tokens = out


def _typography_rule(state: StateCore) -> None:
    for token in state.tokens:
        if token.type == "heading_open" and token.tag == "h1":
            token.tag = "h2"  # the page title is the only h1
        elif token.type == "heading_close" and token.tag == "h1":
            token.tag = "h2"
        if token.type != "inline" or not token.children:
            continue
        quotes = Quotes()
        in_autolink = 0
        for child in token.children:
            if child.type == "link_open":
                in_autolink += child.markup == "autolink"
            elif child.type == "link_close":
                in_autolink = max(0, in_autolink - 1)
            elif child.type == "text" and not in_autolink:
                child.content = french(child.content, quotes)


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.use(footnote_plugin).use(attrs_plugin, spans=True).use(attrs_block_plugin)
    md.core.ruler.after("block", "flash_video", _video_rule)
    md.core.ruler.after("inline", "flash_typography", _typography_rule)
    return md


_MD = _make_parser()


def _plain_text(tokens: list[Token]) -> str:
    """The text a reader sees, on one line: single spaces between words."""
    parts: list[str] = []
    append = parts.append
    for token in tokens:
        kind = token.type
        if kind == "inline":
            for child in token.children or ():
                child_kind = child.type
                if child_kind == "text" or child_kind == "code_inline":
                    append(child.content)
                elif child_kind == "softbreak" or child_kind == "hardbreak":
                    append(" ")
            append("\n")
        elif kind == "fence" or kind == "code_block":
            append(token.content)
    return " ".join("".join(parts).split())


_WIDE = re.compile(r"[^\x00-\xff]")


def _compact(html_text: str) -> str:
    """Characters beyond Latin-1 (’ « » … and the narrow no-break space) as character
    references: CPython then stores the HTML with one byte per character instead of two, which
    halves what a large archive's texts take in memory. Browsers and parsers read them alike."""
    if _WIDE.search(html_text) is None:
        return html_text
    return _WIDE.sub(lambda m: f"&#{ord(m.group())};", html_text)


def render(source: str, resolve_image: ImageResolver | None = None, first_line: int = 1
           ) -> Rendered:
    env: dict = {}
    tokens = _MD.parse(source, env)
    images: list[str] = []
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = first_line + (token.map[0] if token.map else 0)
        for index, child in enumerate(token.children):
            if child.type == "image" and resolve_image is not None:
                src = str(child.attrGet("src") or "")
                resolved = resolve_image(src, line)
                if resolved is None:
                    child.attrSet("loading", "lazy")
                    continue
                images.append(src)
                if isinstance(resolved, str):
                    child.attrSet("src", resolved)
                    child.attrSet("loading", "lazy")
                    continue
                alt = french(_MD.renderer.renderInlineAsText(child.children or [], _MD.options,
                                                             env))
                title = child.attrGet("title")
                token.children[index] = Token(
                    "html_inline", "", 0,
                    content=resolved.html(alt, french(str(title)) if title else None))
    body = _compact(_CLEANER.clean(_MD.renderer.render(tokens, _MD.options, env)))
    text = _plain_text(tokens)
    return Rendered(html=body, text=text, words=text.count(" ") + 1 if text else 0,
                    images=images)


def render_inline(source: str) -> str:
    """Short Markdown (an intro) without a paragraph wrapper around a single line."""
    return render(source).html
