"""A server process freezes what it built at start-up out of the garbage collector's scans
(``settle_heap``), and collects young objects less often; an app built in a test does not."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from interfaces.bootstrap import HEAP_COLLECTION_THRESHOLDS

SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from fastapi.testclient import TestClient
    from interfaces.http.app import create_app
    from tests.support.databases import make_settings

    app = create_app(make_settings(sys.argv[1]), with_projector=False, settle=sys.argv[2] == "1")
    before = gc.get_freeze_count()
    with TestClient(app) as client:
        healthy = client.get("/health").status_code
        print(json.dumps({"before": before, "after": gc.get_freeze_count(),
                          "threshold": list(gc.get_threshold()), "health": healthy}))
    """
)


def started(database_url: str, settle: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, database_url, "1" if settle else "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_server_app_freezes_its_start_up_heap_once_open(database_url):
    seen = started(database_url, settle=True)
    assert seen["health"] == 200
    assert seen["before"] == 0
    assert seen["after"] > 100_000  # modules, routes, schemas, pools
    assert seen["threshold"] == list(HEAP_COLLECTION_THRESHOLDS)


def test_an_app_built_without_settle_leaves_the_collector_alone(database_url):
    seen = started(database_url, settle=False)
    assert seen["health"] == 200
    assert seen["after"] == 0
    assert seen["threshold"] == [700, 10, 10]
