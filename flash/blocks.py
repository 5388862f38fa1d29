"""A fast path for markdown-it's block parser, for texts made only of the blocks articles
mostly hold: paragraphs, `#` headings, `-` lists of one line per item, and `>` quotes.

markdown-it tries each of its block rules at every line (a list, a rule, a heading, a table…),
through a state object that measures every line's indentation first: half of an article's
parsing time. A text whose every line obviously starts one of these blocks, or continues a
paragraph, has its tokens made here, line by line, as markdown-it makes them (tests compare the
two on thousands of random texts). Any line that might mean something else (indentation, `*`,
`1.`, `---`, `===`, a fence, HTML, a table, a reference or a footnote definition, attributes…)
sends the whole text to markdown-it.
"""

from __future__ import annotations

import dataclasses
import re

from markdown_it.token import Token

_KNOWN_FIELDS = {"type", "tag", "nesting", "attrs", "map", "level", "children", "content",
                 "markup", "info", "meta", "block", "hidden"}


def _fields_set(kind: str, tag: str, nesting: int, *, map: list[int] | None = None,
                level: int = 0, content: str = "", markup: str = "", hidden: bool = False,
                children: list[Token] | None = None) -> Token:
    """Token(…, block=True), its fields set directly: half the cost of the dataclass's
    constructor, which an article's hundred-odd tokens made a third of this module's time."""
    token = _new(Token)
    token.type, token.tag, token.nesting, token.attrs, token.map = kind, tag, nesting, {}, map
    token.level, token.children, token.content, token.markup = level, children, content, markup
    token.info, token.meta, token.block, token.hidden = "", {}, True, hidden
    return token


def _constructed(kind: str, tag: str, nesting: int, **fields) -> Token:
    return Token(kind, tag, nesting, block=True, **fields)


_new = object.__new__
# A markdown-it whose tokens have other fields gets its own constructor.
_token = (_fields_set if {field.name for field in dataclasses.fields(Token)} == _KNOWN_FIELDS
          else _constructed)

try:  # markdown-it-py 4 trims the CommonMark set of white space, 3 Python's
    from markdown_it.common.utils import mdTrim as _trim
except ImportError:  # pragma: no cover
    _trim = str.strip

# First characters a paragraph line may not have here: they may start another block (or, for
# a backslash, escape one). "#", "-" and ">" are looked at below, "*", "+" and "_" in _prose;
# "[" may start a reference definition only where "]:" follows, and texts with "]:" go to
# markdown-it.
_UNSAFE = frozenset(" \t#>-=~`|<:{\\")
_ORDERED = re.compile(r"\d{1,9}[.)](?:[ \t]|$)")
_HEADING = re.compile(r"(#{1,6}) +(\S.*)")
_BREAK = re.compile(r"([*_])[ \t]*(?:\1[ \t]*){2,}")  # a thematic break of * or _


def _prose(line: str) -> bool:
    """Whether `line` can only be text of a paragraph (or continue one)."""
    first = line[0]
    if first in _UNSAFE:
        return False
    if first in "*+" and line[1:2] in ("", " ", "\t"):
        return False  # a list item
    if first in "*_":
        return _BREAK.fullmatch(line) is None  # bold or italics, not a rule
    return not (first.isdigit() and _ORDERED.match(line))


def _heading(line: str) -> tuple[int, str] | None:
    found = _HEADING.fullmatch(line)
    if found is None:
        return None
    content = _trim(found.group(2))
    if not content or content.endswith("#") or "\t" in found.group(0):
        return None  # a closing sequence, or tabs: left to markdown-it
    return len(found.group(1)), content


def _item(line: str) -> str | None:
    """The text of a `- ` list item line, if that is surely all it is."""
    if line.startswith("- ") and len(line) > 2 and _prose(line[2:]):
        return line[2:]
    return None


def _quoted(line: str) -> str | None:
    if line.startswith("> ") and len(line) > 2 and _prose(line[2:]):
        return line[2:]
    return None


def _blank(line: str) -> bool:
    return not line.strip(" \t")


