"""Monthly partitions (migrations/0016) and retention: partitions are made ahead and for
rows waiting in the DEFAULT one; a rebuild keeps the layout; retention drops whole months
and deletes expired security state; ``--dry-run`` says what would go and removes nothing;
the maintenance clock runs both once a day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from application.adapters.retention import (
    PostgresRetention,
    add_months,
    ensure_partitions,
    month_partitions,
)
from application.retention import Rule, apply_rules, rules_from
from interfaces.cli import event_mapper
from interfaces.jobs.retention_schedule import MaintenanceClock
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.cli import invoke
from tests.support.databases import make_settings

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def add_activity(conn: psycopg.Connection, at: datetime, position: int = 1) -> None:
    conn.execute(
        "INSERT INTO activities (id, workspace_id, project_id, user_id, action, object_type,"
        " object_id, details, position, created_at) VALUES (%s, %s, NULL, %s, 'created',"
        " 'card', %s, '{}', %s, %s)",
        (uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), position, at),
    )


def count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_partitions_are_made_ahead_and_for_rows_waiting_in_the_default_one(fresh_database_url):
    url = fresh_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        add_activity(conn, datetime(2020, 3, 15, tzinfo=UTC))
        add_activity(conn, datetime(2020, 3, 31, 23, 59, tzinfo=UTC))
        assert count(conn, "activities_default") == 2  # no month for it: never refused
    created = ensure_partitions(url, NOW, ahead=3)
    assert "activities_p2020_03" in created
    assert {"activities_p2027_02", "activities_p2027_03", "notifications_p2027_03"} <= set(created)
    with psycopg.connect(url) as conn:
        assert count(conn, "activities_default") == 0
        assert count(conn, "activities_p2020_03") == 2
        assert count(conn, "activities") == 2  # queries see the same rows
        months = [m for _, m in month_partitions(conn, "card_activities")]
        assert months == sorted(months)
        assert add_months(NOW.date().replace(day=1), 3) in months
    assert "activities_p2020_03" not in ensure_partitions(url, NOW, ahead=3)  # idempotent


def test_a_rebuild_keeps_the_partitions_and_their_rows(fresh_database_url):
    url = fresh_database_url
    ensure_partitions(url, datetime(2020, 3, 1, tzinfo=UTC), ahead=0)
    before = None
    with psycopg.connect(url) as conn:
        before = [n for n, _ in month_partitions(conn, "activities")]
    rebuild(url, by_name("activities"), event_mapper(url))
    with psycopg.connect(url) as conn:
        kind = conn.execute("SELECT relkind::text FROM pg_class WHERE relname = 'activities'")
        assert kind.fetchone()[0] == "p"
        assert [n for n, _ in month_partitions(conn, "activities")] == before
        assert "activities_p2020_03" in before
        schemas = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%%'"
        ).fetchone()[0]
        assert schemas == 0
        add_activity(conn, datetime(2020, 3, 2, tzinfo=UTC))  # keys and indexes came back
        assert count(conn, "activities_p2020_03") == 1
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
        assert {"activities_pkey", "idx_activities_workspace_position"} <= names


def seed_security_state(conn: psycopg.Connection) -> None:
    user = uuid.uuid4()
    for days in (-60, 5):  # expired two months ago; still valid
        conn.execute(
            "INSERT INTO user_sessions (id, user_id, token_hash, family_id, expires_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (uuid.uuid4(), user, uuid.uuid4().hex, uuid.uuid4(), NOW + timedelta(days=days)),
        )
        conn.execute(
            "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)"
            " VALUES (%s, %s, %s, %s)",
            (uuid.uuid4(), user, uuid.uuid4().hex, NOW + timedelta(days=days)),
        )
        conn.execute(
            "INSERT INTO idempotency_keys (user_id, endpoint, key, fingerprint, expires_at)"
            " VALUES (%s, 'POST /x', %s, 'f', %s)",
            (user, uuid.uuid4().hex, NOW + timedelta(days=days)),
        )
        conn.execute(
            "INSERT INTO security_events (user_id, kind, created_at) VALUES (%s, 'login', %s)",
            (user, NOW + timedelta(days=days * 10)),
        )


def test_retention_drops_old_months_and_expired_state_and_a_dry_run_removes_nothing(
    fresh_database_url,
):
    url = fresh_database_url
    ensure_partitions(url, datetime(2024, 1, 1, tzinfo=UTC), ahead=0)
    with psycopg.connect(url, autocommit=True) as conn:
        add_activity(conn, datetime(2024, 1, 10, tzinfo=UTC))  # its own month, > 1 year old
        add_activity(conn, datetime(2023, 6, 1, tzinfo=UTC))  # waits in the default partition
        add_activity(conn, NOW - timedelta(days=3))  # recent: kept
        seed_security_state(conn)
    settings = make_settings(url)
    rules = rules_from(settings)
    assert {r.target for r in rules} == {
        "activities",
        "notifications",
        "sessions",
        "reset_tokens",
        "idempotency",
        "security_events",
    }
    store = PostgresRetention(url)
    dry = {o.target: o for o in apply_rules(store, rules, NOW, dry_run=True)}
    assert dry["activities"].rows == 2
    assert dry["activities"].partitions == ("activities_p2024_01", "card_activities_p2024_01")
    assert (dry["sessions"].rows, dry["reset_tokens"].rows, dry["idempotency"].rows) == (1, 1, 1)
    assert dry["security_events"].rows == 1
    with psycopg.connect(url) as conn:
        assert count(conn, "activities") == 3
        assert count(conn, "user_sessions") == 2
        assert count(conn, "activities_p2024_01") == 1

    done = {o.target: o for o in apply_rules(store, rules, NOW, dry_run=False)}
    assert done["activities"].rows == 2
    with psycopg.connect(url) as conn:
        assert count(conn, "activities") == 1
        assert conn.execute("SELECT to_regclass('activities_p2024_01')").fetchone()[0] is None
        for table in ("user_sessions", "password_reset_tokens", "idempotency_keys"):
            assert count(conn, table) == 1, table
        assert count(conn, "security_events") == 1
    again = apply_rules(store, rules, NOW, dry_run=False)
    assert sum(o.rows for o in again) == 0

    keep_forever = make_settings(url, retention_activities_days=0)
    assert "activities" not in {r.target for r in rules_from(keep_forever)}
    assert Rule("x", 10).cutoff(NOW) == NOW - timedelta(days=10)


def test_the_retention_command_reports_without_removing(fresh_database_url, monkeypatch):
    url = fresh_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        seed_security_state(conn)
    result = invoke(monkeypatch, url, "retention", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    sessions = next(line for line in lines if line["target"] == "sessions")
    assert sessions["rows"] == 1
    assert sessions["dry_run"] is True
    with psycopg.connect(url) as conn:
        assert count(conn, "user_sessions") == 2
    result = invoke(monkeypatch, url, "retention")
    assert result.exit_code == 0, result.output
    assert "sessions" in result.output
    with psycopg.connect(url) as conn:
        assert count(conn, "user_sessions") == 1
    result = invoke(monkeypatch, url, "partitions")
    assert result.exit_code == 0, result.output
    assert "partitions created" in result.output


def test_the_maintenance_clock_runs_once_a_day_and_inline_without_redis(fresh_database_url):
    runs: list[int] = []
    clock = MaintenanceClock(make_settings(fresh_database_url), lambda: runs.append(1))
    assert clock.due(NOW)
    clock.run_once(NOW)
    assert runs == [1]
    assert not clock.due(NOW + timedelta(hours=13))
    assert clock.due(NOW + timedelta(days=1))
    clock.start()  # disabled in the tests' settings: no thread
    clock.stop()
    assert runs == [1]


@pytest.mark.parametrize("table", ["activities", "card_activities", "notifications"])
def test_the_growing_tables_are_partitioned_by_month_with_a_default(fresh_database_url, table):
    with psycopg.connect(fresh_database_url) as conn:
        key = conn.execute("SELECT pg_get_partkeydef(%s::regclass)", (table,)).fetchone()[0]
        assert key == "RANGE (created_at)"
        assert conn.execute("SELECT to_regclass(%s)", (f"{table}_default",)).fetchone()[0]


def test_the_maintenance_jobs_make_partitions_ahead_and_apply_retention(fresh_database_url):
    from interfaces.jobs.retention import maintain

    url = fresh_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        seed_security_state(conn)
        conn.execute(
            "UPDATE user_sessions SET expires_at = now() - interval '60 days'"
            " WHERE expires_at < %s",
            (NOW,),
        )
    settings = make_settings(url, partitions_ahead_months=4)
    maintain(settings)
    ahead = add_months(datetime.now(UTC).date().replace(day=1), 4)
    with psycopg.connect(url) as conn:
        names = [n for n, _ in month_partitions(conn, "notifications")]
        assert f"notifications_p{ahead:%Y_%m}" in names
        assert count(conn, "user_sessions") == 1
