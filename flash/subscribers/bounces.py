"""Bounces: reads the bounce mailbox (IMAP, mbox, Maildir or a folder of .eml files), finds
the failing addresses with flufl.bounce (GNU Mailman's detectors) and records them.

Why flufl.bounce: DSNs come in as many shapes as there are mail servers (RFC 3464 reports,
Postfix's, Exim's, Microsoft's, Gmail's prose…); Mailman's detectors have followed them for
twenty years, and tell permanent failures from temporary ones.

The rule (flash.subscribers.store): one permanent failure suppresses the address; temporary
ones do after three, on three different days. Each bounce message counts once, by its
Message-ID, however many times the mailbox is read.
"""

from __future__ import annotations

import email
import hashlib
import imaplib
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32
from pathlib import Path

from flufl.bounce import all_failures

from flash.settings import BounceSettings
from flash.subscribers.store import Store

MAX_MESSAGE = 10 * 1024 * 1024


class BounceError(Exception):
    """The mailbox cannot be read; French."""


@dataclass
class BounceReport:
    read: int = 0
    bounces: int = 0
    permanent: int = 0
    temporary: int = 0
    already: int = 0
    suppressed: list[str] = field(default_factory=list)


def _parse(data: bytes) -> Message:
    return email.message_from_bytes(data[:MAX_MESSAGE], policy=compat32)


def messages(source: str, settings: BounceSettings) -> Iterator[Message]:
    """The messages of `source`: "imap", an mbox file, a Maildir, or a folder of .eml."""
    if source == "imap":
        yield from _imap(settings)
        return
    path = Path(source)
    if path.is_file():
        try:
            box = mailbox.mbox(path, factory=None, create=False)
            for key in box.iterkeys():
                yield _parse(box.get_bytes(key))
        except (OSError, mailbox.Error) as exc:
            raise BounceError(f"{path} : fichier mbox illisible ({exc})") from None
        return
    if (path / "cur").is_dir() and (path / "new").is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in box.iterkeys():
            yield _parse(box.get_bytes(key))
        return
    if path.is_dir():
        for file in sorted(path.iterdir()):
            if file.is_file() and file.suffix.lower() in (".eml", ".msg", ".txt", ""):
                yield _parse(file.read_bytes())
        return
    raise BounceError(f"{source} : ni un fichier mbox, ni un dossier Maildir ou de fichiers "
                      ".eml, ni « imap »")


def _imap(settings: BounceSettings) -> Iterator[Message]:
    if not settings.host:
        raise BounceError("aucune boîte de retours n’est réglée : indiquez host, user et "
                          "folder sous [tool.flash.bounces] dans pyproject.toml")
    password = os.environ.get(settings.password_env, "")
    if not password:
        raise BounceError(f"mot de passe de la boîte de retours absent : définissez la "
                          f"variable d’environnement {settings.password_env}")
    try:
        client = imaplib.IMAP4_SSL(settings.host, settings.port, timeout=60)
        client.login(settings.user, password)
        client.select(settings.folder, readonly=True)
        _, found = client.search(None, "ALL")
        for ident in found[0].split():
            _, parts = client.fetch(ident, "(RFC822)")
            for part in parts:
                if isinstance(part, tuple):
                    yield _parse(part[1])
        client.logout()
    except (OSError, imaplib.IMAP4.error) as exc:
        raise BounceError(f"boîte de retours {settings.host} illisible ({exc})") from None


def _origin(message: Message) -> str:
    ident = str(message.get("Message-ID", "")).strip()
    if ident:
        return ident[:300]
    return "sans-id-" + hashlib.sha256(message.as_bytes()).hexdigest()[:32]


def _addresses(found: set[bytes] | set[str]) -> set[str]:
    result = set()
    for value in found:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = text.strip().strip("<>").lower()
        if "@" in text and len(text) <= 254:
            result.add(text)
    return result


def process(store: Store, found: Iterator[Message]) -> BounceReport:
    report = BounceReport()
    for message in found:
        report.read += 1
        try:
            temporary, permanent = all_failures(message)  # this order, as flufl returns them
        except Exception:
            continue
        failures = [(a, True) for a in _addresses(permanent)]
        failures += [(a, False) for a in _addresses(temporary) - _addresses(permanent)]
        if not failures:
            continue
        origin = _origin(message)
        for address, lasting in failures:
            outcome = store.bounce(address, lasting, origin)
            if outcome == "seen":
                report.already += 1
                continue
            report.bounces += 1
            report.permanent += lasting
            report.temporary += not lasting
            if outcome == "suppressed":
                report.suppressed.append(address)
    return report
