"""The sending journal: one SQLite file beside the list, one row per recipient of one issue.

States, and why a re-run can never mail anyone twice:

    pending ──► sending ──► sent
       ▲           │
       └── (4xx) ◄─┘ only before the message's final dot; failed: 5xx, never retried

`sending` is committed (fsync'd) after the whole message but its final "<CRLF>.<CRLF>" has been
written to the server, and just before that terminator is sent. Until the terminator, a server
discards the message when the connection dies, so a crash before `sending` leaves a `pending`
row that is safely sent again. From the terminator on, the server may have accepted the
message even if we never read its reply. A row left in `sending` by a killed process is
therefore *uncertain*: most likely delivered (the crash window before the terminator is a few
microseconds; the one after, a network round trip). It is never sent again automatically,
and every run lists these addresses so that a person can check and, if needed, send a proof
(`flash send N --to ...`) to them.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from flash.mail.subscribers import Recipient

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recipients (
    address TEXT PRIMARY KEY,          -- normalised: lower case, trimmed
    email TEXT NOT NULL,               -- as written in the list
    name TEXT NOT NULL DEFAULT '',
    line INTEGER,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    message_id TEXT,
    updated REAL
);
"""


class JournalError(Exception):
    """The journal cannot be used (unreadable, another send running…); French."""


def journal_path(list_path: Path, number: int) -> Path:
    """`abonnes.csv` → `abonnes.envoi-195.sqlite`, beside the list."""
    return list_path.with_name(f"{list_path.stem}.envoi-{number}.sqlite")


class Journal:
    def __init__(self, path: Path | None, number: int) -> None:
        """`path` None: a journal in memory, for proofs (--to), which anyone may receive twice."""
        self.path = path or Path(":memory:")
        self._lock = None
        try:
            self.db = sqlite3.connect(path or ":memory:", isolation_level=None, timeout=5.0)
            # WAL + FULL: each commit reaches the disk before the next SMTP command, so even a
            # power cut cannot lose a `sending` mark.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            self._check_issue(number)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path} : journal d’envoi illisible ({exc})") from None
        if path is not None:
            self._lock_exclusively()

    def _check_issue(self, number: int) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'issue'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('issue', ?), ('created', ?)",
                            (str(number), str(time.time())))
        elif row[0] != str(number):
            raise JournalError(f"{self.path} : ce journal est celui du numéro {row[0]}, "
                               f"pas du numéro {number}")

    def _lock_exclusively(self) -> None:
        """Two `flash send` on the same list would each see the same pending rows."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one send at a time, as documented
            return
        handle = open(self.path.with_name(self.path.name + ".lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            self.db.close()
            raise JournalError(f"{self.path} : un autre envoi utilise déjà cette liste ; "
                               "attendez qu’il se termine") from None
        self._lock = handle

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self.flush()
            self.db.close()
        if self._lock is not None:
            self._lock.close()
            with suppress(OSError):
                Path(self._lock.name).unlink()
            self._lock = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading
    def add(self, recipients: Iterable[Recipient]) -> None:
        """New addresses of the list become `pending`; known ones keep their state."""
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT OR IGNORE INTO recipients (address, email, name, line, updated) "
            "VALUES (?, ?, ?, ?, ?)",
            ((r.key, r.email, r.name, r.line, time.time()) for r in recipients))
        self.db.execute("COMMIT")

    def states(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        rows = self.db.execute("SELECT address, state FROM recipients").fetchall()
        found = dict(rows)
        if keys is None:
            return found
        return {k: found[k] for k in keys if k in found}

    def counts(self, keys: Iterable[str]) -> Counter[str]:
        states = self.states()
        return Counter(states.get(k, PENDING) for k in keys)

    def rows(self, state: str) -> list[tuple[str, int | None, str | None]]:
        """(address as written, line, last error) of every row in `state`, in list order."""
        return self.db.execute(
            "SELECT email, line, error FROM recipients WHERE state = ? ORDER BY line",
            (state,)).fetchall()

    def attempts(self, key: str) -> int:
        row = self.db.execute("SELECT attempts FROM recipients WHERE address = ?",
                              (key,)).fetchone()
        return row[0] if row else 0

    # -- transitions
    def _set(self, key: str, state: str, error: str | None = None,
             message_id: str | None = None, attempt: bool = False, commit: bool = True
             ) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        self.db.execute(
            "UPDATE recipients SET state = ?, error = ?, updated = ?, "
            "message_id = COALESCE(?, message_id), attempts = attempts + ? WHERE address = ?",
            (state, error, time.time(), message_id, int(attempt), key))
        if commit:
            self.db.execute("COMMIT")

    def sending(self, key: str, message_id: str) -> None:
        """Committed, with any `sent` mark still pending, before the message's final dot."""
        self._set(key, SENDING, message_id=message_id, attempt=True)

    def sent(self, key: str) -> None:
        """Not committed on its own: one fsync per message instead of two. If the process dies
        first, the row stays `sending`, which is never sent again: safe, only less precise."""
        self._set(key, SENT, commit=False)

    def flush(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def failed(self, key: str, error: str) -> None:
        self._set(key, FAILED, error=error)

    def retry(self, key: str, error: str, *, counted: bool) -> None:
        """Back to `pending` after a temporary failure; `counted` when no `sending` mark
        counted the attempt already."""
        self._set(key, PENDING, error=error, attempt=counted)
