"""`flash send` against a real SMTP server (aiosmtpd on 127.0.0.1): every valid recipient ends
with exactly one message, counted on the server side, whatever goes wrong on the way."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import BASE_URL, REPO, SAMPLE

from flash.mail import campaign as campaigns
from flash.mail.journal import Journal, JournalError, journal_path
from flash.mail.send import MAILING, RECIPIENT, UNCLEAR, Outcome, _Pacer, concerns, wire_body
from flash.mail.unsubscribe import verify
from flash.settings import Settings, SmtpSettings

SECRET = "une phrase secrète pour les tests"
FLASH = [sys.executable, "-m", "flash"]


# --- the server ------------------------------------------------------------------------------

@dataclass
class Received:
    recipient: str
    message: email.message.EmailMessage


@dataclass
class Behaviour:
    """What the server does, decided per recipient and per attempt (1-based)."""

    rcpt: Callable[[str, int], str | None] = lambda address, attempt: None  # reply or None: 250
    drop_at_mail: Callable[[int], bool] = lambda accepted: False  # close before MAIL FROM
    drop_after_data: Callable[[str], bool] = lambda address: False  # keep, then hang up


@dataclass
class Handler:
    behaviour: Behaviour
    received: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    drops: int = 0

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        with self.lock:
            accepted = len(self.received)
        if self.behaviour.drop_at_mail(accepted):
            self.drops += 1
            server.transport.abort()
            return "421 4.4.2 connexion coupée"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        with self.lock:
            self.attempts[address] += 1
            attempt = self.attempts[address]
        reply = self.behaviour.rcpt(address, attempt)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append(Received(recipient, parsed))
        if any(self.behaviour.drop_after_data(r) for r in envelope.rcpt_tos):
            server.transport.abort()  # the message is kept; its "250" never leaves
        return "250 OK"

    def count(self) -> Counter[str]:
        with self.lock:
            return Counter(r.recipient for r in self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(behaviour: Behaviour | None = None) -> Iterator[tuple[Handler, int]]:
    handler = Handler(behaviour or Behaviour())
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# --- the project ------------------------------------------------------------------------------

def addresses(count: int) -> list[str]:
    return [f"abonne{n:03d}@exemple.fr" for n in range(1, count + 1)]


def write_list(path: Path, valid: list[str], extra: str = "") -> Path:
    rows = ["email,name"] + [f"{a},Abonné {i}" for i, a in enumerate(valid, 1)]
    path.write_text("\n".join(rows) + "\n" + extra, encoding="utf-8")
    return path


def settings(port: int, **smtp: object) -> Settings:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "rate": 0.0,
              "retry_delay": 0.01, "max_retry_delay": 0.05, "timeout": 10.0, **smtp}
    return Settings(base_url=BASE_URL, root=REPO, email_from="Flash <flash@exemple.org>",
                    reply_to="Communication <communication@exemple.org>",
                    smtp=SmtpSettings(**values))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def unsubscribe_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASH_UNSUBSCRIBE_SECRET", SECRET)


def send(list_path: Path, config: Settings) -> Outcome:
    return campaigns.run(campaigns.prepare(SAMPLE, 195, config, list_path=list_path))


def journal_states(list_path: Path) -> Counter[str]:
    with sqlite3.connect(journal_path(list_path, 195)) as db:
        return Counter(state for (state,) in db.execute("SELECT state FROM recipients"))


def assert_exactly_once(handler: Handler, valid: list[str]) -> None:
    counts = handler.count()
    assert set(counts) == set(valid), set(valid) ^ set(counts)
    assert all(n == 1 for n in counts.values()), {a: n for a, n in counts.items() if n != 1}


# --- cases -------------------------------------------------------------------------------------

def test_clean_run_sends_one_personal_message_each(tmp_path: Path) -> None:
    valid = addresses(25)
    bad = "pas-une-adresse\nABONNE003@exemple.fr,Doublon\n,Sans adresse\n"
    list_path = write_list(tmp_path / "abonnes.csv", valid, bad)
    with smtp_server() as (handler, port):
        campaign = campaigns.prepare(SAMPLE, 195, settings(port), list_path=list_path)
        outcome = campaigns.run(campaign)
        assert_exactly_once(handler, valid)
        assert outcome.sent_now == 25 and not outcome.failed and not outcome.uncertain
        # Invalid and duplicate lines are reported with their line number, and skipped.
        problems = {p.line: p.message for p in campaign.problems}
        assert set(problems) == {27, 28, 29}
        assert "invalide" in problems[27] and "double" in problems[28] and "ligne 4" in problems[28]
        for received in handler.received:
            msg = received.message
            assert msg["To"].addresses[0].addr_spec == received.recipient
            assert msg["Subject"] == "Flash initiatives locales N°195 – mars 2021"
            assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            https, mailto = (part.strip(" <>") for part in msg["List-Unsubscribe"].split(","))
            assert https.startswith(f"{BASE_URL}/desabonnement/?email=")
            assert mailto.startswith("mailto:communication@exemple.org?subject=")
            token = https.rsplit("token=", 1)[1]
            assert verify(SECRET.encode(), received.recipient, token)
            text, html = (part.get_content() for part in msg.iter_parts())
            assert https.replace("&", "&amp;") in html and https in text
        # A second run finds everyone sent: nothing more reaches the server.
        again = send(list_path, settings(port))
        assert again.sent_now == 0
        assert_exactly_once(handler, valid)
    assert journal_states(list_path) == Counter(sent=25)


def test_temporary_refusals_are_retried_until_accepted(tmp_path: Path) -> None:
    valid = addresses(12)
    shy = {valid[1], valid[5], valid[6]}

    def rcpt(address: str, attempt: int) -> str | None:
        return "451 4.7.1 Réessayez plus tard" if address in shy and attempt <= 2 else None

    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert_exactly_once(handler, valid)
        assert all(handler.attempts[a] == 3 for a in shy)
    assert outcome.sent_now == 12 and not outcome.deferred and not outcome.failed
    assert journal_states(list_path) == Counter(sent=12)


def test_temporary_refusals_beyond_max_attempts_wait_for_the_next_run(tmp_path: Path) -> None:
    valid = addresses(6)
    stubborn = valid[2]
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    refuse = True
    rcpt = lambda address, attempt: "452 4.2.2 Boîte pleine" if refuse and address == stubborn \
        else None  # noqa: E731
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port, max_attempts=3))
        assert [row[0] for row in outcome.deferred] == [stubborn]
        assert handler.attempts[stubborn] == 3 and stubborn not in handler.count()
        refuse = False
        again = send(list_path, settings(port, max_attempts=3))
        assert again.sent_now == 1
        assert_exactly_once(handler, valid)


def test_permanent_refusals_are_recorded_listed_and_never_retried(tmp_path: Path) -> None:
    valid = addresses(15)
    unknown = {valid[0], valid[7], valid[14]}
    rcpt = lambda address, attempt: "550 5.1.1 Utilisateur inconnu" if address in unknown \
        else None  # noqa: E731
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        delivered = [a for a in valid if a not in unknown]
        assert_exactly_once(handler, delivered)
        assert sorted(outcome.failed) == sorted(
            (a, valid.index(a) + 2, "550 5.1.1 Utilisateur inconnu") for a in unknown)
        again = send(list_path, settings(port))
        assert again.sent_now == 0 and len(again.failed) == 3
        assert all(handler.attempts[a] == 1 for a in unknown)  # never asked again
        assert_exactly_once(handler, delivered)
    assert journal_states(list_path) == Counter(sent=12, failed=3)


def test_a_relay_refusing_everything_stops_the_run_instead_of_failing_the_list(
        tmp_path: Path) -> None:
    """Every recipient answered 554 5.7.1 (the message itself refused): the run stops with a
    French reason, nobody is failed, and once the relay accepts the same command resumes
    without sending anyone twice."""
    valid = addresses(30)
    refusing = True
    rcpt = lambda address, attempt: "554 5.7.1 Message refusé" if refusing else None  # noqa: E731
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert outcome.stopped and outcome.stopped.startswith(
            "le relais refuse le message lui-même\u00a0: 10 refus de suite sans aucune remise")
        assert "le code 5.7 désigne l’expéditeur ou le message" in outcome.stopped
        assert not outcome.failed  # back to pending: the list is not blamed
        # one domain: ten refused, the twenty others of that domain kept without a try
        assert len(outcome.deferred) == 30 and outcome.untried == 0
        assert sum(handler.attempts.values()) == 10 and not handler.received
        refusing = False
        again = send(list_path, settings(port))
        assert again.sent_now == 30 and not again.stopped and not again.failed
        assert_exactly_once(handler, valid)
    assert journal_states(list_path) == Counter(sent=30)


def test_a_dozen_unknown_users_in_a_row_do_not_stop_the_mailing(tmp_path: Path) -> None:
    """A partner's closed domain, its addresses sorted together: twelve 550 5.1.1 in a row
    are twelve recipients refused for good, not a relay refusing the mailing."""
    valid = addresses(10) + [f"agent{n:02d}@partenaire-ferme.fr" for n in range(12)] + \
        [f"suite{n:03d}@exemple.fr" for n in range(20)]
    closed = {a for a in valid if a.endswith("@partenaire-ferme.fr")}
    rcpt = lambda address, attempt: f"550 5.1.1 <{address}>: Recipient address rejected: " \
        "User unknown" if address in closed else None  # noqa: E731
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert not outcome.stopped
        assert outcome.sent_now == 30
        assert {row[0] for row in outcome.failed} == closed
        assert all(row[2].startswith("550 5.1.1") for row in outcome.failed)
        assert_exactly_once(handler, [a for a in valid if a not in closed])
        again = send(list_path, settings(port))  # refused for good: never asked again
        assert again.sent_now == 0 and len(again.failed) == 12
        assert all(handler.attempts[a] == 1 for a in closed)
    assert journal_states(list_path) == Counter(sent=30, failed=12)


@pytest.mark.parametrize(("reply", "stage", "expected"), [
    ("550 5.1.1 User unknown", "rcpt", RECIPIENT),
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound", "rcpt", RECIPIENT),
    ("553 5.1.8 Sender address domain does not exist", "rcpt", MAILING),
    ("553 5.1.7 Bad sender address syntax", "rcpt", MAILING),
    ("552 5.2.2 Mailbox full", "rcpt", RECIPIENT),
    ("550 5.2.1 Mailbox disabled", "dot", RECIPIENT),
    ("554 5.7.1 Message refusé", "rcpt", MAILING),
    ("550 5.7.26 Unauthenticated email is not accepted (DMARC)", "dot", MAILING),
    ("552 5.3.4 Message size exceeds fixed limit", "dot", MAILING),
    ("554 5.6.0 Message content rejected", "dot", MAILING),
    ("550 Mailbox unavailable", "rcpt", UNCLEAR),
    ("550 Message refused", "dot", MAILING),
    ("554 Transaction failed", "rcpt", MAILING),
    ("550 5.4.4 Unable to route", "rcpt", UNCLEAR),
    ("550 5.0.0 Refused", "rcpt", UNCLEAR),
])
def test_refusals_are_judged_by_their_enhanced_status_code(reply: str, stage: str,
                                                           expected: str) -> None:
    assert concerns(reply, stage) == expected


def test_unclear_refusals_from_one_domain_fail_but_from_many_stop(tmp_path: Path) -> None:
    """No enhanced code: twelve refusals of one domain are its mailboxes; twelve over several
    domains, with nobody delivered, are the relay's."""
    one = [f"agent{n:02d}@ferme.fr" for n in range(12)] + addresses(5)
    many = [f"agent{n:02d}@domaine{n % 4}.fr" for n in range(12)] + addresses(5)
    reply = "550 Mailbox unavailable"
    for valid, stops in ((one, False), (many, True)):
        refused = set(valid[:12])
        rcpt = lambda address, attempt, r=refused: reply if address in r else None  # noqa: E731
        list_path = write_list(tmp_path / f"liste-{stops}.csv", valid)
        with smtp_server(Behaviour(rcpt=rcpt)) as (_, port):
            outcome = send(list_path, settings(port))
        assert bool(outcome.stopped) is stops
        if stops:
            assert not outcome.failed and outcome.sent_now == 0
        else:
            assert {row[0] for row in outcome.failed} == refused and outcome.sent_now == 5


