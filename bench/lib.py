"""Helpers for bench/run.py: the bench database, the server processes, CPU accounting,
PostgreSQL wait sampling, py-spy profiles, and the (unmeasured) setup."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil
import psycopg
from psycopg import sql


def log(message: str) -> None:
    """Progress goes to stderr; stdout ends with the one JSON result line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def event_log_counters(database_url: str) -> tuple[int, int]:
    """(last value of the notification id sequence, rows in the events table).

    An append that loses a version clash (another writer saved the aggregate first) has
    already drawn its notification id when its insert fails: between two readings, the
    sequence's advance minus the rows added counts the failed appends.
    """
    with psycopg.connect(database_url) as conn:
        seq = conn.execute("SELECT last_value FROM worksync_events_notification_id_seq").fetchone()[
            0
        ]
        rows = conn.execute("SELECT count(*) FROM worksync_events").fetchone()[0]
        return int(seq), int(rows)


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])


# --- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """A subprocess in its own process group (so uvicorn's workers go down with it)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        """The service's process and all its descendants (uvicorn workers)."""
        if not self.alive():
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is our child's pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout:.0f}s; killing it")
        # The group may outlive its leader (e.g. a worker still shutting down).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self._log:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_for_health(base_url: str, services: Iterable[Service], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for service in services:
            if not service.alive():
                raise RuntimeError(
                    f"{service.name} exited with {service.proc.returncode}:\n{service.log_tail()}"
                )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/health did not answer 200 within {timeout:.0f}s")


# --- CPU accounting ---------------------------------------------------------------------


