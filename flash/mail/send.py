"""`flash send`: one personalised message per recipient, over one SMTP connection at a time.

Any SMTP relay works (Brevo, Mailjet, Amazon SES…, see docs/email.md). Each recipient's fate is
written to the journal (flash.mail.journal) around the moment the server takes the message, so
an interrupted run is resumed by running the same command again. Temporary refusals (4xx) and
lost connections are retried with exponential backoff; permanent refusals (5xx) are recorded
and listed at the end.
"""

from __future__ import annotations

import heapq
import os
import re
import signal
import smtplib
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import make_msgid

from flash.mail.compose import Composed, EmailError, mailbox, message
from flash.mail.journal import FAILED, PENDING, SENDING, SENT, Journal
from flash.mail.subscribers import Recipient
from flash.mail.unsubscribe import generic_url, recipient_url, token
from flash.settings import Settings, SmtpSettings

SECURITY = ("starttls", "ssl", "none")
# A relay that refuses this many messages in a row is refusing the mailing, not the recipients
# (content flagged as spam, sender not allowed…): stop instead of failing the whole list.
MAX_REFUSED_IN_A_ROW = 10


class SendError(Exception):
    """The mailing cannot start or go on (settings, password, server out of reach); French."""


class _Temporary(Exception):
    def __init__(self, reply: str, reconnect: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.reconnect = reconnect


class _Permanent(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class _Dropped(Exception):
    """The connection died; `after_dot`: once the message's terminator had been written."""

    def __init__(self, reason: str, after_dot: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_dot = after_dot


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _refusal(code: int, text: bytes | str) -> Exception:
    reply = _reply(code, text)
    if 500 <= code < 600:
        return _Permanent(reply)
    return _Temporary(reply, reconnect=code == 421)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_body(data: bytes) -> bytes:
    """The message as written after DATA, without the final ".": CRLF lines, dots doubled.
    flash.mail.compose already writes CRLF: the regular expressions only run when needed."""
    if data.count(b"\n") != data.count(b"\r\n"):
        data = re.sub(rb"\r?\n", b"\r\n", data)
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def check_smtp(smtp: SmtpSettings) -> str | None:
    """The password from the environment (never from a file), after checking the settings."""
    if smtp.security not in SECURITY:
        raise SendError(f"[tool.flash.smtp] security « {smtp.security} » : choisissez "
                        "« starttls », « ssl » ou « none »")
    for name in ("port", "max_attempts", "per_connection"):
        value = getattr(smtp, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SendError(f"[tool.flash.smtp] {name} = {value!r} : un nombre entier positif "
                            "est attendu")
    for name in ("rate", "timeout", "retry_delay", "max_retry_delay"):
        value = getattr(smtp, name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise SendError(f"[tool.flash.smtp] {name} = {value!r} : un nombre positif est "
                            "attendu")
    if not smtp.user:
        return None
    password = os.environ.get(smtp.password_env)
    if not password:
        raise SendError(f"mot de passe SMTP absent : définissez la variable d’environnement "
                        f"{smtp.password_env} (il n’est jamais lu dans un fichier)")
    return password


class Connection:
    """One SMTP session; a transaction marks the journal just before the message's final dot."""

    def __init__(self, smtp: SmtpSettings, password: str | None) -> None:
        self.settings = smtp
        self.password = password
        self.client: smtplib.SMTP | None = None
        self.context: ssl.SSLContext | None = None
        self.messages = 0

    def open(self) -> None:
        s = self.settings
        if self.context is None and s.security != "none":
            self.context = ssl.create_default_context()  # ~40 ms: once per run, not per session
        context = self.context
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                        context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if s.user and self.password is not None:
                client.login(s.user, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"le serveur {s.host} refuse l’identifiant « {s.user} » ou le mot de "
                            f"passe ({_reply(exc.smtp_code, exc.smtp_error)})") from None
        except smtplib.SMTPNotSupportedError:
            raise SendError(f"le serveur {s.host}:{s.port} ne propose pas STARTTLS : vérifiez "
                            "le port, ou security = \"ssl\" (port 465)") from None
        except smtplib.SMTPResponseException as exc:
            raise _Temporary(_reply(exc.smtp_code, exc.smtp_error), reconnect=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = str(exc) or type(exc).__name__
            raise _Dropped(f"connexion à {s.host}:{s.port} impossible ({reason})",
                           after_dot=False) from None
        self.client = client
        self.messages = 0

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    def abandon(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def send(self, sender: str, recipient: str, body: bytes, before_dot: Callable[[], None]
             ) -> None:
        client = self.client
        assert client is not None
        try:
            code, text = client.mail(sender)
            if code != 250:
                self._reset()
                if 500 <= code < 600:
                    raise SendError(f"le serveur refuse l’expéditeur {sender} "
                                    f"({_reply(code, text)}) : vérifiez email_from et les "
                                    "domaines autorisés chez votre relais")
                raise _refusal(code, text)
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                raise _refusal(code, text)
            code, text = client.docmd("DATA")
            if code != 354:
                self._reset()
                raise _refusal(code, text)
            client.send(body)
        except smtplib.SMTPServerDisconnected as exc:
            raise _Dropped(str(exc) or "connexion fermée par le serveur", after_dot=False) \
                from None
        except OSError as exc:
            raise _Dropped(str(exc) or type(exc).__name__, after_dot=False) from None
        before_dot()
        try:
            client.send(b".\r\n")
            code, text = client.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(str(exc) or "connexion fermée par le serveur", after_dot=True) \
                from None
        self.messages += 1
        if code != 250:
            raise _refusal(code, text)

    def _reset(self) -> None:
        assert self.client is not None
        try:
            self.client.rset()
        except (OSError, smtplib.SMTPException):
            self.abandon()


@dataclass
class Outcome:
    total: int  # valid recipients in the list (or given with --to)
    sent_now: int = 0
    sent_before: int = 0
    failed: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    deferred: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    uncertain: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, in French

    @property
    def sent(self) -> int:
        return self.sent_now + self.sent_before


Progress = Callable[[int, int, int], None]  # (sent, failed, left)


@dataclass
class _Pacer:
    """At most `rate` messages per second, without drift."""

    rate: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    next_at: float = 0.0

    def wait(self) -> None:
        if self.rate <= 0:
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = max(now, self.next_at) + 1.0 / self.rate


def message_id(number: int, domain: str, key: bytes | None, address: str) -> str:
    """Stable per issue and recipient: a message retried after a lost reply carries the same
    id, which lets mailboxes (Gmail among them) fold an accidental duplicate."""
    if key is None:
        return make_msgid(f"flash-{number}", domain=domain)
    return f"<flash-{number}.{token(key, f'message-id {number} {address}')[:20]}@{domain}>"


def personalise(composed: Composed, recipient: Recipient, key: bytes | None, domain: str
                ) -> tuple[bytes, str]:
    settings = composed.settings
    url = recipient_url(settings, key, recipient.email) if key else generic_url(settings)
    try:
        to = Address(display_name=recipient.name, addr_spec=recipient.email)
    except (ValueError, IndexError, TypeError):
        to = Address(addr_spec=recipient.email)
    msgid = message_id(composed.issue.number, domain, key, recipient.email)
    data = message(composed, to=to, unsubscribe_url=url, message_id=msgid,
                   mailto_subject=f"Désabonnement {recipient.email}")
    return data, msgid


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) received inside is raised when the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def send_issue(composed: Composed, recipients: Iterable[Recipient], journal: Journal, *,
               key: bytes | None, progress: Progress | None = None,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Sends to every recipient the journal has as `pending`; returns what happened."""
    settings: Settings = composed.settings
    smtp = settings.smtp
    password = check_smtp(smtp)
    try:
        sender = mailbox(settings.email_from, "email_from")
    except EmailError as exc:
        raise SendError(str(exc)) from None
    recipients = list(recipients)
    journal.add(recipients)
    states = journal.states(r.key for r in recipients)
    outcome = Outcome(total=len(recipients))
    outcome.sent_before = sum(1 for r in recipients if states.get(r.key) == SENT)
    queue = deque(r for r in recipients if states.get(r.key) == PENDING)
    waiting: list[tuple[float, int, Recipient]] = []  # (ready at, order, recipient)
    failed = sum(1 for r in recipients if states.get(r.key) == FAILED)
    left = len(queue)
    pacer = _Pacer(float(smtp.rate), sleep, clock)
    connection = Connection(smtp, password)
    refused_in_a_row: list[Recipient] = []
    connect_failures = 0

    def report() -> None:
        if progress:
            progress(outcome.sent, failed, left)

    def backoff(attempts: int) -> float:
        return min(float(smtp.max_retry_delay), float(smtp.retry_delay) * 2 ** max(0, attempts - 1))

    def later(recipient: Recipient, error: str, counted: bool) -> None:
        nonlocal left
        journal.retry(recipient.key, error, counted=counted)
        attempts = journal.attempts(recipient.key)
        if attempts >= smtp.max_attempts:
            left -= 1  # stays pending in the journal: the next run tries again
            return
        heapq.heappush(waiting, (clock() + backoff(attempts), recipient.line, recipient))

    report()
    try:
        while queue or waiting:
            while waiting and (not queue or waiting[0][0] <= clock()):
                ready_at, _, recipient = heapq.heappop(waiting)
                if ready_at > clock():
                    sleep(ready_at - clock())
                queue.append(recipient)
            recipient = queue.popleft()
            if connection.client is not None and connection.messages >= smtp.per_connection:
                connection.close()
            if connection.client is None:
                try:
                    connection.open()
                    connect_failures = 0
                except (_Dropped, _Temporary) as exc:
                    connect_failures += 1
                    if connect_failures >= smtp.max_attempts:
                        queue.appendleft(recipient)
                        outcome.stopped = (f"serveur injoignable après {connect_failures} "
                                           f"tentatives ({exc})")
                        break
                    queue.appendleft(recipient)
                    sleep(backoff(connect_failures))
                    continue
            data, msgid = personalise(composed, recipient, key, sender.domain)
            body = wire_body(data)
            marked = False

            def mark(recipient: Recipient = recipient, msgid: str = msgid) -> None:
                nonlocal marked
                journal.sending(recipient.key, msgid)
                marked = True

            pacer.wait()
            # Ctrl-C waits until this message's outcome is in the journal: stopping between
            # the `sending` mark and the server's reply would leave it uncertain.
            with _interrupts_deferred():
                try:
                    connection.send(sender.addr_spec, recipient.email, body, mark)
                except _Permanent as exc:
                    journal.failed(recipient.key, exc.reply)
                    failed += 1
                    left -= 1
                    refused_in_a_row.append(recipient)
                    if len(refused_in_a_row) >= MAX_REFUSED_IN_A_ROW:
                        for r in refused_in_a_row:
                            journal.retry(r.key, "refus en série : envoi arrêté", counted=False)
                        failed -= len(refused_in_a_row)
                        left += len(refused_in_a_row)
                        outcome.stopped = (
                            f"le serveur a refusé {len(refused_in_a_row)} messages de suite "
                            f"({exc.reply}) : vérifiez le relais et le contenu")
                        break
                except _Temporary as exc:
                    later(recipient, exc.reply, counted=not marked)
                    if exc.reconnect:
                        connection.abandon()
                except _Dropped as exc:
                    connection.abandon()
                    if exc.after_dot:
                        # The server may have taken it: never again (see flash.mail.journal).
                        left -= 1
                    else:
                        later(recipient, f"connexion perdue ({exc.reason})", counted=not marked)
                else:
                    journal.sent(recipient.key)
                    outcome.sent_now += 1
                    left -= 1
                    refused_in_a_row.clear()
            report()
    finally:
        connection.close()
    order = {r.key: r.line for r in recipients}
    listed = set(order)

    def rows(state: str) -> list[tuple[str, int | None, str | None]]:
        return [row for row in journal.rows(state) if row[0].strip().lower() in listed]

    outcome.failed = rows(FAILED)
    outcome.uncertain = rows(SENDING)
    outcome.deferred = rows(PENDING)
    report()
    return outcome