def test_unknown_users_of_many_domains_in_a_row_are_failed_and_the_mailing_finishes(
        tmp_path: Path) -> None:
    """An old list whose dead addresses, at unrelated domains, come first: 5.1.1 concerns each
    mailbox, so they are failed and the rest is mailed; a stop would put them back to pending
    and stop every re-run at the same place."""
    dead = [f"personne{n:02d}@domaine{n % 5}.fr" for n in range(12)]
    valid = dead + addresses(5)
    rcpt = lambda address, attempt: "550 5.1.1 Unknown" if "@domaine" in address \
        else None  # noqa: E731
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert not outcome.stopped and outcome.sent_now == 5
        assert {row[0] for row in outcome.failed} == set(dead)
        assert_exactly_once(handler, addresses(5))
    assert journal_states(list_path) == Counter(sent=5, failed=12)


def test_connection_dropped_mid_list_is_resumed(tmp_path: Path) -> None:
    valid = addresses(20)
    # The server hangs up twice before a MAIL FROM: after the 5th and after the 13th message.
    dropped: set[int] = set()

    def drop_at_mail(accepted: int) -> bool:
        if accepted in (5, 13) and accepted not in dropped:
            dropped.add(accepted)
            return True
        return False

    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(drop_at_mail=drop_at_mail)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert handler.drops == 2
        assert_exactly_once(handler, valid)
    assert outcome.sent_now == 20 and not outcome.uncertain


