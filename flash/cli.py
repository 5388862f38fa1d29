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
from flash.cli_french import FrenchGroup, install
from flash.diagnostics import ContentError, Diagnostic
from flash.output import OutputError
from flash.settings import Settings, SettingsError, load_settings
from flash.shipped import LayoutError

if TYPE_CHECKING:
    from rich.console import Console

    from flash.build import BuildReport
    from flash.mail.campaign import Campaign
    from flash.mail.send import Outcome

install()  # click's words in French, before the commands below are declared


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


def run() -> None:
    """The `flash` command: a process of its own, which may leave without freeing every object
    one by one (see _leave). Tests call `main` instead."""
    main(obj={"own_process": True})


def _own_process() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context is not None and isinstance(context.obj, dict)
                and context.obj.get("own_process"))


def _leave() -> None:
    """After a build, everything is written and closed: the command's own process ends at once
    instead of freeing the archive's objects one by one at exit (≈ 50 ms of 1.3 s for 1,200
    articles). No exit handler is registered by then."""
    if _own_process():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@click.group(cls=FrenchGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", message="Flash %(version)s")
def main() -> None:
    """Flash : le site, l’e-mail et les archives du Flash initiatives locales."""


SOURCE = click.option("--source", "-s", type=click.Path(file_okay=False),
                      help="Dossier du contenu (par défaut : issues/ du projet).")


@main.command()
@SOURCE
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Dossier du site produit (par défaut : _site/).")
@click.option("--base-url", metavar="ADRESSE",
              help="Adresse publique du site, ex. https://flash.example.org")
@click.option("--drafts", is_flag=True, help="Inclure les brouillons (draft: true).")
@click.option("--profile", is_flag=True, help="Afficher le temps passé dans chaque étape.")
@click.option("--no-search", is_flag=True, help="Ne pas indexer la recherche (Pagefind).")
@click.option("--no-emails", is_flag=True, help="Ne pas produire les e-mails des numéros.")
@click.option("--no-print", is_flag=True,
              help="Ne pas produire la version imprimable ni l’affiche des numéros (PDF).")
@click.option("--no-cache", is_flag=True,
              help="Tout reconstruire, sans réutiliser le cache (.flash-cache/) ni le site "
                   "précédent.")
def build(source: str | None, output: str | None, base_url: str | None, drafts: bool,
          profile: bool, no_search: bool, no_emails: bool, no_print: bool, no_cache: bool
          ) -> None:
    """Vérifie le contenu puis construit le site.

    En cas d’erreur, rien n’est écrit : le site précédent reste intact."""
    from flash.build import build as run_build

    settings, folder = _settings(source)
    settings = settings.with_overrides(base_url=base_url)
    target = Path(output) if output else settings.root / settings.output
    if _own_process():
        # The process ends with the build. Python's cycle collector would run hundreds of times
        # in a large build only to find the few cycles it leaves behind, which the exit frees
        # (see the README's "Build speed").
        gc.disable()
    try:
        with _status("Construction du site…"):
            report = run_build(folder, target, settings, drafts=drafts,
                               search_on=False if no_search else None, emails=not no_emails,
                               use_cache=not no_cache, meanwhile=warm_up,
                               printing=not no_print)
    except ContentError as exc:
        print_diagnostics(exc.diagnostics)
        err.print(f"[red bold]Construction annulée[/] : {_summary(exc.diagnostics)}. "
                  "Le site précédent n’a pas été modifié.")
        sys.exit(1)
    except (OutputError, LayoutError) as exc:
        err.print(f"[red bold]Construction annulée[/] : {escape(str(exc))}")
        sys.exit(1)
    print_diagnostics(report.warnings)
    out.print(f"[green]Site construit[/] dans {escape(str(target))} {built_sentence(report)}")
    if not no_emails and report.issues:  # with the warnings, apart from the summary
        err.print(_email_proof_note(settings, target))
    if profile:
        for stage, seconds in report.stages.items():
            out.print(f"  {stage:<28} {seconds * 1000:8.1f} ms")
        changes = _changes(report)  # pages, feeds, sitemap and e-mails rendered from templates
        out.print(f"  Détail\u00a0: {changes[0].lower()}{changes[1:]} (pages, flux, plan du site, "
                  "e-mails et PDF).")
    _leave()


def _count(count: int, one: str, many: str) -> str:
    return f"{count:,}".replace(",", "\u202f") + f"\u00a0{one if count <= 1 else many}"


def built_sentence(report: BuildReport) -> str:
    """The end of « Site construit dans … »: what the site holds, then what this build
    changed in it, in one sentence."""
    files = report.files
    written = min(len(set(report.written)) + report.indexed, files)
    if not written:
        change = "aucun n’a changé depuis la construction précédente"
    elif written == files:
        change = "cette construction les a tous écrits"
    else:
        change = f"cette construction en a écrit {written}, les autres n’ont pas changé"
    seconds = f"{report.seconds:.2f}".replace(".", ",")
    return (f"en {seconds}\u00a0s\u00a0: {_count(report.issues, 'numéro', 'numéros')}, "
            f"{_count(report.articles, 'article', 'articles')}\u202f; le site compte "
            f"{_count(files, 'fichier', 'fichiers')}, dont "
            f"{_count(report.pages, 'page', 'pages')}\u202f; {change}.")


def _email_proof_note(settings: Settings, target: Path) -> str:
    """What a proof-reader of the built e-mails sees: they are the very messages subscribers
    get, whose images the site online serves (see README, « Relire un e-mail »)."""
    return (f"E-mails\u00a0: dans {escape(str(target))}/numeros/N/email.html et email.eml, "
            f"les images viennent de {escape(settings.site_url)} et n’apparaissent qu’une fois "
            "le site publié à cette adresse\u00a0; pour relire un e-mail avant, ouvrez-le dans "
            "l’aperçu («\u00a0flash serve\u00a0», puis /numeros/N/email.html).")


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
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRESSE",
              help="Adresse d’écoute.")
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port d’écoute (0 : un port libre).")
@click.option("--print", "printing", is_flag=True,
              help="Produire aussi la version imprimable et l’affiche (PDF) : une "
                   "modification refait alors le PDF de son numéro (2 s environ).")
