"""Schemathesis over the whole OpenAPI document against a real server, signed in and
anonymous: no 5xx, and every response conforms to its documented schema. Bounded here (CI);
`make fuzz` runs it with FUZZ_EXAMPLES=100."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "5")
ST = str(Path(sys.executable).parent / "st")
# Calls that would end or change the fuzzing user's own session are left to their own tests.
EXCLUDE = r"/api/v1/auth/(logout|password)|/api/v1/users/\{user_id\}"


def schemathesis_run(base: str, *headers: str) -> subprocess.CompletedProcess:
    command = [
        ST,
        "run",
        f"{base}/openapi.json",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261125",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--exclude-path-regex",
        EXCLUDE,
        "--phases",
        "coverage,fuzzing",
        "--no-color",
    ]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_no_server_errors_and_every_response_matches_its_schema(fresh_database_url):
    with live_server(fresh_database_url) as base:
        user = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": "fuzzer@example.com", "password": "password123", "name": "Fuzzer"},
        ).json()
        token = user["access_token"]
        httpx.post(
            f"{base}/api/v1/workspaces",
            json={"name": "Fuzzed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        signed_in = schemathesis_run(base, f"Authorization: Bearer {token}")
        assert signed_in.returncode == 0, signed_in.stdout[-6000:]
        assert generated_cases(signed_in.stdout) > 500  # it really exercised the API
        anonymous = schemathesis_run(base)
        assert anonymous.returncode == 0, anonymous.stdout[-6000:]
        assert generated_cases(anonymous.stdout) > 100


def generated_cases(output: str) -> int:
    """How many cases schemathesis generated (from its summary line)."""
    for line in output.splitlines():
        words = line.split()
        if "generated," in words:
            return int(words[words.index("generated,") - 1])
    return 0