def test_connection_lost_after_the_final_dot_is_never_sent_twice(tmp_path: Path) -> None:
    """The server kept the message but its "250" was lost: the journal cannot know, so the
    recipient is listed as uncertain and not sent again, by this run or the next."""
    valid = addresses(8)
    victim = valid[3]
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    behaviour = Behaviour(drop_after_data=lambda address: address == victim)
    with smtp_server(behaviour) as (handler, port):
        outcome = send(list_path, settings(port))
        assert [row[0] for row in outcome.uncertain] == [victim]
        again = send(list_path, settings(port))
        assert again.sent_now == 0 and [row[0] for row in again.uncertain] == [victim]
        assert_exactly_once(handler, valid)
    assert journal_states(list_path) == Counter(sent=7, sending=1)


def test_server_out_of_reach_stops_with_a_clear_reason(tmp_path: Path) -> None:
    list_path = write_list(tmp_path / "abonnes.csv", addresses(3))
    port = free_port()
    with pytest.raises(campaigns.CampaignError) as error:
        send(list_path, settings(port, max_attempts=2))
    assert str(error.value) == (
        f"le relais SMTP 127.0.0.1:{port} refuse la connexion (aucun serveur n’écoute sur ce "
        "port)\u00a0: vérifiez host, port et security sous [tool.flash.smtp] dans pyproject.toml")
    assert journal_states(list_path) == Counter(pending=3)


