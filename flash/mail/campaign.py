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

    def count(self, state: str) -> int:
        return sum(1 for r in self.recipients if self.states.get(r.key) == state)

    @property
    def to_send(self) -> list[Recipient]:
        return [r for r in self.recipients if self.states.get(r.key, "pending") == "pending"]


def prepare(source: Path, number: int, settings: Settings, *, to: str | None = None,
            list_path: Path | None = None, dry_run: bool = False) -> Campaign:
    """Everything checked before the first message. A dry run sends nothing, so what only
    sending needs (the relay, its password, the unsubscribe secret) is listed in
    `Campaign.needs` instead of stopping it."""
    if (to is None) == (list_path is None):
        raise CampaignError("indiquez soit --to adresse(s) pour une épreuve, soit --list "
                            "abonnes.csv pour toute la liste")
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
        raise CampaignError("des textes d’exemple restent : remplacez-les avant d’envoyer",
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
        if list_path is not None and not dry_run:
            raise CampaignError(missing) from None
        if list_path is not None:
            needs.append(missing)
        key = None  # a proof links to the generic unsubscribe page
    if to is not None:
        recipients, problems = parse_addresses(to)
        if not recipients:
            raise CampaignError("aucune adresse valide dans --to")
        return Campaign(composed, recipients, problems, "--to", None, key, needs=needs)
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
    if path.exists():
        try:
            with Journal(path, number) as journal:
                campaign.states = journal.states(r.key for r in campaign.recipients)
        except JournalError as exc:
            raise CampaignError(str(exc)) from None
    return campaign


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


__all__ = ["FAILED", "SENDING", "SENT", "Campaign", "CampaignError", "prepare", "reach", "run"]
