"""Monthly partitions (migrations/0016) and the retention rules' SQL.

A partition is ``<table>_pYYYY_MM`` for the UTC month; ``<table>_default`` takes rows no
month covers. ``ensure_partitions`` creates the current month's and the next ones, and a
partition for every month whose rows wait in a DEFAULT partition (after a restore or a
rebuild of old history), moving them in. Retention drops a month once all of it is older
than the rule's cutoff and deletes the DEFAULT partition's rows older than it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from application.retention import Outcome, Rule

PARTITIONED = ("activities", "card_activities", "notifications")
# Which tables each rule's target covers.
PARTITION_TARGETS = {
    "activities": ("activities", "card_activities"),
    "notifications": ("notifications",),
}
ROW_TARGETS = {
    # target: (table, condition on the cutoff %(cutoff)s)
    "sessions": ("user_sessions", "expires_at < %(cutoff)s"),
    "reset_tokens": ("password_reset_tokens", "expires_at < %(cutoff)s"),
    "idempotency": ("idempotency_keys", "expires_at < %(cutoff)s"),
    "security_events": ("security_events", "created_at < %(cutoff)s"),
}
MONTH = re.compile(r"_p(\d{4})_(\d{2})$")


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_partitions(conn: psycopg.Connection, table: str) -> list[tuple[str, date]]:
    """(name, first day of its month) of the table's monthly partitions, oldest first."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
        (f"public.{table}",),
    ).fetchall()
    found = []
    for (name,) in rows:
        match = MONTH.search(name)
        if match:
            found.append((name, date(int(match[1]), int(match[2]), 1)))
    return found


def ensure_partitions(conninfo: str, now: datetime, ahead: int) -> list[str]:
    """Create this month's partition and the next ``ahead`` ones of every partitioned table,
    and one for each month with rows in a DEFAULT partition. Returns the ones created."""
    this_month = now.astimezone(UTC).date().replace(day=1)
    created: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table in PARTITIONED:
            waiting = conn.execute(
                sql.SQL(
                    "SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date"
                    " FROM {} ORDER BY 1"
                ).format(sql.Identifier(f"{table}_default"))
            ).fetchall()
            months = [add_months(this_month, i) for i in range(ahead + 1)]
            months += [m for (m,) in waiting if m not in months]
            for month in months:
                with conn.transaction():
                    made = conn.execute(
                        "SELECT worksync_ensure_partition(%s, %s)", (table, month)
                    ).fetchone()[0]
                if made:
                    created.append(f"{table}_p{month:%Y_%m}")
    return created


class PostgresRetention:
    """The RetentionStore over PostgreSQL."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def apply(self, rule: Rule, now: datetime, *, dry_run: bool) -> Outcome:
        cutoff = rule.cutoff(now)
        with psycopg.connect(self.conninfo) as conn:
            if rule.target in PARTITION_TARGETS:
                rows, dropped = 0, []
                for table in PARTITION_TARGETS[rule.target]:
                    r, d = self._partitions(conn, table, cutoff, dry_run)
                    rows, dropped = rows + r, dropped + d
                outcome = Outcome(rule.target, cutoff, rows, tuple(dropped))
            else:
                table, condition = ROW_TARGETS[rule.target]
                where = sql.SQL(condition)
                if dry_run:
                    query = sql.SQL("SELECT count(*) FROM {} WHERE {}")
                else:
                    query = sql.SQL(
                        "WITH gone AS (DELETE FROM {} WHERE {} RETURNING 1)"
                        " SELECT count(*) FROM gone"
                    )
                statement = query.format(sql.Identifier(table), where)
                count = conn.execute(statement, {"cutoff": cutoff}).fetchone()[0]
                outcome = Outcome(rule.target, cutoff, int(count))
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
        return outcome

    def _partitions(
        self, conn: psycopg.Connection, table: str, cutoff: datetime, dry_run: bool
    ) -> tuple[int, list[str]]:
        """Drop the months wholly before ``cutoff``; delete older DEFAULT rows."""
        rows, dropped = 0, []
        cutoff_day = cutoff.astimezone(UTC).date()
        for name, month in month_partitions(conn, table):
            if add_months(month, 1) > cutoff_day:
                continue
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()[0]
            rows += count
            dropped.append(name)
            if not dry_run:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        default = sql.Identifier(f"{table}_default")
        if dry_run:
            query = sql.SQL("SELECT count(*) FROM {} WHERE created_at < %s")
        else:
            query = sql.SQL(
                "WITH gone AS (DELETE FROM {} WHERE created_at < %s RETURNING 1)"
                " SELECT count(*) FROM gone"
            )
        rows += conn.execute(query.format(default), (cutoff,)).fetchone()[0]
        return rows, dropped