# --- the command, killed and resumed ---------------------------------------------------------

def project(tmp_path: Path, port: int, rate: float) -> Path:
    """A project folder: pyproject.toml with [tool.flash.smtp], and a copy of the sample."""
    root = tmp_path / "projet"
    shutil.copytree(SAMPLE, root / "issues")
    (root / "pyproject.toml").write_text(
        "[tool.flash]\n"
        f'base_url = "{BASE_URL}"\n'
        'email_from = "Flash initiatives locales <flash@exemple.org>"\n'
        'unsubscribe_mailto = "desabonnement@exemple.org"\n'
        "[tool.flash.smtp]\n"
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nrate = {rate}\n'
        "retry_delay = 0.05\n", encoding="utf-8")
    return root


def run_flash(root: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLASH_UNSUBSCRIBE_SECRET": SECRET, "COLUMNS": "120"}
    return subprocess.run([*FLASH, *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)  # type: ignore[call-overload]


def test_killed_mid_list_then_resumed_sends_everyone_exactly_once(tmp_path: Path) -> None:
    valid = addresses(60)
    with smtp_server() as (handler, port):
        root = project(tmp_path, port, rate=25.0)
        list_path = write_list(root / "abonnes.csv", valid)
        env = {**os.environ, "FLASH_UNSUBSCRIBE_SECRET": SECRET}
        process = subprocess.Popen([*FLASH, "send", "195", "--list", "abonnes.csv"], cwd=root,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while sum(handler.count().values()) < 15 and process.poll() is None:
                assert time.monotonic() < deadline, "the server never saw 15 messages"
                time.sleep(0.005)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        seen = set(handler.count())
        assert 15 <= len(seen) < 60
        states = journal_states(list_path)
        assert states["sent"] + states["sending"] >= len(seen) - 1
        result = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert result.returncode == 0, result.stderr
        assert_exactly_once(handler, valid)
        assert "Traceback" not in result.stderr
    # A row left `sending` by the kill is a message the server had: it was not sent again.
    with sqlite3.connect(journal_path(list_path, 195)) as db:
        uncertain = [a for (a,) in db.execute("SELECT email FROM recipients WHERE state = "
                                              "'sending'")]
    assert set(uncertain) <= seen


def test_cli_dry_run_proof_and_reports(tmp_path: Path) -> None:
    valid = addresses(4)
    with smtp_server() as (handler, port):
        root = project(tmp_path, port, rate=0)
        write_list(root / "abonnes.csv", valid, "mauvaise@adresse\n")
        dry = run_flash(root, "send", "195", "--list", "abonnes.csv", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert not handler.received
        assert not journal_path(root / "abonnes.csv", 195).exists()
        assert "Simulation" in dry.stdout and "abonne004@exemple.fr" in dry.stdout
        assert "abonnes.csv:6" in dry.stderr and "invalide" in dry.stderr
        proof = run_flash(root, "send", "195", "--to", "relecture@exemple.fr, chef@exemple.fr")
        assert proof.returncode == 0, proof.stderr
        assert sorted(handler.count()) == ["chef@exemple.fr", "relecture@exemple.fr"]
        assert not list(root.glob("*.sqlite"))  # a proof keeps no journal: send it again at will
        real = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert real.returncode == 0, real.stderr
        assert "4 messages envoyés (4 sur 4 au total)." in real.stdout
        assert sum(handler.count().values()) == 6


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["send", "195"], {}, "soit --to"),
    (["send", "999", "--to", "a@exemple.fr"], {}, "le numéro 999 n’existe pas"),
    (["send", "195", "--list", "absente.csv"], {}, "absente.csv\u00a0: fichier introuvable"),
    (["send", "195", "--list", "abonnes.csv"], {"FLASH_UNSUBSCRIBE_SECRET": ""},
     "FLASH_UNSUBSCRIBE_SECRET"),
])
def test_cli_mistakes_are_french_sentences(tmp_path: Path, args: list[str], env: dict[str, str],
                                           expected: str) -> None:
    root = project(tmp_path, free_port(), rate=0)
    write_list(root / "abonnes.csv", addresses(2))
    result = subprocess.run([*FLASH, *args], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "FLASH_UNSUBSCRIBE_SECRET": SECRET, **env},
                            timeout=120)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_password_comes_only_from_the_environment(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    list_path = write_list(tmp_path / "abonnes.csv", addresses(1))
    monkeypatch.delenv("FLASH_SMTP_PASSWORD", raising=False)
    config = settings(free_port(), user="flash@exemple.org")
    with pytest.raises(campaigns.CampaignError, match="FLASH_SMTP_PASSWORD"):
        campaigns.prepare(SAMPLE, 195, config, list_path=list_path)


def test_one_send_at_a_time_per_list(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "abonnes.csv", 195)
    with Journal(path, 195), pytest.raises(JournalError, match="un autre envoi"):
        Journal(path, 195)
    with Journal(path, 195), pytest.raises(JournalError, match="numéro 195"):
        Journal(path, 196)


def test_rate_limit_spaces_messages() -> None:
    """The pacer, on a fake clock: 4 messages at 2 per second wait 0.5 s between each."""
    now = [100.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 6))
        now[0] += seconds

    pacer = _Pacer(2.0, sleep, lambda: now[0])
    for _ in range(4):
        pacer.wait()
    assert pauses == [0.5, 0.5, 0.5]
    unlimited = _Pacer(0.0, sleep, lambda: now[0])
    unlimited.wait()
    unlimited.wait()
    assert len(pauses) == 3


