"""The subscribers service: the HTTP end of sign-ups, confirmations and unsubscribes, an ASGI
app (Starlette) that keeps no state of its own, answering in French pages styled like the site.

Why Starlette on uvicorn: a small, maintained ASGI toolkit with plain request and response
objects, form parsing and a test client; uvicorn is the server its documentation runs, and
takes the client address from a trusted reverse proxy's X-Forwarded-For (`--proxy-headers`).
Every request is one short database transaction, run in Starlette's thread pool.

Routes (under `subscribers_url`):
    GET  /                 → the site's /abonnement/ page
    GET  /abonnement       the sign-up form
    POST /abonnement       a sign-up: the same answer whether the address is known or not
    GET  /confirmer        the link of the confirmation message
    GET  /desabonnement    a page with a button; never unsubscribes by itself (mail scanners
                           fetch links)
    POST /desabonnement    unsubscribes at once: RFC 8058 one-click, or the page's button
    GET  /sante            "ok" when the database answers
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from flash.mail.compose import EmailError, mailbox
from flash.mail.send import SendError, send_one
from flash.mail.unsubscribe import (
    confirmation_state,
    confirmation_url,
    normalise,
    recipient_url,
    verify,
)
from flash.model import SiteView
from flash.pages import Page
from flash.render import render_page
from flash.settings import Settings
from flash.shipped import merged_files, project_dirs
from flash.subscribers.store import (
    CONFIRMED,
    MAX_ADDRESS,
    MAX_NAME,
    PENDING,
    Store,
    StoreError,
)
from flash.templates import make_environment

MAX_BODY = 8 * 1024  # a sign-up form is a few hundred bytes
CLIENT_WINDOW, ADDRESS_WINDOW = 600.0, 3600.0


@dataclass(frozen=True)
class Answer:
    """A French page: its title, lead, paragraphs, and the form it carries, if any."""
    title: str
    lead: str = ""
    paragraphs: tuple[str, ...] = ()
    form: str = ""  # "", "subscribe" or "unsubscribe"
    action: str = ""
    status: int = 200


SENT = Answer(
    "Vérifiez votre messagerie",
    "Nous venons d’envoyer un message à l’adresse indiquée.",
    ("Suivez le lien de ce message pour confirmer votre abonnement : tant qu’il n’est pas "
     "suivi, vous ne recevrez pas le Flash.",
     "Rien reçu dans quelques minutes ? Regardez dans les courriers indésirables, ou "
     "vérifiez l’adresse et recommencez."))


class Service:
    """What every request needs: the settings, the store, the secret and the templates."""

    def __init__(self, settings: Settings, store: Store, key: bytes,
                 mailer: Mailer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.key = key
        self.mailer = mailer or Mailer(settings)
        self.base = settings.subscribers_url.rstrip("/")
        layouts = project_dirs(settings, "layouts")
        self.env: Environment = make_environment(layouts)
        self.assets = {name: path for name, path in merged_files(
            project_dirs(settings, "assets")).items() if name in ("flash.css", "favicon.svg")}
        self.site = SiteView(
            title=settings.title, description=settings.description,
            base_url=settings.site_url, publisher=settings.publisher,
            language=settings.language, search=False,
            assets={name: f"{self.base}/assets/{name}" for name in self.assets},
            subscribe=f"{self.base}/abonnement", consent=settings.consent_text,
            contact=_contact(settings))

    def page(self, answer: Answer) -> Response:
        page = Page("/abonnement/", "subscribers/answer.html", "subscribers", answer.title,
                    {"lead": answer.lead, "paragraphs": answer.paragraphs,
                     "form": answer.form, "action": answer.action},
                    description=answer.lead or answer.title, in_sitemap=False)
        html = render_page(self.env, page, self.site)
        return Response(html, status_code=answer.status, media_type="text/html",
                        headers=HEADERS)


HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token in the URL never leaves in a Referer
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; base-uri *; frame-ancestors 'none'",
}


def _contact(settings: Settings) -> str:
    try:
        return mailbox(settings.reply_to or settings.email_from, "reply_to").addr_spec
    except EmailError:
        return ""


class Mailer:
    """Sends the confirmation message through the relay of the issues ([tool.flash.smtp])."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, text: str) -> None:
        settings = self.settings
        sender = mailbox(settings.email_from, "email_from")
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = sender
        msg["To"] = to
        if settings.reply_to:
            msg["Reply-To"] = mailbox(settings.reply_to, "reply_to")
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC).astimezone())
        msg["Message-ID"] = make_msgid("flash-abonnement", domain=sender.domain)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply loops
        msg.set_content(text)
        send_one(settings.smtp, sender.addr_spec, to, msg.as_bytes())


