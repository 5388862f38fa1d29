"""French typography for running text (never for code, URLs or HTML attributes)."""

from __future__ import annotations

import re

NNBSP = "\u202f"  # narrow no-break space: before ; ! ? and inside « »
NBSP = "\u00a0"  # no-break space: before :

_URL = re.compile(r"(?:https?://|www\.|mailto:)\S+|\S+@\S+\.\w+")
_SPACE_BEFORE = re.compile(r"[ \u00a0\u202f]*([;!?]+)")
_COLON = re.compile(r"(?<=\S)[ \u00a0\u202f]*:(?=\s|$)|[ \u00a0\u202f]+:(?=\s|$)")
_GUILLEMET_OPEN = re.compile(r"«[ \u00a0\u202f]*")
_GUILLEMET_CLOSE = re.compile(r"[ \u00a0\u202f]*»")
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0](?=\d{3}\b)")
_UNIT = re.compile(r"(?<=\d)[ \u00a0]?(%|€|°C)")
_ELLIPSIS = re.compile(r"\.\.\.")
_APOSTROPHE = re.compile(r"(?<=\w)'|'(?=\w)")
_DIGIT = re.compile(r"\d")
# Any character one of the rules below acts on.
_NEEDS = re.compile(r"[\"'«»!?;:%€\d]|\.\.\.")


class Quotes:
    """Tracks whether the next straight double quote opens or closes, across text pieces."""

    def __init__(self) -> None:
        self.open = False

    def replace(self, text: str) -> str:
        if '"' not in text:
            return text
        pieces = text.split('"')
        out = [pieces[0]]
        for piece in pieces[1:]:
            out.append("»" if self.open else "«")
            out.append(piece)
            self.open = not self.open
        return "".join(out)


def _punctuation(text: str) -> str:
    # Each rule runs only when its character is present: most text pieces need none.
    if "..." in text:
        text = _ELLIPSIS.sub("…", text)
    if "'" in text:
        text = _APOSTROPHE.sub("’", text)
    if "«" in text:
        text = _GUILLEMET_OPEN.sub("«" + NNBSP, text)
    if "»" in text:
        text = _GUILLEMET_CLOSE.sub(NNBSP + "»", text)
    if "!" in text or "?" in text or ";" in text:
        source = text
        text = _SPACE_BEFORE.sub(lambda m: _before_mark(m, source), text)
    if ":" in text:
        text = _COLON.sub(NBSP + ":", text)
    if _DIGIT.search(text):
        text = _THOUSANDS.sub(NNBSP, text)
        text = _UNIT.sub(lambda m: NNBSP + m.group(1), text)
    return text


def _before_mark(match: re.Match[str], text: str) -> str:
    start = match.start()
    # "?!" at the very start of a piece follows markup (a link, emphasis): keep it tight
    # only when nothing precedes it; after a word or a space it takes a narrow space.
    if start == 0 and not match.group(0)[0].isspace():
        return match.group(1)
    if start > 0 and text[start - 1] in "([{":
        return match.group(1)
    return NNBSP + match.group(1)


def french(text: str, quotes: Quotes | None = None) -> str:
    """Applies French typography to plain text, leaving URLs and e-mail addresses untouched."""
    if not text:
        return text
    if _NEEDS.search(text) is None:  # most pieces of text: nothing to do
        return text
    quotes = quotes or Quotes()
    if "://" not in text and "www." not in text and "@" not in text and "mailto:" not in text:
        return _punctuation(quotes.replace(text))
    pieces = []
    last = 0
    for match in _URL.finditer(text):
        pieces.append(_punctuation(quotes.replace(text[last : match.start()])))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_punctuation(quotes.replace(text[last:])))
    return "".join(pieces)
