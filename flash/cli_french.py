"""Click's own words in French: its gettext calls bound to Flash's catalogue, and what it writes
without gettext (type names, metavars, parameter hints) made French for every command of a group.

Click marks its messages for gettext, singular and plural (`_` and `ngettext` of the stdlib's
default domain): the catalogue locale/fr/LC_MESSAGES/click.po (compiled to click.mo) holds every
one of them, and `install` points click's modules at it, whatever the user's locale. Type names
and metavars (TEXT, INTEGER RANGE…), the subcommand placeholder and the quotes around parameter
names are plain strings in click: `FrenchGroup` rewrites them on every command and parameter of
its tree when it runs, so a command added anywhere under it needs nothing of its own.
"""

from __future__ import annotations

import copy
import gettext
import importlib
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import click

CATALOGUE = Path(__file__).resolve().parent / "locale" / "fr" / "LC_MESSAGES" / "click.mo"
SOURCE = CATALOGUE.with_suffix(".po")

# click's modules that call `_` or `ngettext` (the others are imported lazily by click: loaded
# here so that they are bound too).
CLICK_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting",
                 "click.parser", "click.shell_completion", "click.termui", "click.types",
                 "click.utils", "click._termui_impl",
                 *(("click._winconsole",) if sys.platform == "win32" else ()))

NBSP = "\u00a0"

# click's type names (ParamType.name, not marked for gettext), as its messages show them:
# "« abc » n’est pas un nombre entier valide."
TYPE_NAMES = {"text": "texte", "integer": "nombre entier", "integer range": "nombre entier",
              "float": "nombre décimal", "float range": "nombre décimal", "boolean": "booléen",
              "filename": "fichier", "uuid": "UUID"}
# Metavars of options whose type gives none of its own, by French type name (else its capitals).
METAVARS = {"nombre entier": "ENTIER", "nombre décimal": "NOMBRE"}
SUBCOMMAND_METAVARS = {
    "COMMAND [ARGS]...": "COMMANDE [ARGUMENTS]...",
    "[COMMAND] [ARGS]...": "[COMMANDE] [ARGUMENTS]...",
    "COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...":
        "COMMANDE1 [ARGUMENTS]... [COMMANDE2 [ARGUMENTS]...]...",
    "[COMMAND1] [ARGS]... [COMMAND2 [ARGS]...]...":
        "[COMMANDE1] [ARGUMENTS]... [COMMANDE2 [ARGUMENTS]...]...",
}


def quoted(text: str) -> str:
    return f"«{NBSP}{text}{NBSP}»"


@cache
def translations() -> gettext.GNUTranslations:
    with CATALOGUE.open("rb") as file:
        return gettext.GNUTranslations(file)


def _possibilities(possibilities: list[str]) -> str:
    """click.exceptions._format_possibilities, with French quotes around each name."""
    names = ", ".join(quoted(p) for p in sorted(possibilities))
    return translations().ngettext("Did you mean {possibility}?",
                                   "(Did you mean one of: {possibilities}?)",
                                   len(possibilities)).format(possibility=names,
                                                              possibilities=names)


def install() -> None:
    """Binds click's gettext calls to the French catalogue. Done before commands are declared:
    click translates some texts as its decorators run (the --version option's help)."""
    french = translations()
    for name in CLICK_MODULES:
        importlib.import_module(name)
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = french.gettext
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = french.ngettext
    exceptions = sys.modules["click.exceptions"]
    if hasattr(exceptions, "_format_possibilities"):
        exceptions._format_possibilities = _possibilities


def _error_hint(param: click.Parameter, ctx: click.Context | None) -> str:
    """A parameter named in error messages between French quotes: « --organisation » / « -g »."""
    if isinstance(param, click.Argument):
        names = [param.make_metavar(ctx) if ctx is not None else param.human_readable_name]
    else:
        names = param.opts or [param.human_readable_name]
    return " / ".join(quoted(name) for name in names)


def _invalid_choice(choice: click.Choice, value: Any, ctx: click.Context | None) -> str:
    """click.Choice.get_invalid_choice_message, with French quotes around each choice."""
    names = ", ".join(quoted(str(name)) for name in choice.choices)
    return translations().ngettext("{value!r} is not {choice}.",
                                   "{value!r} is not one of {choices}.",
                                   len(choice.choices)).format(value=value, choice=names,
                                                               choices=names)