def parse(source: str) -> list[Token] | None:
    """markdown-it's block tokens for `source`, or None when it is not that simple."""
    if "]:" in source:  # maybe a reference or footnote definition
        return None
    lines = source.split("\n")
    if _blank(lines[-1]):  # markdown-it counts no line after the last line end but text
        lines.pop()
    count = len(lines)
    tokens: list[Token] = []
    index = 0
    while index < count:
        line = lines[index]
        if _blank(line):
            index += 1
            continue
        heading = _heading(line) if line[0] == "#" else None
        if heading is not None:
            level, content = heading
            markup = "#" * level
            where = [index, index + 1]
            tokens += (_token("heading_open", f"h{level}", 1, map=where, markup=markup),
                       _token("inline", "", 0, map=list(where), level=1, content=content,
                              children=[]),
                       _token("heading_close", f"h{level}", -1, markup=markup))
            index += 1
            continue
        if line[0] == "-":
            end = _list(lines, index, tokens)
        elif line[0] == ">":
            end = _quote(lines, index, tokens)
        elif _prose(line):
            end = _paragraph(lines, index, tokens, 0, lambda text: text)
        else:
            return None
        if end is None:
            return None
        index = end
    return tokens


def _paragraph(lines: list[str], start: int, tokens: list[Token], level: int,
               text_of) -> int | None:
    """A paragraph from `start` (whose line is prose); `text_of`: a line's text, None if the
    line leaves the paragraph's container. Returns the line after it, None if unsure."""
    end = start + 1
    count = len(lines)
    while end < count:
        line = lines[end]
        if _blank(line):
            break
        text = text_of(line)
        if text is None or not _prose(text):
            if level == 0 and (_heading(line) if line[0] == "#" else None) is not None:
                break  # a heading ends the paragraph
            if level == 0 and _item(line) is not None:
                break  # so does a list (of a non-empty item), and a quote
            if level == 0 and _quoted(line) is not None:
                break
            return None
        end += 1
    content = _trim("\n".join(text_of(line) for line in lines[start:end]))
    where = [start, end]
    tokens += (_token("paragraph_open", "p", 1, map=where, level=level),
               _token("inline", "", 0, map=list(where), level=level + 1, content=content,
                      children=[]),
               _token("paragraph_close", "p", -1, level=level))
    return end


def _list(lines: list[str], start: int, tokens: list[Token]) -> int | None:
    """A tight `-` list from `start`, followed by a blank line or the end."""
    end = start
    count = len(lines)
    while end < count and _item(lines[end]) is not None:
        end += 1
    if end == start:
        return None
    after = end
    while after < count and _blank(lines[after]):
        after += 1
    if end < count and (end == after or (after < count and lines[after].startswith("-"))):
        return None  # something right after the list, or maybe more of it: markdown-it's
    last_end = after  # the last item takes the blank lines after it
    opening = _token("bullet_list_open", "ul", 1, map=[start, last_end], markup="-")
    tokens.append(opening)
    for line in range(start, end):
        stop = last_end if line == end - 1 else line + 1
        tokens.append(_token("list_item_open", "li", 1, map=[line, stop], level=1, markup="-"))
        where = [line, line + 1]
        tokens += (_token("paragraph_open", "p", 1, map=where, level=2, hidden=True),
                   _token("inline", "", 0, map=list(where), level=3,
                          content=_trim(lines[line][2:]), children=[]),
                   _token("paragraph_close", "p", -1, level=2, hidden=True),
                   _token("list_item_close", "li", -1, level=1, markup="-"))
    tokens.append(_token("bullet_list_close", "ul", -1, markup="-"))
    return end


def _quote(lines: list[str], start: int, tokens: list[Token]) -> int | None:
    """A `>` quote holding one paragraph, each line marked, followed by a blank line or the
    end."""
    if _quoted(lines[start]) is None:
        return None
    opening = _token("blockquote_open", "blockquote", 1, markup=">")
    tokens.append(opening)
    end = _paragraph(lines, start, tokens, 1, _quoted)
    if end is None or (end < len(lines) and not _blank(lines[end])):
        return None
    opening.map = [start, end]
    tokens.append(_token("blockquote_close", "blockquote", -1, markup=">"))
    return end
