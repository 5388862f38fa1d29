"""Jinja2 environment: autoescape, strict undefined names, French dates and numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping, Sequence
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Any

import markupsafe
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

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


# markupsafe's C function that escapes a str (the one its `escape` calls), where it has one.
_escape_str: Callable[[str], str] = getattr(markupsafe, "_escape_inner", markupsafe.escape)


def _escape(value: Any) -> str:
    """What templates output with {{ … }}: markupsafe.escape's result, as a plain str for a
    str, an int or Markup. Jinja joins the outputs of a template and marks the whole as safe, so
    the pieces need not be Markup: making each one took longer than escaping it (0.5 µs, some
    100 times a page; 12 % of a cold build's CPU went with it, measured at 1,200 articles)."""
    kind = value.__class__
    if kind is str:
        return _escape_str(value)
    if kind is Markup:
        return value
    if kind is int:
        return str(value)
    return markupsafe.escape(value)


class _Template(Template):
    @classmethod
    def from_code(cls, environment: Environment, code: CodeType,
                  globals: MutableMapping[str, Any],
                  uptodate: Callable[[], bool] | None = None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled module's functions output through the name `escape` of their module.
        namespace = template.root_render_func.__globals__
        if namespace.get("escape") is markupsafe.escape:
            namespace["escape"] = _escape
        return template


def make_environment(layouts: Path | Sequence[Path]) -> Environment:
    """`layouts`: a folder, or folders searched in order (a project's own, then Flash's)."""
    folders = [layouts] if isinstance(layouts, Path) else list(layouts)
    env = Environment(
        loader=FileSystemLoader([str(folder) for folder in folders]),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        # A plain dict: every template stays loaded (there are a few dozen), and each look-up
        # skips the LRU cache's lock and reordering (they showed in the render stage's profile).
        cache_size=-1,
    )
    env.template_class = _Template
    env.filters.update(month=month, day=day, number=number, plural=plural)
    env.globals["urls"] = urls
    env.globals["responsive"] = images.responsive  # an image's copies, for <picture>
    return env
