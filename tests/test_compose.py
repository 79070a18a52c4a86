"""compose.yaml stays valid: the production-like topology the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml


def test_compose_runs_postgres_redis_migrate_api_and_projector_as_services():
    compose = yaml.safe_load((Path(__file__).parent.parent / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "projector", "realtime", "worker"} <= set(
        services
    )
    assert services["api"]["command"][:2] == ["worksync", "serve"]
    assert "--workers" in services["api"]["command"]
    assert "--no-projector" in services["api"]["command"]
    assert services["projector"]["command"] == ["worksync", "projector"]
    assert services["migrate"]["command"] == ["worksync", "migrate"]
    assert services["realtime"]["command"] == ["worksync", "realtime"]
    assert services["worker"]["command"][:2] == ["worksync", "worker"]
