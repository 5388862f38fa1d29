"""Reading content files: UTF-8 text, front matter, and YAML that remembers each key's line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flash.diagnostics import LINE_BREAKS, shown
from flash.explain import explain

# PyYAML takes ~20 ms to import: parse_yaml imports it at its first call, which in a build is in
# each worker process, after they started, not before.

# Bounds on what one YAML text may hold: a front matter uses 3 or 4 levels and a few dozen
# values, organisations.yaml a few hundred; far above that is a mistake or an attack, refused
# before it costs more than a fraction of a second.
MAX_YAML_CHARS = 500_000
MAX_DEPTH = 20
MAX_VALUES = 50_000
# Plain scalars Flash reads as integers: canonical decimals of 18 digits at most (longer ones
# stay texts, so Python's int/str digit limit is never reached; "007" stays a text too).
_INTEGER = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# YAML 1.1's yes/no/on/off stay texts: « title: Non » is a title.
_BOOLEANS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
             "FALSE": False}
_STANDARD_TAG = "tag:yaml.org,2002:"
_COMMENT_VALUE = re.compile(r"[ \t]*(?:-[ \t]+)*[^#\s][^#]*?:[ \t]+(#.*?)\s*$")


class SourceError(Exception):
    """A file cannot be read as content; `line` locates the problem."""

    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Yaml:
    data: Any
    lines: dict[str, int]  # "image.alt" / "links.0.url" -> 1-based line in the file
    first_line: int = 1  # line of the document's first line in the file
    # keys written with an empty value and a comment on their line ("title: # Bilan"): the
    # comment's text, which the team may have meant as the value
    comments: dict[str, str] = field(default_factory=dict)

    def line(self, *path: str | int) -> int:
        """Line of the most precise key known along `path`, else the document's start."""
        parts = [str(p) for p in path]
        while parts:
            found = self.lines.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return self.first_line


def read_text(path: Path) -> str:
    return decode(path.read_bytes())


SAVE_AS_UTF8 = (
    "enregistrez-le en UTF-8 : dans le Bloc-notes, « Fichier > Enregistrer sous », Encodage "
    "« UTF-8 » ; dans LibreOffice, « Enregistrer sous », cochez « Éditer les paramètres du "
    "filtre », puis jeu de caractères « Unicode (UTF-8) » ; dans Word, « Enregistrer sous », "
    "type « Texte brut », puis codage « Unicode (UTF-8) »")


def decode(raw: bytes) -> str:
    """UTF-8 text of a content file, or a SourceError on the line of the first bad byte."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(1, f"le fichier est enregistré en UTF-16 (« Unicode ») : {SAVE_AS_UTF8}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        end = raw.find(b"\n", exc.start)
        near = raw[start:end if end >= 0 else len(raw)].decode("cp1252", "replace").strip()
        raise SourceError(
            line, f"le fichier n’est pas enregistré en UTF-8 (ligne {line} : « {shown(near)} ») : "
            f"{SAVE_AS_UTF8}") from None
    nul = text.find("\x00")
    if nul >= 0:
        line = len(LINE_BREAKS.findall(text, 0, nul)) + 1
        raise SourceError(line, "caractère nul (invisible) dans le texte, souvent laissé par un "
                          f"copier-coller ou un fichier enregistré en UTF-16 : {SAVE_AS_UTF8}, "
                          "ou retapez cette ligne")
    return text


def _tag_shown(tag: str) -> str:
    return "!!" + tag[len(_STANDARD_TAG):] if tag.startswith(_STANDARD_TAG) else tag


def _refused(event: Any, line: int) -> SourceError | None:
    """Why a node cannot be taken (an alias, an anchor or a tag), or None."""
    anchor = getattr(event, "anchor", None)
    if type(event).__name__ == "AliasEvent":
        return SourceError(line, f"« *{shown(anchor, 30)} » : une valeur qui commence par « * » "
                           "est un alias YAML (une référence à une autre valeur), que Flash "
                           "n’accepte pas : si c’est un texte, mettez-le entre guillemets, sinon "
                           "recopiez la valeur elle-même")
    if anchor is not None:
        return SourceError(line, f"« &{shown(anchor, 30)} » : une valeur qui commence par « & » "
                           "est une ancre YAML (une valeur à réutiliser ailleurs), que Flash "
                           "n’accepte pas : si c’est un texte, mettez-le entre guillemets, sinon "
                           f"retirez « &{shown(anchor, 30)} »")
    tag = getattr(event, "tag", None)
    if tag is not None:
        written = shown(_tag_shown(tag), 30)
        return SourceError(line, f"« {written} » : une valeur qui commence par « ! » est une "
                           "étiquette de type YAML, que Flash n’accepte pas : si c’est un texte, "
                           f"mettez-le entre guillemets, sinon retirez « {written} »")
    return None


def _plain(value: str) -> Any:
    """What an unquoted scalar means to Flash: null, true/false, an integer, else the text.
    Dates stay texts (validate.py reads the one date field); so do floats, unused."""
    if value in _NULLS:
        return None
    if value in _BOOLEANS:
        return _BOOLEANS[value]
    if value[0] in "0123456789+-" and _INTEGER.fullmatch(value):
        return int(value)
    return value


class _Lines:
    """The text's lines, split at the first need only (comments after an empty value)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.split: list[str] | None = None

    def __getitem__(self, index: int) -> str:
        if self.split is None:
            self.split = LINE_BREAKS.split(self.text)
        return self.split[index] if 0 <= index < len(self.split) else ""