def test_retry_settings_are_checked(tmp_path: Path) -> None:
    list_path = write_list(tmp_path / "abonnes.csv", addresses(1))
    config = settings(free_port())
    config = replace(config, smtp=replace(config.smtp, security="tls"))
    with pytest.raises(campaigns.CampaignError, match="starttls"):
        campaigns.prepare(SAMPLE, 195, config, list_path=list_path)


def test_sender_refused_stops_the_run_and_blames_nobody(tmp_path: Path) -> None:
    valid = addresses(3)
    list_path = write_list(tmp_path / "abonnes.csv", valid)

    class Refusing(Handler):
        async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                              address: str, options: list[str]) -> str:
            return "553 5.7.1 Expéditeur non autorisé"

    handler = Refusing(Behaviour())
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        with pytest.raises(campaigns.CampaignError, match="refuse l’expéditeur"):
            send(list_path, settings(port))
    finally:
        controller.stop()
    assert journal_states(list_path) == Counter(pending=3)


def test_lines_starting_with_a_dot_are_doubled_on_the_wire() -> None:
    wire = wire_body(b"A: b\r\n\r\n.un\r\n..deux\r\nfin")
    assert wire == b"A: b\r\n\r\n..un\r\n...deux\r\nfin\r\n"
    assert wire_body(b"a\nb\n") == b"a\r\nb\r\n"


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path: Path) -> None:
    valid = addresses(40)
    with smtp_server() as (handler, port):
        root = project(tmp_path, port, rate=25.0)
        write_list(root / "abonnes.csv", valid)
        env = {**os.environ, "FLASH_UNSUBSCRIBE_SECRET": SECRET}
        process = subprocess.Popen([*FLASH, "send", "195", "--list", "abonnes.csv"], cwd=root,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        deadline = time.monotonic() + 60
        while sum(handler.count().values()) < 10 and process.poll() is None:
            assert time.monotonic() < deadline, "the server never saw 10 messages"
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert "Envoi interrompu" in stderr and "Traceback" not in stderr
        result = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert result.returncode == 0, result.stderr
        assert_exactly_once(handler, valid)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_with_the_password_from_the_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      data: LoginPassword) -> AuthResult:
        def text(value: bytes | str) -> str:
            return value.decode() if isinstance(value, bytes) else value

        ok = (text(data.login), text(data.password)) == ("flash@exemple.org",
                                                         "mot de passe du relais")
        return AuthResult(success=ok, handled=False)

    valid = addresses(3)
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    handler = Handler(Behaviour())
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10,
                            authenticator=authenticator, auth_require_tls=False,
                            auth_required=True)
    controller.start()
    try:
        config = settings(port, user="flash@exemple.org")
        monkeypatch.setenv("FLASH_SMTP_PASSWORD", "mauvais")
        with pytest.raises(campaigns.CampaignError, match="refuse l’identifiant"):
            send(list_path, config)
        assert not handler.received
        monkeypatch.setenv("FLASH_SMTP_PASSWORD", "mot de passe du relais")
        assert send(list_path, config).sent_now == 3
        assert_exactly_once(handler, valid)
    finally:
        controller.stop()


