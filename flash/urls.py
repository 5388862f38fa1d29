"""The output contract in one place: every object's URL, and the file a URL is written to."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

ISSUES = "/numeros/"
ORGANISATIONS = "/organisations/"
THEMES = "/themes/"
SEARCH = "/recherche/"
FEED = "/feed.xml"
MEDIA = "/media/"
SUBSCRIBE = "/abonnement/"
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def issue_url(number: int) -> str:
    return f"{ISSUES}{number}/"


def article_url(number: int, slug: str) -> str:
    return f"{ISSUES}{number}/{slug}/"


def email_url(number: int, kind: str = "html") -> str:
    return f"{ISSUES}{number}/email.{kind}"


def edition_url(number: int) -> str:
    """The printable edition of an issue (A4 PDF)."""
    return f"{ISSUES}{number}/flash-{number}.pdf"


def poster_url(number: int) -> str:
    """The one-page poster of an issue, for a building's hall (A4 PDF)."""
    return f"{ISSUES}{number}/affiche-{number}.pdf"


def _paged(base: str, page: int) -> str:
    return base if page <= 1 else f"{base}page/{page}/"


def organisation_url(slug: str, page: int = 1) -> str:
    return _paged(f"{ORGANISATIONS}{slug}/", page)


def theme_url(slug: str, page: int = 1) -> str:
    return _paged(f"{THEMES}{slug}/", page)


def organisation_feed(slug: str) -> str:
    return f"{ORGANISATIONS}{slug}/feed.xml"


def theme_feed(slug: str) -> str:
    return f"{THEMES}{slug}/feed.xml"


def slugify(text: str) -> str:
    """python-slugify's slug, imported when first needed (≈ 4 ms): file names mostly are slugs
    already, and `article_slug` keeps them without it."""
    from slugify import slugify as make_slug

    return make_slug(text)


def media_url(key: str) -> str:
    """Public URL of an original image, from its path relative to the content root."""
    path = PurePosixPath(key)
    stem = slugify(path.stem) or "image"
    folder = "/".join(slugify(part) or "_" for part in path.parent.parts)
    return f"{MEDIA}{folder + '/' if folder else ''}{stem}{path.suffix.lower()}"


def media_variant_url(key: str, tag: str, width: int, extension: str) -> str:
    """Public URL of a resized copy of an image. `tag` hashes the image's content and the
    encoding recipe, so the file at this URL never changes and may be cached forever."""
    stem = slugify(PurePosixPath(key).stem) or "image"
    return f"{MEDIA}{stem}-{width}.{tag}.{extension}"


def output_path(url: str) -> str:
    """Relative file path a URL is served from ("/a/" -> "a/index.html")."""
    path = url.lstrip("/")
    if not path or path.endswith("/"):
        return path + "index.html"
    return path


def article_slug(file_stem: str) -> str:
    """`03-mille-et-une-histoires` -> `mille-et-une-histoires`."""
    head, sep, tail = file_stem.partition("-")
    base = tail if sep and head.isdigit() and tail else file_stem
    if _SLUG.fullmatch(base):  # already a slug, as file names mostly are: slugify keeps it
        return base
    return slugify(base) or slugify(file_stem) or "article"
