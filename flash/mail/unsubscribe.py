"""Unsubscribe links: a generic page for the published email, a signed URL for each recipient.

The token is an HMAC of the normalised address: whoever handles the link (the relay's
unsubscribe service, a serverless function, the communications team reading the request)
can check that it was not forged for someone else's address, with the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import quote

from flash.settings import Settings

PAGE = "/desabonnement/"


class SecretMissing(Exception):
    """The environment variable holding the HMAC secret is unset or empty."""


def secret(settings: Settings) -> bytes:
    value = os.environ.get(settings.unsubscribe_secret_env, "")
    if not value:
        raise SecretMissing(settings.unsubscribe_secret_env)
    return value.encode("utf-8")


def normalise(address: str) -> str:
    return address.strip().lower()


def token(key: bytes, address: str) -> str:
    digest = hmac.new(key, normalise(address).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]  # 128 bits: unguessable, and short enough for a readable URL


def verify(key: bytes, address: str, candidate: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a forged link may hold anything.
    return hmac.compare_digest(token(key, address).encode(),
                               candidate.strip().lower().encode("utf-8", "replace"))


def generic_url(settings: Settings) -> str:
    """The page linked from the published email.html/email.eml, which name no recipient."""
    return settings.absolute(PAGE)


DEFAULT_URL = "{base_url}/desabonnement/?email={email}&token={token}"
SERVICE_URL = "{subscribers_url}/desabonnement?email={email}&token={token}"


def recipient_url(settings: Settings, key: bytes, address: str) -> str:
    """The recipient's own link: the subscribers service's one-click URL when the service is
    set up (and unsubscribe_url left as it is), else the unsubscribe_url template."""
    template = settings.unsubscribe_url
    if settings.subscribers_url and template == DEFAULT_URL:
        template = SERVICE_URL
    return template.format(
        base_url=settings.site_url, subscribers_url=settings.subscribers_url.rstrip("/"),
        email=quote(normalise(address), safe="@"), token=token(key, address))


def confirmation_token(key: bytes, address: str, issued: int) -> str:
    """Signs the address and when the link was made: a link cannot be made for another
    address, nor made to last longer."""
    message = f"confirmer|{normalise(address)}|{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def confirmation_url(settings: Settings, key: bytes, address: str, issued: int) -> str:
    return (f"{settings.subscribers_url.rstrip('/')}/confirmer?email="
            f"{quote(normalise(address), safe='@')}&t={issued}"
            f"&token={confirmation_token(key, address, issued)}")


def confirmation_state(key: bytes, address: str, issued: str, candidate: str, now: float,
                       hours: int) -> str:
    """"valid", "expired" or "forged"."""
    if not (issued.isascii() and issued.isdigit()) or len(issued) > 12:  # not "²"
        return "forged"
    if not hmac.compare_digest(confirmation_token(key, address, int(issued)).encode(),
                               candidate.strip().lower().encode("utf-8", "replace")):
        return "forged"
    return "valid" if now - int(issued) <= hours * 3600 else "expired"

