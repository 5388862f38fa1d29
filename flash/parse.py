"""Parsing one content file on its own: YAML front matter and Markdown, nothing shared.

This is the expensive, per-file part of reading the content. It depends only on the file's bytes
and its place under the content root, so its result can be computed in a worker process and kept
in the build cache; validate.py then checks it against the rest of the content. Image references
met in the Markdown are resolved by validate.py's resolver and recorded: the build replays them
through its own resolver, which reports the problems into the build's diagnostics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flash.sources import SourceError, Yaml, decode, parse_yaml, split_front_matter
from flash.typography import french

ISSUE_FILE = "issue.yaml"

# (file, its folder, line offset) -> the image resolver flash.markdown calls: validate.py's own
ResolverFactory = Callable[[Path, Path, int], Callable[[str, int], Any]]


@dataclass(frozen=True, slots=True)
class Rendering:
    """markdown.Rendered, as plain picklable values."""

    html: str
    text: str
    words: int
    images: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    error: tuple[int | None, str] | None = None  # (line, French message): the file is unusable
    front: Yaml | None = None  # the article's front matter, or the whole issue.yaml
    duplicates: tuple[tuple[str, int], ...] = ()
    front_line: int = 1
    body_line: int = 1
    empty: bool = False  # article without text under its front matter
    rendered: Rendering | None = None  # article body, or the issue's intro
    image_refs: tuple[tuple[str, int], ...] = ()  # (src, line as given to the resolver)
    # Other files the result depends on (the images it shows): (path, size, mtime in ns)
    depends: tuple[tuple[str, int, int], ...] = ()
    # (text, its French typography) for the front matter's texts, done here on every core
    typeset: tuple[tuple[str, str], ...] = ()
    # (line, sample text of `flash new`) found in the body: see validate._placeholders
    placeholders: tuple[tuple[int, str], ...] = ()
    digest: bytes = b""  # of the file's bytes: what the parsed form is the value of


Refs = tuple[tuple[str, int], ...]
Depends = tuple[tuple[str, int, int], ...]


def stats(paths: Iterable[Path]) -> Depends:
    """(path, size, modification time) of each readable file: to tell later if they changed."""
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except (OSError, ValueError):
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def unchanged(depends: Depends) -> bool:
    for name, size, mtime in depends:
        try:
            stat = os.stat(name)
        except OSError:
            return False
        if stat.st_size != size or stat.st_mtime_ns != mtime:
            return False
    return True


def _depends(base: Path, refs: Refs) -> Depends:
    targets = []
    for src, _ in refs:
        try:
            targets.append((base / src).resolve())
        except (OSError, ValueError):
            continue
    return stats(targets)


# Front-matter texts shown with French typography (validate.py's `_french`); link labels too.
TYPESET_KEYS = ("title", "summary", "location", "preheader")


def _typeset(data: object) -> tuple[tuple[str, str], ...]:
    """The texts of the front matter that pages show (titles, summaries, places, link labels),
    stripped as validate.py reads them, with their French typography."""
    if not isinstance(data, dict):
        return ()
    texts = [data.get(key) for key in TYPESET_KEYS]
    links = data.get("links")
    if isinstance(links, list):
        texts += [link.get("label") for link in links if isinstance(link, dict)]
    stripped = dict.fromkeys(text.strip() for text in texts if isinstance(text, str))
    return tuple((text, french(text)) for text in stripped if text)


def _placeholders(body: str, first_line: int) -> tuple[tuple[int, str], ...]:
    from flash.scaffold import PLACEHOLDERS

    found = []
    for text in PLACEHOLDERS:
        index = body.find(text)
        if index >= 0:
            found.append((first_line + body.count("\n", 0, index), text))
    return tuple(found)


def _render(text: str, path: Path, base: Path, offset: int, first_line: int,
            resolvers: ResolverFactory) -> tuple[Rendering, Refs]:
    from flash import markdown  # markdown-it is only needed when something must be parsed

    refs: list[tuple[str, int]] = []
    resolver = resolvers(path, base, offset)

    def resolve(src: str, line: int) -> Any:
        refs.append((src, line))
        return resolver(src, line)

    done = markdown.render(text, resolve, first_line)
    return Rendering(done.html, done.text, done.words, tuple(done.images)), tuple(refs)


def parse_article(path: Path, raw: bytes, resolvers: ResolverFactory) -> Parsed:
    try:
        document = split_front_matter(decode(raw))
        front, duplicates = parse_yaml(document.front, document.front_line)
    except SourceError as exc:
        return Parsed(error=(exc.line, exc.message))
    if not document.body.strip():
        return Parsed(front=front, duplicates=tuple(duplicates), front_line=document.front_line,
                      body_line=document.body_line, empty=True)
    rendered, refs = _render(document.body, path, path.parent, 0, document.body_line,
                             resolvers)
    return Parsed(front=front, duplicates=tuple(duplicates), front_line=document.front_line,
                  body_line=document.body_line, rendered=rendered, image_refs=refs,
                  depends=_depends(path.parent, refs), typeset=_typeset(front.data),
                  placeholders=_placeholders(document.body, document.body_line))


def parse_issue(path: Path, raw: bytes, resolvers: ResolverFactory) -> Parsed:
    try:
        front, duplicates = parse_yaml(decode(raw))
    except SourceError as exc:
        return Parsed(error=(exc.line, exc.message))
    intro = front.data.get("intro") if isinstance(front.data, dict) else None
    rendered, refs = None, ()
    if isinstance(intro, str) and intro.strip():
        rendered, refs = _render(intro.strip(), path, path.parent, front.line("intro"), 1,
                                 resolvers)
    return Parsed(front=front, duplicates=tuple(duplicates), rendered=rendered, image_refs=refs,
                  depends=_depends(path.parent, refs), typeset=_typeset(front.data))


def parse_file(path: Path, raw: bytes, resolvers: ResolverFactory) -> Parsed:
    if path.name == ISSUE_FILE:
        return parse_issue(path, raw, resolvers)
    return parse_article(path, raw, resolvers)
