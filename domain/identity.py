"""Identity: users and the index that keeps e-mail addresses unique."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, name_based_id

USER_ROLES = ("admin", "member")


def normalize_email(email: str) -> str:
    return email.strip().lower()


class User(Aggregate):
    """A person who can sign in. Users are global; workspaces hold their roles."""

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
        self._check_live()
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._profile_updated(actor_id=actor_id, changes=changes)

    @event("ProfileUpdated")
    def _profile_updated(self, actor_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)


class EmailIndex(Aggregate):
    """One aggregate per normalized address: creating a second one for the same address
    clashes in the event store, which is what makes e-mails unique under concurrency."""

    @staticmethod
    def create_id(email: str) -> UUID:
        return EmailIndex.id_for(email)

    @staticmethod
    def id_for(email: str) -> UUID:
        return name_based_id("email", normalize_email(email))

    @event("Claimed")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.user_id: UUID | None = user_id
