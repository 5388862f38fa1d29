"""The command line speaks French: every help page of the `flash` tree (walked, so that commands
added later are covered) and every usage error, checked against click's own English strings
read from click's source; the catalogue covers them all; the build's summary is one sentence."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from conftest import REPO

from flash.build import BuildReport
from flash.cli import built_sentence, main
from flash.cli_french import CATALOGUE, SOURCE, FrenchGroup, compile_catalogue

CLICK = Path(click.__file__).parent
# Passed to _() without being a literal there: Option.get_help_extra sets
# extra["required"] = "required", which get_help_record translates.
INDIRECT = ("required",)


def click_messages() -> set[str | tuple[str, str]]:
    """Every literal click passes to `_` or `ngettext` (a tuple: singular and plural)."""
    found: set[str | tuple[str, str]] = set(INDIRECT)
    for path in CLICK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args
                     if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                found.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) >= 2:
                found.add((texts[0], texts[1]))
    return found


def click_plain_strings() -> set[str]:
    """What click writes without gettext: type names (TEXT, INTEGER RANGE…) and its
    placeholders in capitals (COMMAND [ARGS]...)."""
    names = {cls.name for cls in vars(click.types).values()
             if isinstance(cls, type) and issubclass(cls, click.ParamType)
             and isinstance(getattr(cls, "name", None), str)}
    capitals = set()
    for path in CLICK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and re.fullmatch(r"[\[\]A-Z0-9 .]*[A-Z]{3,}[\[\]A-Z0-9 .]*", node.value)):
                capitals.add(node.value)
    return names | capitals


def _words(text: str) -> set[str]:
    text = re.sub(r"\{[^{}]*\}|%\([a-z_]+\)[sd]", " ", text)  # placeholders
    return {w.lower() for w in re.findall(r"[^\W\d_]{2,}", text)}


def _texts(message: str | tuple[str, str]) -> tuple[str, ...]:
    return message if isinstance(message, tuple) else (message,)


def catalogue() -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    with SOURCE.open("rb") as file:
        return {m.id: m.string for m in read_po(file) if m.id}


def commands(group: click.Command = main, path: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from commands(command, (*path, name))


def flash_own_words() -> set[str]:
    """Words Flash's commands say themselves (help texts in French, command and option names)."""
    words: set[str] = set()
    for path, command in commands():
        words |= _words(" ".join([*path, command.help or "", command.short_help or ""]))
        for param in command.params:
            words |= _words(" ".join([*param.opts, getattr(param, "help", None) or "",
                                      param.metavar or ""]))
    return words


def english_words() -> set[str]:
    """click's English words, minus those French shares (found in the French catalogue) and
    those of Flash's own French texts (« draft: true »)."""
    english: set[str] = set()
    for message in click_messages():
        for text in _texts(message):
            english |= _words(text)
    for text in click_plain_strings():
        english |= _words(text)
    french: set[str] = set()
    for translated in catalogue().values():
        for text in _texts(translated):
            french |= _words(text)
    return english - french - flash_own_words()


ENGLISH = english_words()


def english_in(output: str) -> set[str]:
    output = re.sub(r"(?<![\w-])--?[a-z][\w-]*", " ", output)  # option names stay as they are
    return _words(output) & ENGLISH


def fr(text: str) -> str:
    """French spacing written plainly in the tests: no-break spaces before : ? ! and inside
    « »."""
    for mark in ":?!":
        text = text.replace(f" {mark}", f"\u00a0{mark}")
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


def invoke(*args: str, group: click.Command = main) -> click.testing.Result:
    return CliRunner().invoke(group, list(args), prog_name="flash")


def test_the_english_word_list_is_click_s() -> None:
    assert {"usage", "show", "exit", "such", "mean", "missing", "invalid", "valid", "try",
            "required", "default", "integer", "range", "text", "directory", "command", "args",
            "error", "got", "unexpected", "extra"} <= ENGLISH
    assert not {"options", "option", "version", "argument", "arguments"} & ENGLISH


