"""The subscribers list: a CSV file (an Excel export, most often) read into recipients, every
row accounted for.

Spreadsheets export CSV in many shapes: `;` (French Excel), `,` or tab separators, UTF-8 with
or without a byte-order mark, UTF-16 ("Texte Unicode"), Windows-1252, CRLF or LF line ends,
blank lines, trailing empty columns, and headers in the office's words (« Adresse e-mail »,
« Courriel », « Prénom », « Nom »…). Every row ends in exactly one place: a recipient, a
refused row (with its line and why) or a blank row; `SubscriberList.rows` is their sum.

The rows are split by a small reader of our own rather than the csv module: a quote left open
must be reported at the line where it opens (the csv module silently reads the rest of the
file as one cell, or stops at its 128 KB field limit with an English error).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from flash.mail.unsubscribe import normalise

# Pragmatic, not RFC 5322's full grammar: what relays accept and people actually type.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_LOOKS_LIKE_ADDRESS = re.compile(r"[^\s@;,<>\"]+@[^\s@;,<>\"]+\.[A-Za-z]{2,}")
_NAMED_ADDRESS = re.compile(r"^(?P<name>[^<>]*)<(?P<address>[^<>]+)>$")  # "Marie <m@x.fr>"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_BYTES = 50 * 1024 * 1024  # 500,000 subscribers at 100 bytes a row

# Column names, compared once lower-cased, without accents, with "-", "_", "." as spaces.
EMAIL_COLUMNS = ("email", "e mail", "courriel", "adresse e mail", "adresse email",
                 "adresse mail", "adresse courriel", "adresse electronique", "mail", "mel",
                 "adresse mel", "email address", "e mail address", "adresse")
FULL_NAME_COLUMNS = ("nom complet", "prenom nom", "prenom et nom", "nom prenom", "nom et prenom",
                     "name", "full name", "destinataire", "contact")
FIRST_NAME_COLUMNS = ("prenom", "first name", "firstname", "given name")
LAST_NAME_COLUMNS = ("nom", "nom de famille", "last name", "lastname", "surname", "family name")
DELIMITERS = (";", ",", "\t")


class ListError(Exception):
    """The file cannot be read as a list at all (missing, no email column, a quote left
    open…); French."""


@dataclass(frozen=True)
class Recipient:
    email: str  # as written, trimmed
    name: str
    line: int

    @property
    def key(self) -> str:
        return normalise(self.email)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    skipped: bool = True  # False: a warning, the row is still mailed


@dataclass
class SubscriberList:
    path: Path
    recipients: list[Recipient] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)  # lines of empty rows
    rows: int = 0  # rows under the header: recipients + skipped + blank
    columns: str = ""  # which columns were read, in French

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.skipped]


@dataclass(frozen=True)
class _Row:
    line: int  # where it starts
    last: int  # where it ends (a quoted cell may hold line breaks)
    cells: list[str]
    broken: bool  # a quoted cell holds a line break


def valid_address(address: str) -> bool:
    if not _ADDRESS.match(address) or len(address) > 254:
        return False
    local = address.rsplit("@", 1)[0]
    return len(local) <= 64 and ".." not in address and not local.startswith(".") \
        and not local.endswith(".")


# --- bytes to text ----------------------------------------------------------------------------

def _decode(data: bytes, path: Path) -> str:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ListError(f"{path} : c’est un classeur Excel, pas un fichier CSV : dans Excel, "
                        "« Fichier › Enregistrer sous », type « CSV UTF-8 (délimité par des "
                        "virgules) »")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ListError(f"{path} : encodage illisible : dans Excel, enregistrez la liste au format "
                    "« CSV UTF-8 (délimité par des virgules) »")


# --- text to rows -----------------------------------------------------------------------------

_BREAK = re.compile(r"\r\n|\n|\r")


def _delimiter(text: str) -> str:
    """The separator the header uses most (outside quotes); the first rows if it has none."""
    for sample in (_BREAK.split(text, 1)[0], "\n".join(_BREAK.split(text, 20)[:20])):
        unquoted = re.sub(r'"[^"]*"', "", sample)
        counts = {d: unquoted.count(d) for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: counts[d])
        if counts[best]:
            return best
    return ";"


def _rows(text: str, delimiter: str, path: Path) -> list[_Row]:
    """Rows as Excel writes them (RFC 4180): a cell starting with a quote runs to the next lone
    quote, "" inside it is one quote; elsewhere a quote is an ordinary character."""
    plain = re.compile(f"[^{re.escape(delimiter)}\r\n]*")
    quoted = re.compile(r'"([^"]*(?:""[^"]*)*)')
    rows: list[_Row] = []
    cells: list[str] = []
    pos, line, start, broken = 0, 1, 1, False
    end = len(text)
    while True:
        if pos < end and text[pos] == '"':
            match = quoted.match(text, pos)
            assert match is not None  # the pattern matches any text after a quote
            inside = match.group(1)
            pos = match.end()
            if pos >= end:
                raise ListError(_unclosed(path, line))
            pos += 1  # the closing quote
            cell = inside.replace('""', '"')
            breaks = len(_BREAK.findall(inside))
            if breaks:
                if _LOOKS_LIKE_ADDRESS.search(inside):
                    raise ListError(_swallowing(path, line, line + breaks))
                broken = True
                line += breaks
            rest = plain.match(text, pos)
            assert rest is not None
            cell += rest.group(0)  # `"Dupont" jr` : what Excel's reader keeps too
            pos = rest.end()
        else:
            match = plain.match(text, pos)
            assert match is not None
            cell = match.group(0)
            pos = match.end()
        cells.append(cell)
        if pos < end and text[pos] == delimiter:
            pos += 1
            continue
        rows.append(_Row(start, line, cells, broken))
        if pos >= end:
            break
        brk = _BREAK.match(text, pos)
        assert brk is not None
        pos = brk.end()
        line += 1
        if pos >= end:
            break
        cells, start, broken = [], line, False
    return rows


def _unclosed(path: Path, line: int) -> str:
    return (f"{path}:{line} : un guillemet (\") ouvert à cette ligne n’est jamais refermé : "
            "toute la suite du fichier serait lue comme une seule case. Retirez ce guillemet, "
            "ou refermez-le à la fin de la case (un guillemet voulu s’écrit \"\"), puis "
            "relancez : rien n’a été envoyé")


def _swallowing(path: Path, line: int, closed: int) -> str:
    return (f"{path}:{line} : un guillemet (\") ouvert à cette ligne n’est refermé que ligne "
            f"{closed} : les lignes {line + 1} à {closed}, avec leurs adresses, seraient lues "
            "comme une seule case. Retirez ce guillemet (un guillemet voulu s’écrit \"\"), "
            "puis relancez : rien n’a été envoyé")


# --- header -----------------------------------------------------------------------------------

def column_key(header: str) -> str:
    """« Adresse E-mail » → "adresse e mail": case, accents and punctuation do not matter."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[-_.'’:*()]+", " ", text).split())


