"""WCAG 2.1 contrast: readable text on organisation colours, and colours readable as text."""

from __future__ import annotations

import re
from functools import lru_cache

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DARK_TEXT = "#1a1a1a"
LIGHT_TEXT = "#ffffff"
# Organisation names are also printed on the beige boxes of the site (--wash in flash.css).
WASH = "#f4f1ea"
AA = 4.5


def _rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (_linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """The text colour (near-black or white) with the better contrast on `background`."""
    dark, light = contrast(background, DARK_TEXT), contrast(background, LIGHT_TEXT)
    return LIGHT_TEXT if light >= dark else DARK_TEXT


def _mix(colour: str, towards: float, amount: float) -> str:
    return "#" + "".join(
        f"{round((c + (towards - c) * amount) * 255):02x}" for c in _rgb(colour)
    )


# Both are asked for each organisation at each build (`flash serve`: at each edit), and the
# search can take a hundred steps: their answers are kept.
@lru_cache(maxsize=1024)
def readable_on_white(colour: str, ratio: float = AA,
                      backgrounds: tuple[str, ...] = (LIGHT_TEXT, WASH)) -> str:
    """`colour`, darkened just enough to reach `ratio` against white and the site's wash."""
    for step in range(0, 101):
        candidate = _mix(colour, 0.0, step / 100)
        if all(contrast(candidate, b) >= ratio for b in backgrounds):
            return candidate
    return DARK_TEXT


@lru_cache(maxsize=1024)
def readable_background(colour: str, ratio: float = AA) -> tuple[str, str]:
    """A background close to `colour` and its text colour, together meeting `ratio`."""
    text = text_on(colour)
    if contrast(colour, text) >= ratio:
        return colour, text
    # Mid-tones reach AA with neither black nor white: darken under white text.
    return readable_on_white(colour, ratio, (LIGHT_TEXT,)), LIGHT_TEXT
