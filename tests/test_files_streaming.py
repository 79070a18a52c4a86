"""A large file through a real `worksync serve` on loopback: the upload streams (sent chunked,
without a Content-Length) and the download streams, so the server's peak memory (VmHWM, the
kernel's high-water mark of its resident set) stays flat, far below the file's size."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.files import PNG
from tests.support.live_server import live_server

SIZE = 48 * 1024 * 1024
CHUNK = 256 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set (bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def server_pid(port: str) -> int:
    for child in psutil.Process().children(recursive=True):
        if "serve" in child.cmdline() and port in child.cmdline():
            return child.pid
    raise AssertionError("no server process")


def body(boundary: str, digest: hashlib._Hash) -> Iterator[bytes]:
    """A multipart body generated as it is sent: never whole in this process either."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    sent = 0
    block = os.urandom(CHUNK)
    while sent < SIZE:
        piece = PNG if sent == 0 else block
        digest.update(piece)
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.slow
def test_a_large_upload_and_download_keep_the_server_s_memory_flat(fresh_database_url):
    with live_server(fresh_database_url) as base:
        pid = server_pid(base.rsplit(":", 1)[1])
        with httpx.Client(base_url=f"{base}/api/v1", timeout=120) as client:
            user = client.post(
                "/auth/register",
                json={"email": "big@example.com", "password": "password123", "name": "Big"},
            ).json()
            headers = {"Authorization": f"Bearer {user['access_token']}"}
            workspace = client.post("/workspaces", json={"name": "W"}, headers=headers).json()
            # warm up (first request paths, pools, imports), then measure from there
            small = client.post(
                f"/files/upload?workspace_id={workspace['id']}",
                files={"file": ("s.png", PNG, "image/png")},
                headers=headers,
            )
            assert small.status_code == 201, small.text
            client.get(f"/files/{small.json()['id']}?download=true", headers=headers)
            before = peak_rss(pid)

            digest = hashlib.sha256()
            answer = client.post(
                f"/files/upload?workspace_id={workspace['id']}",
                content=body("worksync-boundary", digest),
                headers={
                    **headers,
                    "Content-Type": "multipart/form-data; boundary=worksync-boundary",
                },
            )
            assert answer.status_code == 201, answer.text
            file = answer.json()
            assert file["checksum"] == digest.hexdigest()
            after_upload = peak_rss(pid)

            received = hashlib.sha256()
            size = 0
            with client.stream(
                "GET", f"/files/{file['id']}?download=true", headers=headers
            ) as download:
                assert download.status_code == 200
                for chunk in download.iter_raw():
                    received.update(chunk)
                    size += len(chunk)
            assert (size, received.hexdigest()) == (file["file_size"], file["checksum"])
            after_download = peak_rss(pid)

    grown = max(after_upload, after_download) - before
    print(f"peak RSS grew {grown / 2**20:.1f} MiB for a {file['file_size'] / 2**20:.0f} MiB file")
    assert grown < 16 * 1024 * 1024
