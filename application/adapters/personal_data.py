"""Crypto-shredding: personal fields in the log are encrypted with a key per user.

The mapper encrypts the personal fields of identity events (AES-256-GCM, the user's id and
the field name as associated data) before they are stored, and decrypts them when events are
read. Deleting a user destroys the key: the log keeps every event, projections still rebuild,
and the fields read back as erased placeholders.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic
from psycopg import Connection

from domain.identity import ERASED_HASH, ERASED_NAME, EmailIndex, Invitee, User, erased_email

MARK = "pd1:"

# event class -> (field holding the data subject's id, or None for the originator; fields)
PERSONAL: dict[str, tuple[str | None, tuple[str, ...]]] = {
    get_topic(User.Registered): (None, ("email", "name", "password_hash")),
    get_topic(User.ProfileUpdated): (None, ("changes",)),
    get_topic(User.PasswordChanged): (None, ("password_hash",)),
    get_topic(EmailIndex.Claimed): ("user_id", ("email",)),
    get_topic(EmailIndex.Reclaimed): ("user_id", ("email",)),
    # An invitee is not a user yet: the address has a key of its own, under the invite's id.
    get_topic(Invitee.Addressed): (None, ("email",)),
}


def erased(field: str, subject: UUID) -> Any:
    return {
        "email": erased_email(subject),
        "name": ERASED_NAME,
        "password_hash": ERASED_HASH,
        "changes": {},
    }.get(field)


class KeyStore:
    """Per-user data keys in ``user_keys``, cached briefly in memory."""

    ttl = 60.0

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connect = connect
        self._cache: dict[UUID, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _cached(self, user_id: UUID) -> bytes | None:
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def _remember(self, user_id: UUID, key: bytes) -> bytes:
        with self._lock:
            self._cache[user_id] = (key, time.monotonic() + self.ttl)
        return key

    def key_for_writing(self, user_id: UUID) -> bytes:
        if key := self._cached(user_id):
            return key
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO user_keys (user_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (user_id, AESGCM.generate_key(bit_length=256)),
            )
            row = conn.execute(
                "SELECT key FROM user_keys WHERE user_id = %s", (user_id,)
            ).fetchone()
        return self._remember(user_id, bytes(_value(row)))

    def key_for_reading(self, user_id: UUID) -> bytes | None:
        if key := self._cached(user_id):
            return key
        with self._connect() as conn:
            row = conn.execute(
                "SELECT key FROM user_keys WHERE user_id = %s", (user_id,)
            ).fetchone()
        return self._remember(user_id, bytes(_value(row))) if row else None

    def destroy(self, user_id: UUID) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM user_keys WHERE user_id = %s", (user_id,))
        with self._lock:
            self._cache.pop(user_id, None)


def _value(row: Any) -> Any:
    return row["key"] if isinstance(row, dict) else row[0]


class PersonalDataMapper(Mapper):
    """A Mapper that encrypts personal fields per data subject (see PERSONAL)."""

    keys: KeyStore

    def _subject(self, state: dict[str, Any], subject_field: str | None) -> UUID:
        return state["originator_id"] if subject_field is None else state[subject_field]

    def _aad(self, subject: UUID, field: str) -> bytes:
        return subject.bytes + field.encode()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        spec = PERSONAL.get(get_topic(type(domain_event)))
        if spec is None:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        subject = self._subject(state, spec[0])
        cipher = AESGCM(self.keys.key_for_writing(subject))
        for field in spec[1]:
            plain = self.transcoder.encode({"v": state[field]})
            nonce = os.urandom(12)
            sealed = cipher.encrypt(nonce, plain, self._aad(subject, field))
            state[field] = MARK + base64.b64encode(nonce + sealed).decode()
        clone = object.__new__(type(domain_event))
        object.__setattr__(clone, "__dict__", state)
        return super().to_stored_event(clone)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        spec = PERSONAL.get(stored_event.topic)
        if spec is None:
            return domain_event
        state = vars(domain_event)
        subject = self._subject(state, spec[0])
        key = self.keys.key_for_reading(subject)
        cipher = AESGCM(key) if key else None
        for field in spec[1]:
            value = state.get(field)
            if not (isinstance(value, str) and value.startswith(MARK)):
                continue  # written before encryption existed, or already plain
            if cipher is None:
                state[field] = erased(field, subject)
                continue
            raw = base64.b64decode(value[len(MARK) :])
            plain = cipher.decrypt(raw[:12], raw[12:], self._aad(subject, field))
            state[field] = self.transcoder.decode(plain)["v"]
        return domain_event