def _range(kind: Any) -> str:
    """A range as French says it, « de 0 à 65535 », not click's « 0<=x<=65535 »."""
    low = None if kind.min is None else f"{kind.min}{' exclu' if kind.min_open else ''}"
    high = None if kind.max is None else f"{kind.max}{' exclu' if kind.max_open else ''}"
    if low is None:
        return f"au plus {high}"
    if high is None:
        return f"au moins {low}"
    return f"de {low} à {high}"


def _help_record(option: click.Option, ctx: click.Context) -> tuple[str, str] | None:
    """click's help line, whose hints it joins with « ; »: French puts a no-break space before
    the semicolon."""
    record = super(type(option), option).get_help_record(ctx)
    if record is None or not record[1].endswith("]"):
        return record
    text, start = record[1], record[1].rfind("[")
    return record[0], text[:start] + text[start:].replace("; ", f"{NBSP}; ")


@cache
def _french_class(cls: type) -> type:
    """`cls` (a parameter's class, or its type's), naming things the French way."""
    if getattr(cls, "french", False):
        return cls
    if issubclass(cls, click.Option):
        methods: dict[str, Any] = {"get_error_hint": _error_hint,
                                   "get_help_record": _help_record}
    elif issubclass(cls, click.Parameter):
        methods = {"get_error_hint": _error_hint}
    elif issubclass(cls, click.Choice):
        methods = {"get_invalid_choice_message": _invalid_choice}
    elif hasattr(cls, "_describe_range"):  # IntRange, FloatRange
        methods = {"_describe_range": _range}
    else:
        return cls
    return type(cls.__name__, (cls,), {"__module__": cls.__module__, "__slots__": (),
                                       "french": True, **methods})


def _french_parameter(param: click.Parameter) -> None:
    french = translations()
    if isinstance(param.type, click.ParamType):
        name = TYPE_NAMES.get(param.type.name, french.gettext(param.type.name))
        if name != param.type.name:
            param.type = copy.copy(param.type)  # click.INT and click.STRING are shared
            param.type.name = name
    if (isinstance(param, click.Option) and param.metavar is None and not param.is_flag
            and type(param.type).get_metavar is click.ParamType.get_metavar):
        param.metavar = METAVARS.get(param.type.name, param.type.name.upper())
    help_text = getattr(param, "help", None)
    if help_text:  # click's own options declared before `install`
        param.help = french.gettext(help_text)  # type: ignore[attr-defined]
    param.__class__ = _french_class(type(param))
    param.type.__class__ = _french_class(type(param.type))


class FrenchFormatter(click.HelpFormatter):
    def write_heading(self, heading: str) -> None:
        """« Options : », with the no-break space French puts before a colon."""
        self.write(f"{'':>{self.current_indent}}{heading}{NBSP}:\n")


class FrenchContext(click.Context):
    formatter_class = FrenchFormatter


def frenchify(command: click.Command, seen: set[int] | None = None) -> None:
    """Makes `command`, and every command under it, write French (see the module's doc)."""
    seen = set() if seen is None else seen
    if id(command) in seen:
        return
    seen.add(id(command))
    if command.context_class is click.Context:
        command.context_class = FrenchContext
    for param in command.params:
        _french_parameter(param)
    if isinstance(command, click.Group):
        command.subcommand_metavar = SUBCOMMAND_METAVARS.get(command.subcommand_metavar,
                                                             command.subcommand_metavar)
        for sub in command.commands.values():
            frenchify(sub, seen)


class FrenchGroup(click.Group):
    """A group whose whole tree speaks French when it runs, however its commands were added."""

    group_class = type  # its subgroups are French groups too

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        frenchify(self)
        return super().main(args, *rest, **options)


def compile_catalogue(source: Path = SOURCE, target: Path = CATALOGUE) -> None:
    """click.po -> click.mo (Babel, already a dependency, reads and writes both)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with source.open("rb") as file:
        catalogue = read_po(file, locale="fr")
    with target.open("wb") as file:
        write_mo(file, catalogue)


if __name__ == "__main__":
    compile_catalogue()
