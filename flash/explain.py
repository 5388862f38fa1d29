"""PyYAML's syntax errors told in French: the real cause, its fix, and the line of the mistake.

PyYAML (libyaml) reports where its parser gave up, which is often the line after the mistake,
with a sentence about its own states (« did not find expected key »). Each rule below looks at
the lines around that place for one mistake the team makes, and names it; the last one speaks of
indentation, the cause that remains. Lines are 0-based within the YAML text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flash.diagnostics import LINE_BREAKS, computer_path, looks_like_computer_path, shown

NBSP = "\u00a0"
# indentation, an optional "- ", an optional "key:", the value (comments included)
_ENTRY = re.compile(r"(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?"
                    r"(?:(?P<key>[^\s#][^#]*?)[ \t]*:(?=[ \t]|$))?[ \t]*(?P<value>.*?)[ \t]*$")
_DASH_GLUED = re.compile(r"[ \t]*-(?![-\s])")


@dataclass(frozen=True)
class _Entry:
    indent: int
    dash: bool
    key: str | None
    value: str


def _entry(line: str) -> _Entry:
    found = _ENTRY.match(line)
    assert found is not None  # every part is optional
    key = found.group("key")
    return _Entry(len(found.group("indent")), bool(found.group("dash")),
                  key.strip() if key else None, found.group("value"))


@dataclass
class _Error:
    lines: list[str]
    problem: str
    context: str
    at: int  # line where PyYAML gave up
    column: int
    opened: int  # line of the construct it was reading (a mapping, a quote…)
    opened_column: int

    def line(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    def content_before(self, index: int) -> int | None:
        """The nearest line above `index` with something else than blanks or a comment."""
        for before in range(min(index, len(self.lines)) - 1, -1, -1):
            text = self.lines[before].strip()
            if text and not text.startswith("#"):
                return before
        return None

    def name(self, index: int) -> str:
        """How to call a line in a message: its key, else its text."""
        entry = _entry(self.line(index))
        return entry.key or shown(self.line(index).strip(), 40)


Rule = Callable[[_Error], "tuple[int, str] | None"]


def _tab(error: _Error) -> tuple[int, str] | None:
    at_column = error.line(error.at)[error.column:error.column + 1]
    if "tab" not in error.problem and at_column != "\t":
        return None
    for index in [error.at, *range(error.at - 1, error.opened - 1, -1)]:
        text = error.line(index)
        if "\t" in text[:len(text) - len(text.lstrip())]:
            return index, (f"une tabulation est placée avant « {error.name(index)} » : YAML "
                           "n’accepte que des espaces pour décaler une ligne ; remplacez la "
                           "tabulation par des espaces (deux par niveau)")
    return error.at, ("une tabulation est placée sur cette ligne : YAML n’accepte que des "
                      "espaces pour décaler ; remplacez-la par des espaces")


def _closing(value: str) -> int | None:
    """Index of the quote that closes the quoted text `value` starts with, or None."""
    quote, index = value[0], 1
    while index < len(value):
        char = value[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and value[index + 1:index + 2] == "'":
                index += 2
                continue
            return index
        index += 1
    return None


def _french_quotes(text: str) -> str:
    """Pairs of straight double quotes made « guillemets »."""
    parts = text.split('"')
    if len(parts) % 2 == 0:
        return text
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += (f"«{NBSP}" if index % 2 == 0 else f"{NBSP}»") + part
    return re.sub(f"«{NBSP} +", f"«{NBSP}", re.sub(f" +{NBSP}»", f"{NBSP}»", out))


def _quotes(error: _Error) -> tuple[int, str] | None:
    for index in dict.fromkeys((error.at, error.opened, error.at - 1)):
        entry = _entry(error.line(index))
        value = entry.value
        if not value or value[0] not in "\"'":
            continue
        end = _closing(value)
        if end is None or not value[end + 1:].strip() or value[end + 1:].strip()[0] == "#":
            continue
        key = f"{entry.key}: " if entry.key else ""
        if value[0] == '"':
            inner = value[1:-1] if value.endswith('"') else value
            fixed = f'{key}"{_french_quotes(inner)}"'
            single = f" ou entourez tout le texte d’apostrophes droites ({key}'{inner}')" \
                if "'" not in inner else ""
            return index, ("des guillemets droits « \" » sont à l’intérieur d’un texte entre "
                           "guillemets droits : YAML arrête le texte au deuxième « \" ». "
                           f"Écrivez les guillemets intérieurs à la française ({fixed})"
                           f"{single}")
        inner = value[1:-1] if value.endswith("'") else value
        return index, ("une apostrophe droite « ' » est à l’intérieur d’un texte entre "
                       "apostrophes : YAML arrête le texte à la deuxième. Écrivez "
                       f"l’apostrophe typographique ({key}'{inner.replace(chr(39), '’')}') ou "
                       f"entourez le texte de guillemets droits ({key}\"{inner}\")")
    return None


def _unclosed_quote(error: _Error) -> tuple[int, str] | None:
    """A quote opened and never closed on its line, in the lines PyYAML read last."""
    if "quoted scalar" in error.context and "end of stream" in error.problem:
        quote = error.line(error.opened)[error.opened_column:error.opened_column + 1] or '"'
        return error.opened, (f"le guillemet « {quote} » ouvert sur cette ligne n’est jamais "
                              f"refermé : ajoutez « {quote} » à la fin du texte")
    for index in range(max(error.opened, error.at - 3), error.at + 1):
        entry = _entry(error.line(index))
        if entry.value[:1] in ("\"", "'") and _closing(entry.value) is None:
            quote = entry.value[0]
            return index, (f"le guillemet « {quote} » ouvert sur cette ligne n’est pas refermé "
                           f"sur la même ligne : ajoutez « {quote} » à la fin du texte")
    return None


def _glued_dash(error: _Error) -> tuple[int, str] | None:
    candidates = [error.at]
    before = error.content_before(error.at)
    if before is not None:
        candidates.append(before)
    for index in candidates:
        text = error.line(index)
        if _DASH_GLUED.match(text) and not text.strip().startswith("---"):
            fixed = text.strip().replace("-", "- ", 1)
            return index, ("il manque une espace après le tiret : écrivez "
                           f"« {shown(fixed, 40)} » (un tiret, une espace, puis la suite)")
    return None


def _escape(error: _Error) -> tuple[int, str] | None:
    if "escape" not in error.problem and "hexdecimal" not in error.problem:
        return None
    value = _entry(error.line(error.opened)).value.strip().strip("\"'")
    if looks_like_computer_path(value):
        return error.opened, computer_path(value)
    return error.at, ("une barre oblique inverse « \\ » entre guillemets droits annonce un "
                      "caractère spécial : doublez-la (« \\\\ ») ou entourez le texte "
                      "d’apostrophes droites")


def _flow(error: _Error) -> tuple[int, str] | None:
    if "']'" in error.problem:
        return error.opened, ("crochet « ] » non refermé : une liste ouverte par « [ » finit par "
                              "« ] » sur la même ligne, par exemple "
                              "themes: [insertion-emploi, vivre-ensemble]")
    if "'}'" in error.problem:
        return error.opened, ("accolade « } » non refermée : ce qui est ouvert par « { » finit "
                              "par « } » sur la même ligne ; si c’est un texte, mettez-le entre "
                              "guillemets")
    return None


def _bracketed_text(error: _Error) -> tuple[int, str] | None:
    """`title: [Bilan] 2020`: a text that starts like a list."""
    entry = _entry(error.line(error.at))
    value = entry.value
    if entry.key and value[:1] in ("[", "{") and value[-1:] not in ("]", "}"):
        mark = value[0]
        quoted = value.replace('"', "'")
        return error.at, (f"une valeur qui commence par « {mark} » est lue comme une liste : si "
                          f"c’est un texte, mettez-le entre guillemets ({entry.key}: \"{quoted}\")")
    return None


def _colon_in_value(error: _Error) -> tuple[int, str] | None:
    if "mapping values are not allowed" not in error.problem:
        return None
    text = error.line(error.at)
    if re.fullmatch(r"[ \t]*(?:-[ \t]+)?[^\s#:][^:#]*", text[:error.column]):
        return None  # the colon after a key: the key's line is misplaced (_indentation)
    entry = _entry(text)
    value = entry.value
    quoted = f'"{value}"' if '"' not in value else f"'{value}'"
    key = f"{entry.key}: " if entry.key else ""
    return error.at, ("ce texte contient « : » (deux-points suivi d’une espace), que YAML prend "
                      f"pour une nouvelle clé : mettez tout le texte entre guillemets "
                      f"({key}{shown(quoted, 70)})")


def _odd_start(error: _Error) -> tuple[int, str] | None:
    entry = _entry(error.line(error.at))
    key = f"{entry.key}: " if entry.key else ""
    example = f" ({key}\"{shown(entry.value, 40)}\")" if entry.value else ""
    if "cannot start any token" in error.problem:
        char = error.line(error.at)[error.column:error.column + 1] or "?"
        return error.at, (f"une valeur ne peut pas commencer par « {char} » en YAML : mettez-la "
                          f"entre guillemets{example}")
    if "anchor" in error.context or "alias" in error.context:
        char = "&" if "anchor" in error.context else "*"
        return error.at, (f"une valeur qui commence par « {char} » doit être entre "
                          f"guillemets{example}")
    if "tag" in error.context or "tag" in error.problem:
        return error.at, f"une valeur qui commence par « ! » doit être entre guillemets{example}"
    if "directive" in error.context:
        return error.at, ("une ligne ne peut pas commencer par « % » : mettez la valeur entre "
                          f"guillemets{example}")
    if "block scalar" in error.context:
        return error.at, ("après « | » ou « > », rien d’autre sur la ligne : le texte commence "
                          "à la ligne suivante, décalé de deux espaces")
    if "block sequence entries are not allowed" in error.problem:
        name = entry.key or "clé"
        return error.at, (f"une liste ne commence pas sur la ligne de sa clé : écrivez "
                          f"« {name}: » seul, puis chaque élément sur sa ligne, décalé et précédé "
                          f"de « - », ou la liste entre crochets ({name}: [a, b])")
    if "could not find expected ':'" in error.problem:
        text = shown(error.line(error.opened).strip(), 40)
        return error.opened, (f"la ligne « {text} » n’a pas de « : » : écrivez « clé: valeur » ; "
                              "si elle continue le texte de la ligne du dessus, décalez-la comme "
                              "lui, ou mettez tout le texte entre guillemets")
    return None


def _indentation(error: _Error) -> tuple[int, str] | None:
    at = error.at
    before = error.content_before(at)
    if before is None:
        return None
    here, above = _entry(error.line(at)), _entry(error.line(before))
    name, name_above = error.name(at), error.name(before)
    if "'-' indicator" in error.problem and not here.dash:
        column = len(error.line(before)) - len(error.line(before).lstrip(" -"))
        return at, (f"« {name} » est aligné sur le tiret de la liste au-dessus : s’il fait "
                    f"partie du même élément, mettez devant « {name} » {column} espaces, comme "
                    f"devant « {name_above} » ; pour un nouvel élément, commencez la ligne "
                    "par « - »")
    if here.indent > above.indent and above.key and above.value and above.value[0] not in "|>#":
        # Either the line above left its parent's block, or this one is pushed too far.
        index = error.content_before(before)
        siblings = []
        while index is not None and _entry(error.line(index)).indent == here.indent:
            siblings.append(index)
            index = error.content_before(index)
        parent = _entry(error.line(index)) if index is not None else None
        if (index is not None and parent is not None and parent.indent == above.indent
                and parent.key and not parent.value):
            like = " et ".join(f"« {error.name(i)} »" for i in [*reversed(siblings), at][:3])
            return before, (f"« {name_above} » n’est pas décalé sous « {parent.key} » : mettez "
                            f"devant « {name_above} » {here.indent} espaces, comme devant "
                            f"{like}")
        return at, (f"« {name} » est plus décalé que « {name_above} », au-dessus, qui a déjà "
                    f"une valeur : mettez devant « {name} » {above.indent} espaces, comme "
                    f"devant « {name_above} »")
    if here.indent < above.indent:
        levels: dict[int, int] = {}  # indentation -> the line nearest above with it
        index: int | None = before
        lowest = above.indent
        while index is not None and lowest > 0:
            indent = _entry(error.line(index)).indent
            if indent <= lowest:
                levels.setdefault(indent, index)
                lowest = indent
            index = error.content_before(index)
        if here.indent not in levels and levels:
            wider = [i for i in levels if i > here.indent]
            target = min(wider) if wider else max(levels)
            return at, (f"le décalage de « {name} » ({here.indent} espaces) ne correspond à "
                        f"aucune ligne au-dessus : mettez-en {target}, comme devant "
                        f"« {error.name(levels[target])} »")
    return at, (f"« {name} » n’est pas aligné comme il faut par rapport à « {name_above} », "
                "au-dessus : vérifiez les espaces en début de ligne (les clés d’un même ensemble "
                "commencent à la même colonne, celles qu’il contient sont décalées de deux "
                "espaces)")


RULES: tuple[Rule, ...] = (_tab, _quotes, _glued_dash, _escape, _unclosed_quote, _flow,
                           _colon_in_value, _odd_start, _bracketed_text, _indentation)


def _reader(text: str, exc: Any) -> tuple[int, str]:
    """A character YAML refuses (control characters, U+FFFE…), on its line."""
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    found = text.find(chr(code))
    line = len(LINE_BREAKS.findall(text, 0, found)) if found >= 0 else 0
    return line, (f"caractère invisible interdit (U+{code:04X}) sur cette ligne, souvent laissé "
                  "par un copier-coller : supprimez-le (ou retapez la ligne)")


def explain(text: str, exc: Any) -> tuple[int, str]:
    """(0-based line, French message) for a PyYAML error raised while parsing `text`."""
    at = 0
    try:
        if not hasattr(exc, "problem_mark"):
            return _reader(text, exc)
        problem_mark, context_mark = exc.problem_mark, exc.context_mark
        mark = problem_mark or context_mark
        at = mark.line if mark else 0
        error = _Error(LINE_BREAKS.split(text), str(exc.problem or ""), str(exc.context or ""),
                       at, problem_mark.column if problem_mark else 0,
                       context_mark.line if context_mark else at,
                       context_mark.column if context_mark else 0)
        if "nesting depth" in error.problem:
            return at, ("valeurs imbriquées trop profondément : vérifiez les crochets et les "
                        "accolades de cette ligne")
        for rule in RULES:
            found = rule(error)
            if found is not None:
                return found
        return at, _FALLBACK
    except Exception:  # an explanation must never be the error: the plain French one then
        return at, _FALLBACK


_FALLBACK = ("syntaxe YAML incorrecte : vérifiez cette ligne et celle du dessus (les espaces en "
             "début de ligne, « : » après chaque clé, les guillemets refermés)")