# -- checking what people type -------------------------------------------------------------

class Refused(Exception):
    """A field is wrong: its French message."""


def _clean_name(value: str, label: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > MAX_NAME:
        raise Refused(f"le champ « {label} » est trop long ({MAX_NAME} caractères au plus)")
    if any(unicodedata.category(c)[0] == "C" for c in text) or any(c in text for c in "<>@"):
        raise Refused(f"le champ « {label} » contient un caractère non admis (retour à la "
                      "ligne, < > ou @)")
    return text


def checked_address(value: str) -> str:
    """The address as typed, if a relay would take it: email-validator's syntax check, no
    DNS look-up (a temporary DNS failure must not refuse a real address)."""
    text = value.strip()
    if not text:
        raise Refused("indiquez votre adresse e-mail")
    if len(text) > MAX_ADDRESS or any(unicodedata.category(c)[0] == "C" for c in text):
        raise Refused("cette adresse e-mail n’est pas valide")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Refused(f"« {text[:80]} » n’est pas une adresse e-mail valide (exemple : "
                      "prenom.nom@exemple.fr)") from None


def _client(request: Request) -> str:
    host = request.client.host if request.client else "inconnu"
    return hashlib.sha256(f"client|{host}".encode()).hexdigest()


async def _form(request: Request) -> dict[str, str]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused("formulaire trop long")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused("formulaire trop long")
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise Refused("formulaire illisible") from None
    return {name: value for name, value in pairs}


# -- the routes ----------------------------------------------------------------------------

def _refused(service: Service, message: str, status: int = 400) -> Response:
    return service.page(Answer(
        "Inscription impossible", message[:1].upper() + message[1:] + ".",
        ("Corrigez le formulaire ci-dessous et envoyez-le de nouveau.",),
        form="subscribe", status=status))


async def subscribe_form(request: Request) -> Response:
    service: Service = request.app.state.service
    return service.page(Answer("Recevoir le Flash par e-mail",
                               "Chaque mois, le Flash dans votre messagerie.",
                               form="subscribe"))


async def subscribe(request: Request) -> Response:
    service: Service = request.app.state.service
    try:
        form = await _form(request)
        if form.get("site_web"):  # the honeypot: a robot; it is told what a person is
            return service.page(SENT)
        address = checked_address(form.get("email", ""))
        if form.get("consent") != "oui":
            raise Refused("cochez la case d’accord pour recevoir le Flash : sans elle, nous "
                          "ne pouvons pas vous inscrire")
        first = _clean_name(form.get("prenom", ""), "Prénom")
        last = _clean_name(form.get("nom", ""), "Nom")
        source = _source(form.get("page", ""), service)
    except Refused as exc:
        return _refused(service, str(exc))
    settings = service.settings
    try:
        allowed = await run_in_threadpool(
            service.store.allow, _client(request), settings.signups_per_client, CLIENT_WINDOW)
        allowed = allowed and await run_in_threadpool(
            service.store.allow, hashlib.sha256(f"adresse|{normalise(address)}".encode())
            .hexdigest(), settings.signups_per_address, ADDRESS_WINDOW)
        if not allowed:
            return service.page(Answer(
                "Trop de demandes", "Trop d’inscriptions viennent d’être demandées d’ici ou "
                "pour cette adresse.", ("Réessayez dans une heure.",), status=429))
        state = await run_in_threadpool(service.store.request, address, first, last, source,
                                        settings.consent_text)
        await run_in_threadpool(_mail_confirmation, service, address, state)
    except StoreError:
        return _unavailable(service)
    except (SendError, EmailError, OSError):
        return service.page(Answer(
            "Envoi impossible pour l’instant", "Le message de confirmation n’a pas pu partir.",
            ("Réessayez dans quelques minutes. Si cela dure, écrivez-nous à "
             f"{service.site.contact}.",), status=503))
    return service.page(SENT)


def _unavailable(service: Service) -> Response:
    return service.page(Answer("Service indisponible", "Le service d’abonnement ne répond "
                               "pas pour l’instant.", ("Réessayez dans quelques minutes.",),
                               status=503))


def _source(page: str, service: Service) -> str:
    """The page the form was sent from, if it is one of the site's or the service's."""
    page = page.strip()[:500]
    if page.startswith((service.settings.site_url + "/", service.base + "/")):
        return page
    return service.base + "/abonnement"


def _mail_confirmation(service: Service, address: str, state: str) -> None:
    settings = service.settings
    if state == CONFIRMED:  # known: a reminder, and the same answer on the page
        text = (f"Bonjour,\n\nQuelqu’un (vous, sans doute) a demandé à inscrire cette adresse "
                f"au {settings.title}. Elle y est déjà abonnée : vous n’avez rien à faire.\n\n"
                f"Pour ne plus le recevoir : {recipient_url(settings, service.key, address)}\n")
        service.mailer.send(address, f"Vous êtes déjà abonné au {settings.title}", text)
        return
    link = confirmation_url(settings, service.key, address, int(time.time()))
    text = (f"Bonjour,\n\nPour recevoir le {settings.title} chaque mois à cette adresse, "
            f"confirmez votre abonnement en suivant ce lien :\n\n{link}\n\n"
            f"Ce lien reste valable {settings.confirmation_hours} heures. Si vous n’avez rien "
            "demandé, ignorez ce message : vous ne recevrez rien d’autre.\n\n"
            f"— {settings.publisher}\n")
    service.mailer.send(address, f"Confirmez votre abonnement au {settings.title}", text)


async def confirm(request: Request) -> Response:
    service: Service = request.app.state.service
    query = request.query_params
    address = query.get("email", "")[:MAX_ADDRESS]
    state = confirmation_state(service.key, address, query.get("t", ""),
                               query.get("token", "")[:64], time.time(),
                               service.settings.confirmation_hours)
    if state == "forged":
        return service.page(Answer("Lien incomplet", "Ce lien de confirmation n’est pas "
                                   "valide : il a peut-être été coupé en deux par votre "
                                   "messagerie.", ("Copiez-le en entier, ou inscrivez-vous de "
                                                   "nouveau.",), form="subscribe",
                                   status=400))
    if state == "expired":
        return service.page(Answer(
            "Lien expiré", f"Ce lien de confirmation a plus de "
            f"{service.settings.confirmation_hours} heures.",
            ("Inscrivez-vous de nouveau : un nouveau message vous sera envoyé.",),
            form="subscribe", status=410))
    try:
        outcome = await run_in_threadpool(service.store.confirm, address)
    except StoreError:
        return _unavailable(service)
    if outcome == "already":
        return service.page(Answer("Vous êtes déjà abonné", "Votre adresse était déjà "
                                   "confirmée : vous recevez le Flash chaque mois.",))
    if outcome == "unknown":
        return service.page(Answer("Inscription introuvable", "Cette inscription a été "
                                   "effacée depuis.", ("Inscrivez-vous de nouveau si vous "
                                                       "le souhaitez.",), form="subscribe",
                                   status=404))
    return service.page(Answer("Abonnement confirmé", "Merci ! Vous recevrez le prochain "
                               "Flash dans votre messagerie.",
                               ("Chaque message porte un lien pour vous désabonner en un clic.",
                                )))


def _unsubscribe_target(request: Request, service: Service) -> tuple[str, str] | None:
    query = request.query_params
    address, token = query.get("email", "")[:MAX_ADDRESS], query.get("token", "")[:64]
    if not address or not token or not verify(service.key, address, token):
        return None
    return address, token


def _bad_link(service: Service) -> Response:
    return service.page(Answer(
        "Lien de désabonnement incomplet", "Ce lien ne correspond à aucune adresse : il a "
        "peut-être été coupé par votre messagerie.",
        ("Utilisez le lien « Se désabonner » en bas d’un message du Flash, ou écrivez-nous "
         f"à {service.site.contact} depuis l’adresse qui le reçoit.",), status=400))


async def unsubscribe_page(request: Request) -> Response:
    service: Service = request.app.state.service
    target = _unsubscribe_target(request, service)
    if target is None:
        return _bad_link(service)
    address, _ = target
    return service.page(Answer(
        "Se désabonner du Flash", f"Ne plus recevoir le {service.settings.title} à l’adresse "
        f"{address} ?", ("Un clic sur le bouton suffit : aucun autre message ne vous sera "
                         "envoyé.",),
        form="unsubscribe", action=str(request.url)))


async def unsubscribe(request: Request) -> Response:
    """RFC 8058: a POST with `List-Unsubscribe=One-Click` (a mail client's button) or the
    page's own button unsubscribes at once, without a cookie or a second step."""
    service: Service = request.app.state.service
    target = _unsubscribe_target(request, service)
    if target is None:
        return _bad_link(service)
    try:
        form = await _form(request)
    except Refused:
        form = {}
    method = ("un clic depuis la messagerie (RFC 8058)"
              if form.get("List-Unsubscribe") == "One-Click" else "bouton de la page de "
              "désabonnement")
    try:
        await run_in_threadpool(service.store.unsubscribe, target[0], method)
    except StoreError:
        return _unavailable(service)
    return service.page(Answer(
        "Vous êtes désabonné", f"L’adresse {target[0]} ne recevra plus le Flash.",
        ("Les numéros restent en accès libre sur le site.",
         "Vous pouvez vous réabonner quand vous voulez, depuis le site.")))


async def health(request: Request) -> Response:
    service: Service = request.app.state.service
    try:
        await run_in_threadpool(service.store.version)
    except StoreError:
        return PlainTextResponse("base indisponible", status_code=503)
    return PlainTextResponse("ok")


async def home(request: Request) -> Response:
    service: Service = request.app.state.service
    return RedirectResponse(service.settings.absolute("/abonnement/"), status_code=303)


async def asset(request: Request) -> Response:
    service: Service = request.app.state.service
    name = request.path_params["name"]
    path: Path | None = service.assets.get(name)
    if path is None:
        return PlainTextResponse("introuvable", status_code=404)
    kind = "text/css" if name.endswith(".css") else "image/svg+xml"
    return Response(path.read_bytes(), media_type=kind,
                    headers={"Cache-Control": "public, max-age=3600"})


def make_app(service: Service) -> Starlette:
    app = Starlette(routes=[
        Route("/", home),
        Route("/abonnement", subscribe_form, methods=["GET"]),
        Route("/abonnement", subscribe, methods=["POST"]),
        Route("/confirmer", confirm, methods=["GET"]),
        Route("/desabonnement", unsubscribe_page, methods=["GET"]),
        Route("/desabonnement", unsubscribe, methods=["POST"]),
        Route("/sante", health),
        Route("/assets/{name}", asset),
    ])
    app.state.service = service
    return app


__all__ = ["PENDING", "Answer", "Mailer", "Service", "checked_address", "make_app"]