def _cpu_seconds(processes: Iterable[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
    return out


def postgres_processes() -> list[psutil.Process]:
    """Every PostgreSQL server process on this machine (the bench shares the server)."""
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postmaster"):
            found.append(p)
    return found


class CpuMeter:
    """CPU seconds used by each group of processes between start() and stop().

    Processes are looked up at both ends; one that appears in between (a new PostgreSQL
    backend) is counted from zero, one that exits in between is lost (rare here: the pools
    keep their connections).
    """

    def __init__(self, groups: dict[str, Callable[[], Iterable[psutil.Process]]]) -> None:
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._before = {name: _cpu_seconds(find()) for name, find in self.groups.items()}

    def stop(self) -> dict[str, float]:
        used = {}
        for name, find in self.groups.items():
            after = _cpu_seconds(find())
            before = self._before.get(name, {})
            used[name] = sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())
        return used


# --- setup (not measured) ---------------------------------------------------------------


@dataclass
class BenchUser:
    token: str
    user_id: str
    workspace_ids: list[str]


def create_users(base_url: str, count: int, workspaces_each: int = 1) -> list[BenchUser]:
    users = []
    stamp = int(time.time())
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(count):
            r = client.post(
                "/api/v1/auth/register",
                json={
                    "email": f"bench-{stamp}-{i}@example.com",
                    "password": "bench-password-123",
                    "name": f"Bench User {i}",
                },
            )
            if r.status_code != 201:
                raise RuntimeError(f"register answered {r.status_code}: {r.text}")
            token = r.json()["access_token"]
            user_id = r.json()["user"]["id"]
            headers = {"Authorization": f"Bearer {token}"}
            ids = []
            for j in range(workspaces_each):
                r = client.post(
                    "/api/v1/workspaces", json={"name": f"Setup {i}-{j}"}, headers=headers
                )
                if r.status_code != 201:
                    raise RuntimeError(f"create workspace answered {r.status_code}: {r.text}")
                ids.append(r.json()["id"])
            # Fail in setup, not in the measured run, if reads would not find them.
            r = client.get(f"/api/v1/workspaces/{ids[0]}", headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"read-back of workspace answered {r.status_code}: {r.text}")
            users.append(BenchUser(token=token, user_id=user_id, workspace_ids=ids))
    return users


def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lua_data(users: list[BenchUser], path: Path) -> None:
    q = _lua_string
    lines = ["return {"]
    for u in users:
        ids = ", ".join(q(i) for i in u.workspace_ids)
        lines.append(f"  {{token = {q(u.token)}, ws = {{{ids}}}}},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


@dataclass
class KanbanBoard:
    board_id: str
    column_ids: list[str]
    card_ids: list[str]
    tokens: list[str]  # the owner's and the members', in that order


def create_kanban_board(
    base_url: str,
    owner: BenchUser,
    members: list[BenchUser],
    columns: int = 4,
    cards_per_column: int = 50,
) -> KanbanBoard:
    """In the owner's first workspace: the members (role member), one project, one board with
    ``columns`` columns (no WIP limits) holding ``cards_per_column`` cards each."""
    workspace_id = owner.workspace_ids[0]
    headers = {"Authorization": f"Bearer {owner.token}"}

    def post(client: httpx.Client, path: str, body: dict) -> dict:
        r = client.post(path, json=body, headers=headers)
        if r.status_code != 201:
            raise RuntimeError(f"POST {path} answered {r.status_code}: {r.text}")
        return r.json()

    with httpx.Client(base_url=base_url, timeout=30) as client:
        for member in members:
            post(
                client,
                f"/api/v1/workspaces/{workspace_id}/members",
                {"user_id": member.user_id, "role": "member"},
            )
        project = post(
            client, "/api/v1/projects", {"workspace_id": workspace_id, "name": "Bench project"}
        )
        board = post(
            client,
            f"/api/v1/projects/{project['id']}/boards",
            {"name": "Bench board", "columns": [{"name": f"Column {i}"} for i in range(columns)]},
        )
        column_ids = [c["id"] for c in board["columns"]]
        card_ids = []
        for i in range(cards_per_column):
            for c, column_id in enumerate(column_ids):
                card = post(
                    client, f"/api/v1/columns/{column_id}/cards", {"title": f"Card {c}-{i}"}
                )
                card_ids.append(card["id"])
        # Fail in setup, not in the measured run, if a member could not read or move.
        for member in members[:1]:
            member_headers = {"Authorization": f"Bearer {member.token}"}
            r = client.get(f"/api/v1/boards/{board['id']}", headers=member_headers)
            if r.status_code != 200:
                raise RuntimeError(f"member's board read answered {r.status_code}: {r.text}")
            seen = sum(len(c["cards"]) for c in r.json()["columns"])
            if seen != len(card_ids):
                raise RuntimeError(f"the board shows {seen} cards, expected {len(card_ids)}")
            r = client.put(
                f"/api/v1/cards/{card_ids[0]}/move",
                json={"column_id": column_ids[-1], "position": 0},
                headers=member_headers,
            )
            if r.status_code != 200:
                raise RuntimeError(f"member's card move answered {r.status_code}: {r.text}")
    return KanbanBoard(
        board_id=board["id"],
        column_ids=column_ids,
        card_ids=card_ids,
        tokens=[owner.token, *(m.token for m in members)],
    )


def write_kanban_lua_data(board: KanbanBoard, path: Path) -> None:
    q = _lua_string
    path.write_text(
        "return {\n"
        f"  tokens = {{{', '.join(q(t) for t in board.tokens)}}},\n"
        f"  board = {q(board.board_id)},\n"
        f"  columns = {{{', '.join(q(c) for c in board.column_ids)}}},\n"
        f"  cards = {{{', '.join(q(c) for c in board.card_ids)}}},\n"
        "}\n"
    )


def write_lag_lua_data(boards: list[KanbanBoard], path: Path) -> None:
    """bench/lag.lua's data: each board with its owner's token, its columns and cards."""
    q = _lua_string
    entries = [
        f"    {{ token = {q(b.tokens[0])}, columns = {{{', '.join(q(c) for c in b.column_ids)}}},"
        f" cards = {{{', '.join(q(c) for c in b.card_ids)}}} }}"
        for b in boards
    ]
    path.write_text("return {\n  boards = {\n" + ",\n".join(entries) + "\n  },\n}\n")


def projection_status(base_url: str) -> dict:
    """/ready: log head and projection lag (after a command run, should drain to 0)."""
    try:
        return httpx.get(f"{base_url}/ready", timeout=5).json()
    except (httpx.HTTPError, ValueError) as e:
        return {"error": str(e)}


def wait_for_projections(base_url: str, timeout: float = 30.0) -> tuple[int | None, float | None]:
    """Projection lag right after a run, and the seconds until it drained to 0 (None: not
    within ``timeout``, or /ready unreadable)."""
    started = time.monotonic()
    first = None
    while True:
        lag = projection_status(base_url).get("max_lag")
        if first is None:
            first = lag
        if lag == 0:
            return first, round(time.monotonic() - started, 2)
        if lag is None or time.monotonic() - started > timeout:
            return first, None
        time.sleep(0.05)


# --- where the time goes (PostgreSQL wait events, py-spy) -------------------------------


class WaitSampler:
    """Samples pg_stat_activity of one database every ``interval`` seconds in a thread.

    Counts the backends that are running a statement ("active"), by wait event ("running"
    when none: on a CPU or waiting for one), and those idle inside a transaction. The result
    is the average number of backends in each state per sample: a picture of where the
    database side of a request spends its time.
    """

    QUERY = (
        "SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event,"
        " 'running') ELSE state END FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()"
        " AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"
    )

    def __init__(self, admin_url: str, db_name: str, interval: float = 0.1) -> None:
        self.admin_url = admin_url
        self.db_name = db_name
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        self.counts.clear()
        self.samples = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wait-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                while not self._stop.wait(self.interval):
                    rows = conn.execute(self.QUERY, (self.db_name,)).fetchall()
                    self.samples += 1
                    self.counts.update(r[0] for r in rows)
        except psycopg.Error as e:
            self.error = str(e)

    def stop(self) -> dict:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self.error:
            return {"error": self.error}
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "avg_backends": {k: round(v / n, 2) for k, v in self.counts.most_common()},
        }


def py_spy() -> str | None:
    """py-spy next to this interpreter (``.venv/bin/pip install py-spy``) or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    """``py-spy record --gil`` of some processes for a few seconds in the middle of a run.

    Only the thread holding the GIL is sampled: the samples show where the process's Python
    CPU time goes (a thread blocked on a lock, a socket or the database holds no GIL and is
    not sampled), and their number against the sampling rate is how busy the GIL was.
    """

    RATE = 100  # samples per second

    def __init__(self, exe: str, out_dir: Path) -> None:
        self.exe = exe
        self.out_dir = out_dir
        self._procs: list[tuple[subprocess.Popen, Path, int]] = []

    def start(self, label: str, pids: dict[str, int], delay: float, seconds: int) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._procs = []
        for name, pid in pids.items():
            out = self.out_dir / f"{label}-{name}.txt"
            argv = [self.exe, "record", "--gil", "-d", str(seconds), "-r", str(self.RATE)]
            argv += ["-f", "raw", "-o", str(out), "--pid", str(pid)]
            # Start after ``delay`` seconds, without blocking run.py.
            cmd = ["sh", "-c", f'sleep {delay:.1f} && exec "$@"', "sh", *argv]
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            self._procs.append((proc, out, seconds))

    def wait(self) -> dict[str, dict]:
        summaries = {}
        for proc, out, seconds in self._procs:
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
            if proc.returncode != 0 or not out.exists():
                log(f"py-spy failed for {out.name}: {err.decode(errors='replace')[-500:]}")
                continue
            summary = summarize_profile(out)
            summary["gil_busy_pct"] = round(100 * summary["samples"] / (self.RATE * seconds), 1)
            summaries[out.stem] = summary
        return summaries


# py-spy names a frame "function (package/module.py:line)", the path relative to its
# sys.path entry. A sample is charged to the group of its innermost frame that belongs to
# one ("by_group": where the GIL holder was), stdlib frames of no group to their caller's.
PROFILE_GROUPS = {
    "copy.deepcopy": ("(copy.py:",),
    "json": ("(json/", "(orjson"),
    "logging": ("(logging/", "(structlog/", "(_logs/"),
    "pydantic": ("(pydantic/", "(pydantic_core/"),
    "jwt": ("(jwt/",),
    "psycopg": ("(psycopg/", "(psycopg_pool/"),
    "eventsourcing": ("(eventsourcing/",),
    "worksync domain": ("(domain/",),
    "worksync application": ("(application/",),
    "worksync projections": ("(projections/",),
    "worksync interfaces": ("(interfaces/",),
    "fastapi/starlette": ("(fastapi/", "(starlette/"),
    "socket.io/engineio": ("(socketio/", "(engineio/"),
    "uvicorn/httptools": ("(uvicorn/", "(h11/", "(httptools/"),
    "anyio": ("(anyio/",),
    "asyncio": ("(asyncio/",),
}
# Share of samples with one of these anywhere in the stack ("through").
THROUGH = ("copy.deepcopy", "json", "logging", "pydantic", "jwt", "psycopg", "eventsourcing")


def summarize_profile(path: Path, top: int = 12) -> dict:
    """Top self frames and shares per group of a ``py-spy record -f raw`` file."""
    self_counts: Counter[str] = Counter()
    by_group: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        self_counts[_short_frame(frames[-1])] += count
        groups = [_group_of(frame) for frame in frames]
        by_group[next((g for g in reversed(groups) if g), "other")] += count
        for group in set(groups) & set(THROUGH):
            through[group] += count
    total = max(total, 1)

    def pct(counter: Counter[str], n: int | None = None) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(n)}

    return {
        "samples": total,
        "self_pct": pct(self_counts, top),
        "by_group_pct": pct(by_group),
        "through_pct": pct(through),
    }


def _group_of(frame: str) -> str | None:
    for group, needles in PROFILE_GROUPS.items():
        if any(needle in frame for needle in needles):
            return group
    return None


def _short_frame(frame: str) -> str:
    """'func (/long/path/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py:12)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    else:
        where = "/".join(where.split("/")[-2:])
    return f"{name} ({where})"
