"""WorkSync HTTP benchmark: create-workspace commands and workspace reads, measured with wrk.

Run with `make bench` or `.venv/bin/python bench/run.py`. It creates a fresh PostgreSQL
database, migrates it, starts the production topology (`worksync serve --workers 2
--no-projector` plus one `worksync projector`), registers users and creates one workspace
each (setup, not measured), then runs wrk twice: 100% POST /api/v1/workspaces
("workspace_create") and 100% GET /api/v1/workspaces/{id} ("workspace_read").
Progress and wrk's own report go to stderr; the last line of stdout is one JSON object.

Environment (all optional):
  BENCH_SECONDS      seconds per wrk run (10)
  BENCH_USERS        users registered in setup (50)
  BENCH_CONNECTIONS  wrk connections (32)
  BENCH_THREADS      wrk threads (2)
  BENCH_WORKERS      API worker processes (2)
  BENCH_ADMIN_URL    PostgreSQL maintenance database (postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_DB           database created and dropped by the run (worksync_bench)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from lib import (
    CpuMeter,
    Service,
    create_users,
    drop_database,
    free_port,
    log,
    postgres_processes,
    projection_status,
    recreate_database,
    server_version,
    wait_for_health,
    write_lua_data,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
WORKSYNC = str(Path(sys.executable).parent / "worksync")
BCRYPT_ROUNDS = 4  # setup only registers users; production refuses anything below 12
MODES = ("create", "read")
NOISE_CORES = 0.25  # CPU used by unrelated processes above which a run is flagged "noisy"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent neither idle nor waiting for I/O (every process)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def run_wrk(
    base_url: str, mode: str, data_file: Path, seconds: int, threads: int, connections: int
) -> tuple[dict, str]:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",  # a command may wait up to PROJECTION_WAIT_TIMEOUT (5s) for its projection
        "--latency",
        "-s",
        str(BENCH_DIR / "workspaces.lua"),
        base_url,
        "--",
        mode,
        str(data_file),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    result = None
    report = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
        else:
            report.append(line)
    if result is None:
        raise RuntimeError(f"wrk printed no JSON line:\n{proc.stdout}\n{proc.stderr}")
    return result, "\n".join(report)


def main() -> int:
    if shutil.which("wrk") is None:
        log("wrk is not installed: apt-get install -y wrk   (`make bench` installs it)")
        return 2

    seconds = env_int("BENCH_SECONDS", 10)
    n_users = env_int("BENCH_USERS", 50)
    connections = env_int("BENCH_CONNECTIONS", 32)
    threads = env_int("BENCH_THREADS", 2)
    workers = env_int("BENCH_WORKERS", 2)
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = os.environ.get("BENCH_DB", "worksync_bench")
    database_url = admin_url.rsplit("/", 1)[0] + "/" + db_name

    tmp = Path(tempfile.mkdtemp(prefix="worksync-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BCRYPT_ROUNDS": str(BCRYPT_ROUNDS),
        "LOG_LEVEL": "warning",
        "APP_ENV": "development",
        # A few users send thousands of requests each: per-user limits would answer 429.
        "RATE_LIMIT_ENABLED": "false",
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    projector = Service("projector", [WORKSYNC, "projector"], env, tmp / "projector.log")
    server = Service(
        "server",
        [
            WORKSYNC,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-projector",
        ],
        env,
        tmp / "server.log",
    )
    services = [projector, server]
    benchmarks = []
    db_created = False
    try:
        log(f"database {db_name}: drop if exists, create, migrate")
        recreate_database(admin_url, db_name)
        db_created = True
        migrated = subprocess.run(
            [WORKSYNC, "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"worksync migrate failed:\n{migrated.stdout}{migrated.stderr}")

        log(f"starting projector and server ({workers} workers) on {base_url}")
        for service in services:
            service.start()
        wait_for_health(base_url, services)

        log(
            f"setup (not measured): {n_users} users, one workspace each; "
            f"BCRYPT_ROUNDS={BCRYPT_ROUNDS} for the bench setup only"
        )
        started = time.monotonic()
        users = create_users(base_url, n_users)
        data_file = tmp / "users.lua"
        write_lua_data(users, data_file)
        log(f"setup took {time.monotonic() - started:.1f}s")

        meter = CpuMeter(
            {
                "api": server.processes,
                "projector": projector.processes,
                "postgres": postgres_processes,
            }
        )
        for mode in MODES:
            log(f"wrk: workspace_{mode}, -t{threads} -c{connections} -d{seconds}s")
            meter.start()
            wrk_before = children_cpu_seconds()
            machine_before = machine_busy_seconds()
            result, report = run_wrk(base_url, mode, data_file, seconds, threads, connections)
            cpu = meter.stop()
            cpu["wrk"] = children_cpu_seconds() - wrk_before
            cpu["machine"] = machine_busy_seconds() - machine_before  # includes all of the above
            # Busy time none of the above explains: other load on the machine, i.e. noise.
            cpu["other"] = max(
                0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine")
            )
            duration = result["duration_s"]
            result["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}
            # Share of one core each group kept busy (2.0 = two whole cores).
            result["cpu_cores_busy"] = {k: round(v / duration, 2) for k, v in cpu.items()}
            if mode == "create":
                status = projection_status(base_url)
                result["projection_max_lag_after"] = status.get("max_lag")
            if result["cpu_cores_busy"]["other"] > NOISE_CORES:
                result["noisy"] = True
                log(
                    f"WARNING: other processes kept {result['cpu_cores_busy']['other']} cores "
                    "busy during this run; its figures are not comparable"
                )
            print(report, file=sys.stderr, flush=True)
            log(json.dumps(result))
            if result["errors"]:
                log(f"{result['errors']} errors in workspace_{mode}; server log tail:")
                print(server.log_tail(), file=sys.stderr)
                print(projector.log_tail(), file=sys.stderr)
            for service in services:
                if not service.alive():
                    raise RuntimeError(f"{service.name} died:\n{service.log_tail()}")
            benchmarks.append(result)

        machine = {
            "cores": psutil.cpu_count(logical=True),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": server_version(admin_url),
        }
    finally:
        for service in reversed(services):
            service.stop()
        if db_created:
            try:
                drop_database(admin_url, db_name)
            except Exception as e:
                log(f"could not drop {db_name}: {e}")
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {
        "benchmarks": benchmarks,
        "machine": machine,
        "seconds": seconds,
        "config": {
            "topology": f"{workers} API workers + 1 projector, wrk on loopback",
            "wrk": f"-t{threads} -c{connections} --timeout 10s",
            "users": n_users,
            "bcrypt_rounds": BCRYPT_ROUNDS,
            "bcrypt_note": "BCRYPT_ROUNDS=4 for the bench setup only (registration is not measured)",
            "rate_limit_enabled": False,
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log(f"FAILED: {e}")
        sys.exit(1)
