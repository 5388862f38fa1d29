"""`flash fmt`: rewrites the front matter of every article and every issue.yaml in the
project's one style (flash.editor.style, the editor's), the text of the articles untouched;
a file whose meaning would change, or that cannot be read, is left as it is and reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flash.editor.style import ARTICLE_ORDER, ISSUE_ORDER, front_matter
from flash.sources import SourceError, parse_yaml, read_text, split_front_matter


@dataclass
class FmtReport:
    changed: list[Path] = field(default_factory=list)
    unchanged: int = 0
    problems: list[tuple[Path, int | None, str]] = field(default_factory=list)
    comments: list[Path] = field(default_factory=list)  # files whose comments went


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def formatted(path: Path) -> tuple[str, bool]:
    """The file's new text, and whether its front matter had comments (which go)."""
    text = read_text(path)
    if path.name == "issue.yaml":
        front, before, after, order = text, "", "", ISSUE_ORDER
    else:
        document = split_front_matter(text)
        front, order = document.front, ARTICLE_ORDER
        before, after = "---\n", "---\n" + document.body
    parsed = parse_yaml(front)[0].data
    if not isinstance(parsed, dict):
        raise SourceError(1, "l’en-tête n’est pas une suite de clés : rien n’est changé")
    new_front = front_matter(parsed, order)
    if _without_nulls(parse_yaml(new_front)[0].data) != _without_nulls(parsed):
        raise SourceError(None, "la mise en forme changerait le sens de l’en-tête : le "
                                "fichier est laissé tel quel (signalez-le à l’équipe de Flash)")
    has_comments = any(line.lstrip().startswith("#") or " #" in line
                       for line in front.splitlines())
    return before + new_front + after, has_comments


def content_files(source: Path) -> list[Path]:
    issues = sorted(source.glob("*/issue.yaml"))
    return [path for folder in (p.parent for p in issues)
            for path in [folder / "issue.yaml", *sorted(folder.glob("*.md"))]]


def fmt(source: Path, *, check: bool = False) -> FmtReport:
    report = FmtReport()
    for path in content_files(source):
        try:
            new, had_comments = formatted(path)
        except SourceError as exc:
            report.problems.append((path, exc.line, exc.message))
            continue
        if new == read_text(path):
            report.unchanged += 1
            continue
        report.changed.append(path)
        if had_comments:
            report.comments.append(path)
        if not check:
            temporary = path.with_name(f".{path.name}.flash-tmp")
            temporary.write_text(new, encoding="utf-8")
            temporary.replace(path)
    return report
