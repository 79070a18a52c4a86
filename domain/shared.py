"""What every bounded context shares: the domain's error types and id helpers."""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed namespace for name-based (uuid5) aggregate ids, e.g. the e-mail index.
WORKSYNC_NAMESPACE = UUID("6f1c3f0e-5d1a-4c8e-9a57-0c1b7f6f2a11")


def name_based_id(kind: str, key: str) -> UUID:
    """A stable aggregate id derived from a kind and a natural key."""
    return uuid5(WORKSYNC_NAMESPACE, f"{kind}:{key}")


class DomainError(Exception):
    """A command broke one of the domain's rules."""

    code = "rule-broken"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class RuleBroken(DomainError):
    """The command conflicts with the aggregate's current state (HTTP 409)."""


class Gone(DomainError):
    """The aggregate has been deleted; treat it as not found."""

    code = "not-found"


class NotPermitted(DomainError):
    """The actor's role does not allow this particular change (HTTP 403)."""

    code = "forbidden"


class Missing(DomainError):
    """A part of the aggregate the command refers to does not exist (HTTP 404)."""

    code = "not-found"
