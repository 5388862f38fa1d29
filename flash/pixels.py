"""Pixels: decoding and encoding images with Pillow, apart from flash.images so that a build
with no image to read never imports Pillow. Every failure becomes an ImageProblem with a French
reason; encoding runs in worker processes (see `run`)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageCms, ImageFile, ImageOps

from flash.image_jobs import MAX_PIXELS, ImageProblem, Job, scaled_height
from flash.typography import NNBSP

# Pillow's own guard against decompression bombs fails at twice its limit only; _open refuses
# anything over MAX_PIXELS itself, naming the size.
PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # MPO (phone JPEGs with a depth map) opens as JPEG
ANIMATED_FORMATS = {"GIF", "WEBP", "PNG"}
ORIENTATION = 0x0112


# --- decoding: every failure becomes an ImageProblem --------------------------------------------

def _open(data: bytes) -> PILImage.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns up to twice its limit: the size check below refuses, naming it.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data), formats=FORMATS)
    except PILImage.DecompressionBombError:
        raise ImageProblem(_too_large()) from None
    except PILImage.UnidentifiedImageError:
        raise ImageProblem("ce n’est pas une image JPEG, PNG, WebP ou GIF (contenu non "
                           "reconnu : fichier abîmé, ou autre format renommé)") from None
    except Exception as exc:
        raise ImageProblem(f"image illisible ({_reason(exc)})") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageProblem("image illisible (dimensions nulles)")
    if width * height > MAX_PIXELS:
        raise ImageProblem(_too_large(image.size))
    return image


def _too_large(size: tuple[int, int] | None = None) -> str:
    what = f"{size[0]:,} × {size[1]:,} pixels".replace(",", NNBSP) if size else "trop de pixels"
    return (f"image trop grande ({what} ; au plus {MAX_PIXELS // 1_000_000} millions de pixels) : "
            "réduisez-la avant de l’ajouter")


@contextmanager
def _refusing_truncated_files() -> Iterator[None]:
    """Pillow's global switch off while Flash decodes: WeasyPrint turns it on when imported
    (flash.printing), and a truncated photo would then pass unseen in the same process."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if "truncated" in text or isinstance(exc, EOFError):
        return "fichier incomplet ou tronqué"
    # Pillow's own words are English: the team gets what to do instead
    return "fichier abîmé, ou qui n’est pas une image : ouvrez-le et enregistrez-le en JPEG ou PNG"


@dataclass(frozen=True)
class _Loaded:
    frame: PILImage.Image  # the first frame, upright, in RGB, RGBA or L
    width: int  # the original's upright size (the frame may be smaller: see `box`)
    height: int
    format: str
    animated: bool


def load(data: bytes, box: tuple[int, int] | None) -> _Loaded:
    """Decodes the first frame. `box` (upright width, height): the smallest size needed, which
    lets JPEG decode at 1/2 … 1/8 of the original size, much faster."""
    source = _open(data)
    width, height = source.size
    try:
        with warnings.catch_warnings(), _refusing_truncated_files():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            orientation = source.getexif().get(ORIENTATION, 1)
            if box is not None and source.format in ("JPEG", "MPO"):
                need = (box[1], box[0]) if orientation in (5, 6, 7, 8) else box
                source.draft(source.mode, need)
            animated = (bool(getattr(source, "is_animated", False))
                        and source.format in ANIMATED_FORMATS)
            source.seek(0)
            source.load()
            # PNG and WebP may carry their EXIF after the pixels: read it again once loaded.
            orientation = source.getexif().get(ORIENTATION, 1)
            frame = _normalise(ImageOps.exif_transpose(source))
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            return _Loaded(frame, width, height, source.format or "", animated)
    except ImageProblem:
        raise
    except PILImage.DecompressionBombError:
        raise ImageProblem(_too_large()) from None
    except Exception as exc:  # a decoder error must never stop the whole build with a traceback
        raise ImageProblem(f"image illisible ({_reason(exc)})") from None


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(image: PILImage.Image, mode: str) -> PILImage.Image:
    """Converts through the embedded ICC profile (CMYK, Adobe RGB, Display P3…), if any."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            description = ImageCms.getProfileDescription(profile) or ""
            if image.mode == mode and "srgb" in description.lower():
                return image
            converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: the plain conversion below is close enough
    return image if image.mode == mode else image.convert(mode)


def _normalise(image: PILImage.Image) -> PILImage.Image:
    """RGB, RGBA (only if some pixel is see-through) or L; sRGB; no metadata."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: scale to 8 bits (a plain convert would clip everything above 255 to white)
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode == "1":
        image = image.convert("L")
    transparent_key = "transparency" in image.info
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or transparent_key:
        image = _to_srgb(image, "RGBA") if image.mode == "RGBA" else image.convert("RGBA")
        low, _ = image.getchannel("A").getextrema()
        if low == 255:
            image = image.convert("RGB")
    elif image.mode == "L":
        pass
    else:  # RGB, CMYK, P, YCbCr, LAB, HSV
        image = _to_srgb(image, "RGB") if image.mode in ("RGB", "CMYK") else image.convert("RGB")
    image.info = {}
    return image


