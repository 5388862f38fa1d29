"""The French sentences `flash send` prints: counts with their plurals, the list's rows
accounted for, what a dry run found missing, and how a run ended."""

from __future__ import annotations

from flash.mail.campaign import Campaign
from flash.mail.send import Outcome
from flash.mail.subscribers import SubscriberList
from flash.settings import SmtpSettings
from flash.typography import count, number

__all__ = ["count", "number"]  # with the sentences below, which use them

SECURITY_LABELS = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "sans chiffrement"}
NBSP, NNBSP = "\u00a0", "\u202f"


def rate(smtp: SmtpSettings) -> str:
    if smtp.rate <= 0:
        return "sans limite de débit"
    return f"à {count(smtp.rate, 'message')} par seconde au plus"


def relay(smtp: SmtpSettings) -> str:
    security = SECURITY_LABELS.get(smtp.security, smtp.security)
    return f"{smtp.host}:{smtp.port} ({security}), {rate(smtp)}"


def list_lines(subscribers: SubscriberList) -> list[str]:
    """Which columns were read, and the rows of the file accounted for, one by one."""
    path = subscribers.path
    skipped, blank = len(subscribers.skipped), len(subscribers.blank)
    parts = [count(len(subscribers.recipients), "destinataire")]
    if skipped:
        parts.append(count(skipped, "ligne ignorée"))
    if blank:
        parts.append(count(blank, "ligne vide", "lignes vides"))
    return [f"{path}{NBSP}: {subscribers.columns}.",
            f"{path}{NBSP}: {count(subscribers.rows, 'ligne')} sous l’en-tête = "
            f"{' + '.join(parts)}{NNBSP}; chaque ligne est comptée."]


def plan_line(campaign: Campaign) -> str:
    todo = len(campaign.to_send)
    parts = [f"{number(todo)} à envoyer"]
    for state, singular, plural in (("sent", "déjà envoyé", "déjà envoyés"),
                                    ("failed", "en échec définitif", "en échec définitif"),
                                    ("sending", "incertain", "incertains")):
        done = campaign.count(state)
        if done:
            parts.append(count(done, singular, plural))
    return f"{count(len(campaign.recipients), 'destinataire')}{NBSP}: {', '.join(parts)}."


def dry_run_lines(campaign: Campaign, smtp: SmtpSettings) -> list[str]:
    lines = [f"Simulation (--dry-run){NBSP}: rien n’est envoyé."]
    if smtp.host.strip():
        lines[0] += f" Le relais serait {relay(smtp)}."
    if campaign.needs:
        lines.append(f"Pour le vrai envoi, il faudra encore{NBSP}:")
        lines += [f"  – {need}" for need in campaign.needs]
    else:
        found = ["relais réglé"]
        if smtp.user:
            found.append(f"mot de passe présent ({smtp.password_env})")
        if campaign.key is not None:
            found.append("secret des liens de désabonnement présent")
        lines.append(f"Prêt pour le vrai envoi{NBSP}: {', '.join(found)}.")
    return lines


def sent_line(outcome: Outcome) -> str:
    return (f"{count(outcome.sent_now, 'message envoyé', 'messages envoyés')} "
            f"({number(outcome.sent)} sur {number(outcome.total)} au total).")


def waiting_line(outcome: Outcome) -> str:
    waiting = len(outcome.deferred) + outcome.untried
    return (f"{count(waiting, 'destinataire')} en attente, et personne n’a reçu le numéro deux "
            f"fois{NNBSP}: relancez la même commande une fois le problème réglé, l’envoi "
            "reprendra où il s’est arrêté.")
