"""The values flash.images hands to flash.pixels, which decodes and encodes with Pillow: the
pixel limit, the encoding job, the French problem and the size arithmetic both use."""

from __future__ import annotations

from dataclasses import dataclass

# 64 megapixels: more than any phone or camera photo the team will receive, and a bound on the
# memory one decode may take (about 256 MB).
MAX_PIXELS = 64_000_000


class ImageProblem(Exception):
    """Why an image cannot be published, in French, for the person who chose the file."""


@dataclass(frozen=True)
class Job:
    """One image to encode into its cache entry (flash.pixels does it)."""

    source: str
    digest: str
    entry: str  # cache folder to create
    width: int  # upright size of the original
    height: int
    files: tuple[tuple[str, int], ...]  # (file name, width)
    webp_quality: int
    jpeg_quality: int


def scaled_height(width: int, height: int, new_width: int) -> int:
    return max(1, round(height * new_width / width))