# --- encoding (in worker processes) --------------------------------------------------------------

def _encode(job: Job) -> tuple[str, str | None, float]:
    """Writes one cache entry; returns (entry, French problem or None, CPU seconds)."""
    start = time.process_time()
    try:
        data = Path(job.source).read_bytes()
        if hashlib.sha256(data).hexdigest() != job.digest:
            return job.entry, "le fichier a changé pendant la construction : relancez-la", 0.0
        widest = max(w for _, w in job.files)
        image = load(data, box=(widest, scaled_height(job.width, job.height, widest))).frame
        entry = Path(job.entry)
        entry.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
        try:
            # Widest first, each copy resized from the previous one: a fifth less CPU than
            # resizing every copy from the full image, with no visible difference.
            current, current_width = image, 0
            for name, width in sorted(job.files, key=lambda f: -f[1]):
                if width != current_width:
                    size = (width, scaled_height(job.width, job.height, width))
                    if current.size != size:
                        current = current.resize(size, PILImage.Resampling.LANCZOS,
                                                 reducing_gap=3.0)
                    current.info = {}
                    current_width = width
                _save(current, temporary / name, job)
            temporary.chmod(0o755)  # mkdtemp's 0700 would hide the copies from a web server
            try:
                os.rename(temporary, entry)
            except OSError:
                if not entry.is_dir():  # not a concurrent build having done the same work
                    raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    except ImageProblem as problem:
        return job.entry, str(problem), time.process_time() - start
    except MemoryError:
        return job.entry, "mémoire insuffisante pour traiter cette image", 0.0
    except OSError as exc:
        return job.entry, f"écriture dans le cache impossible ({exc.strerror or exc})", 0.0
    return job.entry, None, time.process_time() - start


def _save(image: PILImage.Image, target: Path, job: Job) -> None:
    extension = target.suffix
    if extension == ".webp":
        image.save(target, "WEBP", quality=job.webp_quality, method=4)
    elif extension == ".png":
        image.save(target, "PNG", optimize=True)
    else:
        image.save(target, "JPEG", quality=job.jpeg_quality, optimize=True, progressive=True)


def run(jobs: list[Job], workers: int) -> list[tuple[str, str | None, float]]:
    if workers <= 1 or len(jobs) <= 1:
        return [_encode(job) for job in jobs]
    # spawn, not fork: `flash serve` has threads, and a forked copy of a held lock deadlocks.
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                             mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_encode, job) for job in jobs]
        results = []
        for job, future in zip(jobs, futures, strict=True):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                # Workers that could not start (a __main__ that cannot be imported again, as
                # with `python - < script`) or died: this process does what remains.
                results.append(_encode(job))
        return results


# --- print copies (flash.printing) ----------------------------------------------------------------

def print_copy(data: bytes, width: int, height: int, target: Path, quality: int) -> None:
    """Writes the image upright, in sRGB, without any metadata (GPS, camera, date), `width` px
    wide (never more than the original), to `target`: JPEG, or PNG when its suffix says so.
    Written aside, then renamed into place. Raises ImageProblem."""
    image = load(data, box=(width, height)).frame
    if image.width > width:
        image = image.resize((width, scaled_height(image.width, image.height, width)),
                             PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    image.info = {}
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    os.close(handle)
    try:
        if target.suffix == ".png":
            image.save(temporary, "PNG", optimize=True)
        else:
            image.convert("RGB").save(temporary, "JPEG", quality=quality, optimize=True,
                                      progressive=True)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        raise ImageProblem(f"écriture dans le cache impossible ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