def serve(source: str | None, output: str | None, host: str, port: int,
          printing: bool) -> None:
    """Aperçu en direct : reconstruit ce qui change et recharge la page ouverte (brouillons
    compris)."""
    from flash.serve import ServeError
    from flash.serve import serve as run_serve

    settings, folder = _settings(source)
    try:
        run_serve(folder, settings, host=host, port=port,
                  output=Path(output) if output else None, console=err.console,
                  printing=printing)
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
    from flash.mail.report import count as counted

    out.print(f"[green]Contenu valide[/]\u00a0: {counted(len(corpus.issues), 'numéro')}, "
              f"{counted(count, 'article')}{suffix}.")


@main.group()
def new() -> None:
    """Crée un numéro ou un article à compléter."""


@new.command("issue")
@click.argument("number", type=click.IntRange(min=1), metavar="NUMÉRO")
@click.option("--date", "month", metavar="AAAA-MM",
              help="Mois du numéro (par défaut : ce mois-ci).")
@SOURCE
def new_issue_command(number: int, month: str | None, source: str | None) -> None:
    """Crée le dossier du numéro NUMÉRO avec son issue.yaml."""
    from flash.scaffold import ScaffoldError, new_issue

    _, folder = _settings(source)
    try:
        created = new_issue(folder, number, month)
    except ScaffoldError as exc:
        err.print(f"[red]Impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    out.print(f"[green]Numéro créé[/] : {escape(str(created / 'issue.yaml'))}")


@new.command("article")
@click.argument("issue", type=int, metavar="NUMÉRO")
@click.argument("title", metavar="TITRE")
@click.option("--organisation", "-g", required=True,
              help="Identifiant de l’organisation (voir organisations.yaml).")
@SOURCE
def new_article_command(issue: int, title: str, organisation: str, source: str | None) -> None:
    """Crée un article « TITRE » dans le numéro NUMÉRO."""
    from flash.scaffold import ScaffoldError, new_article

    _, folder = _settings(source)
    try:
        created = new_article(folder, issue, organisation, title)
    except ScaffoldError as exc:
        err.print(f"[red]Impossible[/] : {escape(str(exc))}")
        sys.exit(1)
    out.print(f"[green]Article créé[/] : {escape(str(created))}")


@main.command()
@click.argument("number", type=click.IntRange(min=1), metavar="NUMÉRO")
@click.option("--to", "to", metavar="ADRESSES",
              help="Envoyer une épreuve à ces adresses, séparées par des virgules.")
@click.option("--list", "list_path", type=click.Path(dir_okay=False), metavar="FICHIER.csv",
              help="Envoyer à toute la liste (colonnes email et, si besoin, name). Un journal "
                   "FICHIER.envoi-NUMÉRO.sqlite, à côté, permet de reprendre un envoi interrompu.")
@click.option("--subscribers", "from_database", is_flag=True,
              help="Envoyer aux abonnés confirmés de la base (flash subscribers), sauf les "
                   "adresses exclues. Un journal envois/abonnes.envoi-NUMÉRO.sqlite permet de "
                   "reprendre.")
@click.option("--dry-run", is_flag=True, help="Afficher ce qui serait envoyé, sans rien envoyer.")
@click.option("--base-url", metavar="ADRESSE",
              help="Adresse publique du site, pour les liens de l’e-mail.")
@SOURCE
def send(number: int, to: str | None, list_path: str | None, from_database: bool,
         dry_run: bool, base_url: str | None, source: str | None) -> None:
    """Envoie le numéro NUMÉRO par e-mail : une épreuve (--to), toute la liste (--list) ou
    les abonnés de la base (--subscribers).

    Relancer la même commande après une interruption reprend l’envoi là où il s’était arrêté,
    sans jamais envoyer deux fois le numéro à la même personne."""
    from flash.mail import report
    from flash.mail.campaign import CampaignError, prepare, reach, record_outcome

    settings, folder = _settings(source)
    settings = settings.with_overrides(base_url=base_url)
    database = None
    if from_database:
        from flash.subscribers.commands import database_of

        database = database_of(settings)
    try:
        campaign = prepare(folder, number, settings, to=to,
                           list_path=Path(list_path) if list_path else None, dry_run=dry_run,
                           database=database)
    except CampaignError as exc:
        print_diagnostics(exc.diagnostics)
        err.print(f"[red bold]Envoi impossible[/]\u00a0: {escape(str(exc))}")
        sys.exit(1)
    for problem in campaign.problems:
        where = f"{campaign.where}:{problem.line}" if list_path else f"--to, adresse {problem.line}"
        err.print(f"[bold]{escape(where)}[/]\u00a0: [yellow]{escape(problem.message)}[/]")
    composed = campaign.composed
    todo = campaign.to_send
    content = "articles complets" if composed.mode == "full" else "résumés"
    out.print(f"[bold]{escape(composed.subject)}[/] ({content}, "
              f"{composed.html_bytes / 1024:.0f}\u202fKo de HTML)")
    if campaign.subscribers is not None:
        for line in report.list_lines(campaign.subscribers):
            out.print(escape(line))
    out.print(escape(report.plan_line(campaign)))
    if dry_run:
        _print_dry_run(campaign, settings, bool(list_path))
        return
    if not todo:
        out.print("[green]Rien à envoyer[/]\u00a0: chaque destinataire de la liste a déjà été "
                  "traité.")
        return
    try:
        with _status("Connexion au relais SMTP…"):
            reach(campaign)
    except CampaignError as exc:
        err.print(f"[red bold]Envoi impossible[/]\u00a0: {escape(str(exc))}")
        sys.exit(1)
    try:
        outcome = _send_with_progress(campaign)
        record_outcome(campaign, outcome)
    except CampaignError as exc:
        err.print(f"[red bold]Envoi arrêté[/]\u00a0: {escape(str(exc))}. Relancez la même "
                  "commande une fois le problème réglé\u00a0: l’envoi reprendra où il s’est "
                  "arrêté.")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[yellow bold]Envoi interrompu[/]\u00a0: relancez la même commande pour le "
                  "reprendre (personne ne recevra le numéro deux fois).")
        sys.exit(130)
    _print_outcome(outcome, bool(list_path))


