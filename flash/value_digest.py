"""Digests of values by what they hold: strings, numbers, dates, paths, containers and
dataclasses, the model's objects by their own fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import fields, is_dataclass
from functools import cached_property, lru_cache
from pathlib import PurePath
from typing import Any


@lru_cache(maxsize=256)
def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, None for any other type."""
    if not is_dataclass(kind):
        return None
    return tuple(f.name for f in fields(kind))


@lru_cache(maxsize=256)
def _fingerprinted(kind: type) -> bool:
    """Whether the type computes its own fingerprint (Article, Issue, IssueHead)."""
    return isinstance(getattr(kind, "fingerprint", None), cached_property)


def digest_of(*values: Any) -> bytes:
    out: list[bytes] = []
    for value in values:
        feed(out, value)
    return hashlib.blake2b(b"".join(out), digest_size=16).digest()


# What is hashed is gathered in a list of bytes and hashed once: one join costs less than an
# update of the hasher for each of the few dozen small pieces of a page.

def feed(out: list[bytes], value: Any, texts: bool = False) -> None:
    """Appends to `out` bytes that tell `value` apart from any other value. `texts`: an
    article counts with its text (Article.text_fingerprint), which its fingerprint leaves out."""
    kind = type(value)
    if kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data))
        out.append(data)
    elif kind is bytes:
        out.append(b"b%d:" % len(value))
        out.append(value)
    elif kind is tuple or kind is list:
        out.append(b"(%d" % len(value))
        for item in value:
            feed(out, item, texts)
        out.append(b")")
    elif value is None or kind is int or kind is bool or kind is float:
        out.append(b"v%r;" % (value,))
    elif kind is dict:
        out.append(b"{%d" % len(value))
        for name, item in value.items():
            feed(out, name, texts)
            feed(out, item, texts)
    elif _fingerprinted(kind):
        out.append(b"F")
        out.append(value.fingerprint)
        if texts:
            out.append(value.text_fingerprint)
    elif (names := _field_names(kind)) is not None:
        out.append(b"D" + kind.__qualname__.encode())
        for name in names:
            feed(out, getattr(value, name), texts)
    elif isinstance(value, (dt.date, PurePath)):
        out.append(b"r" + repr(value).encode())
    elif isinstance(value, (set, frozenset)):
        feed(out, sorted(value, key=repr), texts)
    else:
        out.append(b"o" + repr(value).encode())


class Value:
    """A frozen dataclass that compares by value and holds no object with a fingerprint
    (Organisation, Theme, Image, a pagination…): signatures take it as it is."""

    __slots__ = ()


_PLAIN, _SEQUENCE, _MAPPING, _MODEL, _FIELDS, _OTHER = range(6)


@lru_cache(maxsize=256)
def _how(kind: type) -> int:
    """How `signature` takes a value of this type."""
    if kind in (str, int, float, bool, type(None), bytes) or issubclass(kind, (Value, dt.date)):
        return _PLAIN
    if kind is tuple or kind is list:
        return _SEQUENCE
    if kind is dict:
        return _MAPPING
    if _fingerprinted(kind):
        return _MODEL
    return _FIELDS if _field_names(kind) is not None else _OTHER


def signature(value: Any) -> list:
    """`value` as it compares by value, flattened: model objects by their fingerprints (with
    their texts'), containers and dataclasses item by item, plain values and Values as they
    are. Equal signatures mean equal digests (within one version of Flash, which fixes what
    type each place holds), for a fraction of the cost of feeding the value: a page of the
    plan holds a few model objects, lists of them, strings and Values."""
    out: list = []
    _sign(out, value)
    return out


_OPEN = object()  # marks where a container starts, followed by its length


def _sign(out: list, value: Any) -> None:
    kind = type(value)
    how = _how(kind)
    if how == _PLAIN:
        out.append(value)
    elif how == _MODEL:
        out.append(value.fingerprint + value.text_fingerprint)
    elif how == _SEQUENCE:
        out += (_OPEN, len(value))
        for item in value:
            _sign(out, item)
    elif how == _MAPPING:
        out += (_OPEN, len(value))
        for name, item in value.items():
            out.append(name)
            _sign(out, item)
    elif how == _FIELDS:
        out.append(kind)
        for name in _field_names(kind) or ():
            _sign(out, getattr(value, name))
    else:
        out += (kind, repr(value))
