"""The `flash` command: parse arguments, call one function, report in French with rich."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from flash import __version__
from flash.diagnostics import ContentError, Diagnostic
from flash.output import OutputError
from flash.scaffold import ScaffoldError, new_article, new_issue
from flash.settings import Settings, SettingsError, load_settings

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        where = f"{d.path}:{d.line}" if d.line else d.path
        colour = "red" if d.is_error else "yellow"
        err.print(f"[bold]{escape(where)}[/]: [{colour}]{d.level}[/] : {escape(d.message)}")


def _settings(source: str | None) -> tuple[Settings, Path]:
    try:
        settings = load_settings(Path(source) if source else None)
    except SettingsError as exc:
        err.print(f"[red]Réglages illisibles[/] : {escape(str(exc))}")
        sys.exit(2)
    folder = Path(source) if source else settings.root / settings.source
    return settings, folder


def _summary(diagnostics: list[Diagnostic]) -> str:
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} erreur{'s' if errors > 1 else ''}")
    if warnings:
        parts.append(f"{warnings} avertissement{'s' if warnings > 1 else ''}")
    return " et ".join(parts)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", message="Flash %(version)s")
def main() -> None:
    """Flash : le site, l’e-mail et les archives du Flash initiatives locales."""


SOURCE = click.option("--source", "-s", type=click.Path(file_okay=False),
                      help="Dossier du contenu (par défaut : issues/ du projet).")


@main.command()
@SOURCE
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Dossier du site produit (par défaut : _site/).")
@click.option("--base-url", help="Adresse publique du site, ex. https://flash.example.org")
@click.option("--drafts", is_flag=True, help="Inclure les brouillons (draft: true).")
@click.option("--profile", is_flag=True, help="Afficher le temps passé dans chaque étape.")
def build(source: str | None, output: str | None, base_url: str | None, drafts: bool,
          profile: bool) -> None:
    """Vérifie le contenu puis construit le site.

    En cas d’erreur, rien n’est écrit : le site précédent reste intact."""
    from flash.build import build as run_build

    settings, folder = _settings(source)
    settings = settings.with_overrides(base_url=base_url)
    target = Path(output) if output else settings.root / settings.output
    try:
        with err.status("Construction du site…"):
            report = run_build(folder, target, settings, drafts=drafts)
    except ContentError as exc:
        print_diagnostics(exc.diagnostics)
        err.print(f"[red bold]Construction annulée[/] : {_summary(exc.diagnostics)}. "
                  "Le site précédent n’a pas été modifié.")
        sys.exit(1)
    except OutputError as exc:
        err.print(f"[red bold]Construction annulée[/] : {escape(str(exc))}")
        sys.exit(1)
    print_diagnostics(report.warnings)
    out.print(f"[green]Site construit[/] dans {escape(str(target))} : {report.issues} numéro(s), "
              f"{report.articles} article(s), {report.pages} pages, {report.files} fichiers "
              f"en {report.seconds:.2f} s.")
    if profile:
        for stage, seconds in report.stages.items():
            out.print(f"  {stage:<28} {seconds * 1000:8.1f} ms")


@main.command()
@SOURCE
def check(source: str | None) -> None:
    """Vérifie tout le contenu et liste chaque problème (fichier:ligne)."""
    from flash.validate import load_corpus

    _, folder = _settings(source)
    corpus, report = load_corpus(folder)
    diagnostics = report.sorted()
    print_diagnostics(diagnostics)
    if report.errors:
        err.print(f"[red bold]{_summary(diagnostics)}[/] : corrigez les erreurs puis relancez "
                  "« flash check ».")
        sys.exit(1)
    assert corpus is not None
    count = len(corpus.articles)
    suffix = f" ({_summary(diagnostics)})" if diagnostics else ""
    out.print(f"[green]Contenu valide[/] : {len(corpus.issues)} numéro(s), {count} article(s)"
              f"{suffix}.")


@main.group()
def new() -> None:
    """Crée un numéro ou un article à compléter."""


@new.command("issue")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--date", "month", metavar="AAAA-MM",
              help="Mois du numéro (par défaut : ce mois-ci).")
@SOURCE
def new_issue_command(number: int, month: str | None, source: str | None) -> None:
    """Crée le dossier du numéro NUMBER avec son issue.yaml."""
    _, folder = _settings(source)
    try:
        created = new_issue(folder, number, month)
    except ScaffoldError as exc:
        err.print(f"[red]Impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    out.print(f"[green]Numéro créé[/] : {escape(str(created / 'issue.yaml'))}")


@new.command("article")
@click.argument("issue", type=int)
@click.argument("title")
@click.option("--organisation", "-g", required=True,
              help="Identifiant de l’organisation (voir organisations.yaml).")
@SOURCE
def new_article_command(issue: int, title: str, organisation: str, source: str | None) -> None:
    """Crée un article « TITLE » dans le numéro ISSUE."""
    _, folder = _settings(source)
    try:
        created = new_article(folder, issue, organisation, title)
    except ScaffoldError as exc:
        err.print(f"[red]Impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    out.print(f"[green]Article créé[/] : {escape(str(created))}")


if __name__ == "__main__":
    main()