def test_the_catalogue_translates_every_click_message() -> None:
    translated = catalogue()
    missing = [m for m in click_messages() if m not in translated]
    assert not missing, f"click messages missing from {SOURCE.name}: {missing}"
    formatter = string.Formatter()
    for message, french in translated.items():
        forms = _texts(french)
        assert all(forms), message
        assert len(forms) == (2 if isinstance(message, tuple) else 1), message
        fields = {name for text in _texts(message)
                  for _, name, _, _ in formatter.parse(text) if name}
        for form in forms:  # every field the translation uses is one click passes
            assert {name for _, name, _, _ in formatter.parse(form) if name} <= fields, form
            assert set(re.findall(r"%\((\w+)\)", form)) <= set(
                re.findall(r"%\((\w+)\)", " ".join(_texts(message))))


def test_the_shipped_catalogue_is_compiled_from_the_po(tmp_path: Path) -> None:
    compiled = tmp_path / "click.mo"
    compile_catalogue(SOURCE, compiled)
    assert compiled.read_bytes() == CATALOGUE.read_bytes(), (
        "click.po changed: run python -m flash.cli_french")
    assert CATALOGUE.is_relative_to(REPO / "flash")  # shipped in the package (package-data)


COMMANDS = [path for path, _ in commands()]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("flash", *p)))
def test_every_help_page_is_french(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    output = result.output
    assert output.startswith(fr(f"Utilisation : flash {' '.join(path)}".rstrip() + " "))
    assert fr("Options :") in output
    assert "Afficher cette aide, puis quitter." in output
    assert not english_in(output), output
    for english in ("Usage:", "Options:", "Commands:", "Show this message", "[default:",
                    "[required]", "TEXT", "DIRECTORY", "INTEGER", "PATH", "COMMAND", "ARGS"):
        assert not re.search(rf"(?<!\w){re.escape(english)}(?!\w)", output), english


def test_every_argument_has_a_french_name() -> None:
    for path, command in commands():
        for param in command.params:
            if isinstance(param, click.Argument):
                assert param.metavar, f"flash {' '.join(path)}: {param.name} needs a metavar"


def test_help_details_are_french() -> None:
    assert invoke("--help").output.count("Afficher la version, puis quitter.") == 1
    serve = re.sub(r"[ \n]+", " ", invoke("serve", "--help").output)
    assert fr("[par défaut : 8000\u00a0; de 0 à 65535]") in serve
    assert "-s, --source DOSSIER" in serve
    assert "-p, --port ENTIER" in serve
    article = invoke("new", "article", "--help").output
    assert fr("Utilisation : flash new article [OPTIONS] NUMÉRO TITRE") in article
    assert "[obligatoire]" in article
    assert fr("Commandes :") in invoke("--help").output


USAGE_ERRORS = [
    (("bulid",), "Erreur : la commande « bulid » n’existe pas. Vouliez-vous dire « build » ?"),
    (("new", "article", "1", "Jardin"), "Erreur : il manque l’option « --organisation » / « -g »."),
    (("new", "issue", "abc"),
     "Erreur : valeur incorrecte pour « NUMÉRO » : « abc » n’est pas un nombre entier valide."),
    (("new", "issue"), "Erreur : il manque l’argument « NUMÉRO »."),
    (("build", "en-trop"), "Erreur : argument en trop : « en-trop »."),
    (("new", "issue", "1", "2", "3"), "Erreur : arguments en trop : « 2 3 »."),
    (("build", "--ouptut", "x"),
     "Erreur : l’option « --ouptut » n’existe pas. Vouliez-vous dire « --output » ?"),
    (("serve", "--hots", "x"), "Erreur : l’option « --hots » n’existe pas. (Vouliez-vous dire "
                               "l’une de celles-ci : « --host », « --port » ?)"),
    (("serve", "--port", "99999"), "Erreur : valeur incorrecte pour « --port » / « -p » : "
                                   "99999 n’est pas dans l’intervalle de 0 à 65535."),
    (("serve", "--port"), "Erreur : l’option « --port » attend une valeur."),
    (("send", "1", "--list", str(REPO)),
     f"Erreur : valeur incorrecte pour « --list » : « {REPO} » est un dossier, et non un "
     "fichier."),
    (("new",), None),  # a group without its command: its help, in French
]


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS,
                         ids=[" ".join(args) for args, _ in USAGE_ERRORS])
