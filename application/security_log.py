"""Security events as structured log lines (the spec's "Monitoring & Logging"): failed
log-ins, permission denials, rate-limit blocks, refresh-token reuse, and the other session
events ``application.adapters.sessions`` records.

One shape for all: logger ``security``, event ``security event``, ``security_event`` the
kind, with ``user_id``, ``workspace_id`` and ``request_id`` (the request's, bound by the
HTTP middleware and carried into worker threads by the context) and the client address.
No personal data beyond ids: an e-mail address is never logged, only its digest.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog

log = structlog.get_logger("security")

# Kinds logged at warning level (someone may be attacking); the others are info.
ALERTS = frozenset(
    {
        "login_failed",
        "permission_denied",
        "rate_limit_blocked",
        "refresh_token_reuse",
        "password_change_failed",
    }
)


def security_event(
    kind: str,
    *,
    user_id: UUID | str | None = None,
    workspace_id: UUID | str | None = None,
    **details: Any,
) -> None:
    """Log one security event. ``user_id`` / ``workspace_id`` left out keep the ones the
    request bound (the signed-in caller)."""
    fields: dict[str, Any] = {"security_event": kind, **details}
    if user_id is not None:
        fields["user_id"] = str(user_id)
    if workspace_id is not None:
        fields["workspace_id"] = str(workspace_id)
    if kind in ALERTS:
        log.warning("security event", **fields)
    else:
        log.info("security event", **fields)