# --- a first mailing, as the guide’s « Premier envoi » walks it (issue 13 §6) ------------------

def bare_project(tmp_path: Path, smtp: str = "") -> Path:
    """A project as a newcomer has it: [tool.flash] without [tool.flash.smtp], or with `smtp`."""
    root = tmp_path / "projet"
    shutil.copytree(SAMPLE, root / "issues")
    (root / "pyproject.toml").write_text(
        f'[tool.flash]\nbase_url = "{BASE_URL}"\n{smtp}', encoding="utf-8")
    return root


def run_bare(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("FLASH_UNSUBSCRIBE_SECRET", "FLASH_SMTP_PASSWORD")}
    return subprocess.run([*FLASH, *args], cwd=root, capture_output=True, text=True,
                          env={**environment, "COLUMNS": "200", **env}, timeout=120)


def test_a_proof_with_no_relay_configured_says_so(tmp_path: Path) -> None:
    root = bare_project(tmp_path)
    started = time.monotonic()
    result = run_bare(root, "send", "195", "--to", "moi@exemple.fr")
    assert time.monotonic() - started < 20  # no retries against a relay that does not exist
    assert result.returncode == 1
    assert ("Envoi impossible\u00a0: aucun relais SMTP n’est réglé\u00a0: indiquez-le sous "
            "[tool.flash.smtp] dans pyproject.toml") in result.stderr
    assert "Premier envoi" in result.stderr
    for wrong in ("Refus temporaires", "Errno", "localhost", "Traceback"):
        assert wrong not in result.stderr + result.stdout


