"""What `flash send` prepares before the first message: the composed issue, the recipients,
the journal and the unsubscribe secret; every problem found here is a French sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flash import printing
from flash.build import load
from flash.diagnostics import ContentError, Diagnostic
from flash.mail.compose import Composed, EmailError, compose, published
from flash.mail.journal import FAILED, SENDING, SENT, Journal, JournalError, journal_path
from flash.mail.send import Outcome, Progress, SendError, check_relay, check_smtp, send_issue
from flash.mail.subscribers import (
    ListError,
    Problem,
    Recipient,
    SubscriberList,
    parse_addresses,
    read_list,
)
from flash.mail.unsubscribe import SecretMissing, secret
from flash.settings import Settings
from flash.shipped import layout_problem, project_dirs
from flash.templates import make_environment


class CampaignError(Exception):
    """Nothing can be sent; `diagnostics` when the content itself has errors."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


@dataclass
class Campaign:
    composed: Composed
    recipients: list[Recipient]
    problems: list[Problem]
    where: str  # the list's path, or "--to"
    journal: Path | None  # None for proofs
    key: bytes | None
    states: dict[str, str] = field(default_factory=dict)  # from an earlier run
    subscribers: SubscriberList | None = None  # the list read, with its counts (--list)
    needs: list[str] = field(default_factory=list)  # what a dry run found missing for real
    database: str | None = None  # --subscribers: the database mailed

    def count(self, state: str) -> int:
        return sum(1 for r in self.recipients if self.states.get(r.key) == state)

    @property
    def to_send(self) -> list[Recipient]:
        return [r for r in self.recipients if self.states.get(r.key, "pending") == "pending"]


def prepare(source: Path, number: int, settings: Settings, *, to: str | None = None,
            list_path: Path | None = None, dry_run: bool = False,
            database: str | None = None) -> Campaign:
    """Everything checked before the first message. A dry run sends nothing, so what only
    sending needs (the relay, its password, the unsubscribe secret) is listed in
    `Campaign.needs` instead of stopping it. `database`: the subscribers database's URL
    (--subscribers), whose confirmed, non-suppressed subscribers are mailed."""
    if sum(x is not None for x in (to, list_path, database)) != 1:
        raise CampaignError("indiquez soit --to adresse(s) pour une épreuve, soit --list "
                            "abonnes.csv, soit --subscribers pour les abonnés de la base")
    needs: list[str] = []
    try:
        check_smtp(settings.smtp, needs if dry_run else None)
        corpus, _ = load(source)
    except ContentError as exc:
        raise CampaignError("le contenu a des erreurs : corrigez-les avant d’envoyer",
                            exc.diagnostics) from None
    except SendError as exc:
        raise CampaignError(str(exc)) from None
    issue = next((i for i in corpus.issues if i.number == number), None)
    if issue is None:
        known = ", ".join(str(i.number) for i in corpus.issues[:5])
        raise CampaignError(f"le numéro {number} n’existe pas dans {source} (derniers numéros : "
                            f"{known or 'aucun'})")
    if issue.placeholders_left:  # sample texts of `flash new`: warnings to build, errors to send
        raise CampaignError("des textes d’exemple restent : remplacez-les avant d’envoyer",
                            list(issue.placeholders_left))
    layouts = project_dirs(settings, "layouts")
    env = make_environment(layouts)
    try:
        # The links to the PDFs of the site as built, as in the published e-mail.
        composed = compose(env, issue, settings,
                           printing.built(issue.number, settings.root / settings.output))
        published(composed)  # checks From, Reply-To and the mailto address before any sending
    except EmailError as exc:
        raise CampaignError(str(exc)) from None
    except Exception as exc:
        missing = layout_problem(exc, layouts)
        if missing is None:
            raise
        raise CampaignError(str(missing)) from None
    try:
        key: bytes | None = secret(settings)
    except SecretMissing as exc:
        missing = (f"secret des liens de désabonnement absent : définissez la variable "
                   f"d’environnement {exc} (une longue phrase aléatoire, toujours la même ; "
                   "voir docs/email.md, « Premier envoi »)")
        if to is None and not dry_run:
            raise CampaignError(missing) from None
        if to is None:
            needs.append(missing)
        key = None  # a proof links to the generic unsubscribe page
    if to is not None:
        recipients, problems = parse_addresses(to)
        if not recipients:
            raise CampaignError("aucune adresse valide dans --to")
        return Campaign(composed, recipients, problems, "--to", None, key, needs=needs)
    if database is not None:
        return _from_database(composed, number, settings, database, key, needs)
    assert list_path is not None
    try:
        subscribers = read_list(list_path)
    except ListError as exc:
        raise CampaignError(str(exc)) from None
    if not subscribers.recipients:
        raise CampaignError(f"{list_path} : aucune adresse valide dans la liste "
                            f"({subscribers.rows} lignes lues ; {subscribers.columns})")
    path = journal_path(list_path, number)
    campaign = Campaign(composed, subscribers.recipients, subscribers.problems, str(list_path),
                        path, key, subscribers=subscribers, needs=needs)
    return _resumed(campaign)


