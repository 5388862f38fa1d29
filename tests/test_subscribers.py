"""The subscriber lifecycle with the real parts: `flash subscribers serve` (uvicorn) on
127.0.0.1 with SQLite and with a real PostgreSQL server, headless Chromium submitting the
site's form, aiosmtpd as the relay, `flash send --subscribers`, RFC 8058 one-click
unsubscribes, CSV re-imports and a folder of real-looking DSNs."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import REPO, SAMPLE
from lxml import html
from pg_server import binaries, postgresql
from test_send import free_port, smtp_server

from flash.subscribers.store import database_url, open_store

SECRET = "une phrase secrète pour les abonnés"
FLASH = [sys.executable, "-m", "flash"]
DSN = Path(__file__).parent / "data" / "dsn"


def write_project(root: Path, site_port: int, service_port: int, relay_port: int) -> Path:
    shutil.copytree(SAMPLE, root / "issues")
    (root / "pyproject.toml").write_text(f"""
[tool.flash]
base_url = "http://127.0.0.1:{site_port}"
subscribers_url = "http://127.0.0.1:{service_port}"
email_from = "Flash initiatives locales <flash@exemple.org>"
reply_to = "Communication <communication@exemple.org>"

[tool.flash.smtp]
host = "127.0.0.1"
port = {relay_port}
security = "none"
rate = 0
""", encoding="utf-8")
    return root


def env_for(database: str) -> dict[str, str]:
    return {**os.environ, "FLASH_UNSUBSCRIBE_SECRET": SECRET,
            "FLASH_SUBSCRIBERS_DATABASE": database, "PYTHONPATH": str(REPO)}


def flash(project: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FLASH, *args], cwd=project, env=env_for(database),
                          capture_output=True, text=True, timeout=120)


@contextmanager
def service(project: Path, database: str, port: int) -> Iterator[str]:
    process = subprocess.Popen([*FLASH, "subscribers", "serve", "--port", str(port)],
                               cwd=project, env=env_for(database), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/sante", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            process.kill()
            raise AssertionError(process.communicate()[0])
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def messages_to(handler, address: str) -> list[email.message.EmailMessage]:
    return [r.message for r in handler.received if r.recipient == address]


def wait_for(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("attendu en vain")
        time.sleep(0.05)


def body_text(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'abonnes.sqlite'}"
        return
    if binaries() is None:
        pytest.fail("PostgreSQL is missing: tests/run installs it (apt-get install postgresql)")
    with postgresql() as url:
        yield url


def test_the_whole_lifecycle_with_the_real_parts(database: str, tmp_path: Path,
                                                 browser) -> None:
    from site_server import serve

    site_port, service_port = free_port(), free_port()
    with smtp_server() as (handler, relay_port):
        project = write_project(tmp_path / "projet", site_port, service_port, relay_port)
        built = flash(project, database, "build", "--no-search")
        assert built.returncode == 0, built.stderr
        with serve(project / "_site", port=site_port) as site, \
                service(project, database, service_port) as url:
            # 1. The site's footer form, in Chromium, without JavaScript of ours.
            page = browser.new_page()
            page.goto(f"{site}/numeros/195/")
            footer = page.locator("footer form.subscribe")
            footer.locator("input[name=email]").fill("lea.martin@exemple.fr")
            footer.locator("input[name=consent]").check()
            with page.expect_navigation():
                footer.locator("button[type=submit]").click()
            assert page.url.startswith(f"{url}/abonnement")
            assert page.locator("h1").inner_text() == "Vérifiez votre messagerie"
            wait_for(lambda: messages_to(handler, "lea.martin@exemple.fr"))
            confirmation = messages_to(handler, "lea.martin@exemple.fr")[0]
            assert confirmation["Subject"].startswith("Confirmez votre abonnement")
            assert confirmation["Auto-Submitted"] == "auto-generated"
            link = re.search(rf"{re.escape(url)}/confirmer\S+", body_text(confirmation))
            assert link is not None
            # Not yet confirmed: nobody to mail.
            refused = flash(project, database, "send", "195", "--subscribers")
            assert refused.returncode == 1 and "aucun abonné confirmé" in refused.stderr
            # 2. Following the link confirms, in the browser too.
            page.goto(link.group(0))
            assert page.locator("h1").inner_text() == "Abonnement confirmé"
            page.close()
            # 3. The issue, exactly once.
            sent = flash(project, database, "send", "195", "--subscribers")
            assert sent.returncode == 0, sent.stderr
            again = flash(project, database, "send", "195", "--subscribers")
            assert again.returncode == 0 and "Rien à envoyer" in again.stdout
            issues = [m for m in messages_to(handler, "lea.martin@exemple.fr")
                      if "195" in m["Subject"]]
            assert len(issues) == 1
            issue = issues[0]
            assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            https = re.match(r"<([^>]+)>", issue["List-Unsubscribe"]).group(1)
            assert https.startswith(f"{url}/desabonnement?")
            assert https in body_text(issue)  # the footer's link leads to the same page
            # 4. A GET (a mail scanner) shows a button and unsubscribes nobody.
            shown = httpx.get(https)
            assert shown.status_code == 200
            tree = html.fromstring(shown.text)
            assert tree.xpath("//form[@method='post']//button")[0].text_content().strip() \
                == "Me désabonner"
            store = open_store(database_url(database, project))
            assert store.status_of("lea.martin@exemple.fr") == "confirmed"
            # 5. RFC 8058: the one-click POST unsubscribes at once.
            clicked = httpx.post(https, content=b"List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert clicked.status_code == 200
            assert "Vous êtes désabonné" in clicked.text
            assert store.status_of("lea.martin@exemple.fr") == "unsubscribed"
            records = [r[0] for r in store.consent_records("lea.martin@exemple.fr")]
            assert records == ["requested", "confirmed", "withdrawn"]
            # 6. A re-import does not bring her back; the next issue reaches only the others.
            (project / "liste.csv").write_text(
                "Prénom;Nom;E-mail\r\nLéa;Martin;Lea.Martin@exemple.fr\r\n"
                "Paul;Durand;paul.durand@exemple.fr\r\n", encoding="cp1252")
            imported = flash(project, database, "subscribers", "import", "liste.csv",
                             "--source", "Liste du forum 2026")
            assert imported.returncode == 0, imported.stderr
            assert "1 abonné ajouté" in imported.stdout and "1 ignoré" in imported.stdout
            (project / "envois" / "abonnes.envoi-195.sqlite").unlink()  # as a new issue
            next_one = flash(project, database, "send", "195", "--subscribers")
            assert next_one.returncode == 0, next_one.stderr
            got = [r.recipient for r in handler.received if "195" in r.message["Subject"]]
            assert sorted(got) == ["lea.martin@exemple.fr", "paul.durand@exemple.fr"]
            store.close()


def test_bounces_from_a_folder_of_real_dsns(database: str, tmp_path: Path) -> None:
    project = tmp_path
    (project / "pyproject.toml").write_text("[tool.flash]\n", encoding="utf-8")
    people = ["postfix-perdu@exemple.fr", "exim-ferme@partenaire.fr",
              "gmail-inconnu@gmail.com", "outlook-parti@bailleur.fr", "boite-pleine@exemple.fr",
              "marie.durand@exemple.fr"]
    (project / "liste.csv").write_text("email\n" + "\n".join(people) + "\n", encoding="utf-8")
    imported = flash(project, database, "subscribers", "import", "liste.csv", "--source", "t")
    assert "6 abonnés ajoutés" in imported.stdout, imported.stderr
    result = flash(project, database, "subscribers", "bounces", str(DSN))
    assert result.returncode == 0, result.stderr
    assert "6 messages lus, 5 retours d’erreur (4 définitifs, 1 temporaire)" in result.stdout
    assert "4 adresses exclues" in result.stdout
    store = open_store(database_url(database, project))
    mailed = {r.email for r in store.recipients()}
    assert mailed == {"boite-pleine@exemple.fr", "marie.durand@exemple.fr"}
    # Read again: nothing counts twice.
    again = flash(project, database, "subscribers", "bounces", str(DSN))
    assert "5 déjà lus" in again.stdout and "0 adresse exclue" in again.stdout
    store.close()


def test_moving_from_sqlite_to_postgresql_keeps_everything(tmp_path: Path) -> None:
    if binaries() is None:
        pytest.fail("PostgreSQL is missing: tests/run installs it (apt-get install postgresql)")
    project = tmp_path
    (project / "pyproject.toml").write_text("[tool.flash]\n", encoding="utf-8")
    sqlite = f"sqlite:///{tmp_path / 'abonnes.sqlite'}"
    store = open_store(sqlite)
    store.request("a@exemple.fr", "Ana", "", "https://site/abonnement/", "texte v1")
    store.confirm("a@exemple.fr")
    store.request("b@exemple.fr", "", "", "https://site/", "texte v1")
    store.confirm("b@exemple.fr")
    store.unsubscribe("b@exemple.fr", "un clic")
    store.erase("c@exemple.fr")
    store.close()
    with postgresql() as url:
        moved = flash(project, sqlite, "subscribers", "copy", url)
        assert moved.returncode == 0, moved.stderr
        assert "2 abonnés copiés, 5 consentements, 2 adresses exclues" in moved.stdout
        target = open_store(database_url(url, project))
        assert [r.email for r in target.recipients()] == ["a@exemple.fr"]
        assert [r[0] for r in target.consent_records("a@exemple.fr")] == [
            "requested", "confirmed"]
        assert target.suppressed("c@exemple.fr") == "erased"
        # New rows continue after the copied ids.
        assert target.request("d@exemple.fr", "", "", "t", "texte v1") == "pending"
        again = flash(project, sqlite, "subscribers", "copy", url)
        assert again.returncode == 1 and "n’est pas vide" in again.stderr
        target.close()


def test_bounces_from_an_mbox_and_a_maildir(tmp_path: Path) -> None:
    import mailbox

    database = f"sqlite:///{tmp_path / 'abonnes.sqlite'}"
    (tmp_path / "pyproject.toml").write_text("[tool.flash]\n", encoding="utf-8")
    mbox = mailbox.mbox(tmp_path / "retours.mbox")
    maildir = mailbox.Maildir(tmp_path / "retours-maildir")
    for file in sorted(DSN.iterdir()):
        message = email.message_from_bytes(file.read_bytes())
        mbox.add(message)
        maildir.add(message)
    mbox.flush()
    for source in ("retours.mbox", "retours-maildir"):
        result = flash(tmp_path, database, "subscribers", "bounces", source)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("6 messages lus"), result.stdout
    store = open_store(database)
    for address in ("postfix-perdu@exemple.fr", "gmail-inconnu@gmail.com",
                    "outlook-parti@bailleur.fr", "exim-ferme@partenaire.fr"):
        assert store.suppressed(address) == "bounced"
    assert store.suppressed("boite-pleine@exemple.fr") is None  # once: not yet
    store.close()
    missing = flash(tmp_path, database, "subscribers", "bounces", "nulle-part")
    assert missing.returncode == 1 and "ni un fichier mbox" in missing.stderr


def test_refusals_seen_by_flash_send_suppress_and_stats_count_them(tmp_path: Path) -> None:
    from test_send import Behaviour

    refuse = Behaviour(rcpt=lambda address, attempt: "550 5.1.1 Utilisateur inconnu"
                       if address.startswith("ferme") else None)
    with smtp_server(refuse) as (handler, relay_port):
        project = write_project(tmp_path / "projet", free_port(), free_port(), relay_port)
        database = f"sqlite:///{tmp_path / 'abonnes.sqlite'}"
        (project / "liste.csv").write_text("email\nouvert@exemple.fr\nferme@partenaire.fr\n",
                                           encoding="utf-8")
        assert flash(project, database, "subscribers", "import", "liste.csv", "--source",
                     "Forum").returncode == 0
        sent = flash(project, database, "send", "195", "--subscribers")
        assert sent.returncode == 1  # one refused for good: said, and the exit tells it
        assert "ferme@partenaire.fr" in sent.stderr
        assert [r.recipient for r in handler.received] == ["ouvert@exemple.fr"]
    store = open_store(database)
    assert store.suppressed("ferme@partenaire.fr") == "bounced"
    assert [r.email for r in store.recipients()] == ["ouvert@exemple.fr"]
    store.close()
    stats = flash(project, database, "subscribers", "stats")
    assert stats.returncode == 0, stats.stderr
    assert re.search(r"N°195 \(.*1 destinataire\)\s?: 0 inscription, 0 désabonnement, "
                     r"1 retour d’erreur", stats.stdout), stats.stdout
    count = flash(project, database, "subscribers", "count")
    assert "Confirmés (reçoivent le Flash)\u00a0: 1" in count.stdout
    assert "jamais écrits)\u00a0: 1" in count.stdout
