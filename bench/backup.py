"""WorkSync backup/restore benchmark: `worksync backup` of a generated log, then `worksync
restore` of it into an empty database (verify, migrate, load, rebuild every projection).

Run with `.venv/bin/python bench/backup.py` (or `BENCH_ONLY=backup make bench`). Steps:

1. setup, not measured: a database `worksync_bench_backup`, migrated, with
   BENCH_BACKUP_EVENTS real domain events of every context (bench/rebuild.py's generator);
2. measured: `worksync backup DIR` in a child process (wall time, bytes written);
3. measured: `worksync restore DIR` into the empty database `worksync_bench_restore`
   (wall time; it includes the rebuild of every projection, `--jobs` BENCH_BACKUP_JOBS);
4. checks: every projection at the restored head and running, and the generated row counts;
5. drops both databases (also on failure).

`throughput` is events backed up per second; `restore_events_per_second` events restored
(loaded and rebuilt) per second. There are no per-request latencies: `p50_ms` and `p99_ms`
are the backup and the restore wall times in milliseconds.

Environment (all optional):
  BENCH_BACKUP_EVENTS   events to generate (200000)
  BENCH_BACKUP_JOBS     restore --jobs (2)
  BENCH_ADMIN_URL       maintenance database (postgresql://postgres@127.0.0.1:5432/postgres)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from lib import drop_database, log, recreate_database
from rebuild import WORKSYNC, check, load_events


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        log(f"{' '.join(argv[1:2])} exited with {done.returncode}:\n{done.stderr[-4000:]}")
    return seconds, done


def main() -> int:
    target = int(os.environ.get("BENCH_BACKUP_EVENTS") or 200_000)
    jobs = os.environ.get("BENCH_BACKUP_JOBS") or "2"
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    source_db, target_db = "worksync_bench_backup", "worksync_bench_restore"
    source = psycopg.conninfo.make_conninfo(admin_url, dbname=source_db)
    restored = psycopg.conninfo.make_conninfo(admin_url, dbname=target_db)
    base = {**os.environ, "LOG_LEVEL": "warning", "APP_ENV": "development"}
    problems: list[str] = []
    try:
        recreate_database(admin_url, source_db)
        recreate_database(admin_url, target_db)
        env = {**base, "DATABASE_URL": source}
        subprocess.run([WORKSYNC, "migrate"], env=env, check=True, capture_output=True)
        expected, _topics, events = load_events(source, target, 2)
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "backup")
            log(f"backing up {events:,} events")
            backup_seconds, backup = timed([WORKSYNC, "backup", path], env)
            size = (
                sum(f.stat().st_size for f in Path(path).iterdir()) if backup.returncode == 0 else 0
            )
            log(f"restoring into {target_db}")
            restore_env = {**base, "DATABASE_URL": restored}
            restore_seconds, restore = timed(
                [WORKSYNC, "restore", path, "--jobs", jobs], restore_env
            )
        problems = check(restored, expected)
        for problem in problems:
            log(f"check failed: {problem}")
    finally:
        drop_database(admin_url, source_db)
        drop_database(admin_url, target_db)
    result = {
        "name": "backup",
        "throughput": round(events / backup_seconds, 1),
        "p50_ms": round(backup_seconds * 1000, 1),
        "p99_ms": round(restore_seconds * 1000, 1),
        "errors": (backup.returncode != 0) + (restore.returncode != 0) + len(problems),
        "events": events,
        "backup_seconds": round(backup_seconds, 2),
        "backup_mb": round(size / 1e6, 1),
        "restore_seconds": round(restore_seconds, 2),
        "restore_events_per_second": round(events / restore_seconds, 1),
    }
    print(json.dumps(result), flush=True)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
