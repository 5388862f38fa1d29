"""Faster ways to markdown-it's own tokens, for the texts articles mostly are: `install`
wires them into a parser. A parser without them (flash.markdown, `fast=False`) gives the same
HTML: tests compare the two on thousands of random texts, and every path steps aside when its
conditions do not hold (another markdown-it, other rules, a text it is not sure of).

- Blocks: texts made only of paragraphs, `#` headings, `-` lists of one line per item and `>`
  quotes get their block tokens line by line. markdown-it tries each of its block rules at
  every line, through a state object that measures every line's indentation first: half of
  an article's parsing time. Any line that might mean something else (indentation, `*`,
  `1.`, `---`, `===`, a fence, HTML, a table, a reference or footnote definition,
  attributes…) sends the whole text to markdown-it.
- Plain pieces: pieces of prose holding none of the marks where an inline rule may start get
  their text and line-break tokens without markdown-it's inline parser.
- Rules a text cannot use: a text lacking the marks a rule needs is parsed with that rule off.
- Plain links: http(s) addresses markdown-it's normalizeLink would return unchanged skip it.

What each is worth is measured by bench/markdown_bench.py (figures in BENCHMARKS.md).
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.rules_core import StateCore
from markdown_it.rules_core import block as block_rule
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


def block_tokens(source: str) -> list[Token] | None:
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


# --- wiring into markdown-it ---------------------------------------------------------------

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
    """markdown-it's `block` core rule, with the fast path for simple texts."""
    if not state.inlineMode:
        tokens = block_tokens(state.src)
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


# markdown-it tries its rules at every line (block rules) and at every punctuation mark
# (inline rules). Many can only match where certain characters occur: a text without any of
# them is parsed with those rules off, which gives the same tokens with fewer calls.
# (any of these in the text, block rules, inline rules)
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
# (mark, one of its less common characters, bit): a search for one character is far faster
# than for several (5 µs for "[^" in a 5 KB article), so "[^" is looked for only in a text that
# has a "^".
_GUARDS = {"```": "`", "~~~": "~", "~~": "~", "[^": "^", "^[": "^", "]:": ":"}
_MARKS = tuple((mark, _GUARDS.get(mark, ""), 1 << bit)
               for bit, (marks, _, _) in enumerate(_TRIGGERED) for mark in marks)
_ALL = (1 << len(_TRIGGERED)) - 1


def absent_rules(source: str) -> int:
    """Bits of the _TRIGGERED groups whose marks `source` lacks: their rules can be off."""
    present = 0
    for mark, guard, bit in _MARKS:  # a plain loop: this runs for every text of the archive
        if (not guard or guard in source) and mark in source:
            present |= bit
    return _ALL ^ present


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
    """markdown-it's normalizeLink, which plain http(s) addresses skip."""
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


# Each fast path by name, for bench/markdown_bench.py to measure what each is worth.
PATHS = frozenset(("blocks", "plain", "rules", "links", "newlines"))


def install(md: MarkdownIt, absent: int = 0, paths: frozenset[str] = PATHS) -> None:
    """Wires the fast paths into `md`, Flash's parser with its plugins and rules; `absent`:
    the bits of absent_rules(text) for the texts it will parse (their rules go off)."""
    if "newlines" in paths:
        md.core.ruler.at("normalize", _normalize_source)
    if ("plain" in paths and set(md.inline.ruler.get_active_rules()) <= _RULES_AT_MARKS
            and set(md.inline.ruler2.get_active_rules()) <= _RULES_AFTER):
        md.core.ruler.at("inline", _parse_inlines)
    if "blocks" in paths and set(md.block.ruler.get_active_rules()) <= _BLOCK_RULES:
        md.core.ruler.at("block", _parse_blocks)
    if "links" in paths:
        md.normalizeLink = _normalize_link  # type: ignore[method-assign]
    if "rules" in paths:
        for bit, (_, block_rules, inline_rules) in enumerate(_TRIGGERED):
            if absent >> bit & 1:
                md.block.ruler.disable(list(block_rules), ignoreInvalid=True)
                md.inline.ruler.disable(list(inline_rules), ignoreInvalid=True)
