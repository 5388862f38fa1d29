"""The one front-matter style of the project: YAML written the way Decap CMS writes it (the
`yaml` library 1.x it bundles, lines folded at 80 columns), so that a file saved by the editor
and a file formatted by `flash fmt` differ only where their content does.

The rules, for the shapes of Flash's content model (texts, whole numbers, true/false, lists,
mappings):
- keys in the order of the editor's fields; keys Flash does not know are kept, last;
- a text is plain when YAML would read it back as the same text, else double-quoted (or
  single-quoted when it holds a `"` and no `'`); a text of several lines is a literal block;
- lists are block lists, indented under their key; an empty value (null) is left out, as
  Flash reads it as missing;
- long texts are folded at spaces so that lines keep within 80 columns where they can.
"""

from __future__ import annotations

import re
from typing import Any

LINE_WIDTH, MIN_CONTENT_WIDTH = 80, 20
ARTICLE_ORDER = ("title", "organisation", "themes", "location", "summary", "image", "links",
                 "order", "draft")
ISSUE_ORDER = ("number", "date", "title", "intro", "preheader", "cover")
IMAGE_ORDER = ("src", "alt", "credit")
LINK_ORDER = ("label", "url")

# A plain scalar may not start with an indicator, hold ": " or " #", nor end with ":" or a
# space (YAML 1.2's rules, as the `yaml` library applies them).
_NOT_PLAIN = re.compile(r"^[\n\t ,\[\]{}#&*!|>'\"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n"
                        r"|[\n\t ]#|[\n\t :]$")
# What YAML 1.2's core schema would read as something else than a text.
_OTHER_TYPE = re.compile(r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
                         r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
                         r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0",
            "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x1b": "\\e", "\x85": "\\N",
            "\u00a0": "\\_", "\u2028": "\\L", "\u2029": "\\P"}


def fold(text: str, indent: str, quoted: bool, at_start: int) -> str:
    """Breaks `text` at single spaces between words so that lines keep within LINE_WIDTH;
    continuation lines start with `indent`. `at_start`: the column the text starts at."""
    step = max(1 + MIN_CONTENT_WIDTH, 1 + LINE_WIDTH - len(indent))
    if len(text) <= step:
        return text
    folds: list[int] = []
    end = LINE_WIDTH - len(indent)
    if at_start > LINE_WIDTH - max(2, MIN_CONTENT_WIDTH):
        folds.append(0)
    else:
        end = LINE_WIDTH - at_start
    split = None
    previous = ""
    for i, char in enumerate(text):
        if quoted and previous == "\\":
            previous = ""  # an escape's second character never folds
            continue
        if char == " " and previous not in ("", " ", "\n", "\t") and i + 1 < len(text) \
                and text[i + 1] not in (" ", "\n", "\t"):
            split = i
        if i >= end and split is not None:
            folds.append(split)
            end = split + step
            split = None
        previous = char
    if not folds:
        return text
    pieces = [text[:folds[0]]]
    for index, at in enumerate(folds):
        stop = folds[index + 1] if index + 1 < len(folds) else len(text)
        pieces.append(f"\n{indent}{text[:stop] if at == 0 else text[at + 1:stop]}")
    return "".join(pieces) if folds[0] != 0 else "".join(pieces[1:])


def scalar(value: Any, indent: str, at_start: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    controls = any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
    if "\n" in text and not controls:
        return _block(text, indent)
    if not text or _NOT_PLAIN.search(text) or _OTHER_TYPE.match(text) or controls:
        if '"' in text and "'" not in text:
            return fold("'" + text + "'", indent, False, at_start)
        escaped = "".join(_ESCAPES.get(c, c) if c in _ESCAPES and c != "\u00a0" else c
                          for c in text)
        return fold(f'"{escaped}"', indent, True, at_start)
    return fold(text, indent, False, at_start)


def _block(text: str, indent: str) -> str:
    chomp = "+" if text.endswith("\n\n") else "" if text.endswith("\n") else "-"
    body = text[:-1] if text.endswith("\n") and chomp == "" else text
    lines = body.split("\n")
    return f"|{chomp}\n" + "\n".join(f"{indent}{line}" if line else "" for line in lines)


def _ordered(mapping: dict, order: tuple[str, ...]) -> list[tuple[str, Any]]:
    known = [(k, mapping[k]) for k in order if k in mapping]
    return known + [(k, v) for k, v in mapping.items() if k not in order]


def _order_for(key: str) -> tuple[str, ...]:
    return {"image": IMAGE_ORDER, "cover": IMAGE_ORDER, "links": LINK_ORDER}.get(key, ())


def mapping(data: dict, order: tuple[str, ...], depth: int = 0) -> list[str]:
    pad = " " * depth
    lines: list[str] = []
    for key, value in _ordered(data, order):
        if value is None:
            continue
        lines += pair(key, value, pad, _order_for(key))
    return lines


def pair(key: str, value: Any, pad: str, order: tuple[str, ...]) -> list[str]:
    head = f"{pad}{key}:"
    inner = pad + "  "
    if isinstance(value, dict):
        if not value:
            return [f"{head} {{}}"]
        return [head, *mapping(value, order, len(inner))]
    if isinstance(value, list):
        if not value:
            return [f"{head} []"]
        lines = [head]
        for item in value:
            lines += _item(item, inner, order)
        return lines
    return [f"{head} {scalar(value, inner, len(head) + 1)}"]


def _item(item: Any, pad: str, order: tuple[str, ...]) -> list[str]:
    if isinstance(item, dict) and item:
        inner = mapping(item, order, len(pad) + 2)
        return [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
    if isinstance(item, list | dict):
        return [f"{pad}- {'[]' if isinstance(item, list) else '{}'}"]
    return [f"{pad}- {scalar(item, pad + '  ', len(pad) + 2)}"]


def front_matter(data: dict, order: tuple[str, ...]) -> str:
    return "".join(line + "\n" for line in mapping(data, order))
