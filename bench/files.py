"""WorkSync files benchmark: uploads and downloads against the local store, through a real
`worksync serve` (2 workers, no projector) and a `worksync projector`, load from this process
(httpx, asyncio) on loopback.

Run with `.venv/bin/python bench/files.py` (or `BENCH_ONLY=files` in bench/run.py). Steps:

1. drop and re-create the database `worksync_bench_files`, run `worksync migrate`; a
   temporary FILES_DIR;
2. setup, not measured: one user, one workspace; the payloads are random bytes behind a PNG
   signature (so they are sniffed as image/png, and nothing compresses them);
3. measured, one after the other:
   - `files_upload_1mb`, `files_download_1mb`: 1 MiB files, `BENCH_FILES_CONCURRENCY` (4)
     requests at a time, for `BENCH_SECONDS` (10) each;
   - `files_upload_50mb`, `files_download_50mb`: 50 MB files (50,000,000 bytes, under the
     50 MiB limit), 2 at a time, `BENCH_FILES_LARGE` (6) requests each;
   - `files_upload_small`, `files_download_small`: 10 KiB files, 8 at a time, for
     `BENCH_SECONDS` each: requests/s and the p99;
4. stops the processes, drops the database, removes the folder.

Each line: `throughput` (MB/s of file bytes, 1 MB = 10^6 bytes; requests/s for the small
files), `requests_per_s`, `p50_ms`, `p99_ms` (whole request), `errors` (non-2xx or failed
downloads, and downloads whose SHA-256 is not the upload's), and `api_peak_rss_mb` (the
largest VmHWM among the API worker processes after the run: the files never sit whole in
their memory).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lib import Service, drop_database, free_port, log, recreate_database, wait_for_health

WORKSYNC = str(Path(sys.executable).parent / "worksync")
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("BENCH_FILES_DB", "worksync_bench_files")
SECONDS = float(os.environ.get("BENCH_SECONDS") or 10)
CONCURRENCY = int(os.environ.get("BENCH_FILES_CONCURRENCY") or 4)
LARGE = int(os.environ.get("BENCH_FILES_LARGE") or 6)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
MB = 1_000_000


def payload(size: int) -> bytes:
    return PNG + os.urandom(size - len(PNG))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def peak_rss_mb(server: Service) -> float:
    peaks = []
    for process in server.processes()[1:]:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return round(max(peaks, default=0.0), 1)


class Load:
    def __init__(self, base: str, token: str, workspace_id: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=f"{base}/api/v1",
            headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
            timeout=300,
            limits=httpx.Limits(max_connections=16),
        )
        self.workspace_id = workspace_id

    async def upload(self, content: bytes) -> tuple[bool, str | None]:
        answer = await self.client.post(
            f"/files/upload?workspace_id={self.workspace_id}",
            files={"file": ("bench.png", content, "image/png")},
        )
        return answer.status_code == 201, answer.json()["id"] if answer.status_code == 201 else None

    async def download(self, file_id: str, checksum: str) -> tuple[bool, None]:
        digest = hashlib.sha256()
        async with self.client.stream("GET", f"/files/{file_id}?download=true") as answer:
            async for chunk in answer.aiter_raw():
                digest.update(chunk)
            return answer.status_code == 200 and digest.hexdigest() == checksum, None

    async def run(self, name: str, make, size: int, *, concurrency: int, seconds=None, count=None):
        """Calls of ``make()`` (a coroutine) ``concurrency`` at a time, for ``seconds`` or
        ``count`` calls; returns the benchmark's line."""
        latencies: list[float] = []
        errors = 0
        done = 0
        started = time.perf_counter()
        deadline = started + seconds if seconds else None

        async def worker() -> None:
            nonlocal errors, done
            while True:
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                if count is not None:
                    if done >= count:
                        return
                    done += 1
                t0 = time.perf_counter()
                try:
                    ok, _ = await make()
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        n = len(latencies)
        line = {
            "name": name,
            "throughput": round((n - errors) * size / MB / elapsed, 1),
            "unit": "MB/s",
            "requests_per_s": round(n / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1) if n else None,
            "p99_ms": round(percentile(latencies, 99), 1) if n else None,
            "errors": errors,
            "requests": n,
            "file_bytes": size,
            "concurrency": concurrency,
            "duration_s": round(elapsed, 2),
        }
        return line


async def measure(base: str, token: str, workspace_id: str, server: Service) -> list[dict]:
    load = Load(base, token, workspace_id)
    lines = []
    try:
        for label, size, concurrency, seconds, count in (
            ("1mb", 1024 * 1024, CONCURRENCY, SECONDS, None),
            ("50mb", 50 * MB, 2, None, LARGE),
            ("small", 10 * 1024, 8, SECONDS, None),
        ):
            content = payload(size)
            checksum = hashlib.sha256(content).hexdigest()
            ok, file_id = await load.upload(content)  # warm-up, and the file downloaded
            if not ok:
                raise RuntimeError(f"the {label} upload failed")
            for kind in ("upload", "download"):
                log(f"files_{kind}_{label}: {size} bytes, {concurrency} at a time")

                def make(kind=kind, content=content, file_id=file_id, checksum=checksum):
                    if kind == "upload":
                        return load.upload(content)
                    return load.download(file_id, checksum)

                line = await load.run(
                    f"files_{kind}_{label}",
                    make,
                    size,
                    concurrency=concurrency,
                    seconds=seconds,
                    count=count,
                )
                if label == "small":
                    line["throughput"], line["unit"] = line["requests_per_s"], "requests/s"
                line["api_peak_rss_mb"] = peak_rss_mb(server)
                lines.append(line)
                print(json.dumps(line), flush=True)
    finally:
        await load.client.aclose()
    return lines


def main() -> int:
    recreate_database(ADMIN_URL, DB)
    folder = tempfile.mkdtemp(prefix="worksync-bench-files-")
    logs = Path(tempfile.mkdtemp(prefix="worksync-bench-files-logs-"))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FILES_DIR": folder,
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "PORT": str(port),
    }
    services = [
        Service(
            "server",
            [
                WORKSYNC,
                "serve",
                "--workers",
                "2",
                "--no-projector",
                "--migrate",
                "--port",
                str(port),
            ],
            env,
            logs / "server.log",
        ),
        Service("projector", [WORKSYNC, "projector"], env, logs / "projector.log"),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        services[0].start()
        wait_for_health(base, services[:1])
        services[1].start()
        user = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": "files@example.com", "password": "bench-password-123", "name": "F"},
            timeout=30,
        ).json()
        token = user["access_token"]
        workspace = httpx.post(
            f"{base}/api/v1/workspaces",
            json={"name": "Files"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        asyncio.run(measure(base, token, workspace["id"], services[0]))
    finally:
        for service in services:
            service.stop()
        drop_database(ADMIN_URL, DB)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
