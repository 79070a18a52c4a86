"""Identity use cases: register, authenticate, tokens.

bcrypt runs here, in the caller's worker thread: interfaces call commands off the event loop.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import bcrypt
import jwt
from eventsourcing.persistence import IntegrityError

from application.config import Settings
from application.errors import Conflict, Unauthorized
from application.store import EventStore, Saved
from domain.identity import EmailIndex, User, normalize_email

ACCESS = "access"


class PasswordHasher:
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        # Compared against when the e-mail is unknown, so timing does not reveal existence.
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds))

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password: str, hashed: str | None) -> bool:
        target = hashed.encode() if hashed else self._dummy
        ok = bcrypt.checkpw(password.encode(), target)
        return ok and hashed is not None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105


class Tokens:
    """HS256 JWT access tokens."""

    algorithm = "HS256"

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.jwt_secret
        self.expires_in = settings.jwt_expires_in

    def issue(self, user_id: UUID) -> TokenPair:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "type": ACCESS,
            "iat": now,
            "exp": now + self.expires_in,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self.secret, algorithm=self.algorithm)
        return TokenPair(access_token=token, expires_in=self.expires_in)

    def verify(self, token: str) -> UUID:
        """The user id of a valid, unexpired access token; Unauthorized otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                options={"require": ["sub", "exp", "iat", "type"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("access token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token") from None
        if claims.get("type") != ACCESS:
            raise Unauthorized("not an access token")
        try:
            return UUID(claims["sub"])
        except (ValueError, TypeError):
            raise Unauthorized("invalid access token") from None


class IdentityService:
    def __init__(self, store: EventStore, hasher: PasswordHasher, tokens: Tokens) -> None:
        self.store = store
        self.hasher = hasher
        self.tokens = tokens

    def register(self, email: str, password: str, name: str) -> Saved:
        """Create a user; the e-mail index makes a second sign-up with the address a 409."""
        email = normalize_email(email)
        if self.store.exists(EmailIndex.id_for(email)):
            raise Conflict("an account with this e-mail already exists")
        user = User(email=email, name=name, password_hash=self.hasher.hash(password))
        index = EmailIndex(email=email, user_id=user.id)
        try:
            recordings = self.store.save(user, index)
        except IntegrityError:
            raise Conflict("an account with this e-mail already exists") from None
        position = max(r.notification.id for r in recordings)
        topics = frozenset(r.notification.topic for r in recordings)
        return Saved(position=position, topics=topics, value=user)

    def authenticate(self, email: str, password: str) -> tuple[UUID, TokenPair]:
        """Check the password; the same error whether the e-mail exists or not."""
        user = self._user_by_email(email)
        if not self.hasher.verify(password, user.password_hash if user else None):
            raise Unauthorized("invalid e-mail or password")
        assert user is not None
        if user.deleted or not user.is_active:
            raise Unauthorized("invalid e-mail or password")
        return user.id, self.tokens.issue(user.id)

    def _user_by_email(self, email: str) -> User | None:
        index_id = EmailIndex.id_for(email)
        if not self.store.exists(index_id):
            return None
        index = self.store.load(EmailIndex, index_id)
        if index.user_id is None:
            return None
        return self.store.load(User, index.user_id)

    def update_profile(self, user_id: UUID, **fields: Any) -> Saved:
        def command() -> tuple[None, list[User]]:
            user = self.store.load(User, user_id, "user")
            user.update_profile(actor_id=user_id, **fields)
            return None, [user]

        return self.store.run(command)
