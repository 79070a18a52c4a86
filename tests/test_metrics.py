"""Prometheus /metrics: several uvicorn workers add up (multiprocess mode), the route is
guarded by METRICS_TOKEN or moved to an internal address, commands and jobs are counted."""

from __future__ import annotations

import glob
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dramatiq
import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from interfaces.http.app import create_app
from interfaces.jobs.metrics import JobMetrics
from interfaces.metrics import parse_bind
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.live_server import free_port, wait_healthy, worksync

TOKEN = "scrape-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value, from the text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.slow
def test_two_workers_add_up(fresh_database_url: str, tmp_path: Path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")  # a previous run's: emptied first
    port = free_port()
    process = worksync(
        fresh_database_url,
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        METRICS_TOKEN=TOKEN,
        stderr=(tmp_path / "serve.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process, timeout=90)  # two workers start on a busy machine
        deadline = time.monotonic() + 60  # both workers imported the metrics (a gauge file each)
        while len(glob.glob(str(folder / "gauge_livesum_*.db"))) < 2:
            assert time.monotonic() < deadline, os.listdir(folder)
            time.sleep(0.1)

        def health(_: int) -> int:  # a new connection each: the two workers share them
            return httpx.get(f"{base}/health", timeout=10).status_code

        # Both workers serving (each has answered one): importing is not the end of a worker's
        # start-up, and one that is still starting leaves every connection to the other.
        deadline = time.monotonic() + 60
        while len(glob.glob(str(folder / "histogram_*.db"))) < 2:
            assert time.monotonic() < deadline, os.listdir(folder)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(health, range(8)))

        auth = {"Authorization": f"Bearer {TOKEN}"}
        before = samples(httpx.get(f"{base}/metrics", headers=auth).text)

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(health, range(60))) == {200}
        missing = [httpx.get(f"{base}/api/v1/workspaces/{uuid.uuid4()}") for _ in range(5)]
        assert {r.status_code for r in missing} == {401}
        signed_up = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": "m@example.com", "password": "password123", "name": "M"},
            timeout=10,
        )
        assert signed_up.status_code == 201, signed_up.text

        assert httpx.get(f"{base}/metrics").status_code == 401
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        found = samples(scraped.text)
        count = "worksync_http_request_duration_seconds_count"
        health_count = {"method": "GET", "route": "/health", "status": "200"}
        assert value(found, count, **health_count) - value(before, count, **health_count) == 60
        route = "/api/v1/workspaces/{workspace_id}"  # the template, not the 5 raw paths
        assert value(found, count, method="GET", route=route, status="401") == 5
        assert value(found, count, method="GET", route="/metrics", status="401") == 2
        # Both workers answered some of them: two processes' files were added up.
        pids = {Path(p).stem.rsplit("_", 1)[1] for p in glob.glob(str(folder / "histogram_*.db"))}
        assert len(pids) == 2, pids
        assert not (folder / "counter_999999.db").exists()
        assert value(found, "worksync_commands_total", outcome="ok") == 1
        head = value(found, "worksync_log_head")
        assert head >= 1
        assert value(found, "worksync_projection_position", projection="users") == head
        assert value(found, "worksync_projection_lag", projection="users") == 0
        assert value(found, "worksync_database_up") == 1
    except Exception:
        print((tmp_path / "serve.log").read_text()[-5000:])
        raise
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
def guarded(database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, metrics_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_token_guards_the_route_and_commands_are_counted(guarded: TestClient):
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics").headers["content-type"] == "application/problem+json"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    before = samples(guarded.get("/metrics", headers=headers).text)
    api = Api(guarded)
    owner = api.register()
    workspace = api.create_workspace(owner)
    stale = guarded.put(
        f"/api/v1/workspaces/{workspace['id']}",
        json={"name": "Renamed"},
        headers={**owner["headers"], "If-Match": '"99"'},
    )
    assert stale.status_code in (409, 412)
    viewer_denied = guarded.delete(f"/api/v1/workspaces/{uuid.uuid4()}", headers=owner["headers"])
    assert viewer_denied.status_code == 404
    after = samples(guarded.get("/metrics", headers=headers).text)

    def grew(outcome: str) -> float:
        name = "worksync_commands_total"
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    assert grew("ok") == 2  # sign-up, create
    assert grew("conflict") + grew("rejected") == 2  # the stale version, the missing one
    assert "/metrics" not in guarded.app.openapi()["paths"]  # for Prometheus, not clients


def test_an_internal_address_serves_them_instead(database_url: str):
    port = free_port()
    settings = make_settings(database_url, metrics_bind=f"127.0.0.1:{port}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
        client.get("/health")
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200
        found = samples(scraped.text)
        assert value(found, "worksync_database_up") == 1
        assert any(name == "worksync_http_request_duration_seconds_count" for name, _ in found)


def test_metrics_can_be_switched_off(database_url: str):
    settings = make_settings(database_url, metrics_enabled=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404


def test_bind_addresses_parse():
    assert parse_bind("0.0.0.0:9100") == ("0.0.0.0", 9100)
    assert parse_bind("[::1]:9100") == ("::1", 9100)
    for bad in ("9100", ":9100", "host:", "host:port"):
        with pytest.raises(ValueError, match="METRICS_BIND"):
            parse_bind(bad)


def test_jobs_are_counted_per_actor_and_outcome():
    broker = StubBroker()
    broker.add_middleware(JobMetrics())
    attempts: list[int] = []

    @dramatiq.actor(broker=broker, actor_name="flaky_metrics_job", max_retries=3, min_backoff=1)
    def flaky(n: int) -> None:
        attempts.append(n)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    @dramatiq.actor(broker=broker, actor_name="doomed_metrics_job", max_retries=0)
    def doomed() -> None:
        raise RuntimeError("never")

    def count(actor: str, outcome: str) -> float:
        labels = {"actor": actor, "outcome": outcome}
        return REGISTRY.get_sample_value("worksync_jobs_total", labels) or 0.0

    before = {
        (a, o): count(a, o)
        for a in ("flaky_metrics_job", "doomed_metrics_job")
        for o in ("success", "failure", "retry")
    }
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        flaky.send(1)
        doomed.send()
        broker.join(flaky.queue_name, timeout=20_000, fail_fast=False)
        worker.join()
    finally:
        worker.stop()

    def grew(actor: str, outcome: str) -> float:
        return count(actor, outcome) - before[(actor, outcome)]

    assert grew("flaky_metrics_job", "failure") == 2
    assert grew("flaky_metrics_job", "retry") == 2
    assert grew("flaky_metrics_job", "success") == 1
    assert grew("doomed_metrics_job", "failure") == 1
    assert grew("doomed_metrics_job", "success") == 0


def test_several_workers_without_a_folder_get_a_temporary_one(monkeypatch, tmp_path: Path):
    from interfaces.metrics import MULTIPROC_ENV, prepare_multiprocess

    # set first, so that monkeypatch restores the variable's absence afterwards: the folder
    # prepare_multiprocess sets would otherwise put the rest of this worker in multiprocess mode
    monkeypatch.setenv(MULTIPROC_ENV, "unset-at-the-end")
    monkeypatch.delenv(MULTIPROC_ENV)
    assert prepare_multiprocess(1) is None
    assert MULTIPROC_ENV not in os.environ
    folder = prepare_multiprocess(2)
    assert folder is not None
    assert os.environ[MULTIPROC_ENV] == folder
    assert os.path.isdir(folder)
    given = tmp_path / "given"
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    assert prepare_multiprocess(1) == str(given)
    assert given.is_dir()
