"""The `flash` command: parse arguments, call one function, report in French with rich."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from flash import __version__
from flash.diagnostics import ContentError, Diagnostic
from flash.output import OutputError
from flash.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from flash.build import BuildReport


class _LazyConsole:
    """rich's Console, made at first use: importing rich takes ≈ 20 ms, which a build that
    prints only at its end spends while other cores parse the content (see `warm_up`)."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, text: str) -> None:
        self.console.print(text)


err = _LazyConsole(stderr=True)
out = _LazyConsole()


def escape(text: str) -> str:
    """The text, its square brackets kept from being read as rich's markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def warm_up() -> None:
    """Loads what printing needs (rich), to be done while other cores work."""
    _ = err.console, out.console, escape("")


def _status(message: str) -> contextlib.AbstractContextManager:
    """A spinner while waiting, in a terminal only (elsewhere, nothing would show it)."""
    if sys.stderr.isatty() and err.console.is_terminal:
        return err.console.status(message)
    return contextlib.nullcontext()

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


# Set by `run`, the installed command: a process of its own, which may leave without freeing
# every object one by one (see _leave).
_OWN_PROCESS = False


def run() -> None:
    """The `flash` command."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    main()


def _leave() -> None:
    """After a build, everything is written and closed: the command's own process ends at once
    instead of freeing the archive's objects one by one at exit (≈ 50 ms of 1.3 s for 1,200
    articles). No exit handler is registered by then."""
    if _OWN_PROCESS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


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
@click.option("--no-search", is_flag=True, help="Ne pas indexer la recherche (Pagefind).")
@click.option("--no-emails", is_flag=True, help="Ne pas produire les e-mails des numéros.")
@click.option("--no-cache", is_flag=True,
              help="Tout reconstruire, sans réutiliser le cache (.flash-cache/) ni le site "
                   "précédent.")
def build(source: str | None, output: str | None, base_url: str | None, drafts: bool,
          profile: bool, no_search: bool, no_emails: bool, no_cache: bool) -> None:
    """Vérifie le contenu puis construit le site.

    En cas d’erreur, rien n’est écrit : le site précédent reste intact."""
    from flash.build import build as run_build

    settings, folder = _settings(source)
    settings = settings.with_overrides(base_url=base_url)
    target = Path(output) if output else settings.root / settings.output
    if _OWN_PROCESS:
        # The process ends with the build. Python's cycle collector would run some 200 times in a
        # build of 1,200 articles (≈ 30 ms; with a higher threshold, fewer but longer passes, one
        # of them while the other core waited), only to find the few cycles a build leaves
        # behind (≈ 20,000 small objects, 2 MB), which the exit frees.
        gc.disable()
    try:
        with _status("Construction du site…"):
            report = run_build(folder, target, settings, drafts=drafts,
                               search_on=False if no_search else None, emails=not no_emails,
                               use_cache=not no_cache, meanwhile=warm_up)
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
    out.print(f"{_changes(report)}.")
    if not no_emails and report.issues:  # with the warnings, apart from the summary
        err.print(_email_proof_note(settings, target))
    if profile:
        for stage, seconds in report.stages.items():
            out.print(f"  {stage:<28} {seconds * 1000:8.1f} ms")
    _leave()


def _email_proof_note(settings: Settings, target: Path) -> str:
    """What a proof-reader of the built e-mails sees: they are the very messages subscribers
    get, whose images the site online serves (see README, « Relire un e-mail »)."""
    return (f"E-mails : dans {escape(str(target))}/numeros/N/email.html et email.eml, les images "
            f"viennent de {escape(settings.site_url)} et n’apparaissent qu’une fois le site "
            "publié à cette adresse ; pour relire un e-mail avant, ouvrez-le dans l’aperçu "
            "(« flash serve », puis /numeros/N/email.html).")


def _changes(report: BuildReport) -> str:
    rendered, written = len(report.rendered), len(report.written)
    if not rendered and not written:
        return "Rien n’a changé : aucune page rendue, aucun fichier réécrit"
    return (f"{rendered} page{'s' if rendered > 1 else ''} rendue{'s' if rendered > 1 else ''}, "
            f"{written} fichier{'s' if written > 1 else ''} "
            f"réécrit{'s' if written > 1 else ''}")


@main.command()
@click.option("--source", "-s", type=click.Path(file_okay=False),
              help="Dossier du contenu (par défaut : issues/ du projet).")
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Dossier de l’aperçu (par défaut : .flash-cache/apercu/).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d’écoute.")
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port d’écoute (0 : un port libre).")
def serve(source: str | None, output: str | None, host: str, port: int) -> None:
    """Aperçu en direct : reconstruit ce qui change et recharge la page ouverte (brouillons
    compris)."""
    from flash.serve import ServeError
    from flash.serve import serve as run_serve

    settings, folder = _settings(source)
    try:
        run_serve(folder, settings, host=host, port=port,
                  output=Path(output) if output else None, console=err.console)
    except ServeError as exc:
        err.print(f"[red bold]Aperçu impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Aperçu arrêté.")


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
    from flash.scaffold import ScaffoldError, new_issue

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
    from flash.scaffold import ScaffoldError, new_article

    _, folder = _settings(source)
    try:
        created = new_article(folder, issue, organisation, title)
    except ScaffoldError as exc:
        err.print(f"[red]Impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    out.print(f"[green]Article créé[/] : {escape(str(created))}")


SECURITY_LABELS = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "sans chiffrement"}


@main.command()
@click.argument("number", type=click.IntRange(min=1))
@click.option("--to", "to", metavar="ADRESSES",
              help="Envoyer une épreuve à ces adresses, séparées par des virgules.")
