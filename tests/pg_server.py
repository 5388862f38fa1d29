"""A throw-away PostgreSQL server on 127.0.0.1 for the tests and benchmarks: Debian's
binaries, a cluster in a temporary folder, stopped when the block ends (`tests/run` installs
the `postgresql` package when missing)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_owner(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: root runs them as the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgresql() -> Iterator[str]:
    """Yields the URL of a fresh database `flash` owned by user `flash` (password `flash`)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="flash-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                                  "--auth=trust", "-E", "UTF8"]),
                       check=True, capture_output=True, env=env)
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories="
                   f"{folder} -c max_connections=200 -c fsync=off")
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l",
                                  str(folder / "log"), "-o", options, "start"]),
                       check=True, capture_output=True, env=env)
        psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q", "-c"]
        subprocess.run([*psql, "CREATE USER flash PASSWORD 'flash'"], check=True,
                       capture_output=True, env=env)
        subprocess.run([*psql, "CREATE DATABASE flash OWNER flash"], check=True,
                       capture_output=True, env=env)
        yield f"postgresql://flash:flash@127.0.0.1:{port}/flash"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                      "stop"]), capture_output=True, env=env)
        shutil.rmtree(folder, ignore_errors=True)
