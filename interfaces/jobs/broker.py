"""The dramatiq broker: Redis when REDIS_URL is set, an in-memory stub otherwise.

Actors are declared with :func:`job` (not ``dramatiq.actor``) so that they are kept in a
registry and can be re-bound to whichever broker :func:`configure_broker` builds. A new job
module only has to use ``@job(...)`` and be listed in ``JOB_MODULES``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from application.config import Settings, get_settings
from interfaces import metrics
from interfaces.embedded import resolve_database_url
from interfaces.error_reporting import init_error_reporting
from interfaces.jobs.metrics import JobMetrics

log = structlog.get_logger("jobs")

# Modules whose import declares actors; imported by configure_broker so that a worker knows
# every job even if nothing else imported them yet.
JOB_MODULES: tuple[str, ...] = (
    "interfaces.jobs.mail",
    "interfaces.jobs.time_tracking",
    "interfaces.jobs.notifications",
    "interfaces.jobs.retention",
    "interfaces.jobs.exports",
    "interfaces.jobs.webhooks",
    "interfaces.jobs.imports",
)

# Every actor declared through @job, in declaration order.
ACTORS: list[dramatiq.Actor] = []

# Actors are created at import time, before any configuration: they are declared on this
# placeholder and re-bound by configure_broker. Nothing consumes it.
_placeholder = StubBroker()
_broker: dramatiq.Broker | None = None
_settings: Settings | None = None


def job(**options: Any) -> Callable[[Callable[..., Any]], dramatiq.Actor]:
    """Declare a dramatiq actor and register it for (re)binding by configure_broker.

    Takes dramatiq.actor's keyword options (queue_name, max_retries, throws, ...)."""

    def decorate(fn: Callable[..., Any]) -> dramatiq.Actor:
        actor = dramatiq.actor(fn, broker=_broker or _placeholder, **options)
        ACTORS.append(actor)
        return actor

    return decorate


def current_broker() -> dramatiq.Broker:
    """The broker configure_broker built (before that, the placeholder actors are declared on)."""
    return _broker or _placeholder


def current_settings() -> Settings:
    """The settings given to configure_broker, else the environment's (jobs read this)."""
    return _settings if _settings is not None else get_settings()


T = TypeVar("T")


class PerDatabase(Generic[T]):
    """One service (and its event store) per database, per worker process: what a job
    module's actors share, opened on first use with ``open_service(settings, url)`` and
    closed by ``close`` (tests, shutdown)."""

    def __init__(
        self, open_service: Callable[[Settings, str], T], close_service: Callable[[T], None]
    ) -> None:
        self.open_service = open_service
        self.close_service = close_service
        self._services: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self) -> T:
        settings = current_settings()
        url = resolve_database_url(settings.database_url, settings.data_dir)
        with self._lock:
            service = self._services.get(url)
            if service is None:
                service = self._services[url] = self.open_service(settings, url)
            return service

    def close(self) -> None:
        with self._lock:
            for service in self._services.values():
                self.close_service(service)
            self._services.clear()


def configure_broker(settings: Settings) -> dramatiq.Broker:
    """Build the broker for ``settings``, make it dramatiq's global broker, and bind our
    actors to it. Call once per process (again in tests to switch brokers)."""
    global _broker, _settings
    for module in JOB_MODULES:
        importlib.import_module(module)
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=settings.jobs_namespace)
    else:
        # No Redis: nothing is queued (make_mailer logs mail instead of enqueueing it).
        broker = StubBroker()
    broker.add_middleware(JobMetrics())
    _broker, _settings = broker, settings
    dramatiq.set_broker(broker)
    for actor in ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


def _work(settings: Settings, threads: int, stop: threading.Event) -> None:
    init_error_reporting(settings, "worker")  # before the broker: dramatiq's integration
    broker = configure_broker(settings)
    if not isinstance(broker, RedisBroker):
        raise RuntimeError("the job worker needs REDIS_URL (a Redis job queue)")
    if settings.metrics_enabled and settings.metrics_bind:  # one process gets the address
        metrics.serve_internal(settings.metrics_bind, None)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    log.info("worker.started", threads=threads, namespace=settings.jobs_namespace)
    try:
        stop.wait()
    finally:
        worker.stop()
        broker.close()
        log.info("worker.stopped")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT/SIGTERM (main thread only; previous handlers are restored)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed on the main thread
        return
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _child(settings: Settings, threads: int) -> None:
    from interfaces.logs import configure_logging  # a spawned process starts unconfigured

    configure_logging(settings.log_level)
    stop = threading.Event()
    with _stop_on_signals(stop):
        _work(settings, threads, stop)


def run_worker(
    settings: Settings,
    processes: int = 1,
    threads: int = 4,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Consume jobs until SIGINT/SIGTERM (or until ``stop`` is set).

    With ``processes`` > 1, that many worker processes are started, each with ``threads``
    worker threads; a signal to this process stops them all."""
    if not settings.redis_url:
        raise RuntimeError("the job worker needs REDIS_URL (a Redis job queue)")
    stop = stop or threading.Event()
    with _stop_on_signals(stop):
        metrics.prepare_multiprocess(processes)  # the children count into one folder
        if processes <= 1:
            _work(settings, threads, stop)
        else:
            _supervise(settings, processes, threads, stop)


def _supervise(settings: Settings, processes: int, threads: int, stop: threading.Event) -> None:
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_child, args=(settings, threads), name=f"worksync-worker-{i}")
        for i in range(processes)
    ]
    for child in children:
        child.start()
    try:
        while not stop.wait(1.0):
            if not any(child.is_alive() for child in children):
                break
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: the child stops its worker gracefully
        for child in children:
            child.join()
    failed = [child.name for child in children if child.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        raise RuntimeError(f"worker processes failed: {', '.join(failed)}")
