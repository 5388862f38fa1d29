"""Mailing speed: one issue sent to N recipients through a local SMTP server (aiosmtpd).

    python bench/send_bench.py [--source issues] [--number 195] [--recipients 1000] [--rate 0]

The server runs in a child process, so the memory figure is the sender's alone. Each message
is personalised (To, unsubscribe token, Message-ID), journaled in SQLite (synchronous=FULL:
two fsync'd commits per message) and counted on the server side. Prints messages per second
and peak memory; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _serve(port: int, ready: multiprocessing.synchronize.Event,  # type: ignore[name-defined]
           stop: multiprocessing.synchronize.Event,  # type: ignore[name-defined]
           count: multiprocessing.sharedctypes.Synchronized) -> None:  # type: ignore[name-defined]
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope) -> str:
            with count.get_lock():
                count.value += len(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=ROOT / "issues")
    parser.add_argument("--number", type=int, default=195)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s, 0: no limit")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report the peak of Python allocations (slower)")
    args = parser.parse_args()

    from flash.mail.campaign import prepare, run
    from flash.settings import Settings, SmtpSettings

    port = free_port()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    count = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=_serve, args=(port, ready, stop, count), daemon=True)
    server.start()
    if not ready.wait(30):
        sys.exit("the SMTP server did not start")
    os.environ.setdefault("FLASH_UNSUBSCRIBE_SECRET", "bench")
    settings = Settings(base_url="https://flash.example.org", root=ROOT,
                        email_from="Flash initiatives locales <flash@exemple.org>",
                        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none",
                                          rate=args.rate))
    try:
        with tempfile.TemporaryDirectory() as folder:
            listing = Path(folder) / "abonnes.csv"
            listing.write_text("email,name\n" + "".join(
                f"abonne{n:05d}@exemple.fr,Abonné {n}\n" for n in range(args.recipients)),
                encoding="utf-8")
            if args.tracemalloc:
                tracemalloc.start()
            start = time.perf_counter()
            campaign = prepare(args.source, args.number, settings, list_path=listing)
            prepared = time.perf_counter()
            outcome = run(campaign)
            done = time.perf_counter()
            traced = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
            journal = campaign.journal.stat().st_size if campaign.journal else 0
    finally:
        stop.set()
        server.join(10)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes
    sending = done - prepared
    composed = campaign.composed
    print(f"issue N°{args.number}: {composed.mode} articles, email.html "
          f"{composed.html_bytes / 1024:.1f} KB")
    print(f"recipients: {args.recipients}, sent: {outcome.sent_now}, "
          f"received by the server: {count.value}, failed: {len(outcome.failed)}")
    print(f"prepare (load content, compose, read list): {prepared - start:.2f} s")
    print(f"send: {sending:.2f} s, {outcome.sent_now / sending:.0f} messages/s")
    print(f"peak memory (sender process, max RSS): {peak_kb / 1024:.0f} MB")
    if traced is not None:
        print(f"peak Python allocations (tracemalloc): {traced / 1024 / 1024:.1f} MB")
    print(f"journal: {journal / 1024:.0f} KB")


if __name__ == "__main__":
    main()
