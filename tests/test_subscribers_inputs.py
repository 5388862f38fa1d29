"""Hostile input to the subscribers service, in process (Starlette's test client on the real
app and a real SQLite file): very long fields, CR/LF, SQL metacharacters, non-ASCII
addresses, missing consent, the honeypot, forged and expired tokens, rate limits. Every
answer is a French page; nothing wrong is stored; no header gets a line break."""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import html

from flash.mail.unsubscribe import confirmation_url, recipient_url
from flash.settings import Settings
from flash.subscribers.service import Service, checked_address, make_app
from flash.subscribers.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

KEY = b"cle de test"
SERVICE = "http://127.0.0.1:8100"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, text: str) -> None:
        assert "\n" not in to and "\r" not in to and "\n" not in subject
        self.sent.append((to, subject, text))


def make(tmp: Path, **changes: object) -> tuple[TestClient, Service, Outbox]:
    base = Settings(root=REPO, base_url="https://flash.exemple.org", subscribers_url=SERVICE,
                    email_from="Flash <flash@exemple.org>")
    config = replace(base, **{"signups_per_client": 10_000, "signups_per_address": 10_000,
                              **changes})
    outbox = Outbox()
    service = Service(config, open_store(f"sqlite:///{tmp / 'abonnes.sqlite'}"), KEY, outbox)
    return TestClient(make_app(service)), service, outbox


def heading(response) -> str:
    return html.fromstring(response.text).xpath("string(//h1)")


def lead(response) -> str:
    return html.fromstring(response.text).xpath("string(//p[@class='page-head__lead'])")


@pytest.fixture
def app(tmp_path: Path):
    return make(tmp_path)


text = st.text(st.characters(codec="utf-8"), max_size=400)
nasty = st.sampled_from(["Robert'); DROP TABLE subscribers;--", "a\r\nBcc: x@y.fr",
                         "\x00", "é" * 300, "<script>alert(1)</script>", "%0d%0aBcc:x@y",
                         "' OR '1'='1", "Zoë\u202e", "x" * 5000])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(email=st.one_of(text, nasty, st.emails()), first=st.one_of(text, nasty),
       last=st.one_of(text, nasty), consent=st.sampled_from(["oui", "", "non", None]),
       trap=st.sampled_from(["", "", "http://spam.example"]))
@example(email="léa@exemple.fr", first="Léa", last="", consent="oui", trap="")
@example(email="jean@exemple.fr", first="Jean\r\nBcc: a@b.fr", last="", consent="oui", trap="")
@example(email="a@b.fr'; DROP TABLE subscribers;--", first="", last="", consent="oui",
         trap="")
def test_any_form_gets_a_french_page_and_stores_nothing_wrong(
        app, email: str, first: str, last: str, consent: str | None, trap: str) -> None:
    client, service, outbox = app
    before = service.store.counts()
    form = {"email": email, "prenom": first, "nom": last, "site_web": trap}
    if consent is not None:
        form["consent"] = consent
    response = client.post("/abonnement", data=form)
    assert response.status_code in (200, 400, 413)
    assert response.headers["content-type"].startswith("text/html")
    assert heading(response) in ("Vérifiez votre messagerie", "Inscription impossible")
    after = service.store.counts()
    if response.status_code != 200 or trap:
        assert after == before  # refused, or a robot: nothing stored, nothing sent
        return
    stored = service.store.listing(email=checked_address(email))
    assert len(stored) == 1
    person = stored[0]
    for value in (person.first_name, person.last_name, person.email):
        assert not re.search(r"[\x00-\x1f\x7f]", value) and len(value) <= 254
    assert outbox.sent[-1][0] == checked_address(email)


def test_refusals_say_why_in_french(app) -> None:
    client, service, _ = app
    cases = {
        "": "Indiquez votre adresse e-mail.",
        "pas-une-adresse": "« pas-une-adresse » n’est pas une adresse e-mail valide",
        "x" * 300 + "@exemple.fr": "Cette adresse e-mail n’est pas valide.",
    }
    for address, message in cases.items():
        response = client.post("/abonnement", data={"email": address, "consent": "oui"})
        assert response.status_code == 400
        assert lead(response).startswith(message), lead(response)
    missing = client.post("/abonnement", data={"email": "a@exemple.fr"})
    assert "Cochez la case d’accord" in lead(missing)
    long_name = client.post("/abonnement", data={"email": "a@exemple.fr", "consent": "oui",
                                                 "prenom": "é" * 101})
    assert "trop long" in lead(long_name)
    huge = client.post("/abonnement", content=b"email=" + b"a" * 20_000,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 400 and "Formulaire trop long" in lead(huge)
    assert service.store.counts()["pending"] == 0


def test_a_non_ascii_address_is_welcome(app) -> None:
    client, service, outbox = app
    response = client.post("/abonnement", data={"email": "zoé.lefèvre@exemple.fr",
                                                "consent": "oui"})
    assert response.status_code == 200
    assert service.store.status_of("zoé.lefèvre@exemple.fr") == "pending"
    assert outbox.sent[-1][0] == "zoé.lefèvre@exemple.fr"


def test_the_same_answer_whether_an_address_is_known_or_not(app) -> None:
    client, _service, outbox = app
    form = {"email": "connue@exemple.fr", "consent": "oui"}
    first = client.post("/abonnement", data=form)
    link = re.search(r"(/confirmer\S+)", outbox.sent[-1][2]).group(1)
    assert heading(client.get(link)) == "Abonnement confirmé"
    known = client.post("/abonnement", data=form)
    unknown = client.post("/abonnement", data={"email": "inconnue@exemple.fr",
                                               "consent": "oui"})
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.text)  # noqa: E731
    assert strip(first) == strip(known) == strip(unknown)
    assert known.status_code == unknown.status_code == 200
    # The known address is told by mail, where only its owner reads it.
    assert outbox.sent[-2][1].startswith("Vous êtes déjà abonné")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.one_of(st.emails(), text), token=text, issued=text)