def _find(keys: list[str], names: tuple[str, ...], taken: set[int]) -> int | None:
    for name in names:
        for index, key in enumerate(keys):
            if key == name and index not in taken:
                return index
    return None


@dataclass(frozen=True)
class _Columns:
    email: int
    full: int | None = None
    first: int | None = None
    last: int | None = None
    header: bool = True

    def name(self, cells: list[str]) -> str:
        def cell(index: int | None) -> str:
            return cells[index] if index is not None and index < len(cells) else ""

        if self.full is not None and cell(self.full).strip():
            return cell(self.full)
        return f"{cell(self.first).strip()} {cell(self.last).strip()}"


def _columns(header: list[str]) -> _Columns | None:
    keys = [column_key(h) for h in header]
    email = _find(keys, EMAIL_COLUMNS, set())
    if email is None:  # « E-mail professionnel », « Courriel 1 »…
        email = next((i for i, k in enumerate(keys)
                      if {"mail", "email", "courriel", "mel"} & set(k.split())), None)
    if email is None:
        return None
    full = _find(keys, FULL_NAME_COLUMNS, {email})
    first = _find(keys, FIRST_NAME_COLUMNS, {email})
    last = _find(keys, LAST_NAME_COLUMNS, {email, *(i for i in (full, first) if i is not None)})
    if full is None and first is None and last is not None and keys[last] == "nom":
        # A lone « Nom » column holds the whole name as often as the family name.
        full, last = last, None
    return _Columns(email, full, first, last)


def _describe(columns: _Columns, header: list[str]) -> str:
    if not columns.header:
        return (f"pas de ligne d’en-tête\u00a0: adresses lues dans la colonne {columns.email + 1}, "
                "sans nom")

    def quoted(index: int) -> str:
        shown = header[index].replace("\ufeff", "").strip()
        return f"«\u202f{shown}\u202f»"

    names = [quoted(i) for i in (columns.full, columns.first, columns.last) if i is not None]
    found = (f"noms dans {' et '.join(names)}" if names else "aucune colonne de nom (envoi "
             "sans nom)")
    return f"adresses lues dans la colonne {quoted(columns.email)}, {found}"


# --- the list ---------------------------------------------------------------------------------

def _clean_name(raw: str) -> str:
    """One line, whatever the cell held: a name becomes part of the "To:" header."""
    return " ".join(_CONTROL.sub(" ", raw).split())