def _resumed(campaign: Campaign) -> Campaign:
    """The states of an earlier run of the same mailing, from its journal."""
    path = campaign.journal
    if path is not None and path.exists():
        try:
            with Journal(path, campaign.composed.issue.number) as journal:
                campaign.states = journal.states(r.key for r in campaign.recipients)
        except JournalError as exc:
            raise CampaignError(str(exc)) from None
    return campaign


def database_journal(settings: Settings, number: int) -> Path:
    """The journal of a mailing to the database's subscribers: envois/abonnes.envoi-N.sqlite
    in the project (one per issue, as beside a CSV list)."""
    return journal_path(settings.root / "envois" / "abonnes.csv", number)


def _from_database(composed: Composed, number: int, settings: Settings, database: str,
                   key: bytes | None, needs: list[str]) -> Campaign:
    from flash.subscribers.store import StoreError, open_store

    try:
        store = open_store(database)
        try:
            recipients = store.recipients()
        finally:
            store.close()
    except StoreError as exc:
        raise CampaignError(str(exc)) from None
    if not recipients:
        raise CampaignError("aucun abonné confirmé dans la base : personne à qui envoyer")
    path = database_journal(settings, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    campaign = Campaign(composed, recipients, [], "la base des abonnés", path, key,
                        needs=needs, database=database)
    return _resumed(campaign)


def record_outcome(campaign: Campaign, outcome: Outcome) -> None:
    """After a mailing to the database: the mailing counted for the stats, and each address
    refused for good (5xx) recorded as a permanent bounce, which suppresses it."""
    if campaign.database is None:
        return
    from flash.subscribers.store import StoreError, open_store

    try:
        store = open_store(campaign.database)
        try:
            store.record_mailing(campaign.composed.issue.number, outcome.sent_now)
            origin = f"envoi du N°{campaign.composed.issue.number}"
            for address, _line, error in outcome.failed:
                if error and error.lstrip()[:1] == "5":
                    store.bounce(address, True, origin)
        finally:
            store.close()
    except StoreError:
        pass  # the mailing itself is done; the next run of bounces will catch up


def reach(campaign: Campaign) -> None:
    """The relay answers and takes the login: checked before the first message."""
    try:
        check_relay(campaign.composed.settings.smtp)
    except SendError as exc:
        raise CampaignError(str(exc)) from None


def run(campaign: Campaign, progress: Progress | None = None) -> Outcome:
    try:
        with Journal(campaign.journal, campaign.composed.issue.number) as journal:
            return send_issue(campaign.composed, campaign.recipients, journal, key=campaign.key,
                              progress=progress)
    except JournalError as exc:
        raise CampaignError(str(exc)) from None
    except SendError as exc:
        raise CampaignError(str(exc)) from None


__all__ = ["FAILED", "SENDING", "SENT", "Campaign", "CampaignError", "prepare", "reach",
           "record_outcome", "run"]
