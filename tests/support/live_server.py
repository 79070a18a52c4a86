"""Real `worksync` processes (serve, projector) on loopback, for tests that need them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.databases import files_folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worksync(
    database_url: str, *args: str, stderr: Any = subprocess.DEVNULL, **env: str
) -> subprocess.Popen:
    """Start a `worksync` command (serve, projector...) against a database (``stderr``: where
    its logs go, e.g. an open file)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "FILES_DIR": files_folder(),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from interfaces.cli import main; main()", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def wait_healthy(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


@contextmanager
def live_server(
    database_url: str, *extra_args: str, stderr: Any = subprocess.DEVNULL, **env: str
) -> Iterator[str]:
    """Serve on a free port with the projector in-process; yields the base URL."""
    port = free_port()
    process = worksync(
        database_url,
        "serve",
        "--port",
        str(port),
        "--with-projector",
        *extra_args,
        stderr=stderr,
        **env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