def _address(cell: str) -> tuple[str, str]:
    """The address of a cell, and a name written with it (« Marie Dupont <marie@x.fr> »)."""
    value = cell.strip().removeprefix("mailto:").strip()
    named = _NAMED_ADDRESS.match(value)
    if named:
        return named.group("address").strip(), named.group("name").strip().strip('"')
    return value, ""


def read_list(path: Path) -> SubscriberList:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ListError(f"{path} : fichier de {size / 1e6:.0f} Mo : une liste d’abonnés "
                            f"dépasse rarement {MAX_BYTES // 1_000_000} Mo ; est-ce le bon "
                            "fichier ?")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ListError(f"{path} : fichier introuvable") from None
    except IsADirectoryError:
        raise ListError(f"{path} : c’est un dossier, pas un fichier CSV") from None
    except OSError as exc:
        raise ListError(f"{path} : lecture impossible ({exc.strerror})") from None
    text = _decode(data, path)
    if not text.strip():
        raise ListError(f"{path} : la liste est vide (la première ligne doit nommer les "
                        "colonnes, par exemple : E-mail;Prénom;Nom)")
    delimiter = _delimiter(text)
    rows = _rows(text, delimiter, path)
    while rows and not any(c.strip() for c in rows[0].cells):
        rows.pop(0)  # blank lines above the header
    if not rows:
        raise ListError(f"{path} : la liste est vide")
    header = rows[0]
    columns = _columns(header.cells)
    data_rows = rows[1:]
    if columns is None:
        first = [_address(c)[0] for c in header.cells]
        at = next((i for i, a in enumerate(first) if valid_address(a)), None)
        if at is None:
            found = ", ".join(f"« {h.strip()} »" for h in header.cells if h.strip()) or "rien"
            raise ListError(
                f"{path}:{header.line} : pas de colonne d’adresses dans la première ligne "
                f"(trouvé : {found}) ; nommez-la « E-mail », « Courriel » ou « Adresse "
                "e-mail »")
        columns, data_rows = _Columns(at, header=False), rows
    # A file ending with a line break has no row after it; other empty lines are blank rows.
    result = SubscriberList(path, columns=_describe(columns, header.cells))
    seen: dict[str, int] = {}
    for row in data_rows:
        _take(row, columns, result, seen)
    result.rows = len(data_rows)
    return result


def _take(row: _Row, columns: _Columns, result: SubscriberList, seen: dict[str, int]) -> None:
    line = row.line
    if not any(cell.strip() for cell in row.cells):
        result.blank.append(line)
        return
    cell = row.cells[columns.email] if columns.email < len(row.cells) else ""
    address, written_name = _address(cell)
    name = _clean_name(columns.name(row.cells)) or _clean_name(written_name)
    if not address:
        result.problems.append(Problem(line, "adresse manquante : ligne ignorée"))
        return
    if not valid_address(address):
        shown = _clean_name(address)[:80]
        result.problems.append(Problem(line, f"adresse invalide « {shown} » : ligne ignorée"))
        return
    key = normalise(address)
    if key in seen:
        result.problems.append(Problem(line, f"adresse en double « {address} » (déjà "
                                             f"ligne {seen[key]}) : ligne ignorée"))
        return
    seen[key] = line
    if len(name) > 120:
        result.problems.append(Problem(line, f"nom de {len(name)} caractères, sans doute "
                                             "plusieurs cases mêlées : envoyé sans nom",
                                       skipped=False))
        name = ""
    elif row.broken:
        result.problems.append(Problem(line, f"le nom tient sur plusieurs lignes (lignes {line} "
                                             f"à {row.last}), vérifiez ses guillemets ; envoyé "
                                             f"au nom « {name} »", skipped=False))
    if _LOOKS_LIKE_ADDRESS.search(name):
        result.problems.append(Problem(line, f"le nom « {name} » contient une adresse e-mail : "
                                             "vérifiez les colonnes de cette ligne ; envoyé sans "
                                             "nom", skipped=False))
        name = ""
    result.recipients.append(Recipient(address, name, line))


def parse_addresses(value: str) -> tuple[list[Recipient], list[Problem]]:
    """`--to a@x.fr,b@y.fr`: the same checks as the list, positions instead of lines."""
    recipients: list[Recipient] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for position, raw in enumerate(value.split(","), 1):
        address = raw.strip()
        if not address:
            continue
        if not valid_address(address):
            problems.append(Problem(position, f"adresse invalide « {address} »"))
        elif normalise(address) not in seen:
            seen.add(normalise(address))
            recipients.append(Recipient(address, "", position))
    return recipients, problems