def test_usage_errors_are_french(args: tuple[str, ...], expected: str | None) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    output = result.output
    if args != ("serve", "--port"):  # click tells this one without the usage line
        assert fr("Utilisation : flash") in output
    if expected is not None and args != ("serve", "--port"):
        command = " ".join(("flash", *args[:2 if args[0] == "new" else 1]))
        command = "flash" if args[0] == "bulid" else command
        assert fr(f"Pour l’aide, tapez « {command} --help ».") in output
    if expected is not None:
        assert fr(expected) in output.splitlines(), output
    assert not english_in(output), output
    assert "Error" not in output and "Usage" not in output and "Try " not in output


@pytest.fixture
def added_later() -> Iterator[click.Group]:
    """Commands as another module would add them: a plain click group and command, added to
    Flash's group, with click types Flash does not use yet."""

    @click.group("autres")
    def extra() -> None:
        """Commandes ajoutées."""

    @extra.command("essai")
    @click.argument("chemin", type=click.Path(exists=True), metavar="CHEMIN")
    @click.option("--mode", type=click.Choice(["rapide", "complet"]), required=True)
    @click.option("--taux", type=float, default=1.5, show_default=True)
    @click.option("--liste", type=click.Path(exists=True, dir_okay=False))
    def essai(chemin: str, mode: str, taux: float, liste: str | None) -> None:
        """Essaie."""

    main.add_command(extra)
    try:
        yield extra
    finally:
        main.commands.pop("autres")


LATER_ERRORS = [
    (("--mode", "lent", "."),
     "Erreur : valeur incorrecte pour « --mode » : « lent » n’est pas l’une des valeurs "
     "possibles : « rapide », « complet »."),
    (("--mode", "rapide", "/nulle/part"),
     "Erreur : valeur incorrecte pour « CHEMIN » : « /nulle/part » n’existe pas."),
    (("--mode", "rapide", "--liste", "/nulle/part.csv", "."),
     "Erreur : valeur incorrecte pour « --liste » : « /nulle/part.csv » n’existe pas."),
    (("--mode", "rapide", "--taux", "vite", "."),
     "Erreur : valeur incorrecte pour « --taux » : « vite » n’est pas un nombre décimal "
     "valide."),
    ((".",), "Erreur : il manque l’option « --mode ». Choisissez parmi :"),
]


@pytest.mark.parametrize(("args", "expected"), LATER_ERRORS,
                         ids=[" ".join(args) for args, _ in LATER_ERRORS])
def test_commands_added_later_speak_french(added_later: click.Group, args: tuple[str, ...],
                                           expected: str) -> None:
    assert isinstance(main, FrenchGroup)
    result = invoke("autres", "essai", *args)
    assert result.exit_code == 2, result.output
    assert fr(expected) in result.output.splitlines(), result.output
    assert not english_in(result.output), result.output
    help_page = invoke("autres", "essai", "--help").output
    assert "CHEMIN" in help_page and "--taux NOMBRE" in help_page
    assert "--mode [rapide|complet]" in help_page
    assert fr("[par défaut : 1.5]") in help_page
    assert not english_in(help_page), help_page


def _report(**fields: object) -> BuildReport:
    report = BuildReport(issues=1, articles=6, pages=28, files=136,
                         stages={"lecture": 0.5, "écriture": 0.02})
    for name, value in fields.items():
        setattr(report, name, value)
    return report


@pytest.mark.parametrize(("report", "change"), [
    (_report(written=[f"f{i}" for i in range(113)], indexed=23),
     "cette construction les a tous écrits."),
    (_report(written=["index.html", "numeros/195/index.html", "index.html"]),
     "cette construction en a écrit 2, les autres n’ont pas changé."),
    (_report(), "aucun n’a changé depuis la construction précédente."),
], ids=["first", "some", "none"])
def test_the_build_summary_is_one_clear_sentence(report: BuildReport, change: str) -> None:
    assert built_sentence(report) == (
        "en 0,52\u00a0s\u00a0: 1\u00a0numéro, 6\u00a0articles\u202f; le site compte "
        f"136\u00a0fichiers, dont 28\u00a0pages\u202f; {change}")


def test_large_counts_are_grouped_the_french_way() -> None:
    sentence = built_sentence(_report(files=12_345, written=["a"]))
    assert "12\u202f345\u00a0fichiers" in sentence