_KEY = object()  # a mapping's frame waits for a key, not a value


def _build(events: Any, text: str, first_line: int) -> tuple[Yaml, list[tuple[str, int]]]:
    """The document from PyYAML's events: plain Python values, each key's line, and nothing
    PyYAML would build beyond them (no alias is followed, no tag constructed)."""
    import yaml

    scalar, mapping, sequence = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    comments: dict[str, str] = {}
    source = _Lines(text)
    # frames: [container, prefix of its paths, key awaiting its value (or _KEY)]
    stack: list[list[Any]] = []
    root: Any = None
    count = documents = 0
    get = events.get_event
    while True:
        event = get()
        kind = type(event)
        if kind is scalar or kind is mapping or kind is sequence or kind is yaml.AliasEvent:
            count += 1
            line = event.start_mark.line + first_line
            if (count > MAX_VALUES or event.anchor is not None or kind is yaml.AliasEvent
                    or event.tag is not None):
                raise _refused(event, line) or SourceError(
                    line, f"ce texte YAML a trop de valeurs (plus de {MAX_VALUES:,}) : "
                    "découpez-le".replace(",", "\u202f"))
            if kind is scalar:
                value = event.value if event.style else _plain(event.value)
                opened = None
            else:
                if len(stack) >= MAX_DEPTH:
                    raise SourceError(line, f"valeurs imbriquées trop profondément (plus de "
                                      f"{MAX_DEPTH} niveaux) : un fichier de Flash en demande "
                                      "trois ou quatre ; vérifiez les décalages et les crochets")
                value = opened = {} if kind is mapping else []
            if not stack:
                root, path = value, ""
            else:
                frame = stack[-1]
                container = frame[0]
                if frame[2] is not _KEY:  # a mapping's value
                    path = frame[1] + frame[2]
                    container[frame[2]] = value
                    frame[2] = _KEY
                    if value is None and event.value == "" and not event.style:
                        found = _COMMENT_VALUE.match(source[lines[path] - first_line])
                        if found and found.group(1).strip("# \t"):
                            comments[path] = found.group(1)
                elif type(container) is list:
                    path = frame[1] + str(len(container))
                    lines[path] = line
                    container.append(value)
                else:  # a mapping's key: a scalar, kept as written
                    if kind is not scalar:
                        raise SourceError(line, "une clé doit être un simple mot suivi de "
                                          "« : », pas une liste ni un ensemble de clés")
                    path = frame[1] + event.value
                    if event.value in container:
                        duplicates.append((path, line))
                    lines[path] = line
                    frame[2] = event.value
                    continue
            if opened is not None:
                stack.append([opened, path + "." if stack else "", _KEY])
        elif kind in ends:
            stack.pop()
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise SourceError(event.start_mark.line + first_line,
                                  "une ligne « --- » coupe ce fichier en deux : un fichier de "
                                  "Flash n’a qu’une partie ; retirez cette ligne")
        elif kind is yaml.StreamEndEvent or event is None:
            return Yaml(root, lines, first_line, comments), duplicates


def parse_yaml(text: str, first_line: int = 1) -> tuple[Yaml, list[tuple[str, int]]]:
    """Parses one YAML document; returns it with the keys written twice (path, line).
    Every problem is a SourceError with a French message: no exception of PyYAML gets out."""
    if len(text) > MAX_YAML_CHARS:
        raise SourceError(first_line, f"texte YAML trop long ({len(text):,} caractères, "
                          f"{MAX_YAML_CHARS:,} au plus) : un en-tête ou un fichier de "
                          "réglages tient en quelques milliers".replace(",", "\u202f"))
    import yaml

    loader = None
    try:
        loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(text)
        return _build(loader, text, first_line)
    except SourceError:
        raise
    except yaml.YAMLError as exc:
        line, message = explain(text, exc)
        raise SourceError(line + first_line, message) from None
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise SourceError(first_line, "texte YAML illisible : vérifiez les décalages, les "
                          "deux-points et les guillemets de l’en-tête") from exc
    finally:
        if loader is not None:
            loader.dispose()


@dataclass(frozen=True, slots=True)
class Document:
    front: str
    front_line: int  # line of the first front-matter line
    body: str
    body_line: int  # line of the first body line


# Front matter is short: its end is looked for in the first characters only (splitting a whole
# article into lines and joining them again cost more than the rest of this step).
_HEAD = 2048


def split_front_matter(text: str) -> Document:
    found = _split(text, text[:_HEAD])
    if found is None:  # a longer front matter: the whole text
        found = _split(text, text)
        assert found is not None  # in the whole text, the end is found or an error raised
    return found


def _split(text: str, head: str) -> Document | None:
    """The document, its end looked for in `head` (the start of `text`); None when the end may
    lie beyond the head."""
    lines = head.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise SourceError(
            1, "l’article doit commencer par une ligne « --- » suivie de son en-tête YAML"
        )
    whole = len(head) == len(text)
    # A cut head's last line may be incomplete (even between \r and \n): it does not count.
    offset = len(lines[0])
    for index in range(1, len(lines) if whole else len(lines) - 1):
        if lines[index].strip() in ("---", "..."):
            return Document(
                front=text[len(lines[0]):offset],
                front_line=2,
                body=text[offset + len(lines[index]):],
                body_line=index + 2,
            )
        offset += len(lines[index])
    if not whole:
        return None
    raise SourceError(1, "l’en-tête YAML n’est pas refermé par une ligne « --- »")
