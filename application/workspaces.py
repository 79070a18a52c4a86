"""Workspace use cases. The creator is the owner; roles decide who may change what."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action, authorize
from application.errors import NotFound
from application.mail import LinkTokens
from domain.identity import Invitee, User, normalize_email
from domain.workspaces import Workspace

INVITE_TTL = timedelta(days=7)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class WorkspaceService:
    def __init__(self, store: EventStore, links: LinkTokens | None, app_url: str) -> None:
        self.store = store
        self.links = links  # tokens of invitation links (the mail policy sends them)
        self.app_url = app_url

    def load(self, workspace_id: UUID, actor_id: UUID, action: Action) -> Workspace:
        workspace = self.store.load(Workspace, workspace_id, "workspace")
        authorize(workspace.role_of(actor_id), action, what="workspace")
        return workspace

    def _change(
        self, workspace_id: UUID, actor_id: UUID, action: Action, expected: int | None, change: Any
    ) -> Saved:
        def command() -> tuple[Any, list[Workspace]]:
            workspace = self.load(workspace_id, actor_id, action)
            check_version(workspace, expected)
            return change(workspace), [workspace]

        return self.store.run(command)

    def create(
        self, *, actor_id: UUID, name: str, description: str | None, settings: dict[str, Any]
    ) -> Saved:
        def command() -> tuple[UUID, list[Workspace]]:
            workspace = Workspace(
                name=name, description=description, settings=settings, owner_id=actor_id
            )
            return workspace.id, [workspace]

        return self.store.run(command)

    def update(
        self, *, workspace_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        return self._change(
            workspace_id,
            actor_id,
            Action.WORKSPACE_UPDATE,
            expected_version,
            lambda w: w.update(actor_id=actor_id, **fields),
        )

    def delete(self, *, workspace_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        return self._change(
            workspace_id,
            actor_id,
            Action.WORKSPACE_DELETE,
            expected_version,
            lambda w: w.delete(actor_id=actor_id),
        )

    # Members -----------------------------------------------------------------------------

    def _existing_user(self, user_id: UUID) -> User:
        user = self.store.load(User, user_id, "user")
        if user.deleted or not user.is_active:
            raise NotFound("user not found")
        return user

    def add_member(self, *, workspace_id: UUID, actor_id: UUID, user_id: UUID, role: str) -> Saved:
        self._existing_user(user_id)
        return self._change(
            workspace_id,
            actor_id,
            Action.WORKSPACE_MEMBERS_MANAGE,
            None,
            lambda w: w.add_member(actor_id=actor_id, user_id=user_id, role=role),
        )

    def change_role(self, *, workspace_id: UUID, actor_id: UUID, user_id: UUID, role: str) -> Saved:
        return self._change(
            workspace_id,
            actor_id,
            Action.WORKSPACE_MEMBERS_MANAGE,
            None,
            lambda w: w.change_role(actor_id=actor_id, user_id=user_id, role=role),
        )

    def remove_member(self, *, workspace_id: UUID, actor_id: UUID, user_id: UUID) -> Saved:
        # Anyone may leave; removing someone else needs the manage permission.
        action = Action.WORKSPACE_READ if actor_id == user_id else Action.WORKSPACE_MEMBERS_MANAGE
        return self._change(
            workspace_id,
            actor_id,
            action,
            None,
            lambda w: w.remove_member(actor_id=actor_id, user_id=user_id),
        )

    # Invites -----------------------------------------------------------------------------

    def invite(self, *, workspace_id: UUID, actor_id: UUID, email: str, role: str) -> Saved:
        """Record a single-use invitation and its addressee (the mail policy mails the link);
        returns (invite id, token, expiry). The workspace keeps only hashes of the token and
        the address; the token is derived from the invitation's id with the server secret."""
        if self.links is None:
            raise RuntimeError("WorkspaceService needs LinkTokens to invite")
        invite_id = uuid.uuid4()
        token = self.links.token("invite", invite_id)
        expires_at = datetime.now(UTC) + INVITE_TTL
        email = normalize_email(email)

        def command() -> tuple[None, list[Any]]:
            workspace = self.load(workspace_id, actor_id, Action.WORKSPACE_MEMBERS_INVITE)
            workspace.invite(
                actor_id=actor_id,
                invite_id=invite_id,
                token_hash=digest(token),
                email_hash=digest(email),
                role=role,
                expires_at=expires_at,
            )
            invitee = Invitee(
                id=invite_id,
                email=email,
                workspace_id=workspace_id,
                inviter_id=actor_id,
                role=role,
                expires_at=expires_at,
            )
            return None, [workspace, invitee]

        saved = self.store.run(command)
        return Saved(
            saved.position,
            saved.topics,
            {"invite_id": invite_id, "token": token, "expires_at": expires_at},
        )

    def accept_invite(self, *, workspace_id: UUID, token: str, user_id: UUID) -> Saved:
        user = self._existing_user(user_id)

        def command() -> tuple[str, list[Workspace]]:
            workspace = self.store.load(Workspace, workspace_id, "invitation")
            role = workspace.accept_invite(
                token_hash=digest(token),
                user_id=user_id,
                email_hash=digest(normalize_email(user.email)),
                now=datetime.now(UTC),
            )
            return role, [workspace]

        return self.store.run(command)
