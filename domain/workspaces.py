"""Workspaces: the tenant. Owns its members, their roles and its invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, Missing, NotPermitted, RuleBroken

WORKSPACE_ROLES = ("owner", "admin", "member", "viewer")


class Workspace(Aggregate):
    """Every event of a workspace is scoped to it: its originator id is the workspace id."""

    @event("Created")
    def __init__(
        self, name: str, description: str | None, settings: dict[str, Any], owner_id: UUID
    ) -> None:
        self.name = name
        self.description = description
        self.settings = settings
        self.owner_id = owner_id
        self.members: dict[UUID, str] = {owner_id: "owner"}
        self.invites: dict[str, dict[str, Any]] = {}  # token hash -> invite
        self.is_active = True
        self.deleted = False

    @property
    def workspace_id(self) -> UUID:
        return self.id

    def role_of(self, user_id: UUID) -> str | None:
        if self.deleted:
            return None
        return self.members.get(user_id)

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("workspace not found")

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change name, description or settings; unchanged fields are not recorded."""
        self._check_live()
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID) -> None:
        self.deleted = True
        self.is_active = False

    # Members -----------------------------------------------------------------------------

    def _owners(self) -> list[UUID]:
        return [u for u, r in self.members.items() if r == "owner"]

    def _check_role(self, role: str) -> None:
        if role not in WORKSPACE_ROLES:
            raise RuleBroken(f"unknown role {role!r}")

    def _check_may_touch(
        self, actor_id: UUID, target_role: str | None, new_role: str | None
    ) -> None:
        """Only an owner may grant the owner role or change an owner."""
        if self.members.get(actor_id) != "owner" and "owner" in (target_role, new_role):
            raise NotPermitted("only an owner may grant, change or remove the owner role")

    def add_member(self, actor_id: UUID, user_id: UUID, role: str) -> None:
        self._check_live()
        self._check_role(role)
        if user_id in self.members:
            raise RuleBroken("the user is already a member of this workspace")
        self._check_may_touch(actor_id, None, role)
        self._member_added(actor_id=actor_id, user_id=user_id, role=role)

    @event("MemberAdded")
    def _member_added(self, actor_id: UUID, user_id: UUID, role: str) -> None:
        self.members[user_id] = role

    def change_role(self, actor_id: UUID, user_id: UUID, role: str) -> None:
        self._check_live()
        self._check_role(role)
        current = self.members.get(user_id)
        if current is None:
            raise Missing("member not found")
        if current == role:
            return
        self._check_may_touch(actor_id, current, role)
        if current == "owner" and self._owners() == [user_id]:
            raise RuleBroken("the last owner cannot be demoted; make another member owner first")
        self._member_role_changed(actor_id=actor_id, user_id=user_id, role=role)

    @event("MemberRoleChanged")
    def _member_role_changed(self, actor_id: UUID, user_id: UUID, role: str) -> None:
        self.members[user_id] = role

    def remove_member(self, actor_id: UUID, user_id: UUID) -> None:
        self._check_live()
        current = self.members.get(user_id)
        if current is None:
            raise Missing("member not found")
        if actor_id != user_id:
            self._check_may_touch(actor_id, current, None)
        if current == "owner" and self._owners() == [user_id]:
            raise RuleBroken("the last owner cannot be removed; make another member owner first")
        self._member_removed(actor_id=actor_id, user_id=user_id)

    @event("MemberRemoved")
    def _member_removed(self, actor_id: UUID, user_id: UUID) -> None:
        del self.members[user_id]

    # Invites -----------------------------------------------------------------------------

    def invite(
        self,
        actor_id: UUID,
        invite_id: UUID,
        token_hash: str,
        email_hash: str,
        role: str,
        expires_at: datetime,
    ) -> None:
        """A single-use invitation; only hashes of the token and address are recorded."""
        self._check_live()
        self._check_role(role)
        self._check_may_touch(actor_id, None, role)
        self._invite_created(
            actor_id=actor_id,
            invite_id=invite_id,
            token_hash=token_hash,
            email_hash=email_hash,
            role=role,
            expires_at=expires_at,
        )

    @event("InviteCreated")
    def _invite_created(
        self,
        actor_id: UUID,
        invite_id: UUID,
        token_hash: str,
        email_hash: str,
        role: str,
        expires_at: datetime,
    ) -> None:
        self.invites[token_hash] = {
            "invite_id": invite_id,
            "email_hash": email_hash,
            "role": role,
            "expires_at": expires_at,
            "accepted_by": None,
        }

    def accept_invite(self, token_hash: str, user_id: UUID, email_hash: str, now: datetime) -> str:
        """Join with the invited role; returns the role."""
        self._check_live()
        invite = self.invites.get(token_hash)
        if invite is None or invite["email_hash"] != email_hash:
            raise Missing("invitation not found")
        if invite["accepted_by"] is not None:
            raise RuleBroken("this invitation has already been used")
        if now >= invite["expires_at"]:
            raise RuleBroken("this invitation has expired")
        if user_id in self.members:
            raise RuleBroken("you are already a member of this workspace")
        self._invite_accepted(
            actor_id=user_id,
            invite_id=invite["invite_id"],
            token_hash=token_hash,
            user_id=user_id,
            role=invite["role"],
        )
        return invite["role"]

    @event("InviteAccepted")
    def _invite_accepted(
        self, actor_id: UUID, invite_id: UUID, token_hash: str, user_id: UUID, role: str
    ) -> None:
        self.invites[token_hash]["accepted_by"] = user_id
        self.members[user_id] = role
