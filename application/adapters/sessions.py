"""Refresh-token sessions, password-reset tokens and security events: short-lived security
state in plain tables (not the event log). Tokens are stored only as keyed hashes.

Refresh tokens rotate on every use; the rotated tokens of one login form a family. Presenting
a token that was already rotated (or revoked) means it leaked: the whole family is revoked
and the reuse is recorded as a security event (RFC 9700, section 4.14.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.types.json import Jsonb

from application.errors import Invalid, Unauthorized
from application.security_log import security_event

RESET_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Client:
    """Where a request came from (for session records and security events)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Session:
    user_id: UUID
    family_id: UUID
    refresh_token: str
    expires_at: datetime


class SessionStore:
    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[Connection]],
        secret: str,
        refresh_ttl_seconds: int,
    ) -> None:
        self._connect = connect
        # Called after logins ended (revoked or deleted), before the command answers: the
        # API's kept sign-in checks (projections.identity_queries.SignIns) drop them.
        self.on_logins_ended: Callable[[], None] = lambda: None
        self._secret = secret.encode()
        self.refresh_ttl = timedelta(seconds=refresh_ttl_seconds)

    def _hash(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def _insert(
        self, conn: Connection, user_id: UUID, family_id: UUID, client: Client
    ) -> tuple[UUID, Session]:
        token = secrets.token_urlsafe(32)
        session_id = uuid.uuid4()
        expires_at = datetime.now(UTC) + self.refresh_ttl
        conn.execute(
            "INSERT INTO user_sessions (id, user_id, token_hash, family_id, user_agent, ip,"
            " expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                session_id,
                user_id,
                self._hash(token),
                family_id,
                client.user_agent,
                client.ip,
                expires_at,
            ),
        )
        return session_id, Session(user_id, family_id, token, expires_at)

    def open(self, user_id: UUID, client: Client) -> Session:
        """A new login: a new token family."""
        with self._connect() as conn, conn.transaction():
            _, session = self._insert(conn, user_id, uuid.uuid4(), client)
        return session

    def rotate(self, refresh_token: str, client: Client) -> Session:
        """Exchange a refresh token for a new one; reuse revokes the family."""
        with self._connect() as conn:
            with conn.transaction():
                row = conn.execute(
                    "SELECT id, user_id, family_id, replaced_by, revoked_at, expires_at"
                    " FROM user_sessions WHERE token_hash = %s FOR UPDATE",
                    (self._hash(refresh_token),),
                ).fetchone()
                if row is None:
                    raise Unauthorized("invalid refresh token")
                if row["replaced_by"] is None and row["revoked_at"] is None:
                    if row["expires_at"] <= datetime.now(UTC):
                        raise Unauthorized("refresh token expired")
                    new_id, session = self._insert(conn, row["user_id"], row["family_id"], client)
                    conn.execute(
                        "UPDATE user_sessions SET replaced_by = %s, last_used_at = now() WHERE id = %s",
                        (new_id, row["id"]),
                    )
                    return session
            # A rotated or revoked token was presented again: treat the family as stolen.
            self.revoke_family(row["family_id"])
            self.record(
                "refresh_token_reuse", row["user_id"], client, family_id=str(row["family_id"])
            )
            raise Unauthorized(
                "refresh token reuse detected; all sessions of this login were revoked"
            )

    def revoke_family(self, family_id: UUID) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE user_sessions SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
                (family_id,),
            )
        self.on_logins_ended()

    def revoke_token(self, refresh_token: str, user_id: UUID) -> None:
        """Logout: revoke the token's family, if the token is the user's own."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT family_id FROM user_sessions WHERE token_hash = %s AND user_id = %s",
                (self._hash(refresh_token), user_id),
            ).fetchone()
        if row is not None:
            self.revoke_family(row["family_id"])

    def revoke_all(self, user_id: UUID) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE user_sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
                (user_id,),
            )
        self.on_logins_ended()

    def forget_user(self, user_id: UUID) -> None:
        """Deletion: drop the user's sessions, reset tokens and the client details of events."""
        with self._connect() as conn, conn.transaction():
            conn.execute("DELETE FROM user_sessions WHERE user_id = %s", (user_id,))
            conn.execute("DELETE FROM password_reset_tokens WHERE user_id = %s", (user_id,))
            conn.execute(
                "UPDATE security_events SET ip = NULL, user_agent = NULL WHERE user_id = %s",
                (user_id,),
            )
        self.on_logins_ended()

    # Password reset ------------------------------------------------------------------------

    def create_reset(self, user_id: UUID, token: str | None = None) -> str:
        """Keep the hash of a reset token (random unless given); returns the token."""
        token = token or secrets.token_urlsafe(32)
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)"
                " VALUES (%s, %s, %s, %s)",
                (uuid.uuid4(), user_id, self._hash(token), datetime.now(UTC) + RESET_TTL),
            )
        return token

    def consume_reset(self, token: str) -> UUID:
        """Single use, unexpired; returns the user id."""
        with self._connect() as conn, conn.transaction():
            row = conn.execute(
                "SELECT id, user_id, used, expires_at FROM password_reset_tokens"
                " WHERE token_hash = %s FOR UPDATE",
                (self._hash(token),),
            ).fetchone()
            if row is None or row["used"] or row["expires_at"] <= datetime.now(UTC):
                raise Invalid("the reset link is invalid, used or expired")
            conn.execute("UPDATE password_reset_tokens SET used = true WHERE id = %s", (row["id"],))
            return row["user_id"]

    # Security events -----------------------------------------------------------------------

    def record(self, kind: str, user_id: UUID | None, client: Client, **details: Any) -> None:
        security_event(kind, user_id=user_id, ip=client.ip, **details)
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO security_events (user_id, kind, ip, user_agent, details)"
                " VALUES (%s, %s, %s, %s, %s)",
                (user_id, kind, client.ip, client.user_agent, Jsonb(details)),
            )

    def export(self, user_id: UUID) -> dict[str, list[dict[str, Any]]]:
        """The caller's sessions and security events (for the personal-data export)."""
        with self._connect() as conn:
            sessions = conn.execute(
                "SELECT id, family_id, ip, user_agent, created_at, last_used_at, expires_at,"
                " revoked_at FROM user_sessions WHERE user_id = %s ORDER BY created_at",
                (user_id,),
            ).fetchall()
            events = conn.execute(
                "SELECT kind, ip, user_agent, details, created_at FROM security_events"
                " WHERE user_id = %s ORDER BY id",
                (user_id,),
            ).fetchall()
        return {"sessions": list(sessions), "security_events": list(events)}
