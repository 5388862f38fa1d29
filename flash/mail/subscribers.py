"""The subscribers list: a CSV file with an `email` column and an optional `name` column.

Spreadsheets export CSV in many dialects: comma or semicolon (French Excel), UTF-8 with or
without a byte-order mark, or Windows-1252. Every problem is reported with its line number, and
the line is skipped: one bad address never stops a mailing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from flash.mail.unsubscribe import normalise

# Pragmatic, not RFC 5322's full grammar: what relays accept and people actually type.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
EMAIL_COLUMNS = ("email", "e-mail", "courriel", "mail", "adresse", "adresse e-mail")
NAME_COLUMNS = ("name", "nom", "prénom nom", "nom complet")


class ListError(Exception):
    """The file cannot be read as a list at all (missing, no email column…); French."""


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


@dataclass
class SubscriberList:
    path: Path
    recipients: list[Recipient] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def valid_address(address: str) -> bool:
    if not _ADDRESS.match(address) or len(address) > 254:
        return False
    local = address.rsplit("@", 1)[0]
    return len(local) <= 64 and ".." not in address and not local.startswith(".") \
        and not local.endswith(".")


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListError(f"{path} : encodage illisible : enregistrez la liste en CSV UTF-8")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    cleaned = [h.strip().lower() for h in header]
    return next((cleaned.index(n) for n in names if n in cleaned), None)


def read_list(path: Path) -> SubscriberList:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ListError(f"{path} : fichier introuvable") from None
    except OSError as exc:
        raise ListError(f"{path} : lecture impossible ({exc.strerror})") from None
    text = _decode(data, path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ListError(f"{path} : la liste est vide (la première ligne doit nommer les "
                        "colonnes : email, name)")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader)
    email_at = _column(header, EMAIL_COLUMNS)
    if email_at is None:
        raise ListError(f"{path}:1 : pas de colonne « email » dans la première ligne "
                        f"(trouvé : {', '.join(h.strip() for h in header) or 'rien'})")
    name_at = _column(header, NAME_COLUMNS)
    result = SubscriberList(path)
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        address = row[email_at].strip() if email_at < len(row) else ""
        # One line, whatever the cell held: a name becomes part of the "To:" header.
        name = " ".join(row[name_at].split()) if name_at is not None and name_at < len(row) \
            else ""
        if not address:
            result.problems.append(Problem(line, "adresse manquante : ligne ignorée"))
            continue
        if not valid_address(address):
            result.problems.append(Problem(line, f"adresse invalide « {address} » : ligne "
                                                 "ignorée"))
            continue
        key = normalise(address)
        if key in seen:
            result.problems.append(Problem(line, f"adresse en double « {address} » (déjà "
                                                 f"ligne {seen[key]}) : ligne ignorée"))
            continue
        seen[key] = line
        result.recipients.append(Recipient(address, name, line))
    return result


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
