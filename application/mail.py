"""The outgoing-mail port. Use cases ask for a templated message; interfaces decide how it
leaves (a dramatiq job over SMTP, or the log when no SMTP server is configured)."""

from __future__ import annotations

from typing import Any, Protocol

TEMPLATES = ("welcome", "password_reset", "invite")


class Mailer(Protocol):
    def send(self, template: str, to: str, context: dict[str, Any]) -> None:
        """Queue one message rendered from ``template`` (one of TEMPLATES)."""
