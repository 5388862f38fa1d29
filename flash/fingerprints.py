"""The keys of outputs: one digest of everything a template is given, salted with the code
and the layouts."""

from __future__ import annotations

import hashlib
from typing import Any

from flash.model import TEXT_FIELDS, Article
from flash.value_digest import feed

__all__ = ["TEXT_FIELDS", "Fingerprints"]


class Fingerprints:
    """Keys of outputs by value: model objects count by their fingerprints (flash.model).

    `bodies`: False when only the layouts that are given articles' texts show them (as the
    shipped ones do): an article then counts without its text, which callers add where it is
    shown (Fingerprints.text); True, it counts with it wherever it is given.
    """

    def __init__(self, salt: str, *, bodies: bool = True):
        self.salt = salt.encode()
        self.bodies = bodies

    def key(self, *values: Any) -> str:
        out = [self.salt]
        for value in values:
            feed(out, value, self.bodies)
        return "p" + hashlib.blake2b(b"".join(out), digest_size=16).hexdigest()

    def text(self, article: Article) -> bytes:
        """Digest of what an article's text shows (see TEXT_FIELDS)."""
        return article.text_fingerprint
