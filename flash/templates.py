"""Jinja2 environment: autoescape, strict undefined names, French dates and numbers."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flash import images, urls
from flash.typography import NNBSP


@lru_cache(maxsize=4096)
def month(date: dt.date) -> str:
    """"mars 2021"."""
    return format_date(date, "MMMM y", locale="fr_FR")


@lru_cache(maxsize=4096)
def day(date: dt.date) -> str:
    """"26 février 2021"."""
    return format_date(date, "d MMMM y", locale="fr_FR")


def number(value: int) -> str:
    """French digit grouping with a narrow no-break space: 1 118 -> "1 118"."""
    return format_decimal(value, locale="fr_FR").replace("\u202f", NNBSP).replace("\xa0", NNBSP)


def plural(count: int, one: str, many: str) -> str:
    return f"{number(count)} {one if count <= 1 else many}"


def make_environment(layouts: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(layouts)),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        # A plain dict: every template stays loaded (there are a few dozen), and each look-up
        # skips the LRU cache's lock and reordering (they showed in the render stage's profile).
        cache_size=-1,
    )
    env.filters.update(month=month, day=day, number=number, plural=plural)
    env.globals["urls"] = urls
    env.globals["responsive"] = images.responsive  # an image's copies, for <picture>
    return env
