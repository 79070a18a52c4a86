"""Identity use cases: sign-up, log-in, sessions, passwords, profiles, deletion.

bcrypt runs here, in the caller's worker thread: interfaces call commands off the event loop.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import bcrypt
import jwt
from eventsourcing.persistence import IntegrityError

from application.adapters.sessions import Client, SessionStore
from application.adapters.store import EventStore, Saved
from application.config import Settings
from application.errors import Conflict, Forbidden, NotFound, Unauthorized
from application.mail import LinkTokens
from domain.identity import EmailIndex, PasswordReset, User, normalize_email
from domain.workspaces import Workspace

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
        return ok and bool(hashed)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID | None
    expires_at: int = 0  # epoch seconds (the token's exp)


class Tokens:
    """HS256 JWT access tokens; ``sid`` names the login (refresh-token family)."""

    algorithm = "HS256"

    verified_remembered = 10_000  # tokens whose signature was checked, per process

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.jwt_secret
        self.expires_in = settings.jwt_expires_in
        self._verified: dict[str, tuple[AccessClaims, int]] = {}  # token -> claims, exp

    def issue(self, user_id: UUID, session_id: UUID | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "type": ACCESS,
            "iat": now,
            "exp": now + self.expires_in,
            "jti": secrets.token_hex(8),
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired access token; Unauthorized otherwise.

        A token already verified is recognised until it expires without decoding it again
        (a client sends the same token for up to 15 minutes); whether its session is still
        open is the caller's check, on every request."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
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
            sid = claims.get("sid")
            expires = int(claims["exp"])
            verified = AccessClaims(UUID(claims["sub"]), UUID(sid) if sid else None, expires)
        except (ValueError, TypeError):
            raise Unauthorized("invalid access token") from None
        if len(self._verified) >= self.verified_remembered:
            self._verified.clear()
        self._verified[token] = (verified, expires)
        return verified


class IdentityService:
    def __init__(
        self,
        store: EventStore,
        hasher: PasswordHasher,
        tokens: Tokens,
        sessions: SessionStore,
        links: LinkTokens,
        settings: Settings,
        memberships: Callable[[UUID], list[tuple[UUID, str]]],
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.tokens = tokens
        self.sessions = sessions
        self.links = links  # tokens of e-mailed links (the mail policy sends them)
        self.settings = settings
        self.memberships = memberships  # user id -> [(workspace id, role)] from the read model

    # Sign-up and log-in --------------------------------------------------------------------

    def register(self, *, email: str, password: str, name: str) -> Saved:
        """Create a user; the e-mail index makes a second sign-up with the address a 409.
        The welcome mail follows from the event (application.mail.MailPolicy)."""
        email = normalize_email(email)
        password_hash = self.hasher.hash(password)

        def command() -> tuple[User, list[Any]]:
            user = User(email=email, name=name, password_hash=password_hash)
            index_id = EmailIndex.id_for(email)
            if self.store.exists(index_id):
                index = self.store.load(EmailIndex, index_id)
                index.claim(email=email, user_id=user.id)  # only if released by a deletion
            else:
                index = EmailIndex(email=email, user_id=user.id)
            return user, [user, index]

        try:
            return self.store.run(command)
        except IntegrityError:
            raise Conflict("an account with this e-mail already exists") from None

    def user_id_for_email(self, email: str) -> UUID | None:
        index_id = EmailIndex.id_for(email)
        if not self.store.exists(index_id):
            return None
        return self.store.load(EmailIndex, index_id).user_id

    def _live_user(self, user_id: UUID | None) -> User | None:
        if user_id is None:
            return None
        user = self.store.load(User, user_id, "user")
        return None if user.deleted or not user.is_active else user

    def login(self, *, email: str, password: str, client: Client) -> tuple[UUID, TokenPair]:
        """Check the password; the same error whether the e-mail exists or not."""
        user = self._live_user(self.user_id_for_email(email))
        if not self.hasher.verify(password, user.password_hash if user else None) or user is None:
            self.sessions.record("login_failed", user.id if user else None, client)
            raise Unauthorized("invalid e-mail or password")
        session = self.sessions.open(user.id, client)
        self.sessions.record("login", user.id, client)
        return user.id, self._pair(user.id, session.family_id, session.refresh_token)

    def _pair(self, user_id: UUID, family_id: UUID, refresh_token: str) -> TokenPair:
        access = self.tokens.issue(user_id, family_id)
        return TokenPair(access, self.tokens.expires_in, refresh_token)

    def open_session(self, *, user_id: UUID, client: Client) -> TokenPair:
        session = self.sessions.open(user_id, client)
        return self._pair(user_id, session.family_id, session.refresh_token)

    def refresh(self, *, refresh_token: str, client: Client) -> tuple[UUID, TokenPair]:
        session = self.sessions.rotate(refresh_token, client)
        if self._live_user(session.user_id) is None:
            self.sessions.revoke_family(session.family_id)
            raise Unauthorized("the account no longer exists or is disabled")
        return session.user_id, self._pair(
            session.user_id, session.family_id, session.refresh_token
        )

    def logout(
        self, *, user_id: UUID, refresh_token: str | None, session_id: UUID | None, client: Client
    ) -> None:
        if refresh_token:
            self.sessions.revoke_token(refresh_token, user_id)
        if session_id is not None:
            self.sessions.revoke_family(session_id)
        self.sessions.record("logout", user_id, client)

    # Passwords -----------------------------------------------------------------------------

    def change_password(self, *, user_id: UUID, current: str, new: str, client: Client) -> Saved:
        user = self.store.load(User, user_id, "user")
        if not self.hasher.verify(current, user.password_hash):
            self.sessions.record("password_change_failed", user_id, client)
            raise Forbidden("the current password is not correct")
        saved = self._set_password(user_id, self.hasher.hash(new))
        self.sessions.record("password_changed", user_id, client)
        return saved

    def _set_password(self, user_id: UUID, password_hash: str) -> Saved:
        def command() -> tuple[None, list[User]]:
            user = self.store.load(User, user_id, "user")
            user.change_password(actor_id=user_id, password_hash=password_hash)
            return None, [user]

        saved = self.store.run(command)
        self.sessions.revoke_all(user_id)  # every login ends with a password change
        return saved

    def forgot_password(self, *, email: str, client: Client) -> None:
        """Record a reset request if the account exists (the mail policy mails its link);
        the caller learns nothing either way. Only the token's hash is kept; the log has the
        reset's id, from which the token is derived with the server secret."""
        user = self._live_user(self.user_id_for_email(email))
        if user is None:
            self.sessions.record("password_reset_unknown_email", None, client)
            return
        reset_id = uuid.uuid4()
        self.sessions.create_reset(user.id, self.links.token("password-reset", reset_id))
        user_id = user.id
        self.store.run(lambda: (None, [PasswordReset(id=reset_id, user_id=user_id)]))
        self.sessions.record("password_reset_requested", user.id, client)

    def reset_password(self, *, token: str, new: str, client: Client) -> Saved:
        user_id = self.sessions.consume_reset(token)
        if self._live_user(user_id) is None:
            raise NotFound("user not found")
        saved = self._set_password(user_id, self.hasher.hash(new))
        self.sessions.record("password_reset", user_id, client)
        return saved

    # Profiles and administration -----------------------------------------------------------

    def is_admin(self, user_id: UUID) -> bool:
        user = self._live_user(user_id)
        return user is not None and user.role == "admin"

    def grant_admin(self, *, email: str) -> Saved:
        """Make an existing account a site administrator (operators bootstrap the first
        one from the command line); NotFound without an account for the e-mail."""
        user_id = self.user_id_for_email(email)
        if user_id is None:
            raise NotFound(f"no account with e-mail {email}")

        def command() -> tuple[None, list[User]]:
            user = self.store.load(User, user_id, "user")
            user.update_profile(actor_id=user_id, role="admin")
            return None, [user]

        return self.store.run(command)

    def check_may_manage(self, actor_id: UUID, user_id: UUID) -> bool:
        """Self or an admin may manage a user; others get 404. Returns whether admin."""
        admin = self.is_admin(actor_id)
        if actor_id != user_id and not admin:
            raise NotFound("user not found")
        return admin

    def update_user(self, *, actor_id: UUID, user_id: UUID, **fields: Any) -> Saved:
        admin = self.check_may_manage(actor_id, user_id)
        if not admin and ({"role", "is_active"} & set(fields)):
            raise Forbidden("only an administrator may change roles or deactivate accounts")

        def command() -> tuple[None, list[User]]:
            user = self.store.load(User, user_id, "user")
            user.update_profile(actor_id=actor_id, **fields)
            return None, [user]

        saved = self.store.run(command)
        if fields.get("is_active") is False:
            self.sessions.revoke_all(user_id)
        return saved

    def delete_user(self, *, actor_id: UUID, user_id: UUID, client: Client) -> Saved:
        """Erase a user: memberships end, the e-mail is released, the data key destroyed."""
        self.check_may_manage(actor_id, user_id)
        memberships = self.memberships(user_id)

        def command() -> tuple[None, list[Any]]:
            user = self.store.load(User, user_id, "user")
            workspaces = []
            for workspace_id, _role in memberships:
                workspace = self.store.load(Workspace, workspace_id, "workspace")
                if workspace.role_of(user_id) is None:
                    continue
                if set(workspace.members) == {user_id}:
                    workspace.delete(actor_id=user_id)  # nobody else uses it
                else:
                    workspace.remove_member(actor_id=user_id, user_id=user_id)
                workspaces.append(workspace)
            index = self.store.load(EmailIndex, EmailIndex.id_for(user.email))
            index.release()
            user.delete(actor_id=actor_id)
            return None, [user, index, *workspaces]

        saved = self.store.run(command)
        self.store.keys.destroy(user_id)
        self.sessions.forget_user(user_id)
        self.sessions.record("user_deleted", user_id, Client(), by=str(actor_id))
        return saved

    def history(self, user_id: UUID) -> list[dict[str, Any]]:
        """The user's own events from the log, for the personal-data export."""
        hidden = {"originator_id", "originator_version", "timestamp", "password_hash"}
        return [
            {
                "event": type(e).__qualname__,
                "version": e.originator_version,
                "timestamp": e.timestamp,
                "data": {k: v for k, v in vars(e).items() if k not in hidden},
            }
            for e in self.store.events.get(user_id)
        ]