@click.option("--list", "list_path", type=click.Path(dir_okay=False), metavar="FICHIER.csv",
              help="Envoyer à toute la liste (colonnes email et, si besoin, name). Un journal "
                   "FICHIER.envoi-NUMÉRO.sqlite, à côté, permet de reprendre un envoi interrompu.")
@click.option("--dry-run", is_flag=True, help="Afficher ce qui serait envoyé, sans rien envoyer.")
@click.option("--base-url", help="Adresse publique du site, pour les liens de l’e-mail.")
@SOURCE
def send(number: int, to: str | None, list_path: str | None, dry_run: bool,
         base_url: str | None, source: str | None) -> None:
    """Envoie le numéro NUMBER par e-mail : une épreuve (--to) ou toute la liste (--list).

    Relancer la même commande après une interruption reprend l’envoi là où il s’était arrêté,
    sans jamais envoyer deux fois le numéro à la même personne."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from flash.mail.campaign import CampaignError, prepare, run

    settings, folder = _settings(source)
    settings = settings.with_overrides(base_url=base_url)
    try:
        campaign = prepare(folder, number, settings, to=to,
                           list_path=Path(list_path) if list_path else None)
    except CampaignError as exc:
        print_diagnostics(exc.diagnostics)
        err.print(f"[red bold]Envoi impossible[/]\u00a0: {escape(str(exc))}")
        sys.exit(1)
    for problem in campaign.problems:
        where = f"{campaign.where}:{problem.line}" if list_path else f"--to, adresse {problem.line}"
        err.print(f"[bold]{escape(where)}[/]\u00a0: [yellow]{escape(problem.message)}[/]")
    composed = campaign.composed
    todo = campaign.to_send
    sent_before, failed_before = campaign.count("sent"), campaign.count("failed")
    uncertain_before = campaign.count("sending")
    content = "articles complets" if composed.mode == "full" else "résumés"
    out.print(f"[bold]{escape(composed.subject)}[/] ({content}, "
              f"{composed.html_bytes / 1024:.0f}\u202fKo de HTML)")
    out.print(f"{len(campaign.recipients)} destinataire(s) valide(s)\u00a0: {len(todo)} à envoyer, "
              f"{sent_before} déjà envoyé(s), {failed_before} en échec définitif, "
              f"{uncertain_before} incertain(s).")
    if dry_run:
        out.print("[yellow]Simulation (--dry-run)[/]\u00a0: rien n’est envoyé. Le serveur serait "
                  f"{escape(settings.smtp.host)}:{settings.smtp.port} "
                  f"({SECURITY_LABELS.get(settings.smtp.security, settings.smtp.security)}), "
                  f"à {settings.smtp.rate:g} message(s) par seconde au plus.")
        for recipient in todo[:20]:
            label = f" ({escape(recipient.name)})" if recipient.name else ""
            line = f"ligne {recipient.line}\u00a0: " if list_path else ""
            out.print(f"  {line}{escape(recipient.email)}{label}")
        if len(todo) > 20:
            out.print(f"  … et {len(todo) - 20} autre(s).")
        return
    if not todo:
        out.print("[green]Rien à envoyer[/]\u00a0: chaque destinataire de la liste a déjà été "
                  "traité.")
        return
    columns = (TextColumn("Envoi"), BarColumn(), TextColumn(
        "[green]{task.fields[sent]} envoyé(s)[/] · [red]{task.fields[failed]} échec(s)[/] · "
        "{task.fields[left]} restant(s)"), TimeRemainingColumn())
    try:
        with Progress(*columns, console=err.console, transient=False) as bar:
            task = bar.add_task("envoi", total=len(campaign.recipients) - uncertain_before,
                                sent=sent_before, failed=failed_before, left=len(todo))

            def progress(sent: int, failed: int, left: int) -> None:
                bar.update(task, completed=sent + failed, sent=sent, failed=failed, left=left)

            outcome = run(campaign, progress)
    except CampaignError as exc:
        err.print(f"[red bold]Envoi arrêté[/]\u00a0: {escape(str(exc))}. Relancez la même "
                  "commande une fois le problème réglé\u00a0: l’envoi reprendra où il s’est "
                  "arrêté.")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[yellow bold]Envoi interrompu[/]\u00a0: relancez la même commande pour le "
                  "reprendre (personne ne recevra le numéro deux fois).")
        sys.exit(130)
    out.print(f"[green]{outcome.sent_now} message(s) envoyé(s)[/] ({outcome.sent} sur "
              f"{outcome.total} au total).")
    for title, rows, colour in (
            ("Refus définitifs (adresse à vérifier ou à retirer de la liste)", outcome.failed,
             "red"),
            ("Refus temporaires répétés (relancez la commande plus tard)", outcome.deferred,
             "yellow"),
            ("Envoi incertain (connexion coupée juste après la remise\u202f; non renvoyé)",
             outcome.uncertain, "yellow")):
        if rows:
            err.print(f"[{colour} bold]{title}[/]\u00a0: {len(rows)}")
            for address, line, error in rows:
                where = f"ligne {line}\u00a0: " if list_path and line else ""
                reason = f" — {escape(error)}" if error else ""
                err.print(f"  {where}{escape(address)}{reason}")
    if outcome.stopped:
        err.print(f"[red bold]Envoi arrêté[/]\u00a0: {escape(outcome.stopped)}. Relancez la même "
                  "commande pour reprendre.")
    if outcome.stopped or outcome.failed or outcome.deferred:
        sys.exit(1)


if __name__ == "__main__":
    main()
