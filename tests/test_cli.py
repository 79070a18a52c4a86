"""The worksync command line against a real database."""

from __future__ import annotations

import json

from tests.support.cli import invoke
from tests.support.projections import create_workspaces


def test_migrate_is_idempotent(monkeypatch, fresh_database_url):
    result = invoke(monkeypatch, fresh_database_url, "migrate")
    assert result.exit_code == 0, result.output
    assert "none (up to date)" in result.output


def test_status_reports_position_head_lag_and_state(monkeypatch, fresh_database_url):
    from interfaces.bootstrap import open_event_store

    store = open_event_store(fresh_database_url, pool_size=1)
    create_workspaces(store, 3)
    store.close()
    result = invoke(monkeypatch, fresh_database_url, "projections", "status", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["workspaces"]["head"] == 6
    assert rows["workspaces"]["lag"] == 6
    assert rows["workspaces"]["state"] == "running"


def test_rebuild_all_catches_every_projection_up(monkeypatch, fresh_database_url):
    from interfaces.bootstrap import open_event_store

    store = open_event_store(fresh_database_url, pool_size=1)
    create_workspaces(store, 4)
    store.close()
    result = invoke(monkeypatch, fresh_database_url, "projections", "rebuild", "--all")
    assert result.exit_code == 0, result.output
    status = invoke(monkeypatch, fresh_database_url, "projections", "status", "--json")
    rows = json.loads(status.stdout)
    # Policies are not rebuilt (their effects happened once); no runner ran this one.
    assert all(r["lag"] == 0 for r in rows if r["kind"] == "projection")
    assert {r["kind"] for r in rows} == {"projection", "policy"}


def test_rebuild_needs_a_known_name_or_all(monkeypatch, fresh_database_url):
    assert invoke(monkeypatch, fresh_database_url, "projections", "rebuild").exit_code == 2
    assert invoke(monkeypatch, fresh_database_url, "projections", "rebuild", "nope").exit_code == 2


def test_openapi_prints_the_document(monkeypatch, fresh_database_url):
    result = invoke(monkeypatch, fresh_database_url, "openapi")
    assert result.exit_code == 0
    assert "/api/v1/workspaces" in json.loads(result.stdout)["paths"]


def test_grant_admin_promotes_an_existing_account(monkeypatch, fresh_database_url):
    from application.identity import PasswordHasher
    from domain.identity import EmailIndex, User
    from interfaces.bootstrap import open_event_store

    store = open_event_store(fresh_database_url, pool_size=1)
    user = User(
        email="boss@example.com", name="Boss", password_hash=PasswordHasher(4).hash("pw123456")
    )
    store.save(user, EmailIndex(email="boss@example.com", user_id=user.id))
    result = invoke(monkeypatch, fresh_database_url, "users", "grant-admin", "Boss@Example.com")
    assert result.exit_code == 0, result.output
    assert store.load(User, user.id).role == "admin"
    missing = invoke(monkeypatch, fresh_database_url, "users", "grant-admin", "nobody@example.com")
    assert missing.exit_code == 1
    store.close()


def test_worker_needs_redis(monkeypatch, fresh_database_url):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert invoke(monkeypatch, fresh_database_url, "worker").exit_code == 2
