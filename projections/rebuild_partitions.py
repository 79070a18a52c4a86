"""Partitioned tables in a rebuild (migrations/0016): the shadow copy of a partitioned live
table is partitioned the same way, with the same partitions (unlogged while it loads), so the
swap brings in the same layout and retention keeps dropping months."""

from __future__ import annotations

from psycopg import Connection, Cursor, sql


def partition_key(conn: Connection, table: str) -> str | None:
    """The live table's partition key (``RANGE (created_at)``), or None when it is plain."""
    row = conn.execute(
        "SELECT pg_get_partkeydef(c.oid) FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = %s"
        " AND c.relkind = 'p'",
        (table,),
    ).fetchone()
    return row[0] if row else None


def partitions(cur: Cursor | Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, bound) of each partition of ``schema.table``."""
    return cur.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
        " JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE n.nspname = %s AND p.relname = %s ORDER BY c.relname",
        (schema, table),
    ).fetchall()


def create_shadow(conn: Connection, schema: str, table: str, key: str) -> None:
    """The partitioned shadow table and one unlogged partition per live partition."""
    ident = sql.Identifier(schema)
    conn.execute(
        sql.SQL(
            "CREATE TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING GENERATED INCLUDING IDENTITY) PARTITION BY {}"
        ).format(ident, sql.Identifier(table), sql.Identifier(table), sql.SQL(key))
    )
    for name, bound in partitions(conn, "public", table):
        conn.execute(
            sql.SQL("CREATE UNLOGGED TABLE {}.{} PARTITION OF {}.{} {}").format(
                ident, sql.Identifier(name), ident, sql.Identifier(table), sql.SQL(bound)
            )
        )


def is_partitioned(cur: Cursor, schema: str, table: str) -> bool:
    row = cur.execute(
        "SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    return bool(row and row[0])


def set_logged(cur: Cursor, schema: str, table: str) -> None:
    """Make a loaded shadow table logged (a partitioned one: each of its partitions)."""
    if is_partitioned(cur, schema, table):
        targets = [name for name, _ in partitions(cur, schema, table)]
    else:
        targets = [table]
    for name in targets:
        cur.execute(sql.SQL("ALTER TABLE {} SET LOGGED").format(sql.Identifier(schema, name)))


def move_partitions(cur: Cursor, schema: str, table: str) -> None:
    """After the shadow parent moved to public: move the partitions left in ``schema``."""
    rows = cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE i.inhparent = to_regclass(%s) AND n.nspname = %s",
        (f"public.{table}", schema),
    ).fetchall()
    for (name,) in rows:
        cur.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA public").format(sql.Identifier(schema, name))
        )
