"""The subscribers database: one schema with versioned migrations, on SQLite or PostgreSQL,
and every change of a subscriber's state recorded with its consent.

Why SQLAlchemy Core (not its ORM, not raw drivers): one set of statements runs on SQLite and
PostgreSQL alike, with a connection pool and transactions, and nothing is hidden behind
objects; the service stays stateless because everything it knows is in these tables.

Times are Unix seconds (floats): the same on both databases, and compared in Python.

What is kept, and why (GDPR, as the CNIL reads it: consent must be provable, withdrawing it
as easy as giving it, and no more personal data than needed):
- a subscriber: the address, the first name and name if given, the state and its dates;
- each consent event: when, from which page or import, the version of the exact sentence
  agreed to (the sentences themselves in `consent_texts`) and how it was confirmed;
- a suppression list of SHA-256 digests of addresses: an erased address leaves only its
  digest, enough to never mail it again after a re-import, and nothing readable;
- no IP address, no user agent, no opens or clicks. Rate limits keep digests of clients for
  one hour at most.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from flash.mail.subscribers import Recipient
from flash.mail.unsubscribe import normalise
from flash.subscribers.statuses import (  # noqa: F401  (also read from here)
    CONFIRMED,
    PENDING,
    STATUS_LABELS,
    STATUSES,
    UNSUBSCRIBED,
)

# Bounces: one permanent failure suppresses; temporary ones do after this many, on as many
# different days (a full mailbox for a week, not a relay's bad afternoon).
SOFT_BOUNCES_TO_SUPPRESS = 3
MAX_ADDRESS, MAX_NAME, MAX_SOURCE = 254, 100, 500

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))

subscribers = Table(
    "subscribers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(MAX_ADDRESS), nullable=False, unique=True),  # normalised
    Column("email", String(MAX_ADDRESS), nullable=False),  # as typed
    Column("first_name", String(MAX_NAME), nullable=False, default=""),
    Column("last_name", String(MAX_NAME), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("confirmed_at", Float),
    Column("unsubscribed_at", Float),
    Column("source", String(MAX_SOURCE), nullable=False, default=""),
)

consent_texts = Table(
    "consent_texts", metadata,
    Column("version", String(16), primary_key=True),  # digest of the text
    Column("text", Text, nullable=False),
    Column("first_used", Float, nullable=False),
)

consents = Table(
    "consents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("action", String(16), nullable=False),  # requested, confirmed, imported, withdrawn
    Column("at", Float, nullable=False),
    Column("source", String(MAX_SOURCE), nullable=False, default=""),
    Column("text_version", String(16)),
    Column("method", String(80), nullable=False, default=""),
)

suppressions = Table(
    "suppressions", metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("reason", String(16), nullable=False),  # unsubscribed, erased, bounced
    Column("at", Float, nullable=False),
)

bounces = Table(
    "bounces", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address_hash", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("day", String(10), nullable=False),
    Column("permanent", Boolean, nullable=False),
    Column("origin", String(300), nullable=False),  # a bounce message's id, or "envoi N"
    UniqueConstraint("address_hash", "origin", name="bounce_once"),
)

attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Index("attempts_key_at", "key", "at"),
)

events = Table(  # what stats count; no personal data
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # signup, confirm, unsubscribe, bounce, erase
    Column("at", Float, nullable=False, index=True),
)

mailings = Table(
    "mailings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("recipients", Integer, nullable=False),
)


def _create_all(connection: Connection) -> None:
    metadata.create_all(connection, tables=[t for t in metadata.sorted_tables
                                            if t is not schema_version])


# Versioned migrations, applied in order, each once, each in its own transaction. A new
# version appends a function here; a released one is never edited.
MIGRATIONS = [(1, _create_all)]


class StoreError(Exception):
    """The database cannot be opened or used; French."""


def digest(address: str) -> str:
    """What the suppression list keeps: unsalted, so that a re-imported address matches it
    whatever secret the team uses (a key changed by mistake must not resubscribe anyone)."""
    return hashlib.sha256(normalise(address).encode("utf-8")).hexdigest()


def text_version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def database_url(value: str, root: Path) -> str:
    """`sqlite:///abonnes.sqlite` is relative to the project; PostgreSQL URLs use psycopg 3."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        relative = value.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            return f"sqlite:///{(root / relative).resolve()}"
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # The driver's own transaction handling off: SQLAlchemy's "begin" event below opens
    # each one, and savepoints work.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL: readers never wait for the writer; busy_timeout: concurrent writers queue
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE: a transaction takes the write lock when it starts, so two sign-ups at once
    # queue behind busy_timeout instead of failing to upgrade a read lock ("database is
    # locked"), the classic trap of SQLite's deferred transactions.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _where(url: str) -> str:
    """The database named for a message, without its password."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url


@dataclass(frozen=True)
class ImportReport:
    added: int
    already: int
    suppressed: int


@dataclass(frozen=True)
class Subscriber:
    email: str
    first_name: str
    last_name: str
    status: str
    created_at: float
    confirmed_at: float | None
    unsubscribed_at: float | None
    source: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class Store:
    """The subscribers and their consents. Every method is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite"):
                self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "begin", _sqlite_begin)
            else:
                self.engine = create_engine(url, pool_size=10, max_overflow=20,
                                            pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"adresse de base de données invalide ({_where(url)}) : "
                             f"{type(exc).__name__}") from None

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except OperationalError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(f"base des abonnés injoignable ({_where(self.url)}) : "
                             f"{reason}") from None

    def migrate(self) -> int:
        """Brings the schema to the latest version; returns how many migrations ran."""
        with self._begin() as connection:
            schema_version.create(connection, checkfirst=True)
        ran = 0
        for version, apply in MIGRATIONS:
            try:
                with self._begin() as connection:
                    if connection.scalar(select(schema_version.c.version).where(
                            schema_version.c.version == version)) is not None:
                        continue
                    apply(connection)
                    connection.execute(insert(schema_version).values(version=version))
                    ran += 1
            except IntegrityError:  # another process applied it at the same moment
                continue
        return ran

    def version(self) -> int:
        with self._begin() as connection:
            return connection.scalar(select(func.max(schema_version.c.version))) or 0

    def close(self) -> None:
        self.engine.dispose()

    # -- consent texts -------------------------------------------------------------------

    def _text(self, connection: Connection, text: str, now: float) -> str:
        version = text_version(text)
        if connection.scalar(select(consent_texts.c.version).where(
                consent_texts.c.version == version)) is None:
            try:
                with connection.begin_nested():
                    connection.execute(insert(consent_texts).values(
                        version=version, text=text, first_used=now))
            except IntegrityError:
                pass
        return version

    # -- the lifecycle -------------------------------------------------------------------

    def request(self, email: str, first_name: str, last_name: str, source: str,
                consent: str, now: float | None = None) -> str:
        """A sign-up from the form: PENDING (a confirmation is to be mailed) or CONFIRMED
        (already subscribed: a reminder is mailed instead). Nobody is mailed an issue
        before confirming."""
        now = time.time() if now is None else now
        address = normalise(email)
        for _ in range(3):  # the same address signing up twice at once: the second updates
            try:
                with self._begin() as connection:
                    version = self._text(connection, consent, now)
                    row = connection.execute(select(subscribers.c.id, subscribers.c.status)
                                             .where(subscribers.c.address == address)).first()
                    if row is not None and row.status == CONFIRMED:
                        return CONFIRMED
                    values = {"email": email.strip(), "first_name": first_name,
                              "last_name": last_name, "source": source}
                    if row is None:
                        ident = connection.execute(insert(subscribers).values(
                            address=address, status=PENDING, created_at=now, **values)
                        ).inserted_primary_key[0]
                    else:
                        ident = row.id
                        connection.execute(update(subscribers).where(
                            subscribers.c.id == ident).values(status=PENDING, **values))
                    connection.execute(insert(consents).values(
                        subscriber_id=ident, action="requested", at=now, source=source,
                        text_version=version, method="formulaire d’inscription"))
                    connection.execute(insert(events).values(kind="signup", at=now))
                    return PENDING
            except IntegrityError:
                continue
        raise StoreError(f"inscription de {email} impossible : réessayez")

    def confirm(self, email: str, now: float | None = None) -> str:
        """The link of the confirmation message was followed: CONFIRMED, or "already", or
        "unknown" (erased since, or never asked)."""
        now = time.time() if now is None else now
        address = normalise(email)
        with self._begin() as connection:
            row = connection.execute(select(subscribers.c.id, subscribers.c.status,
                                            subscribers.c.source)
                                     .where(subscribers.c.address == address)
                                     .with_for_update()).first()
            if row is None:
                return "unknown"
            if row.status == CONFIRMED:
                return "already"
            connection.execute(update(subscribers).where(subscribers.c.id == row.id).values(
                status=CONFIRMED, confirmed_at=now, unsubscribed_at=None))
            last = connection.scalar(select(consents.c.text_version).where(
                consents.c.subscriber_id == row.id, consents.c.action == "requested")
                .order_by(consents.c.id.desc()).limit(1))
            connection.execute(insert(consents).values(
                subscriber_id=row.id, action="confirmed", at=now, source=row.source,
                text_version=last, method="double opt-in : lien du message de confirmation"))
            # Subscribing again through the double opt-in lifts an earlier suppression.
            connection.execute(delete(suppressions).where(
                suppressions.c.address_hash == digest(address)))
            connection.execute(insert(events).values(kind="confirm", at=now))
            return CONFIRMED

    def unsubscribe(self, email: str, method: str, now: float | None = None) -> bool:
        """Withdraws consent at once and suppresses the address (also one that only ever was
        in a CSV list). False when it already was unsubscribed."""
        now = time.time() if now is None else now
        address = normalise(email)
        with self._begin() as connection:
            row = connection.execute(select(subscribers.c.id, subscribers.c.status)
                                     .where(subscribers.c.address == address)).first()
            changed = self._suppress(connection, address, "unsubscribed", now)
            if row is not None and row.status != UNSUBSCRIBED:
                connection.execute(update(subscribers).where(subscribers.c.id == row.id)
                                   .values(status=UNSUBSCRIBED, unsubscribed_at=now))
                connection.execute(insert(consents).values(
                    subscriber_id=row.id, action="withdrawn", at=now, method=method))
                changed = True
            if changed:
                connection.execute(insert(events).values(kind="unsubscribe", at=now))
            return changed

    def erase(self, email: str, now: float | None = None) -> bool:
        """Deletes the personal data (the subscriber and its consent records) and keeps only
        the digest on the suppression list. False when nothing was known of it."""
        now = time.time() if now is None else now
        address = normalise(email)
        with self._begin() as connection:
            row = connection.execute(select(subscribers.c.id).where(
                subscribers.c.address == address)).first()
            if row is not None:
                connection.execute(delete(consents).where(consents.c.subscriber_id == row.id))
                connection.execute(delete(subscribers).where(subscribers.c.id == row.id))
            known = connection.scalar(select(suppressions.c.reason).where(
                suppressions.c.address_hash == digest(address)))
            connection.execute(delete(suppressions).where(
                suppressions.c.address_hash == digest(address)))
            connection.execute(insert(suppressions).values(
                address_hash=digest(address), reason="erased", at=now))
            connection.execute(insert(events).values(kind="erase", at=now))
            return row is not None or known is not None

    def _suppress(self, connection: Connection, address: str, reason: str, now: float
                  ) -> bool:
        if connection.scalar(select(suppressions.c.reason).where(
                suppressions.c.address_hash == digest(address))) is not None:
            return False
        try:
            with connection.begin_nested():
                connection.execute(insert(suppressions).values(
                    address_hash=digest(address), reason=reason, at=now))
        except IntegrityError:
            return False
        return True

    def bounce(self, email: str, permanent: bool, origin: str, now: float | None = None
               ) -> str:
        """Records a failure once per origin: "seen" (read before), "suppressed" (now, after
        a permanent failure or SOFT_BOUNCES_TO_SUPPRESS temporary ones on different days)
        or "recorded"."""
        now = time.time() if now is None else now
        address = normalise(email)
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        with self._begin() as connection:
            if connection.scalar(select(bounces.c.id).where(
                    bounces.c.address_hash == digest(address),
                    bounces.c.origin == origin[:300])) is not None:
                return "seen"
            connection.execute(insert(bounces).values(
                address_hash=digest(address), at=now, day=day, permanent=permanent,
                origin=origin[:300]))
            connection.execute(insert(events).values(kind="bounce", at=now))
            days = connection.scalar(select(func.count(func.distinct(bounces.c.day))).where(
                bounces.c.address_hash == digest(address), bounces.c.permanent.is_(False)))
            if (permanent or days >= SOFT_BOUNCES_TO_SUPPRESS) and self._suppress(
                    connection, address, "bounced", now):
                return "suppressed"
            return "recorded"

    def import_rows(self, rows: Iterable[Recipient], source: str, now: float | None = None
                    ) -> ImportReport:
        """Confirmed subscribers from a list whose consent was collected elsewhere (`source`
        says where). A suppressed address is never brought back this way."""
        now = time.time() if now is None else now
        added = already = suppressed = 0
        with self._begin() as connection:
            hidden = set(connection.scalars(select(suppressions.c.address_hash)))
            known = set(connection.scalars(select(subscribers.c.address)))
            for row in rows:
                address = normalise(row.email)
                if digest(address) in hidden:
                    suppressed += 1
                    continue
                if address in known:
                    already += 1
                    continue
                first, _, last = row.name.partition(" ")
                ident = connection.execute(insert(subscribers).values(
                    address=address, email=row.email, first_name=first[:MAX_NAME],
                    last_name=last[:MAX_NAME], status=CONFIRMED, created_at=now,
                    confirmed_at=now, source=source[:MAX_SOURCE])).inserted_primary_key[0]
                connection.execute(insert(consents).values(
                    subscriber_id=ident, action="imported", at=now, source=source[:MAX_SOURCE],
                    method=f"import de liste (ligne {row.line})"))
                known.add(address)
                added += 1
        return ImportReport(added, already, suppressed)

    # -- reading -------------------------------------------------------------------------

    def recipients(self) -> list[Recipient]:
        """Who `flash send --subscribers` mails: confirmed and not suppressed, in sign-up
        order (the `line` of a recipient is its place in that order)."""
        with self._begin() as connection:
            hidden = set(connection.scalars(select(suppressions.c.address_hash)))
            rows = connection.execute(select(
                subscribers.c.email, subscribers.c.first_name, subscribers.c.last_name)
                .where(subscribers.c.status == CONFIRMED).order_by(subscribers.c.id)).all()
        listed = [r for r in rows if digest(r.email) not in hidden]
        return [Recipient(r.email, " ".join(p for p in (r.first_name, r.last_name) if p), n)
                for n, r in enumerate(listed, 1)]

    def status_of(self, email: str) -> str | None:
        with self._begin() as connection:
            return connection.scalar(select(subscribers.c.status).where(
                subscribers.c.address == normalise(email)))

    def suppressed(self, email: str) -> str | None:
        """Why the address is suppressed, or None."""
        with self._begin() as connection:
            return connection.scalar(select(suppressions.c.reason).where(
                suppressions.c.address_hash == digest(email)))

    def counts(self) -> dict[str, int]:
        """Subscribers per status, "confirmed" counting only those still mailed (a confirmed
        address that bounced for good is on the suppression list, counted there)."""
        with self._begin() as connection:
            rows = connection.execute(select(subscribers.c.status, func.count())
                                      .group_by(subscribers.c.status)).all()
            found = {status: 0 for status in STATUSES}
            found.update({status: n for status, n in rows})
            found["suppressed"] = connection.scalar(select(func.count()).select_from(
                suppressions)) or 0
        found[CONFIRMED] = len(self.recipients())
        return found

    def listing(self, status: str | None = None, email: str | None = None
                ) -> list[Subscriber]:
        query = select(subscribers).order_by(subscribers.c.id)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        if email is not None:
            query = query.where(subscribers.c.address == normalise(email))
        with self._begin() as connection:
            return [Subscriber(r.email, r.first_name, r.last_name, r.status, r.created_at,
                               r.confirmed_at, r.unsubscribed_at, r.source)
                    for r in connection.execute(query)]

    def consent_records(self, email: str) -> list[tuple[str, float, str, str, str]]:
        """(action, at, source, exact consent text, method), for an access request."""
        with self._begin() as connection:
            query = (select(consents.c.action, consents.c.at, consents.c.source,
                            consent_texts.c.text, consents.c.method)
                     .join(subscribers, subscribers.c.id == consents.c.subscriber_id)
                     .outerjoin(consent_texts,
                                consent_texts.c.version == consents.c.text_version)
                     .where(subscribers.c.address == normalise(email))
                     .order_by(consents.c.id))
            return [(r.action, r.at, r.source, r.text or "", r.method)
                    for r in connection.execute(query)]

    def history(self) -> tuple[list[tuple[str, float]], list[tuple[int, float, int]],
                               list[tuple[float, float | None]]]:
        """Events (kind, at), mailings (number, at, recipients) and each subscriber's
        (confirmed_at, unsubscribed_at), for `flash subscribers stats`."""
        with self._begin() as connection:
            happened = [(r.kind, r.at) for r in connection.execute(
                select(events.c.kind, events.c.at).order_by(events.c.at))]
            sent = [(r.number, r.at, r.recipients) for r in connection.execute(
                select(mailings.c.number, mailings.c.at, mailings.c.recipients)
                .order_by(mailings.c.at))]
            spans = [(r.confirmed_at, r.unsubscribed_at) for r in connection.execute(
                select(subscribers.c.confirmed_at, subscribers.c.unsubscribed_at)
                .where(subscribers.c.confirmed_at.is_not(None)))]
        return happened, sent, spans

    def record_mailing(self, number: int, recipients: int, now: float | None = None) -> None:
        with self._begin() as connection:
            connection.execute(insert(mailings).values(
                number=number, at=time.time() if now is None else now, recipients=recipients))

    # -- rate limits ---------------------------------------------------------------------

    def allow(self, key: str, limit: int, window: float, now: float | None = None) -> bool:
        """Counts one attempt for `key` (a digest); False past `limit` in `window` seconds.
        Kept in the database so that every service process shares the count."""
        now = time.time() if now is None else now
        with self._begin() as connection:
            connection.execute(delete(attempts).where(attempts.c.at < now - 3600))
            seen = connection.scalar(select(func.count()).select_from(attempts).where(
                attempts.c.key == key, attempts.c.at >= now - window)) or 0
            if seen >= limit:
                return False
            connection.execute(insert(attempts).values(key=key, at=now))
            return True


def copy_all(source: Store, target: Store) -> dict[str, int]:
    """Every row of every table, from one database to an empty one of the latest schema
    (moving from SQLite to PostgreSQL keeps the consents, states and suppressions as they
    are). Returns the rows copied per table."""
    copied: dict[str, int] = {}
    with source._begin() as reading, target._begin() as writing:
        for table in metadata.sorted_tables:
            if table is schema_version:
                continue
            if writing.scalar(select(func.count()).select_from(table)):
                raise StoreError(f"la base de destination n’est pas vide (table {table.name})")
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(insert(table), rows)
            copied[table.name] = len(rows)
            if target.engine.dialect.name == "postgresql" and "id" in table.c and rows:
                # Rows came with their ids: the next one continues after them.
                writing.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))")
    return copied


def open_store(url: str) -> Store:
    """The store, migrated to the latest schema."""
    store = Store(url)
    store.migrate()
    return store
