"""Security headers: on every response, strict CSP for the API, a docs CSP for Swagger UI
and ReDoc, HSTS only over TLS, and a route's own values are kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from interfaces.http import problems
from interfaces.http.security_headers import API_CSP, DOCS_CSP, HSTS, SecurityHeaders


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    @app.get("/api/v1/framed")
    async def framed(response: Response) -> dict[str, str]:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return {"framed": "yes"}

    app.add_middleware(SecurityHeaders)
    with TestClient(app) as test_client:
        yield test_client


def assert_common(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/api/v1/ping", "/api/v1/nowhere", "/openapi.json"])
def test_api_responses_get_the_strict_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert_common(response)
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert "Strict-Transport-Security" not in response.headers


def test_errors_get_them_too(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert_common(response)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_get_a_policy_that_lets_them_load(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_common(response)
    csp = response.headers["Content-Security-Policy"]
    assert csp == DOCS_CSP
    assert csp != API_CSP
    assert "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'" in csp
    assert "frame-ancestors 'none'" in csp
    # The page really loads from where the policy allows.
    assert "https://cdn.jsdelivr.net" in response.text


def test_hsts_only_over_tls(client: TestClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/api/v1/ping").headers
    plain = client.get("/api/v1/ping", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers

    forwarded = client.get("/api/v1/ping", headers={"X-Forwarded-Proto": "https"})
    assert forwarded.headers["Strict-Transport-Security"] == HSTS
    assert HSTS == "max-age=63072000; includeSubDomains"

    direct = client.get("https://testserver/api/v1/ping")
    assert direct.headers["Strict-Transport-Security"] == HSTS


def test_route_values_are_not_overwritten(client: TestClient) -> None:
    response = client.get("/api/v1/framed")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
