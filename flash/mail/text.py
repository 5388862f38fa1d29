"""Plain text for the text/plain part: sanitised article HTML to wrapped lines, links numbered.

Links become "label [n]" in the text and "[n] URL" in a list under each article, the layout
plain-text readers expect. Lines are wrapped at 72 columns, never inside a URL, and never at a
no-break space: French typography (« », ; ! ?) stays glued to its word.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from flash.typography import NBSP

WIDTH = 72
BLOCKS = {"p", "div", "section", "figure", "figcaption", "table", "pre", "hr", "h1", "h2", "h3",
          "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "tr", "dl", "dt", "dd"}
SKIPPED = {"script", "style", "template"}
BULLET = "•"
_SPACES = re.compile(r"[ \t\n\r\f\v]+")


@dataclass
class Links:
    """The numbered links of one article; the same URL keeps its first number."""

    urls: list[str] = field(default_factory=list)

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def lines(self) -> list[str]:
        return [f"[{n}] {url}" for n, url in enumerate(self.urls, 1)]


@dataclass
class _Block:
    kind: str  # "p", "h", "li", "quote", "pre", "hr"
    text: str
    depth: int = 0
    marker: str = ""


class _Converter(HTMLParser):
    def __init__(self, links: Links, absolute: Callable[[str], str]) -> None:
        super().__init__(convert_charrefs=True)
        self.links = links
        self.absolute = absolute
        self.blocks: list[_Block] = []
        self.buffer: list[str] = []
        self.href: list[str | None] = []
        self.lists: list[list[int | None]] = []  # per open list: [next number] or [None] for ul
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.heading = False
        self.item_marker: str | None = None
        self.table = 0
        self.anchor = ""  # href of the in-page link being read: footnote call or back-reference

    # -- text collection
    def _flush(self) -> None:
        raw = "".join(self.buffer)
        self.buffer = []
        # ASCII whitespace only: str.split() would also eat the no-break spaces of French
        # typography.
        text = raw.strip("\n") if self.pre else _SPACES.sub(" ", raw).strip(" ")
        if not text:
            return
        if self.pre:
            kind = "pre"
        elif self.table:
            kind = "row"
        elif self.heading:
            kind = "h"
        elif self.item_marker is not None:
            kind = "li"
        elif self.quote:
            kind = "quote"
        else:
            kind = "p"
        marker = self.item_marker or ""
        self.item_marker = None if kind == "li" else self.item_marker
        self.blocks.append(_Block(kind, text, depth=max(0, len(self.lists) - 1), marker=marker))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in SKIPPED:
            self.skip += 1
            return
        if tag in BLOCKS:
            self._flush()
        if tag in ("ul", "ol"):
            start = values.get("start")
            self.lists.append([None] if tag == "ul" else [int(start) if start and
                                                          start.isdigit() else 1])
        elif tag == "li" and self.lists:
            counter = self.lists[-1]
            if counter[0] is None:
                self.item_marker = BULLET
            else:
                self.item_marker = f"{counter[0]}."
                counter[0] += 1
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.heading = True
        elif tag == "br":
            self.buffer.append("\n" if self.pre else " ")
        elif tag == "hr":
            self.blocks.append(_Block("hr", ""))
        elif tag == "img":
            alt = (values.get("alt") or "").strip()
            if alt:
                self.buffer.append(f" (image{NBSP}: {alt}) ")
        elif tag == "a":
            href = values.get("href") or ""
            self.href.append(href)
            self.anchor = href if href.startswith("#") else ""
        elif tag in ("td", "th"):
            self.buffer.append(" | " if "".join(self.buffer).strip() else "")
        elif tag == "table":
            self.table += 1
        elif tag == "span" and "video-card__service" in (values.get("class") or ""):
            self.buffer.append(" – ")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "a" and self.href:
            href = self.href.pop()
            self.anchor = ""
            # In-page anchors (footnote calls) mean nothing in plain text.
            if href and not href.startswith("#"):
                self.buffer.append(f"{NBSP}[{self.links.number(self.absolute(href))}]")
            return
        if tag in BLOCKS:
            self._flush()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "table":
            self.table = max(0, self.table - 1)
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.heading = False

    def handle_data(self, data: str) -> None:
        if self.skip or self.anchor.startswith("#fnref"):
            return  # a footnote's "↩" back to its call: nowhere to go back to in plain text
        if self.anchor.startswith("#fn"):
            data = data.replace("[", "(").replace("]", ")")  # "[1]" is how links are numbered
        self.buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def wrap(text: str, *, indent: str = "", hanging: str | None = None, width: int = WIDTH
         ) -> list[str]:
    """Lines of at most `width` columns, broken at ASCII spaces only; a word longer than a line
    stays whole on its own. Text made of words and single spaces (what _Converter produces)
    takes a direct greedy fill, which gives the same lines as textwrap several times faster;
    anything else goes to textwrap."""
    later = hanging if hanging is not None else indent
    if not text or text[0] == " " or text[-1] == " " or "  " in text or _OTHER_SPACES.search(
            text):
        wrapper = textwrap.TextWrapper(width=width, initial_indent=indent,
                                       subsequent_indent=later, break_long_words=False,
                                       break_on_hyphens=False)
        return wrapper.wrap(text) or [indent.rstrip()]
    lines: list[str] = []
    prefix, room = indent, width - len(indent)
    words: list[str] = []
    length = 0
    for word in text.split(" "):
        if words and length + 1 + len(word) > room:
            lines.append(prefix + " ".join(words))
            prefix, room = later, width - len(later)
            words, length = [], 0
        length += len(word) + (1 if words else 0)
        words.append(word)
    lines.append(prefix + " ".join(words))
    return lines


_OTHER_SPACES = re.compile(r"[\t\n\r\f\v]")


def html_to_lines(html: str, links: Links, absolute: Callable[[str], str]) -> list[str]:
    """The blocks of an HTML fragment as wrapped lines, blank lines between blocks."""
    converter = _Converter(links, absolute)
    converter.feed(html)
    converter.close()
    lines: list[str] = []
    previous: _Block | None = None
    for block in converter.blocks:
        # Consecutive items of a list or rows of a table stay together; the rest are paragraphs.
        together = previous and previous.kind == block.kind and block.kind in ("li", "row")
        if lines and not together:
            lines.append("")
        if block.kind == "h":
            lines.extend(heading(block.text, "-"))
        elif block.kind == "li":
            pad = "  " * (block.depth + 1)
            lines.extend(wrap(block.text, indent=f"{pad}{block.marker} ",
                              hanging=pad + " " * (len(block.marker) + 1)))
        elif block.kind == "quote":
            lines.extend(wrap(block.text, indent="> "))
        elif block.kind == "pre":
            lines.extend("    " + line for line in block.text.splitlines())
        elif block.kind == "hr":
            lines.append("* * *".center(WIDTH).rstrip())
        else:
            lines.extend(wrap(block.text))
        previous = block
    return lines


def heading(text: str, underline: str) -> list[str]:
    """A title marked the way plain-text readers know (Markdown's setext style)."""
    lines = wrap(text)
    return [*lines, underline * max(len(line) for line in lines)]
