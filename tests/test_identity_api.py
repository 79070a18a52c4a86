"""Sign-up, log-in and /auth/me through events -> projections -> queries."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt

from application.config import DEFAULT_JWT_SECRET

PROBLEM = "application/problem+json"


def test_register_returns_a_token_and_the_user(api):
    user = api.register(email="Grace.Hopper@Example.com", name="Grace")
    assert user["user"]["email"] == "grace.hopper@example.com"
    assert user["user"]["name"] == "Grace"
    assert user["token_type"] == "Bearer"
    assert user["expires_in"] == 900
    assert "password_hash" not in user["user"]


def test_me_sees_the_new_user_immediately(api, client):
    user = api.register()
    response = client.get("/api/v1/auth/me", headers=user["headers"])
    assert response.status_code == 200
    assert response.json()["id"] == user["user"]["id"]


def test_second_registration_with_the_same_email_is_a_conflict(api, client):
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    api.register(email=email)
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": "another pass", "name": "Other"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "already exists" in response.json()["detail"]


def test_concurrent_registrations_with_one_email_create_exactly_one_user(client):
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"

    def attempt(i: int) -> int:
        body = {"email": email, "password": f"password-{i}", "name": f"Racer {i}"}
        return client.post("/api/v1/auth/register", json=body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(attempt, range(12)))
    assert codes.count(201) == 1
    assert codes.count(409) == 11


def test_register_rejects_bad_payloads_with_field_errors(client):
    cases = [
        {"email": "not-an-email", "password": "long enough", "name": "X"},
        {"email": "a@example.com", "password": "short", "name": "X"},
        {"email": "a@example.com", "password": "long enough", "name": "   "},
        {"email": "a@example.com", "password": "é" * 40, "name": "X"},  # 80 bytes > bcrypt's 72
        {"email": "a@example.com", "password": "long enough", "name": "X", "role": "admin"},
    ]
    for body in cases:
        response = client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 422, body
        problem = response.json()
        assert response.headers["content-type"] == PROBLEM
        assert problem["status"] == 422
        assert problem["errors"], body


def test_login_with_the_right_password_returns_a_working_token(api, client):
    user = api.register(password="open sesame")
    response = client.post(
        "/api/v1/auth/login",
        json={"email": user["user"]["email"].upper(), "password": "open sesame"},
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == user["user"]["email"]


def test_login_failures_do_not_reveal_whether_the_email_exists(api, client):
    user = api.register()
    wrong_password = client.post(
        "/api/v1/auth/login", json={"email": user["user"]["email"], "password": "nope nope"}
    )
    unknown_email = client.post(
        "/api/v1/auth/login", json={"email": "nobody-here@example.com", "password": "nope nope"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]


def test_me_requires_a_valid_token(api, client):
    user = api.register()
    token = user["access_token"]
    assert client.get("/api/v1/auth/me").status_code == 401
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tampered}"}).status_code
        == 401
    )
    basic = client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_expired_and_foreign_tokens_are_refused(api, client):
    user = api.register()
    now = int(time.time())
    expired = jwt.encode(
        {"sub": user["user"]["id"], "type": "access", "iat": now - 1000, "exp": now - 10},
        DEFAULT_JWT_SECRET,
        algorithm="HS256",
    )
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    foreign = jwt.encode(
        {"sub": user["user"]["id"], "type": "access", "iat": now, "exp": now + 60},
        "some-other-secret-that-is-long-enough",
        algorithm="HS256",
    )
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {foreign}"}).status_code
        == 401
    )
    unknown_user = jwt.encode(
        {"sub": str(uuid.uuid4()), "type": "access", "iat": now, "exp": now + 60},
        DEFAULT_JWT_SECRET,
        algorithm="HS256",
    )
    assert (
        client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {unknown_user}"}
        ).status_code
        == 401
    )
