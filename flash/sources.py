"""Reading content files: UTF-8 text, front matter, and YAML that remembers each key's line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

# PyYAML takes ~20 ms to import: parse_yaml imports it at its first call, which in a build is in
# each worker process, after they started, not before.

# PyYAML speaks English; the team reads French. Known problems get a French sentence.
_YAML_PROBLEMS = {
    "mapping values are not allowed":
        "deux-points inattendu (mettez la valeur entre guillemets)",
    "could not find expected ':'": "il manque « : » après une clé",
    "found character '\\t' that cannot start any token":
        "tabulation interdite (utilisez des espaces)",
    "found unexpected end of stream": "guillemet ou crochet non refermé",
    "did not find expected key": "indentation incohérente",
    "did not find expected '-' indicator": "élément de liste mal indenté",
    "found undefined alias": "alias YAML inconnu",
    "expected ',' or ']', but got": "crochet « ] » manquant",
    "expected ',' or '}', but got": "accolade « } » manquante",
    "did not find expected ',' or ']'": "crochet « ] » non refermé",
    "did not find expected ',' or '}'": "accolade « } » non refermée",
    "found unknown escape character": "caractère d’échappement inconnu entre guillemets",
}


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


def decode(raw: bytes) -> str:
    """UTF-8 text of a content file, or a SourceError on the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            line,
            "le fichier n’est pas encodé en UTF-8 (octet invalide "
            f"0x{raw[exc.start]:02x}) : enregistrez-le en UTF-8",
        ) from exc


def _french_problem(exc: yaml.YAMLError) -> str:
    problem = str(getattr(exc, "problem", "") or exc).strip()
    for english, french in _YAML_PROBLEMS.items():
        if problem.startswith(english):
            return f"syntaxe YAML invalide : {french}"
    return f"syntaxe YAML invalide ({problem})"


def _record_lines(node: yaml.Node, prefix: str, offset: int, lines: dict[str, int],
                  duplicates: list[tuple[str, int]]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}{key}"
            line = key_node.start_mark.line + offset
            if key in seen:
                duplicates.append((path, line))
            seen.add(key)
            lines[path] = line
            _record_lines(value_node, path + ".", offset, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{prefix}{index}"
            lines[path] = item.start_mark.line + offset
            _record_lines(item, path + ".", offset, lines, duplicates)


def parse_yaml(text: str, first_line: int = 1) -> tuple[Yaml, list[tuple[str, int]]]:
    """Parses one YAML document; returns it with the keys written twice (path, line)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = str(exc.context or "")
        if exc.context_mark and ("quoted scalar" in context or "flow" in context):
            mark = exc.context_mark  # where the unclosed quote or bracket was opened
        line = mark.line + first_line if mark else first_line
        raise SourceError(line, _french_problem(exc)) from exc
    except yaml.YAMLError as exc:
        raise SourceError(first_line, _french_problem(exc)) from exc
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    if node is not None:
        _record_lines(node, "", first_line, lines, duplicates)
    return Yaml(data, lines, first_line), duplicates


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
