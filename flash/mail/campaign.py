"""What `flash send` prepares before the first message: the composed issue, the recipients,
the journal and the unsubscribe secret; every problem found here is a French sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flash.build import load, project_dir
from flash.diagnostics import ContentError, Diagnostic
from flash.mail.compose import Composed, EmailError, compose, published
from flash.mail.journal import FAILED, SENDING, SENT, Journal, JournalError, journal_path
from flash.mail.send import Outcome, Progress, SendError, check_smtp, send_issue
from flash.mail.subscribers import ListError, Problem, Recipient, parse_addresses, read_list
from flash.mail.unsubscribe import SecretMissing, secret
from flash.settings import Settings
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

    def count(self, state: str) -> int:
        return sum(1 for r in self.recipients if self.states.get(r.key) == state)

    @property
    def to_send(self) -> list[Recipient]:
        return [r for r in self.recipients if self.states.get(r.key, "pending") == "pending"]


def prepare(source: Path, number: int, settings: Settings, *, to: str | None = None,
            list_path: Path | None = None) -> Campaign:
    if (to is None) == (list_path is None):
        raise CampaignError("indiquez soit --to adresse(s) pour une épreuve, soit --list "
                            "abonnes.csv pour toute la liste")
    try:
        check_smtp(settings.smtp)
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
    env = make_environment(project_dir(settings, "layouts"))
    try:
        composed = compose(env, issue, settings)
        published(composed)  # checks From, Reply-To and the mailto address before any sending
    except EmailError as exc:
        raise CampaignError(str(exc)) from None
    try:
        key: bytes | None = secret(settings)
    except SecretMissing as exc:
        if list_path is not None:
            raise CampaignError(
                f"secret des liens de désabonnement absent : définissez la variable "
                f"d’environnement {exc} (une longue phrase aléatoire, toujours la même)") from None
        key = None  # a proof links to the generic unsubscribe page
    if to is not None:
        recipients, problems = parse_addresses(to)
        if not recipients:
            raise CampaignError("aucune adresse valide dans --to")
        return Campaign(composed, recipients, problems, "--to", None, key)
    assert list_path is not None
    try:
        subscribers = read_list(list_path)
    except ListError as exc:
        raise CampaignError(str(exc)) from None
    if not subscribers.recipients:
        raise CampaignError(f"{list_path} : aucune adresse valide dans la liste")
    path = journal_path(list_path, number)
    campaign = Campaign(composed, subscribers.recipients, subscribers.problems, str(list_path),
                        path, key)
    if path.exists():
        try:
            with Journal(path, number) as journal:
                campaign.states = journal.states(r.key for r in campaign.recipients)
        except JournalError as exc:
            raise CampaignError(str(exc)) from None
    return campaign


def run(campaign: Campaign, progress: Progress | None = None) -> Outcome:
    try:
        with Journal(campaign.journal, campaign.composed.issue.number) as journal:
            return send_issue(campaign.composed, campaign.recipients, journal, key=campaign.key,
                              progress=progress)
    except JournalError as exc:
        raise CampaignError(str(exc)) from None
    except SendError as exc:
        raise CampaignError(str(exc)) from None


__all__ = ["FAILED", "SENDING", "SENT", "Campaign", "CampaignError", "prepare", "run"]
