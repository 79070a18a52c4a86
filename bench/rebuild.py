"""WorkSync rebuild benchmark: replay a generated log of 1,000,000 real domain events into
every projection with `worksync projections rebuild --all`, as an operator would.

Run with `.venv/bin/python bench/rebuild.py`. Steps:

1. drop and re-create the database `worksync_bench_rebuild`, run `worksync migrate`;
2. setup, not measured: generate the events with the real aggregates of every context (see
   sample_log/world.py, sample_log/mix.py; two processes, each its own users and
   workspaces, their COPY chunks interleaved in the log), encode them with the application's mapper
   (personal fields encrypted with each user's key, stored in user_keys) and COPY them into
   `worksync_events` in log order; then VACUUM ANALYZE and CHECKPOINT, so the measured run
   neither sets hint bits on the fresh rows nor meets the load's checkpoint;
3. measured: `worksync projections rebuild --all --json` in a child process; wall time from
   spawn to exit (interpreter start, imports and the final swap included), its peak RSS
   (the child's own rusage), and the per-batch and per-projection figures the command
   prints;
4. checks: every projection `running` (live, not failed or paused) at the log head, and row
   counts of users, workspaces, projects, boards, cards and tasks equal to what was generated;
5. drops the database (also on failure).

`throughput` is events in the log divided by the wall seconds of the command: each event is
read once and applied to every projection that handles it (all nine rebuilt in one pass);
`p50_ms`/`p99_ms` are the wall times of the command's replay batches (read, decode, apply to
all projections, commit; `BENCH_REBUILD_BATCH` events each). `errors`: 1 if the command
failed, plus the number of failed checks.

Environment (all optional):
  BENCH_REBUILD_EVENTS  events to generate (1000000)
  BENCH_REBUILD_BATCH   --batch-size of the rebuild (the command's default)
  BENCH_REBUILD_JOBS    generator processes (2); each makes a world of its own
  BENCH_REBUILD_DB      database created and dropped (worksync_bench_rebuild)
  BENCH_ADMIN_URL       maintenance database (postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_PROFILE         a directory: run the command under `py-spy record` (raw stacks kept
                        there as rebuild.txt; py-spy slows it: do not quote those figures)
  BENCH_SECONDS         ignored: a rebuild of a fixed log has no duration to set; shorten it
                        with BENCH_REBUILD_EVENTS
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psycopg
from lib import drop_database, log, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interfaces.bootstrap import open_event_store  # noqa: E402
from projections import control  # noqa: E402
from projections.registry import all_projections  # noqa: E402
from sample_log import generate  # noqa: E402

WORKSYNC = str(Path(sys.executable).parent / "worksync")
COPY_SQL = (
    "COPY worksync_events (originator_id, originator_version, topic, state)"
    " FROM STDIN (FORMAT BINARY)"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def generate_part(url: str, target: int, part: int) -> tuple[dict, dict, int]:
    """One generator process: its own world, store (keys) and COPY connection."""
    store = open_event_store(url, pool_size=1)
    written = 0
    with psycopg.connect(url, autocommit=True) as conn:

        def sink(rows: list[tuple]) -> None:
            nonlocal written
            with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for row in rows:
                    copy.write_row(row)
            written += len(rows)

        def progress(message: str) -> None:
            log(f"[{part}] {message}")

        expected, topics = generate(store.mapper, target, sink, store.keys.destroy, progress, part)
    store.close()
    return expected, topics, written


def load_events(url: str, target: int, jobs: int) -> tuple[dict[str, int], dict[str, int], int]:
    """Generate and COPY the log with ``jobs`` processes (disjoint worlds, each appending in
    its own order; their chunks interleave); return (expected rows, events per topic,
    events)."""
    expected: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    written = 0
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = [pool.submit(generate_part, url, target // jobs, i) for i in range(jobs)]
        for done in parts:
            part_expected, part_topics, part_written = done.result()
            expected.update(part_expected)
            topics.update(part_topics)
            written += part_written
    log(f"generated {written:,} events; VACUUM ANALYZE, CHECKPOINT")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) worksync_events")
        conn.execute("CHECKPOINT")
    return dict(expected), dict(topics), written


def run_rebuild(env: dict[str, str], batch: str | None, profile: Path | None) -> dict:
    argv = [WORKSYNC, "projections", "rebuild", "--all", "--json"]
    if batch:
        argv += ["--batch-size", batch]
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        out = str(profile / "rebuild.txt")
        argv = [spy, "record", "--subprocesses", "-r", "100", "-f", "raw", "-o", out, "--", *argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        log(f"rebuild exited with {proc.returncode}:\n{stderr[-4000:]}")
    reports = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {
        "returncode": proc.returncode,
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "reports": reports,
    }


def check(url: str, expected: dict[str, int]) -> list[str]:
    problems = []
    names = [p.name for p in all_projections()]
    for s in control.status(url, names):
        if s.state != "running" or s.position != s.head or s.error:
            problems.append(f"{s.name}: state {s.state} at {s.position}/{s.head} {s.error or ''}")
    with psycopg.connect(url) as conn:
        for table, count in expected.items():
            found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if found != count:
                problems.append(f"{table}: {found} rows, expected {count}")
    return problems


def main() -> int:
    target = int(os.environ.get("BENCH_REBUILD_EVENTS") or 1_000_000)
    batch = os.environ.get("BENCH_REBUILD_BATCH") or None
    jobs = int(os.environ.get("BENCH_REBUILD_JOBS") or 2)
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = os.environ.get("BENCH_REBUILD_DB", "worksync_bench_rebuild")
    profile = Path(os.environ["BENCH_PROFILE"]) if os.environ.get("BENCH_PROFILE") else None
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=db_name)
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning", "APP_ENV": "development"}
    try:
        log(f"database {db_name}: drop if exists, create, migrate")
        recreate_database(admin_url, db_name)
        migrated = subprocess.run([WORKSYNC, "migrate"], env=env, capture_output=True, text=True)
        if migrated.returncode != 0:
            raise RuntimeError(f"worksync migrate failed:\n{migrated.stdout}{migrated.stderr}")
        started = time.perf_counter()
        expected, topics, events = load_events(url, target, jobs)
        generate_seconds = time.perf_counter() - started
        log(f"setup took {generate_seconds:.1f} s; rebuilding every projection")
        run = run_rebuild(env, batch, profile)
        problems = check(url, expected)
        for problem in problems:
            log(f"check failed: {problem}")
    finally:
        drop_database(admin_url, db_name)
    # One pass for all projections: every report carries the same batches.
    batches = run["reports"][0]["batch_ms"] if run["reports"] else []
    result = {
        "name": "rebuild",
        "throughput": round(events / run["seconds"], 1),
        "p50_ms": round(percentile(batches, 0.5), 2),
        "p99_ms": round(percentile(batches, 0.99), 2),
        "errors": (run["returncode"] != 0) + len(problems),
        "events": events,
        "seconds": round(run["seconds"], 2),
        "peak_rss_mb": round(run["peak_rss_mb"], 1),
        "cpu_seconds": round(run["cpu_seconds"], 2),
        "generate_seconds": round(generate_seconds, 1),
        "batches": len(batches),
        "apply_seconds": {r["name"]: r["apply_seconds"] for r in run["reports"]},
        "expected_rows": expected,
        "problems": problems,
        "profiled": profile is not None,
        "topics": dict(sorted(topics.items(), key=lambda kv: -kv[1])),
    }
    log(f"{events:,} events in {run['seconds']:.1f} s: {result['throughput']:,.0f} events/s")
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
