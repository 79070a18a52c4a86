"""A PostgreSQL primary and a streaming read replica of its own, on loopback ports, for the
scale-out tests: ``initdb`` + ``pg_ctl`` for the primary, ``pg_basebackup -R`` for the hot
standby, run as the ``postgres`` OS user when the tests run as root (the server refuses
root). Data directories in a temporary folder, removed afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.live_server import free_port


def postgres_bin() -> Path | None:
    """The newest server installation's bin folder (Debian/Ubuntu layout), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4])
    )
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """Why a replica cannot be started here, or None."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to switch to the postgres user"
    return None


@dataclass
class Cluster:
    primary_url: str
    replica_url: str
    replica_dir: Path


def _run(*args: str | Path) -> str:
    command = [str(a) for a in args]
    if os.geteuid() == 0:  # the server refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def _wait_connectable(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def primary_and_replica(dbname: str = "worksync") -> Iterator[Cluster]:
    """Start a primary (with ``dbname`` created) and a hot standby streaming from it."""
    bin_dir = postgres_bin()
    assert bin_dir is not None, unavailable_reason()
    root = Path(tempfile.mkdtemp(prefix="worksync-replica-"))
    primary, replica = root / "primary", root / "replica"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o700)
    primary_port, replica_port = free_port(), free_port()
    started: list[Path] = []
    try:
        _run(bin_dir / "initdb", "-D", primary, "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-p {primary_port} -k {root} -c listen_addresses=127.0.0.1"
        options += " -c wal_level=replica -c max_wal_senders=4 -c fsync=off"
        _run(bin_dir / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-o", options,
             "-w", "start")  # fmt: skip
        started.append(primary)
        admin = f"postgresql://postgres@127.0.0.1:{primary_port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        _run(bin_dir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U",
             "postgres", "-D", replica, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")  # fmt: skip
        options = f"-p {replica_port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c hot_standby=on"
        _run(bin_dir / "pg_ctl", "-D", replica, "-l", root / "replica.log", "-o", options,
             "-w", "start")  # fmt: skip
        started.append(replica)
        cluster = Cluster(
            primary_url=f"postgresql://postgres@127.0.0.1:{primary_port}/{dbname}",
            replica_url=f"postgresql://postgres@127.0.0.1:{replica_port}/{dbname}",
            replica_dir=replica,
        )
        _wait_connectable(cluster.replica_url)
        yield cluster
    finally:
        for data in reversed(started):
            with suppress(RuntimeError):
                _run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
