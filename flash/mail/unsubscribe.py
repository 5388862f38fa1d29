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
    return hmac.compare_digest(token(key, address), candidate.strip().lower())


def generic_url(settings: Settings) -> str:
    """The page linked from the published email.html/email.eml, which name no recipient."""
    return settings.absolute(PAGE)


def recipient_url(settings: Settings, key: bytes, address: str) -> str:
    return settings.unsubscribe_url.format(
        base_url=settings.site_url, email=quote(normalise(address), safe="@"),
        token=token(key, address))

