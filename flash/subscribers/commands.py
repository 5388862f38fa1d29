"""`flash subscribers …`: the team's commands on the subscribers database (serve, import,
export, list, count, remove, bounces, stats), each reporting in French."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from flash.settings import Settings, SettingsError, load_settings
from flash.subscribers.statuses import STATUS_LABELS, STATUSES
from flash.typography import count as n
from flash.typography import number

if TYPE_CHECKING:
    from flash.subscribers.store import Store

# SQLAlchemy and the rest of the service are imported by the commands that use them: the
# `flash` command lists these without loading them.

DATABASE_ENV = "FLASH_SUBSCRIBERS_DATABASE"
NBSP = "\u00a0"


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"Erreur{NBSP}: {message}", err=True)
    sys.exit(code)


def settings_for(project: str | None) -> Settings:
    try:
        return load_settings(Path(project) / "issues" if project else None)
    except SettingsError as exc:
        _fail(f"réglages illisibles{NBSP}: {exc}", 2)
        raise


def database_of(settings: Settings) -> str:
    """The environment variable wins: it may hold a password, which no file should."""
    from flash.subscribers.store import database_url

    return database_url(os.environ.get(DATABASE_ENV) or settings.subscribers_database,
                        settings.root)


def store_of(settings: Settings) -> Store:
    from flash.subscribers.store import StoreError, open_store

    try:
        return open_store(database_of(settings))
    except StoreError as exc:
        _fail(str(exc))
        raise


def _key(settings: Settings) -> bytes:
    from flash.mail.unsubscribe import SecretMissing, secret

    try:
        return secret(settings)
    except SecretMissing as exc:
        _fail(f"définissez la variable d’environnement {exc}{NBSP}: elle signe les liens de "
              "confirmation et de désabonnement (voir docs/abonnes.md)")
        raise


PROJECT = click.option("--project", "-P", type=click.Path(file_okay=False), metavar="DOSSIER",
                       help="Dossier du projet (celui de pyproject.toml)\u00a0; par défaut le "
                            "dossier courant.")


@click.group("subscribers")
def subscribers() -> None:
    """Les abonnés : inscriptions, désabonnements, retours d’erreur, statistiques.

    La base est un fichier SQLite (abonnes.sqlite) sauf si [tool.flash] subscribers_database
    ou la variable FLASH_SUBSCRIBERS_DATABASE donne l’adresse d’une base PostgreSQL."""


@subscribers.command()
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRESSE",
              help="Adresse d’écoute (derrière un proxy HTTPS, laissez 127.0.0.1).")
@click.option("--port", "-p", default=8100, show_default=True, type=click.IntRange(0, 65535),
              help="Port d’écoute.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Nombre de processus (le service ne garde rien en mémoire).")
@PROJECT
def serve(host: str, port: int, workers: int, project: str | None) -> None:
    """Lance le service d’abonnement (formulaires, confirmations, désabonnements)."""
    import uvicorn

    settings = settings_for(project)
    if not settings.subscribers_url:
        _fail("indiquez subscribers_url sous [tool.flash] dans pyproject.toml (l’adresse "
              "publique du service, par exemple https://abonnement.exemple.fr)")
    _key(settings)
    store_of(settings).close()  # migrated once, before the workers start
    os.environ["FLASH_SUBSCRIBERS_PROJECT"] = str(settings.root)
    click.echo(f"Service d’abonnement sur http://{host}:{port}/ (public{NBSP}: "
               f"{settings.subscribers_url})")
    uvicorn.run("flash.subscribers.app:app", host=host, port=port, workers=workers,
                proxy_headers=True, log_level="warning", server_header=False)


@subscribers.command("import")
@click.argument("file", type=click.Path(dir_okay=False), metavar="FICHIER.csv")
@click.option("--source", required=True, metavar="TEXTE",
              help="D’où vient le consentement (ex.\u00a0: « Fichier du forum 2026 »). "
                   "Obligatoire.")
@PROJECT
def import_command(file: str, source: str, project: str | None) -> None:
    """Ajoute les abonnés d’une liste CSV (export Excel accepté). Les adresses désabonnées,
    effacées ou en erreur définitive ne sont jamais réinscrites."""
    from flash.mail.subscribers import ListError, read_list
    from flash.subscribers.store import StoreError

    if not source.strip():
        _fail(f"--source ne peut pas être vide{NBSP}: dites d’où vient le consentement")
    settings = settings_for(project)
    try:
        listed = read_list(Path(file))
    except ListError as exc:
        _fail(str(exc))
        raise
    for problem in listed.problems:
        click.echo(f"{file}:{problem.line}{NBSP}: {problem.message}", err=True)
    store = store_of(settings)
    try:
        report = store.import_rows(listed.recipients, source.strip())
    except StoreError as exc:
        _fail(str(exc))
        raise
    click.echo(f"{file}{NBSP}: {listed.columns}.")
    click.echo(f"{n(report.added, 'abonné ajouté', 'abonnés ajoutés')}, "
               f"{n(report.already, 'déjà inscrit', 'déjà inscrits')}, "
               f"{n(report.suppressed, 'ignoré', 'ignorés')} (désabonnement, effacement ou "
               f"erreur définitive) ; "
               f"{n(len(listed.skipped), 'ligne refusée', 'lignes refusées')}.")


@subscribers.command("export")
@click.option("--status", type=click.Choice(STATUSES), help="Seulement cet état.")
@click.option("--address", metavar="ADRESSE",
              help="Une seule personne, avec ses consentements (demande d’accès RGPD).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="FICHIER.csv",
              help="Écrire dans ce fichier (par défaut\u00a0: la sortie standard).")
@PROJECT
def export(status: str | None, address: str | None, output: str | None,
           project: str | None) -> None:
    """Exporte les abonnés en CSV (séparateur «\u00a0;\u00a0», pour Excel)."""
    store = store_of(settings_for(project))
    rows = store.listing(status, address)
    if address and not rows:
        _fail(f"aucun abonné à l’adresse {address}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["email", "prenom", "nom", "etat", "inscrit_le", "confirme_le",
                     "desabonne_le", "source"])
    for row in rows:
        writer.writerow([row.email, row.first_name, row.last_name, STATUS_LABELS[row.status],
                         _when(row.created_at), _when(row.confirmed_at),
                         _when(row.unsubscribed_at), row.source])
    if address:
        writer.writerow([])
        writer.writerow(["consentement", "date", "source", "texte accepté", "moyen"])
        for action, at, source, text, method in store.consent_records(address):
            writer.writerow([CONSENT_LABELS.get(action, action), _when(at), source, text,
                             method])
    if output:
        Path(output).write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
        click.echo(f"{output}{NBSP}: {n(len(rows), 'abonné exporté', 'abonnés exportés')}.")
    else:
        click.echo(buffer.getvalue(), nl=False)


CONSENT_LABELS = {"requested": "demandé", "confirmed": "confirmé", "imported": "importé",
                  "withdrawn": "retiré"}


def _when(at: float | None) -> str:
    if at is None:
        return ""
    return dt.datetime.fromtimestamp(at, dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")


@subscribers.command("list")
@click.option("--status", type=click.Choice(STATUSES), default="confirmed", show_default=True,
              help="L’état des abonnés à lister.")
@PROJECT
def list_command(status: str, project: str | None) -> None:
    """Liste les abonnés d’un état (adresse, nom, date)."""
    rows = store_of(settings_for(project)).listing(status)
    for row in rows:
        name = f" ({row.name})" if row.name else ""
        click.echo(f"{row.email}{name} — {_when(row.confirmed_at or row.created_at)}")
    click.echo(f"{n(len(rows), 'abonné')} {STATUS_LABELS[status]}"
               f"{'s' if len(rows) > 1 else ''}.", err=True)


COUNT_LABELS = {"pending": "En attente de confirmation",
                "confirmed": "Confirmés (reçoivent le Flash)", "unsubscribed": "Désabonnés"}


@subscribers.command("count")
@PROJECT
def count_command(project: str | None) -> None:
    """Compte les abonnés par état."""
    counts = store_of(settings_for(project)).counts()
    for status in STATUSES:
        click.echo(f"{COUNT_LABELS[status]}{NBSP}: {number(counts[status])}")
    click.echo(f"Liste d’exclusion (jamais écrits){NBSP}: {number(counts['suppressed'])}")


@subscribers.command("remove")
@click.argument("address", metavar="ADRESSE")
@PROJECT
def remove(address: str, project: str | None) -> None:
    """Efface une personne (droit à l’effacement)\u202f: ses données sont supprimées, seule une
    empreinte de l’adresse reste pour ne plus jamais lui écrire."""
    found = store_of(settings_for(project)).erase(address)
    if found:
        click.echo(f"{address}{NBSP}: données effacées ; l’adresse ne recevra plus rien.")
    else:
        click.echo(f"{address}{NBSP}: inconnue de la base ; ajoutée à la liste "
                   "d’exclusion pour ne jamais lui écrire.")


@subscribers.command("copy")
@click.argument("target", metavar="ADRESSE-DE-BASE")
@PROJECT
def copy(target: str, project: str | None) -> None:
    """Copie toute la base (abonnés, consentements, exclusions, statistiques) vers une autre
    base vide, par exemple de SQLite vers PostgreSQL (postgresql://utilisateur:mot de
    passe@hôte/base)."""
    from flash.subscribers.store import StoreError, copy_all, database_url, open_store

    settings = settings_for(project)
    source = store_of(settings)
    try:
        destination = open_store(database_url(target, settings.root))
        copied = copy_all(source, destination)
    except StoreError as exc:
        _fail(str(exc))
        raise
    click.echo(f"{n(copied['subscribers'], 'abonné copié', 'abonnés copiés')}, "
               f"{n(copied['consents'], 'consentement')}, "
               f"{n(copied['suppressions'], 'adresse exclue', 'adresses exclues')}.")
    click.echo("Indiquez maintenant cette base dans FLASH_SUBSCRIBERS_DATABASE, puis "
               "redémarrez le service.")


@subscribers.command("bounces")
@click.argument("source", metavar="SOURCE")
@PROJECT
def bounces_command(source: str, project: str | None) -> None:
    """Lit les retours d’erreur (SOURCE\u00a0: un fichier mbox, un dossier Maildir ou de
    fichiers .eml, ou « imap » pour la boîte de [tool.flash.bounces]) et exclut les adresses
    en erreur définitive, ou en erreur temporaire trois jours différents."""
    from flash.subscribers.bounces import BounceError, messages, process

    settings = settings_for(project)
    store = store_of(settings)
    try:
        report = process(store, messages(source, settings.bounces))
    except BounceError as exc:
        _fail(str(exc))
        raise
    click.echo(f"{n(report.read, 'message lu', 'messages lus')}, "
               f"{n(report.bounces, 'retour d’erreur', 'retours d’erreur')} "
               f"({n(report.permanent, 'définitif', 'définitifs')}, "
               f"{n(report.temporary, 'temporaire', 'temporaires')}), "
               f"{n(report.already, 'déjà lu', 'déjà lus')}.")
    for address in report.suppressed:
        click.echo(f"  exclue{NBSP}: {address}")
    click.echo(f"{n(len(report.suppressed), 'adresse exclue', 'adresses exclues')}.")


@subscribers.command("stats")
@PROJECT
def stats(project: str | None) -> None:
    """Abonnés au fil des mois, et inscriptions, désabonnements et retours d’erreur par
    numéro envoyé."""
    happened, sent, spans = store_of(settings_for(project)).history()
    click.echo("Abonnés confirmés en fin de mois\u00a0:")
    months = sorted({_month(at) for at, _ in spans} | {_month(at) for _, at in spans if at})
    for month in months:
        active = sum(1 for start, end in spans
                     if _month(start) <= month and (end is None or _month(end) > month))
        click.echo(f"  {month}{NBSP}: {number(active)}")
    if not sent:
        click.echo("Aucun numéro envoyé depuis la base pour l’instant.")
        return
    click.echo("Par numéro (de son envoi au suivant)\u00a0:")
    for index, (issue_number, at, recipients) in enumerate(sent):
        end = sent[index + 1][1] if index + 1 < len(sent) else float("inf")
        kinds = Counter(kind for kind, when in happened if at <= when < end)
        click.echo(f"  N°{issue_number} ({_when(at)}, {n(recipients, 'destinataire')}){NBSP}: "
                   f"{n(kinds['confirm'], 'inscription')}, "
                   f"{n(kinds['unsubscribe'], 'désabonnement')}, "
                   f"{n(kinds['bounce'], 'retour d’erreur', 'retours d’erreur')}")


def _month(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m")
