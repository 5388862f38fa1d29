"""French typography for running text (never for code, URLs or HTML attributes), and the
figures and counts of messages.

Every article goes through here piece by piece, so each rule first checks with `in` (a fast
scan) that its character is present, and the regular expressions start with the character
they look for: the regex engine then skips ahead instead of trying a match at every position.
"""

from __future__ import annotations

import re
from itertools import pairwise

NNBSP = "\u202f"  # narrow no-break space: before ; ! ? and inside « »
NBSP = "\u00a0"  # no-break space: before :

_SPACES = " \u00a0\u202f"
_URL = re.compile(r"(?:https?://|www\.|mailto:)\S+|\S+@\S+\.\w+")
_COLON = re.compile(r":(?=\s|$)")
_GUILLEMET_OPEN = re.compile(r"«[ \u00a0\u202f]*")
_GUILLEMET_CLOSE = re.compile(r"[ \u00a0\u202f]*»")
# French text writes its figures with ASCII digits, which `in` finds faster than \d.
_THOUSANDS = re.compile(r"([0-9])[ \u00a0](?=[0-9]{3}(?!\w))")
_UNIT = re.compile(r"([0-9])[ \u00a0]?(%|€|°C)")
_OPENING = "([{"  # a mark right after these stays tight: « (?) »


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


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what \w means to the re module


def _apostrophes(text: str) -> str:
    """' touching a letter becomes ’; a quote standing alone stays as written."""
    pieces = text.split("'")
    out = [pieces[0]]
    for before, after in pairwise(pieces):
        out.append("’" if _is_word(before[-1:]) or _is_word(after[:1]) else "'")
        out.append(after)
    return "".join(out)


def _mark_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of ; ! ? in the text: found with str.find, which is several
    times faster than a regex character class here."""
    found = []
    for mark in ";!?":
        index = text.find(mark)
        while index >= 0:
            found.append(index)
            index = text.find(mark, index + 1)
    found.sort()
    runs = []
    for index in found:
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return [(start, end) for start, end in runs]


def _before_marks(text: str) -> str:
    """One narrow no-break space before ; ! ? in place of any spaces, except at the very start
    of a piece, where a mark follows markup (a link, emphasis) and stays tight unless spaced, and
    after an opening bracket."""
    out = []
    last = 0
    for start, end in _mark_runs(text):
        lead = start
        while lead > last and text[lead - 1] in _SPACES:
            lead -= 1
        tight = text[lead - 1] in _OPENING if lead else lead == start
        out.append(text[last:lead])
        out.append(text[start:end] if tight else NNBSP + text[start:end])
        last = end
    out.append(text[last:])
    return "".join(out)


def _before_colons(text: str) -> str:
    """A no-break space before a colon that ends a clause (not in 10:30 or a URL)."""
    out = []
    last = 0
    for match in _COLON.finditer(text):
        start = lead = match.start()
        while lead > last and text[lead - 1] in _SPACES:
            lead -= 1
        spaced = lead < start or (lead > 0 and not text[lead - 1].isspace())
        out.append(text[last:lead])
        out.append(NBSP + ":" if spaced else ":")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _punctuation(text: str) -> str:
    # Each rule runs only when its character is present: most text pieces need few of them.
    if "..." in text:
        text = text.replace("...", "…")
    if "'" in text:
        text = _apostrophes(text)
    if "«" in text:
        text = _GUILLEMET_OPEN.sub("«" + NNBSP, text)
    if "»" in text:
        text = _GUILLEMET_CLOSE.sub(NNBSP + "»", text)
    if "!" in text or "?" in text or ";" in text:
        text = _before_marks(text)
    if ":" in text:
        text = _before_colons(text)
    if ("0" in text or "1" in text or "2" in text or "3" in text or "4" in text or "5" in text
            or "6" in text or "7" in text or "8" in text or "9" in text):
        if _THOUSANDS.search(text):  # rarely: a search costs a fifth of a substitution
            text = _THOUSANDS.sub("\\1" + NNBSP, text)
        if "%" in text or "€" in text or "°C" in text:
            text = _UNIT.sub("\\1" + NNBSP + "\\2", text)
    return text


def french(text: str, quotes: Quotes | None = None) -> str:
    """Applies French typography to plain text, leaving URLs and e-mail addresses untouched."""
    if not text:
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


# Counts in messages to the team (`flash send`, `flash subscribers`, `flash check`…)

def number(value: float) -> str:
    """French figures: 1 234 (narrow no-break space), 2,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", NNBSP)
    return f"{value:,.2f}".rstrip("0").replace(",", NNBSP).replace(".", ",")


def count(value: float, singular: str, plural: str | None = None) -> str:
    """« 0 message », « 1 message », « 2 messages »: French takes the plural from two on."""
    word = singular if abs(value) < 2 else (plural or _plural(singular))
    return f"{number(value)} {word}"


def _plural(phrase: str) -> str:
    """Each word of « adresse invalide » or « déjà envoyé » that agrees takes its s."""
    invariable = {"à", "de", "en", "déjà", "sans", "par", "au", "plus", "du", "la", "le"}
    words = phrase.split(" ")
    return " ".join(w if w in invariable or w.endswith(("s", "x")) else w + "s" for w in words)
