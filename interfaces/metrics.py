"""Prometheus metrics (prometheus-client), in every process that does work.

Several uvicorn workers (``worksync serve --workers N``) or dramatiq worker processes each
count in their own memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR`` (multiprocess
mode: ``serve`` creates a temporary folder when it starts several workers and none is set,
and empties the one given), and a scrape adds them up. Projection positions and lag are not
counted: each scrape reads them from PostgreSQL (``ProjectionCollector``), so they are right
whichever process answers.

Exposition: ``GET /metrics`` on the API (a bearer ``METRICS_TOKEN`` when set), or, with
``METRICS_BIND=host:port``, on that internal address only (the API's route is then 404);
the job worker serves its counters on ``METRICS_BIND`` too.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator

import psycopg
import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.engine import log_head

log = structlog.get_logger("metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):  # any process counts into it: the folder must exist
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

REQUEST_SECONDS = Histogram(
    "worksync_http_request_duration_seconds",
    "HTTP request latency by route template, method and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMMANDS = Counter(
    "worksync_commands_total",
    "Commands by outcome: ok, retried (ok after a version clash), conflict, rejected"
    " (another application error: not found, forbidden, invalid), error (unexpected)",
    ["outcome"],
)
JOBS = Counter(
    "worksync_jobs_total",
    "Background job attempts by actor and outcome: success, failure, retry (a retried attempt)",
    ["actor", "outcome"],
)
SOCKETS = Gauge(
    "worksync_socketio_connections",
    "Socket.IO connections open now",
    multiprocess_mode="livesum",
)
SOCKET_CONNECTS = Counter(
    "worksync_socketio_connects_total", "Socket.IO connection attempts by outcome", ["outcome"]
)
EMITS = Counter("worksync_socketio_emits_total", "Events emitted to Socket.IO rooms")
RATE_LIMITED = Counter(
    "worksync_rate_limit_rejections_total", "Requests refused with 429, by limit", ["limit"]
)

if os.environ.get(MULTIPROC_ENV):  # a gauge's file is dropped when its process ends
    _pid = os.getpid()
    atexit.register(lambda: multiprocess.mark_process_dead(_pid))


def prepare_multiprocess(workers: int) -> str | None:
    """Before starting ``workers`` processes: the folder their counters share, emptied of a
    previous run's files (a new temporary one when several and none is configured)."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, "*.db")):
            with contextlib.suppress(OSError):
                os.remove(stale)
        return folder
    if workers > 1:
        folder = tempfile.mkdtemp(prefix="worksync-metrics-")
        os.environ[MULTIPROC_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # when the parent ends
        return folder
    return None


def registry() -> CollectorRegistry:
    """This process's counters, or every process's in multiprocess mode."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


class ProjectionCollector(Collector):
    """The log head and each projection's and policy's position and lag, read at scrape
    time (one short connection)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        head_metric = GaugeMetricFamily("worksync_log_head", "The event log's last position")
        position = GaugeMetricFamily(
            "worksync_projection_position", "Last position applied", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "worksync_projection_lag", "Events behind the log head", labels=["projection"]
        )
        up = GaugeMetricFamily("worksync_database_up", "1 when PostgreSQL answered the scrape")
        try:
            with (
                psycopg.connect(self.database_url, connect_timeout=3) as conn,
                conn.cursor() as cur,
            ):
                head = log_head(cur)
                cur.execute("SELECT name, position FROM projection_tracking ORDER BY name")
                rows = cur.fetchall()
        except psycopg.Error as e:
            log.warning("metrics: database unreachable", error=str(e))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        head_metric.add_metric([], head)
        for name, pos in rows:
            position.add_metric([name], int(pos))
            lag.add_metric([name], max(0, head - int(pos)))
        yield from (up, head_metric, position, lag)


def exposition(database_url: str | None) -> bytes:
    """The text format: the counters, then the projections (when a database is given)."""
    body = generate_latest(registry())
    if database_url:
        extra = CollectorRegistry()
        extra.register(ProjectionCollector(database_url))
        body += generate_latest(extra)
    return body


def parse_bind(bind: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9100`` for IPv6) -> (host, port)."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"METRICS_BIND must be host:port, not {bind!r}")
    return host.strip("[]"), int(port)


def serve_internal(bind: str, database_url: str | None) -> bool:
    """Serve ``/metrics`` on the internal address ``bind`` from a thread of this process.
    With several processes one gets the port (each answers for all in multiprocess mode);
    the others are told so and return False."""
    host, port = parse_bind(bind)
    scrape = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = REGISTRY
    if database_url:
        with contextlib.suppress(ValueError):  # REGISTRY: already registered in this process
            scrape.register(ProjectionCollector(database_url))
    try:
        start_http_server(port, addr=host, registry=scrape)
    except OSError as e:
        log.info("metrics: internal address taken by another process", bind=bind, error=str(e))
        return False
    log.info("metrics served on the internal address", bind=bind)
    return True
