"""Outgoing mail: the Mailer port, the tokens of e-mailed links, and the mail policy.

Commands only record events (a user registered, a password reset was requested, an invitee
was addressed). The ``mail`` policy turns each into an outbox row in the transaction of its
position (exactly once, whatever crashes); the outbox dispatcher hands the row to the mail
job (or the log without Redis), which sends it once (interfaces/jobs/mail.py).

Links carry a token derived from the record's id with a server secret (``LinkTokens``): the
log keeps the id, never the token; the server keeps only the token's hash; the policy
derives the token again to write the mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Protocol
from uuid import UUID

from application.errors import NotFound
from domain.identity import Invitee, PasswordReset, User
from domain.workspaces import Workspace
from projections.base import handles
from projections.policy import Loader, Policy, PolicyContext

TEMPLATES = ("welcome", "password_reset", "invite")
RESET_LINK_MINUTES = 60  # application.adapters.sessions.RESET_TTL


class Mailer(Protocol):
    def send(self, template: str, to: str, context: dict[str, Any]) -> None:
        """Queue one message rendered from ``template`` (one of TEMPLATES)."""


class LinkTokens:
    """``token(purpose, id)``: HMAC-SHA256 of the purpose and id under a key derived from the
    server secret, base64url (43 characters). Unguessable without the secret; the same for
    the command that records the id and the policy that mails the link."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"worksync link tokens v1", hashlib.sha256).digest()

    def token(self, purpose: str, record_id: UUID) -> str:
        mac = hmac.new(self._key, f"{purpose}:{record_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _erased(email: str) -> bool:
    return email.endswith("@deleted.invalid")  # the user was deleted before the mail went out


class MailPolicy(Policy):
    """welcome on sign-up, the reset link, the invitation: one outbox row ("mail") each."""

    name = "mail"

    def __init__(self, loader: Loader, links: LinkTokens, app_url: str) -> None:
        super().__init__(loader)
        self.links = links
        self.app_url = app_url

    def _mail(self, ctx: PolicyContext, to: str, template: str, **context: Any) -> None:
        plain = {key: str(value) for key, value in context.items()}
        ctx.outbox("mail", {"to": to, "template": template, "context": plain})

    def _live_user(self, ctx: PolicyContext, user_id: UUID) -> User | None:
        try:
            user = ctx.load(User, user_id)
        except NotFound:
            return None
        return None if user.deleted or not user.is_active else user

    @handles(User.Registered)
    def welcome(self, ctx: PolicyContext, e: Any) -> None:
        if not _erased(e.email):
            self._mail(ctx, e.email, "welcome", name=e.name, app_url=self.app_url)

    @handles(PasswordReset.Requested)
    def password_reset(self, ctx: PolicyContext, e: Any) -> None:
        user = self._live_user(ctx, e.user_id)
        if user is None:
            return
        token = self.links.token("password-reset", e.originator_id)
        self._mail(
            ctx,
            user.email,
            "password_reset",
            name=user.name,
            reset_url=f"{self.app_url}/reset-password?token={token}",
            expires_minutes=RESET_LINK_MINUTES,
        )

    @handles(Invitee.Addressed)
    def invite(self, ctx: PolicyContext, e: Any) -> None:
        if _erased(e.email):
            return
        try:
            workspace = ctx.load(Workspace, e.workspace_id)
        except NotFound:
            return
        inviter = ctx.load(User, e.inviter_id)
        token = self.links.token("invite", e.originator_id)
        self._mail(
            ctx,
            e.email,
            "invite",
            inviter_name=inviter.name,
            workspace_name=workspace.name,
            role=e.role,
            accept_url=f"{self.app_url}/api/v1/workspaces/{e.workspace_id}/invite/{token}",
            expires_days=max(1, round((e.expires_at - e.timestamp).total_seconds() / 86400)),
        )
