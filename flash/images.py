"""Images: checked once, resized and re-encoded once, then served from a content-addressed cache.

Every image the content uses becomes WebP and JPEG copies 480, 960 and 1600 px wide (never
enlarged; PNG instead of JPEG when it has see-through pixels) for the site, and 600 and 1200 px
JPEG copies for the email. The copies are upright (EXIF orientation applied), in sRGB, and carry
no metadata at all: photos of residents must not publish where they were taken.

A copy's URL is a pure function of the image's content hash, its size and the encoding recipe
(`responsive`, `email_variants`), so templates only present it. The encoded files live in
`.flash-cache/images/<tag>/` beside the content folder; a cache entry is written to a temporary
folder and renamed into place when complete, and is never modified afterwards, so the site can
hard-link to it.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from flash import urls
from flash.diagnostics import ContentError, Diagnostic
from flash.image_jobs import ImageProblem, Job, scaled_height
from flash.model import Image
from flash.paths import image_cache_dir
from flash.typography import french


@dataclass(frozen=True)
class Recipe:
    """How copies are made. Any change gives every image a new tag, hence new files and URLs."""

    widths: tuple[int, ...] = (480, 960, 1600)
    email_widths: tuple[int, int] = (600, 1200)
    webp_quality: int = 78
    jpeg_quality: int = 82
    version: int = 2  # bump when the encoding code changes its output

    @property
    def signature(self) -> str:
        return hashlib.sha256(repr(asdict(self)).encode()).hexdigest()[:12]


RECIPE = Recipe()
# The column articles are read in (--measure in flash.css, inside main's 1.25rem padding).
PROSE_SIZES = "(min-width: 44.5rem) 42rem, calc(100vw - 2.5rem)"


@dataclass(frozen=True, slots=True)
class Variant:
    url: str  # site-relative, e.g. /media/jardin-600.3fa9c2d1e0.jpg
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Responsive:
    """What a <picture> needs: WebP sources, and JPEG (or PNG) fallbacks, narrowest first."""

    webp: tuple[Variant, ...]
    fallback: tuple[Variant, ...]
    width: int  # the image's displayed size: sets width/height, hence the aspect ratio
    height: int

    @property
    def webp_srcset(self) -> str:
        return _srcset(self.webp)

    @property
    def fallback_srcset(self) -> str:
        return _srcset(self.fallback)

    @property
    def src(self) -> str:
        """For browsers without srcset: the widest copy up to 960 px."""
        fitting = [v for v in self.fallback if v.width <= 960]
        return (fitting[-1] if fitting else self.fallback[0]).url


@dataclass(frozen=True, slots=True)
class Info:
    """What the pages need to know of an image before it is encoded."""

    digest: str
    width: int  # upright, after EXIF orientation
    height: int
    transparent: bool
    animated: bool
    format: str


@dataclass
class ImageReport:
    images: int = 0  # distinct images published
    encoded: int = 0  # of which encoded by this run (cache misses)
    files: int = 0  # files placed in the site
    seconds_encoding: float = 0.0  # CPU time spent encoding, summed over the workers


def _srcset(variants: tuple[Variant, ...]) -> str:
    return ", ".join(f"{v.url} {v.width}w" for v in variants)


# --- URLs: pure functions of content hash, size and recipe --------------------------------------

def widths_for(width: int, wanted: tuple[int, ...]) -> tuple[int, ...]:
    """The wanted widths an image of `width` px can give without enlarging it: a 700 px image
    gives 480 and 700 for (480, 960, 1600)."""
    return tuple(sorted({min(w, width) for w in wanted})) if width > 0 else ()


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def tag_of(image: Image, recipe: Recipe = RECIPE) -> str:
    digest = image.digest or file_digest(image.source)
    return hashlib.sha256(f"{digest}:{recipe.signature}".encode()).hexdigest()[:10]


def fallback_extension(image: Image) -> str:
    return "png" if image.transparent else "jpg"


def _variant(image: Image, tag: str, width: int, extension: str) -> Variant:
    return Variant(urls.media_variant_url(image.key, tag, width, extension), width,
                   scaled_height(image.width, image.height, width))


@lru_cache(maxsize=16384)
def responsive(image: Image, recipe: Recipe = RECIPE) -> Responsive:
    if image.width <= 0 or image.height <= 0:
        raise ValueError(f"{image.key}: size unknown, the image was not checked by validate")
    tag = tag_of(image, recipe)
    widths = widths_for(image.width, recipe.widths)
    extension = fallback_extension(image)
    return Responsive(
        webp=tuple(_variant(image, tag, w, "webp") for w in widths),
        fallback=tuple(_variant(image, tag, w, extension) for w in widths),
        width=image.width, height=image.height)


def email_variants(image: Image, recipe: Recipe = RECIPE) -> tuple[Variant, Variant]:
    """The email's copies: 600 px (shown at 600 CSS px at most) and 1200 px (for sharp screens).
    JPEG, as every mail client shows it; PNG for images with see-through pixels. A smaller
    original gives its own width, never an enlargement (both may then be the same file)."""
    tag = tag_of(image, recipe)
    extension = fallback_extension(image)
    small, large = (min(w, image.width) for w in recipe.email_widths)
    return _variant(image, tag, small, extension), _variant(image, tag, large, extension)


def outputs(image: Image, recipe: Recipe = RECIPE) -> dict[str, str]:
    """File name in the cache entry -> URL in the site, for every copy of `image`."""
    tag = tag_of(image, recipe)
    extension = fallback_extension(image)
    found: dict[str, str] = {}
    for w in widths_for(image.width, recipe.widths):
        for ext in ("webp", extension):
            found[f"{w}.{ext}"] = urls.media_variant_url(image.key, tag, w, ext)
    for variant in email_variants(image, recipe):
        found[f"{variant.width}.{extension}"] = variant.url
    return found


@dataclass(frozen=True)
class BodyPicture:
    """An image of an article's text: what validate's resolver gives flash.markdown, which
    knows nothing of the model (flash.markdown.ImageMarkup)."""

    image: Image

    def html(self, alt: str, title: str | None) -> str:
        return picture_html(self.image, alt, title=title)


def picture_html(image: Image, alt: str, *, sizes: str = PROSE_SIZES, lazy: bool = True,
                 title: str | None = None) -> str:
    """The same markup as the `picture` macro of layouts/partials/macros.html, for Markdown."""
    r = responsive(image)
    attr = html.escape
    extra = f' title="{attr(title)}"' if title else ""
    loading = ' loading="lazy" decoding="async"' if lazy else ""
    return (f'<picture><source type="image/webp" srcset="{attr(r.webp_srcset)}" '
            f'sizes="{attr(sizes)}"><img src="{attr(r.src)}" '
            f'srcset="{attr(r.fallback_srcset)}" sizes="{attr(sizes)}" alt="{attr(alt)}"'
            f'{extra} width="{r.width}" height="{r.height}"{loading}></picture>')


# --- inspection (validate uses it) ---------------------------------------------------------------

def inspect(path: Path, cache: Path | None = None) -> Info:
    """Reads and fully decodes `path` once (a known file is looked up in the cache instead).
    Raises ImageProblem with a French reason."""
    try:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        # An unchanged file (same size, time and inode) is not even read: its digest is known.
        seen = (cache / "seen" / f"{hashlib.sha256(bytes(path)).hexdigest()[:24]}.json"
                if cache else None)
        if seen is not None:
            info = _cached_info(cache, seen, stamp)
            if info is not None:
                return info
        data = path.read_bytes()
    except OSError as exc:
        raise ImageProblem(f"lecture impossible ({exc.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    known = cache / "info" / f"{digest}.json" if cache else None
    info = _read_info(known) if known is not None else None
    if info is None:
        from flash.pixels import load  # Pillow is imported only when pixels must be read

        loaded = load(data, box=(64, 64))
        info = Info(digest=digest, width=loaded.width, height=loaded.height,
                    transparent=loaded.frame.mode == "RGBA", animated=loaded.animated,
                    format=loaded.format)
        if known is not None:
            _write_atomic(known, json.dumps(asdict(info)).encode())
    if seen is not None:
        _write_atomic(seen, json.dumps({"stamp": stamp, "digest": digest}).encode())
    return info


def _read_info(known: Path) -> Info | None:
    try:
        return Info(**json.loads(known.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: inspect again


def _cached_info(cache: Path, seen: Path, stamp: list[int]) -> Info | None:
    try:
        record = json.loads(seen.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("stamp") != stamp:
        return None
    return _read_info(cache / "info" / f"{record.get('digest')}.json")


def _write_atomic(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except OSError:
        pass  # the cache only saves time: a read-only project still builds


# --- publishing (the build's images stage) -----------------------------------------------------

class Target(Protocol):
    """Where the copies go: flash.output.Staging."""

    def link(self, relative: str, source: Path) -> None: ...


def publish(images: Iterable[Image], staging: Target, source: Path, *,
            workers: int | None = None, recipe: Recipe = RECIPE) -> ImageReport:
    """Encodes what the cache lacks (on every core), then links every copy into the site.
    Raises ContentError naming each image that cannot be published."""
    cache = image_cache_dir(source)
    report = ImageReport()
    entries: dict[str, Image] = {}  # one encoding per content, even if used under two names
    placed: dict[str, Path] = {}  # site URL -> cache file
    for image in images:
        tag = tag_of(image, recipe)
        entries.setdefault(tag, image)
        for name, url in outputs(image, recipe).items():
            placed[url] = cache / tag[:2] / tag / name
    report.images = len(entries)
    jobs = []
    for tag, image in entries.items():
        entry = cache / tag[:2] / tag
        names = outputs(image, recipe)
        if entry.is_dir():
            if all((entry / name).is_file() for name in names):
                continue
            shutil.rmtree(entry, ignore_errors=True)  # damaged by hand: made again
        files = tuple(sorted({(name, int(name.split(".")[0])) for name in names}))
        jobs.append(Job(str(image.source), image.digest or file_digest(image.source),
                        str(entry), image.width, image.height, files,
                        recipe.webp_quality, recipe.jpeg_quality))
    problems = []
    by_entry = {job.entry: job for job in jobs}
    encoded = []
    if jobs:
        from flash import pixels  # Pillow is imported only when there is something to encode

        encoded = pixels.run(jobs, workers or os.cpu_count() or 1)
    for entry, problem, seconds in encoded:
        report.seconds_encoding += seconds
        if problem:
            problems.append(Diagnostic(_display(Path(by_entry[entry].source), source), None,
                                       "erreur", french(f"image refusée : {problem}")))
    report.encoded = len(jobs)
    if problems:
        raise ContentError(problems)
    for url, cached in placed.items():
        staging.link(urls.output_path(url), cached)
    report.files = len(placed)
    return report


def _display(path: Path, source: Path) -> str:
    try:
        return path.resolve().relative_to(source.resolve().parent).as_posix()
    except ValueError:
        return path.as_posix()