def _send_with_progress(campaign: Campaign) -> Outcome:
    """The mailing, with a progress bar: sent · failed · left."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from flash.mail import report
    from flash.mail.campaign import run

    columns = (TextColumn("Envoi"), BarColumn(), TextColumn(
        "[green]{task.fields[sent]}[/] · [red]{task.fields[failed]}[/] · "
        "{task.fields[left]}"), TimeRemainingColumn())

    def fields(sent: int, failed: int, left: int) -> dict[str, str]:
        return {"sent": report.count(sent, "envoyé"), "failed": report.count(failed, "échec"),
                "left": report.count(left, "restant")}

    with Progress(*columns, console=err.console, transient=False) as bar:
        task = bar.add_task("envoi", total=len(campaign.recipients) - campaign.count("sending"),
                            **fields(campaign.count("sent"), campaign.count("failed"),
                                     len(campaign.to_send)))

        def progress(sent: int, failed: int, left: int) -> None:
            bar.update(task, completed=sent + failed, **fields(sent, failed, left))

        return run(campaign, progress)


def _print_dry_run(campaign: Campaign, settings: Settings, listed: bool) -> None:
    """What `flash send --dry-run` found, and the first recipients it would mail."""
    from flash.mail import report

    todo = campaign.to_send
    for line in report.dry_run_lines(campaign, settings.smtp):
        out.print(escape(line))
    for recipient in todo[:20]:
        label = f" ({escape(recipient.name)})" if recipient.name else ""
        line = f"ligne {recipient.line}\u00a0: " if listed else ""
        out.print(f"  {line}{escape(recipient.email)}{label}")
    if len(todo) > 20:
        out.print(f"  … et {escape(report.count(len(todo) - 20, 'autre'))}.")


def _print_outcome(outcome: Outcome, listed: bool) -> None:
    """How a mailing ended: who got it, who was refused or waits, and why; exits with 1 when
    anyone is left."""
    from flash.mail import report

    out.print(f"[green]{escape(report.sent_line(outcome))}[/]")
    waiting_title = ("En attente (refus en série ou refus temporaires)" if outcome.stopped else
                     "En attente (leur domaine refuse le message, ou refus temporaires\u202f; "
                     "relancez la commande plus tard)" if outcome.held else
                     "Refus temporaires répétés (relancez la commande plus tard)")
    for title, rows, colour in (
            ("Refus définitifs (adresse à vérifier ou à retirer de la liste)", outcome.failed,
             "red"),
            (waiting_title, outcome.deferred, "yellow"),
            ("Envoi incertain (connexion coupée juste après la remise\u202f; non renvoyé)",
             outcome.uncertain, "yellow")):
        if rows:
            err.print(f"[{colour} bold]{title}[/]\u00a0: {len(rows)}")
            for address, line, error in rows:
                where = f"ligne {line}\u00a0: " if listed and line else ""
                reason = f" — {escape(error)}" if error else ""
                err.print(f"  {where}{escape(address)}{reason}")
    if outcome.stopped:
        err.print(f"[red bold]Envoi arrêté[/]\u00a0: {escape(outcome.stopped)}.")
        err.print(escape(report.waiting_line(outcome)))
    if outcome.stopped or outcome.failed or outcome.deferred:
        sys.exit(1)


@main.command("fmt")
@SOURCE
@click.option("--check", is_flag=True,
              help="Seulement lister les fichiers à mettre en forme (code de sortie 1 s’il y en "
                   "a), sans rien écrire.")
def fmt_command(source: str | None, check: bool) -> None:
    """Met les en-têtes des articles et des issue.yaml dans le style de l’éditeur en ligne.

    Les textes des articles ne changent pas. Écrire les fichiers dans un seul style garde
    petites les différences (git) entre ce qu’écrit l’éditeur et ce qu’écrit l’équipe."""
    from flash.editor.fmt import fmt

    _, folder = _settings(source)
    report = fmt(folder, check=check)
    for path, line, message in report.problems:
        where = f"{path}:{line}" if line else str(path)
        err.print(f"[bold]{escape(where)}[/]\u00a0: [red]{escape(message)}[/]")
    verb = "à mettre en forme" if check else "mis en forme"
    for path in report.changed:
        note = " (ses commentaires sont retirés)" if path in report.comments else ""
        out.print(f"  {escape(str(path))}{note}")
    from flash.mail.report import count as counted

    out.print(f"{counted(len(report.changed), 'fichier ' + verb, 'fichiers ' + verb)}, "
              f"{counted(report.unchanged, 'déjà en forme', 'déjà en forme')}"
              + (f", {counted(len(report.problems), 'illisible')}" if report.problems else "")
              + ".")
    if report.problems or (check and report.changed):
        sys.exit(1)


def _add_subscribers() -> None:
    from flash.subscribers.commands import subscribers

    main.add_command(subscribers)


_add_subscribers()

if __name__ == "__main__":
    main()