def test_forged_tokens_never_confirm_nor_unsubscribe(app, address: str, token: str,
                                                    issued: str) -> None:
    client, service, _ = app
    service.store.request("victime@exemple.fr", "", "", "t", "texte")
    params = {"email": address, "token": token, "t": issued}
    confirmed = client.get("/confirmer", params=params)
    assert confirmed.status_code == 400 and heading(confirmed) == "Lien incomplet"
    for method in (client.get, client.post):
        answer = method("/desabonnement", params={"email": "victime@exemple.fr",
                                                  "token": token})
        assert answer.status_code == 400
    assert service.store.status_of("victime@exemple.fr") == "pending"


def test_an_expired_link_says_so_and_offers_the_form(tmp_path: Path) -> None:
    client, service, _ = make(tmp_path, confirmation_hours=48)
    service.store.request("tard@exemple.fr", "", "", "t", "texte")
    old = int(time.time()) - 49 * 3600
    link = confirmation_url(service.settings, KEY, "tard@exemple.fr", old)
    answer = client.get(link.removeprefix(SERVICE))
    assert answer.status_code == 410 and heading(answer) == "Lien expiré"
    assert "48\u00a0heures" in lead(answer) or "48 heures" in lead(answer)
    assert html.fromstring(answer.text).xpath("//form[@class='subscribe']")
    assert service.store.status_of("tard@exemple.fr") == "pending"
    fresh = confirmation_url(service.settings, KEY, "tard@exemple.fr", old + 2 * 3600)
    assert client.get(fresh.removeprefix(SERVICE)).status_code == 200


def test_rate_limits_per_client_and_per_address(tmp_path: Path) -> None:
    client, _service, outbox = make(tmp_path, signups_per_client=5, signups_per_address=2)
    answers = [client.post("/abonnement", data={"email": "meme@exemple.fr", "consent": "oui"})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert heading(answers[2]) == "Trop de demandes"
    others = [client.post("/abonnement", data={"email": f"p{n}@exemple.fr", "consent": "oui"})
              for n in range(3)]
    assert [a.status_code for a in others] == [200, 200, 429]  # 5 from this client, then no
    assert len(outbox.sent) == 4


def test_the_unsubscribe_page_and_its_button(app) -> None:
    client, service, _ = app
    service.store.request("b@exemple.fr", "", "", "t", "texte")
    service.store.confirm("b@exemple.fr")
    url = recipient_url(service.settings, KEY, "b@exemple.fr").removeprefix(SERVICE)
    page = client.get(url)
    assert page.status_code == 200 and heading(page) == "Se désabonner du Flash"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert service.store.status_of("b@exemple.fr") == "confirmed"
    form = html.fromstring(page.text).xpath("//form[@class='unsubscribe']")[0]
    pressed = client.post(form.get("action").removeprefix("http://testserver"),
                          data={"confirmer": "oui"})
    assert heading(pressed) == "Vous êtes désabonné"
    assert service.store.status_of("b@exemple.fr") == "unsubscribed"
    assert service.store.suppressed("b@exemple.fr") == "unsubscribed"
    methods = [r[4] for r in service.store.consent_records("b@exemple.fr")]
    assert methods[-1] == "bouton de la page de désabonnement"


def test_erasure_keeps_only_a_digest(app, tmp_path: Path) -> None:
    _, service, _ = app
    service.store.request("efface@exemple.fr", "Élise", "Roy", "t", "texte")
    service.store.confirm("efface@exemple.fr")
    assert service.store.erase("efface@exemple.fr")
    assert service.store.listing(email="efface@exemple.fr") == []
    assert service.store.consent_records("efface@exemple.fr") == []
    data = (tmp_path / "abonnes.sqlite").read_bytes()
    wal = tmp_path / "abonnes.sqlite-wal"
    service.store.close()
    # The address and the names are nowhere in the file once the log is folded in.
    import sqlite3

    with sqlite3.connect(tmp_path / "abonnes.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    data = (tmp_path / "abonnes.sqlite").read_bytes()
    assert b"efface@exemple.fr" not in data and "Élise".encode() not in data
    assert not wal.exists() or b"efface@exemple.fr" not in wal.read_bytes()
    store = open_store(f"sqlite:///{tmp_path / 'abonnes.sqlite'}")
    assert store.suppressed("efface@exemple.fr") == "erased"