@pytest.mark.parametrize(("smtp", "expected"), [
    ('[tool.flash.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n',
     "le relais SMTP 127.0.0.1:{port} refuse la connexion (aucun serveur n’écoute sur ce port)"),
    ('[tool.flash.smtp]\nhost = "smtp.introuvable.invalid"\n',
     "l’adresse du relais SMTP «\u202fsmtp.introuvable.invalid\u202f» est introuvable"),
])
def test_a_proof_to_a_relay_out_of_reach_names_the_setting(tmp_path: Path, smtp: str,
                                                           expected: str) -> None:
    port = free_port()
    root = bare_project(tmp_path, smtp.replace("{port}", str(port)))
    result = run_bare(root, "send", "195", "--to", "moi@exemple.fr")
    assert result.returncode == 1
    assert f"Envoi impossible\u00a0: {expected.replace('{port}', str(port))}" in result.stderr
    assert "vérifiez host, port et security sous [tool.flash.smtp]" in result.stderr
    for wrong in ("Refus temporaires", "Errno", "Connection refused", "Traceback"):
        assert wrong not in result.stderr + result.stdout


def test_a_dry_run_needs_no_secret_and_says_what_the_real_run_needs(tmp_path: Path) -> None:
    root = bare_project(tmp_path)
    write_list(root / "abonnes.csv", addresses(3))
    result = run_bare(root, "send", "195", "--list", "abonnes.csv", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Simulation (--dry-run)\u00a0: rien n’est envoyé." in out
    assert "Pour le vrai envoi, il faudra encore\u00a0:" in out
    assert "– aucun relais SMTP n’est réglé" in out
    assert "– secret des liens de désabonnement absent\u00a0: définissez la variable " \
           "d’environnement FLASH_UNSUBSCRIBE_SECRET" in out
    assert not journal_path(root / "abonnes.csv", 195).exists()
    # Once everything is there, the dry run says it is ready.
    root2 = bare_project(tmp_path / "b", '[tool.flash.smtp]\nhost = "smtp-relay.brevo.com"\n'
                                         'user = "flash@exemple.org"\nrate = 0\n')
    write_list(root2 / "abonnes.csv", addresses(3))
    ready = run_bare(root2, "send", "195", "--list", "abonnes.csv", "--dry-run",
                     FLASH_UNSUBSCRIBE_SECRET=SECRET, FLASH_SMTP_PASSWORD="clé")
    assert ready.returncode == 0, ready.stderr
    assert ("Le relais serait smtp-relay.brevo.com:587 (STARTTLS), sans limite de débit."
            in ready.stdout)
    assert ("Prêt pour le vrai envoi\u00a0: relais réglé, mot de passe présent "
            "(FLASH_SMTP_PASSWORD), secret des liens de désabonnement présent.") in ready.stdout


def test_dry_run_counts_add_up_to_the_rows_of_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, free_port(), rate=2.5)
    (root / "abonnes.csv").write_text(
        "Prénom;Nom;E-mail;;\n"
        "Marie;Lefèvre;marie@exemple.fr;;\n"
        "Jean;Petit;pas-une-adresse;;\n"
        ";;;;\n"
        "Léa;Roux;lea@exemple.fr;;\n"
        "Marie;Lefèvre;MARIE@exemple.fr;;\n"
        "Paul;Durand;paul@exemple.fr;;\n", encoding="utf-8")
    result = run_flash(root, "send", "195", "--list", "abonnes.csv", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ("abonnes.csv\u00a0: adresses lues dans la colonne «\u202fE-mail\u202f», noms dans "
            "«\u202fPrénom\u202f» et «\u202fNom\u202f».") in out
    assert ("abonnes.csv\u00a0: 6 lignes sous l’en-tête = 3 destinataires + 2 lignes ignorées "
            "+ 1 ligne vide\u202f; chaque ligne est comptée.") in out
    assert "3 destinataires\u00a0: 3 à envoyer." in out
    assert "à 2,5 messages par seconde au plus" in out
    assert "ligne 2\u00a0: marie@exemple.fr (Marie Lefèvre)" in out
    assert "abonnes.csv:3\u00a0: adresse invalide" in result.stderr
    assert "abonnes.csv:6\u00a0: adresse en double" in result.stderr
    assert "(s)" not in out + result.stderr


def test_an_excel_list_is_mailed_to_first_and_last_name(tmp_path: Path) -> None:
    with smtp_server() as (handler, port):
        root = project(tmp_path, port, rate=0)
        (root / "abonnes.csv").write_bytes(
            "Prénom;Nom;E-mail\r\nMarie;Lefèvre;marie@exemple.fr\r\n".encode("cp1252"))
        result = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert result.returncode == 0, result.stderr
        (received,) = handler.received
    assert received.message["To"].addresses[0].display_name == "Marie Lefèvre"
    assert "1 message envoyé (1 sur 1 au total)." in result.stdout
    for wrong in ("(s)", "0 message(s) par seconde", "à 0 message"):
        assert wrong not in result.stdout + result.stderr


def test_plurals_and_figures_are_french() -> None:
    from flash.mail.report import count, number, rate

    assert [count(n, "destinataire") for n in (0, 1, 2, 1500)] == [
        "0 destinataire", "1 destinataire", "2 destinataires", "1\u202f500 destinataires"]
    assert count(3, "ligne ignorée") == "3 lignes ignorées"
    assert number(2.5) == "2,5"
    assert rate(SmtpSettings(rate=0)) == "sans limite de débit"
    assert rate(SmtpSettings(rate=1)) == "à 1 message par seconde au plus"
    assert rate(SmtpSettings(rate=10)) == "à 10 messages par seconde au plus"


def test_a_stopped_cli_run_says_how_to_go_on(tmp_path: Path) -> None:
    refusing = True
    rcpt = lambda address, attempt: "554 5.7.1 Message refusé" if refusing else None  # noqa: E731
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        root = project(tmp_path, port, rate=0)
        valid = addresses(14)
        write_list(root / "abonnes.csv", valid)
        stopped = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert stopped.returncode == 1
        assert "Envoi arrêté\u00a0: le relais refuse le message lui-même" in stopped.stderr
        assert ("14 destinataires en attente, et personne n’a reçu le numéro deux fois\u202f: "
                "relancez la même commande une fois le problème réglé") in stopped.stderr
        assert "Refus définitifs" not in stopped.stderr
        refusing = False
        resumed = run_flash(root, "send", "195", "--list", "abonnes.csv")
        assert resumed.returncode == 0, resumed.stderr
        assert "14 messages envoyés (14 sur 14 au total)." in resumed.stdout
        assert_exactly_once(handler, valid)


def test_one_domain_refusing_the_message_is_held_and_the_rest_is_mailed(tmp_path: Path) -> None:
    """A partner's filter answers 554 5.7.1 to its dozen addresses, sorted together: they are
    kept pending (not failed, the addresses are good), the rest of the list is mailed, and the
    run does not stop at them (a stop would stop every re-run at the same place)."""
    before, after = addresses(5), [f"suite{n:03d}@exemple.org" for n in range(20)]
    filtered = [f"agent{n:02d}@partenaire.fr" for n in range(14)]
    valid = before + filtered[:12] + after + filtered[12:]
    rcpt = lambda address, attempt: "554 5.7.1 Message refusé par le filtre" \
        if address.endswith("@partenaire.fr") else None  # noqa: E731
    list_path = write_list(tmp_path / "abonnes.csv", valid)
    with smtp_server(Behaviour(rcpt=rcpt)) as (handler, port):
        outcome = send(list_path, settings(port))
        assert not outcome.stopped and not outcome.failed
        assert outcome.sent_now == 25 and outcome.held == ["partenaire.fr"]
        assert {row[0] for row in outcome.deferred} == set(filtered)
        assert all(row[2].startswith("refus du domaine partenaire.fr") for row in outcome.deferred)
        assert sum(handler.attempts.get(a, 0) for a in filtered) == 10  # 4 untried
        assert_exactly_once(handler, before + after)
        again = send(list_path, settings(port))  # still filtered: kept again, nobody twice
        assert again.sent_now == 0 and len(again.deferred) == 14
        assert_exactly_once(handler, before + after)
    assert journal_states(list_path) == Counter(sent=25, pending=14)
