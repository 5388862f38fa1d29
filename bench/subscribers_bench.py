"""The subscribers service under load, and mailing from its database.

    python bench/subscribers_bench.py [--postgresql] [--signups 1000] [--mailing 10000]

One `flash subscribers serve` process (uvicorn) on 127.0.0.1 and aiosmtpd as the relay:
N sign-ups sent at once (200 connections), then their N confirmation links followed at once.
Checks that none is lost (N confirmation messages, N confirmed) and that no row is doubled.
Then `flash send 195 --subscribers` to a database of M confirmed subscribers, side by side
with `flash send 195 --list` of the same M addresses: messages per second and their ratio.
Prints figures; the tests assert behaviour, not speed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from pg_server import postgresql  # noqa: E402
from test_send import free_port, smtp_server  # noqa: E402
from test_subscribers import env_for, service, write_project  # noqa: E402

from flash.mail.subscribers import Recipient  # noqa: E402
from flash.subscribers.store import database_url, open_store  # noqa: E402

RETRIES = [0]  # connections the server closed as the client reused them (keep-alive race)


async def _all(urls: list[str], method: str, data: list[dict] | None = None) -> list[int]:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        async def one(i: int) -> int:
            for attempt in range(3):
                try:
                    if method == "POST":
                        return (await client.post(urls[i], data=data[i])).status_code
                    return (await client.get(urls[i])).status_code
                except httpx.TransportError:
                    if attempt == 2:
                        raise
                    RETRIES[0] += 1
            raise AssertionError
        return await asyncio.gather(*(one(i) for i in range(len(urls))))


def load(project: Path, database: str, url: str, handler, count: int) -> None:
    forms = [{"email": f"charge{n:05d}@exemple.fr", "consent": "oui", "prenom": f"P{n}"}
             for n in range(count)]
    start = time.perf_counter()
    codes = asyncio.run(_all([f"{url}/abonnement"] * count, "POST", forms))
    signed = time.perf_counter() - start
    deadline = time.monotonic() + 60
    while len(handler.received) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    links = [re.search(r"(http://\S+/confirmer\S+)",
                       r.message.get_body(("plain",)).get_content()).group(1)
             for r in list(handler.received)]
    start = time.perf_counter()
    confirmed_codes = asyncio.run(_all(links, "GET"))
    confirming = time.perf_counter() - start
    store = open_store(database_url(database, project))
    counts = store.counts()
    rows = store.listing()
    distinct = len({r.email for r in rows})
    consents = sum(len(store.consent_records(r.email)) for r in rows[:50])
    store.close()
    print(f"sign-ups: {count} in {signed:.1f} s = {count / signed:.0f} req/s "
          f"(status {sorted(set(codes))}); confirmation messages received: "
          f"{len(handler.received)}")
    print(f"confirmations: {len(links)} in {confirming:.1f} s = {len(links) / confirming:.0f} "
          f"req/s (status {sorted(set(confirmed_codes))}); confirmed: {counts['confirmed']}; "
          f"rows: {len(rows)}, distinct addresses: {distinct}; consent records of the first "
          f"50: {consents} (2 each expected); requests retried after a closed connection: "
          f"{RETRIES[0]}")


def mailing(project: Path, database: str, count: int, relay_port: int, handler) -> None:
    store = open_store(database_url(database, project))
    people = [Recipient(f"lecteur{n:06d}@exemple.fr", f"Lecteur {n}", n + 2)
              for n in range(count)]
    store.import_rows(people, "banc d’essai")
    store.close()
    (project / "liste.csv").write_text(
        "email;nom\n" + "".join(f"{p.email};{p.name}\n" for p in people), encoding="utf-8")
    timings = {}
    for mode in (["--subscribers"], ["--list", "liste.csv"]):
        before = len(handler.received)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "flash", "send", "195", *mode],
                              cwd=project, env=env_for(database), capture_output=True,
                              text=True)
        took = time.perf_counter() - start
        got = len(handler.received) - before
        timings[mode[0]] = got / took
        print(f"flash send 195 {' '.join(mode)}: {got} messages in {took:.1f} s = "
              f"{got / took:.1f} messages/s (exit {done.returncode})")
    print(f"ratio --subscribers / --list: {timings['--subscribers'] / timings['--list']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--signups", type=int, default=1000)
    parser.add_argument("--mailing", type=int, default=10_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="flash-subs-bench-"))
    with ExitStack() as stack:
        database = (stack.enter_context(postgresql()) if args.postgresql
                    else f"sqlite:///{root / 'abonnes.sqlite'}")
        handler, relay_port = stack.enter_context(smtp_server())
        project = write_project(root / "projet", free_port(), free_port(), relay_port)
        # A thousand sign-ups from one client: the rate limits raised for the run.
        text = (project / "pyproject.toml").read_text(encoding="utf-8").replace(
            "[tool.flash]\n", "[tool.flash]\nsignups_per_client = 1000000\n"
            "signups_per_address = 1000000\n", 1)
        (project / "pyproject.toml").write_text(text, encoding="utf-8")
        url_port = int(re.search(r'subscribers_url = "http://127.0.0.1:(\d+)"', text).group(1))
        print(f"database: {'PostgreSQL' if args.postgresql else 'SQLite (WAL)'}")
        with service(project, database, url_port) as url:
            load(project, database, url, handler, args.signups)
        handler.received.clear()
        if args.mailing:
            mailing(project, database, args.mailing, relay_port, handler)


if __name__ == "__main__":
    main()
