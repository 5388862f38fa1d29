"""`flash send`: one personalised message per recipient, over one SMTP connection at a time.

Any SMTP relay works (Brevo, Mailjet, Amazon SES…, see docs/email.md). Each recipient's fate is
written to the journal (flash.mail.journal) around the moment the server takes the message, so
an interrupted run is resumed by running the same command again. Temporary refusals (4xx) and
lost connections are retried with exponential backoff; permanent refusals (5xx) are recorded
and listed at the end.
"""

from __future__ import annotations

import errno
import heapq
import os
import re
import signal
import smtplib
import socket
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
SETTINGS_HINT = "vérifiez host, port et security sous [tool.flash.smtp] dans pyproject.toml"


class SendError(Exception):
    """The mailing cannot start or go on (settings, password, server out of reach); French."""


class _Temporary(Exception):
    def __init__(self, reply: str, reconnect: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.reconnect = reconnect


class _Permanent(Exception):
    """A 5xx; `stage`: "rcpt" (RCPT TO), "data" (DATA) or "dot" (after the message)."""

    def __init__(self, reply: str, stage: str) -> None:
        super().__init__(reply)
        self.reply = reply
        self.stage = stage


class _Dropped(Exception):
    """The connection died; `after_dot`: once the message's terminator had been written;
    `lasting`: a connection that cannot be opened at all (unknown host, port closed, TLS
    mismatch), which waiting will not mend."""

    def __init__(self, reason: str, after_dot: bool, lasting: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_dot = after_dot
        self.lasting = lasting


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _refusal(code: int, text: bytes | str, stage: str) -> Exception:
    reply = _reply(code, text)
    if 500 <= code < 600:
        return _Permanent(reply, stage)
    return _Temporary(reply, reconnect=code == 421)


# --- whose a refusal is: the recipient's or the mailing's ---------------------------------------

RECIPIENT, MAILING, UNCLEAR = "recipient", "mailing", "unclear"
# Refusals that may be the mailing's, in a row with no delivery between, that stop the run.
MAX_REFUSED_IN_A_ROW = 10
_ENHANCED = re.compile(r"^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def enhanced_code(reply: str) -> tuple[int, int, int] | None:
    """RFC 3463's "class.subject.detail" after the basic code: "550 5.1.1 …" → (5, 1, 1)."""
    match = _ENHANCED.match(reply)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def concerns(reply: str, stage: str) -> str:
    """Whom a permanent refusal is about: RECIPIENT, MAILING or UNCLEAR.

    The enhanced status code (RFC 3463) says it when the relay gives one, as relays do:
    - 5.1.x (addressing: unknown user 5.1.1, unknown domain 5.1.2, no mail server 5.1.10…) and
      5.2.x (the mailbox: disabled 5.2.1, full for good 5.2.2…) concern the recipient, except
      5.1.7 and 5.1.8, which RFC 3463 gives to the sender's address;
    - 5.7.x (security and policy: relaying denied, SPF/DKIM/DMARC, blocked as spam), 5.3.x (the
      mail system: message too big 5.3.4), 5.5.x (protocol) and 5.6.x (content) concern the
      sender or the message, that is the whole mailing;
    - anything else (5.0.0, 5.4.x routing…) is UNCLEAR.
    Without one: a refusal after the message's final dot judged the content (MAILING), as does
    554 ("transaction failed"); 550, 551 and 553 to RCPT TO are what a mailbox's server usually
    says, but also what a relay refusing the sender may say (UNCLEAR).
    """
    code = enhanced_code(reply)
    if code is not None:
        if code[1] == 1 and code[2] in (7, 8):  # bad sender's mailbox or system address
            return MAILING
        if code[1] in (1, 2):
            return RECIPIENT
        if code[1] in (3, 5, 6, 7):
            return MAILING
        return UNCLEAR
    if stage == "dot" or reply.startswith("554"):
        return MAILING
    return UNCLEAR


def _domain(recipient: Recipient) -> str:
    return recipient.key.rpartition("@")[2]


@dataclass
class _Streak:
    """The permanent refusals since the last message delivered, and when they mean that the
    relay refuses the mailing itself rather than its recipients.

    - A RECIPIENT refusal (5.1.x, 5.2.x) fails that recipient for good: never retried, listed
      at the end. Twelve unknown users of a closed partner domain, sorted together in the list,
      are twelve bad addresses, and the run goes on.
    - MAILING and UNCLEAR refusals may be the mailing's: MAX_REFUSED_IN_A_ROW of them, with no
      delivery between, stop the run (failing them would fail the whole list for a content
      flagged as spam or a sender the relay does not allow). Those recipients go back to
      `pending`, blamed for nothing, and the same command resumes once the relay accepts.
      UNCLEAR refusals that all come from one domain are that domain's mailboxes (a closed
      domain whose server gives no enhanced code): failed, and the run goes on.
    RECIPIENT refusals never stop the run, however many in a row and from however many
    domains: putting them back to `pending` would stop every re-run at the same place (a list
    whose old addresses are sorted together would never be mailed to its end).
    """

    refused: list[tuple[Recipient, str]] = field(default_factory=list)

    def add(self, recipient: Recipient, kind: str) -> None:
        self.refused.append((recipient, kind))

    def clear(self) -> None:
        self.refused.clear()

    def _suspects(self) -> list[tuple[Recipient, str]]:
        return [(r, k) for r, k in self.refused if k != RECIPIENT]

    def stopping(self) -> list[Recipient]:
        """The recipients to put back to `pending` if the run must stop, else nothing: refusals
        of the mailing from several domains (one domain's are `held`, not a stop)."""
        suspects = self._suspects()
        if len(suspects) >= MAX_REFUSED_IN_A_ROW and len({_domain(r) for r, _ in suspects}) > 1:
            return [r for r, _ in suspects]
        return []

    def held(self) -> tuple[str, list[Recipient]] | None:
        """A domain whose every recipient refuses the message (say a partner's filter answering
        5.7.1), MAX_REFUSED_IN_A_ROW times in a row: its recipients are put back to `pending`
        and the rest of the list goes on. Stopping would stop every re-run at the same place,
        failing them would blame addresses for a filter."""
        suspects = self._suspects()
        domains = {_domain(r) for r, _ in suspects}
        if len(suspects) >= MAX_REFUSED_IN_A_ROW and len(domains) == 1 and \
                any(k == MAILING for _, k in suspects):
            held = [r for r, k in suspects if k == MAILING]
            self.refused = [(r, k) for r, k in self.refused if k != MAILING]
            return domains.pop(), held
        return None

    def reason(self, stopped: list[Recipient], reply: str) -> str:
        count = len(stopped)
        code = enhanced_code(reply)
        if code is not None and code[1] == 7:
            why = ("le code 5.7 désigne l’expéditeur ou le message : adresse d’envoi "
                   "(email_from) ou domaine non validés chez le relais, SPF ou DKIM absents, "
                   "message jugé indésirable")
        elif code is not None and code[1] == 3:
            why = "le code 5.3 désigne le message lui-même (trop gros, par exemple)"
        else:
            why = "l’expéditeur ou le contenu est sans doute en cause"
        return (f"le relais refuse le message lui-même : {count} refus de suite sans aucune "
                f"remise (dernière réponse : {reply}) ; {why}. Personne n’est marqué en échec "
                "pour autant : réglez le problème avec le relais")


def unreachable(smtp: SmtpSettings, exc: BaseException) -> tuple[str, bool]:
    """Why a connection to the relay failed, in French, and whether waiting will not mend it."""
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, socket.gaierror):
        return (f"l’adresse du relais SMTP « {smtp.host} » est introuvable (nom mal écrit, ou "
                "pas de connexion à Internet)", True)
    if isinstance(exc, ConnectionRefusedError):
        return (f"le relais SMTP {where} refuse la connexion (aucun serveur n’écoute sur ce "
                "port)", True)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return (f"la connexion chiffrée avec {where} échoue : security = « ssl » va avec le "
                "port 465, « starttls » avec le port 587", True)
    if isinstance(exc, TimeoutError):
        return (f"le relais SMTP {where} ne répond pas (rien après {smtp.timeout:g} s)", False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"le relais SMTP {where} a fermé la connexion dès son ouverture", False
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"le relais SMTP {where} est hors d’atteinte (pas de connexion à Internet ?)", False
    return f"connexion au relais SMTP {where} impossible", False


_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_body(data: bytes) -> bytes:
    """The message as written after DATA, without the final ".": CRLF lines, dots doubled.
    flash.mail.compose already writes CRLF: the regular expressions only run when needed."""
    if data.count(b"\n") != data.count(b"\r\n"):
        data = re.sub(rb"\r?\n", b"\r\n", data)
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def check_smtp(smtp: SmtpSettings, needs: list[str] | None = None) -> str | None:
    """The password from the environment (never from a file), after checking the settings.
    With `needs` (a dry run), what a real run would lack is added to it instead of raised."""
    if not smtp.host.strip():
        missing = ("aucun relais SMTP n’est réglé : indiquez-le sous [tool.flash.smtp] dans "
                   "pyproject.toml (host, port, security, user ; voir docs/email.md, « Premier "
                   "envoi »)")
        if needs is None:
            raise SendError(missing)
        needs.append(missing)
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
        missing = (f"mot de passe SMTP absent : définissez la variable d’environnement "
                   f"{smtp.password_env} (il n’est jamais lu dans un fichier ; voir "
                   "docs/email.md, « Premier envoi »)")
        if needs is None:
            raise SendError(missing)
        needs.append(missing)
    return password


def check_relay(smtp: SmtpSettings) -> None:
    """Opens one session and closes it: a relay out of reach, or refusing the login, is told
    before the first message as a setting to fix, not as refusals of the recipients."""
    connection = Connection(smtp, check_smtp(smtp))
    try:
        connection.open()
    except _Dropped as exc:
        raise SendError(f"{exc.reason} : {SETTINGS_HINT}") from None
    except _Temporary as exc:
        raise SendError(f"le relais SMTP {smtp.host}:{smtp.port} refuse pour l’instant la "
                        f"session ({exc.reply}) ; réessayez plus tard") from None
    finally:
        connection.close()


def send_one(smtp: SmtpSettings, sender: str, recipient: str, message: bytes) -> None:
    """One message in its own session (the subscribers service's confirmations): any
    failure is a SendError in French."""
    connection = Connection(smtp, check_smtp(smtp))
    try:
        connection.open()
        connection.send(sender, recipient, wire_body(message), lambda: None)
    except (_Temporary, _Permanent) as exc:
        raise SendError(f"le relais refuse le message ({exc.reply})") from None
    except _Dropped as exc:
        raise SendError(exc.reason) from None
    finally:
        connection.close()


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
            reason, lasting = unreachable(s, exc)
            raise _Dropped(reason, after_dot=False, lasting=lasting) from None
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
                raise _refusal(code, text, "mail")
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                raise _refusal(code, text, "rcpt")
            code, text = client.docmd("DATA")
            if code != 354:
                self._reset()
                raise _refusal(code, text, "data")
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
            raise _refusal(code, text, "dot")

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
    untried: int = 0  # still pending, never tried: a stopped run leaves them for the next
    held: list[str] = field(default_factory=list)  # domains refusing the message, kept pending

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
    password = check_smtp(settings.smtp)
    try:
        sender = mailbox(settings.email_from, "email_from")
    except EmailError as exc:
        raise SendError(str(exc)) from None
    mailing = _Mailing(composed, list(recipients), journal, key, sender, progress, sleep, clock,
                       Connection(settings.smtp, password))
    mailing.run()
    return mailing.outcome()


class _Mailing:
    """One run of `send_issue`: the queue of recipients, those waiting to be tried again, and
    what happened so far. Every outcome is in the journal before the next message."""

    def __init__(self, composed: Composed, recipients: list[Recipient], journal: Journal,
                 key: bytes | None, sender: Address, progress: Progress | None,
                 sleep: Callable[[float], None], clock: Callable[[], float],
                 connection: Connection):
        self.composed, self.recipients, self.journal, self.key = composed, recipients, journal, key
        self.sender, self.progress, self.sleep, self.clock = sender, progress, sleep, clock
        self.smtp = composed.settings.smtp
        self.connection = connection
        journal.add(recipients)
        states = journal.states(r.key for r in recipients)
        self.result = Outcome(total=len(recipients))
        self.result.sent_before = sum(1 for r in recipients if states.get(r.key) == SENT)
        self.queue = deque(r for r in recipients if states.get(r.key) == PENDING)
        self.waiting: list[tuple[float, int, Recipient]] = []  # (ready at, order, recipient)
        self.failed = sum(1 for r in recipients if states.get(r.key) == FAILED)
        self.left = len(self.queue)
        self.pacer = _Pacer(float(self.smtp.rate), sleep, clock)
        self.streak = _Streak()
        self.held_domains: dict[str, str] = {}  # domain refusing the message -> why they wait
        self.last_hold: tuple[list[Recipient], str] | None = None
        self.connect_failures = 0
        self.connected = False  # once in this run: a failure before is the settings'

    def report(self) -> None:
        if self.progress:
            self.progress(self.result.sent, self.failed, self.left)

    def backoff(self, attempts: int) -> float:
        return min(float(self.smtp.max_retry_delay),
                   float(self.smtp.retry_delay) * 2 ** max(0, attempts - 1))

    def later(self, recipient: Recipient, error: str, counted: bool) -> None:
        self.journal.retry(recipient.key, error, counted=counted)
        attempts = self.journal.attempts(recipient.key)
        if attempts >= self.smtp.max_attempts:
            self.left -= 1  # stays pending in the journal: the next run tries again
            return
        heapq.heappush(self.waiting, (self.clock() + self.backoff(attempts), recipient.line,
                                      recipient))

    def run(self) -> None:
        self.report()
        try:
            while self.queue or self.waiting:
                recipient = self._next()
                if _domain(recipient) in self.held_domains:  # its domain refuses: kept
                    self.journal.retry(recipient.key, self.held_domains[_domain(recipient)],
                                       counted=False)
                    self.left -= 1
                    self.report()
                    continue
                if not self._connected(recipient):
                    if self.result.stopped:
                        break
                    continue
                if not self._send(recipient):
                    break
                self.report()
        finally:
            self.connection.close()

    def _next(self) -> Recipient:
        """The next recipient: a waiting one whose time has come first."""
        while self.waiting and (not self.queue or self.waiting[0][0] <= self.clock()):
            ready_at, _, recipient = heapq.heappop(self.waiting)
            if ready_at > self.clock():
                self.sleep(ready_at - self.clock())
            self.queue.append(recipient)
        return self.queue.popleft()

    def _connected(self, recipient: Recipient) -> bool:
        """Whether a session is open to send to `recipient`; if not, it is queued again (or
        the run stops, in outcome.stopped)."""
        connection = self.connection
        if connection.client is not None and connection.messages >= self.smtp.per_connection:
            connection.close()
        if connection.client is not None:
            return True
        try:
            connection.open()
        except (_Dropped, _Temporary) as exc:
            self.connect_failures += 1
            self.queue.appendleft(recipient)
            reason = exc.reason if isinstance(exc, _Dropped) else \
                f"le relais SMTP refuse la session ({exc.reply})"
            lasting = isinstance(exc, _Dropped) and exc.lasting
            if not self.connected and (lasting or self.connect_failures >= self.smtp.max_attempts):
                # Nothing sent yet, nobody touched: a setting to fix, not a mailing to resume.
                raise SendError(f"{reason} : {SETTINGS_HINT}") from None
            if self.connect_failures >= self.smtp.max_attempts:
                self.result.stopped = (f"{reason}, {self.connect_failures} fois de suite ; "
                                       "attendez que le relais réponde")
                return False
            self.sleep(self.backoff(self.connect_failures))
            return False
        self.connect_failures = 0
        self.connected = True
        return True

    def _send(self, recipient: Recipient) -> bool:
        """Sends one message and records its outcome; False when the run must stop."""
        data, msgid = personalise(self.composed, recipient, self.key, self.sender.domain)
        body = wire_body(data)
        marked = False

        def mark() -> None:
            nonlocal marked
            self.journal.sending(recipient.key, msgid)
            marked = True

        self.pacer.wait()
        # Ctrl-C waits until this message's outcome is in the journal: stopping between the
        # `sending` mark and the server's reply would leave it uncertain.
        with _interrupts_deferred():
            try:
                self.connection.send(self.sender.addr_spec, recipient.email, body, mark)
            except _Permanent as exc:
                return self._refused(recipient, exc)
            except _Temporary as exc:
                self.later(recipient, exc.reply, counted=not marked)
                if exc.reconnect:
                    self.connection.abandon()
            except _Dropped as exc:
                self.connection.abandon()
                if exc.after_dot:
                    # The server may have taken it: never again (see flash.mail.journal).
                    self.left -= 1
                else:
                    self.later(recipient, f"connexion perdue ({exc.reason})", counted=not marked)
            else:
                self.journal.sent(recipient.key)
                self.result.sent_now += 1
                self.left -= 1
                self.streak.clear()
        return True

    def _refused(self, recipient: Recipient, exc: _Permanent) -> bool:
        """A permanent refusal: recorded; a streak of them holds a domain, or stops the run
        (False), its recipients kept for the next one."""
        journal = self.journal
        journal.failed(recipient.key, exc.reply)
        self.failed += 1
        self.left -= 1
        self.streak.add(recipient, concerns(exc.reply, exc.stage))
        back = self.streak.stopping()
        hold = None if back else self.streak.held()
        if hold is not None:
            domain, back = hold
            self.held_domains[domain] = f"refus du domaine {domain}, gardé pour le " \
                f"prochain envoi ({exc.reply})"
            for r in back:
                journal.retry(r.key, self.held_domains[domain], counted=False)
            self.failed -= len(back)
            self.last_hold = (back, exc.reply)
        elif back:
            for r in back:
                journal.retry(r.key, f"refus en série, envoi arrêté ({exc.reply})",
                              counted=False)
            self.failed -= len(back)
            self.left += len(back)
            self.result.stopped = self.streak.reason(back, exc.reply)
            return False
        return True

    def outcome(self) -> Outcome:
        """What happened, read back from the journal for the recipients of this list."""
        outcome = self.result
        outcome.held = sorted(self.held_domains)
        if self.last_hold is not None and not outcome.sent and not outcome.stopped:
            # One domain, and nobody of the list was ever mailed: as likely the relay.
            outcome.stopped = self.streak.reason(*self.last_hold)
        listed = {r.key for r in self.recipients}

        def rows(state: str) -> list[tuple[str, int | None, str | None]]:
            return [row for row in self.journal.rows(state) if row[0].strip().lower() in listed]

        outcome.failed = rows(FAILED)
        outcome.uncertain = rows(SENDING)
        waiting_rows = rows(PENDING)
        # Pending with a reason: refused for a while, or held by a stop; without: not tried.
        outcome.deferred = [row for row in waiting_rows if row[2]]
        outcome.untried = len(waiting_rows) - len(outcome.deferred)
        self.report()
        return outcome
