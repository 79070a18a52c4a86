"""Identity: users and the index that keeps e-mail addresses unique."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken, name_based_id

USER_ROLES = ("admin", "member")
ERASED_NAME = "Deleted user"
ERASED_HASH = ""  # an erased account's password hash: no password matches it


def normalize_email(email: str) -> str:
    return email.strip().lower()


def erased_email(user_id: UUID) -> str:
    return f"deleted-{user_id}@deleted.invalid"


class User(Aggregate):
    """A person who can sign in. Users are global; workspaces hold their roles.

    Personal fields (e-mail, name, password hash, avatar) are encrypted in the log with the
    user's own key (see application.adapters.personal_data); deleting the user destroys that key.
    """

    @event("Registered")
    def __init__(self, email: str, name: str, password_hash: str, role: str = "member") -> None:
        self.email = email
        self.name = name
        self.password_hash = password_hash
        self.role = role
        self.avatar_url: str | None = None
        self.is_active = True
        self.email_verified = False
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("user not found")

    def update_profile(self, actor_id: UUID, **fields: Any) -> None:
        """Change name, avatar_url, role or is_active; unchanged fields are not recorded."""
        self._check_live()
        if "role" in fields and fields["role"] not in USER_ROLES:
            raise RuleBroken(f"unknown role {fields['role']!r}")
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._profile_updated(actor_id=actor_id, changes=changes)

    @event("ProfileUpdated")
    def _profile_updated(self, actor_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def change_password(self, actor_id: UUID, password_hash: str) -> None:
        self._check_live()
        self._password_changed(actor_id=actor_id, password_hash=password_hash)

    @event("PasswordChanged")
    def _password_changed(self, actor_id: UUID, password_hash: str) -> None:
        self.password_hash = password_hash

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID) -> None:
        self.deleted = True
        self.is_active = False
        self.email = erased_email(self.id)
        self.name = ERASED_NAME
        self.avatar_url = None
        self.password_hash = ERASED_HASH


class EmailIndex(Aggregate):
    """One aggregate per normalized address: creating a second one for the same address
    clashes in the event store, which is what makes e-mails unique under concurrency.
    A deleted user's address is released and may be claimed again."""

    @staticmethod
    def create_id(email: str) -> UUID:
        return EmailIndex.id_for(email)

    @staticmethod
    def id_for(email: str) -> UUID:
        return name_based_id("email", normalize_email(email))

    @event("Claimed")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.user_id: UUID | None = user_id

    def claim(self, email: str, user_id: UUID) -> None:
        if self.user_id is not None:
            raise RuleBroken("an account with this e-mail already exists")
        self._reclaimed(email=email, user_id=user_id)

    @event("Reclaimed")
    def _reclaimed(self, email: str, user_id: UUID) -> None:
        self.user_id = user_id

    def release(self) -> None:
        if self.user_id is not None:
            self._released(user_id=self.user_id)

    @event("Released")
    def _released(self, user_id: UUID) -> None:
        self.user_id = None


class PasswordReset(Aggregate):
    """A password-reset request. Its id is the reset's id; the link's token is derived from it
    with a server secret (never recorded), and only the token's hash is kept (sessions)."""

    @event("Requested")
    def __init__(self, id: UUID, user_id: UUID) -> None:
        self.user_id = user_id


class Invitee(Aggregate):
    """Where a workspace invitation is mailed. Its id is the invitation's id; the address is
    personal data (encrypted with a key of the invitation's own), the workspace event keeps
    only its hash. The link's token is derived from the id with a server secret."""

    @event("Addressed")
    def __init__(
        self,
        id: UUID,
        email: str,
        workspace_id: UUID,
        inviter_id: UUID,
        role: str,
        expires_at: datetime,
    ) -> None:
        self.email = email
        self.workspace_id = workspace_id
        self.inviter_id = inviter_id
        self.role = role
        self.expires_at = expires_at
