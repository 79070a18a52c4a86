"""Request and response models of the webhooks endpoints. An endpoint wants event names as
real time sends them (interfaces/realtime/names.py), or ``*`` for all of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from interfaces.http.schemas import TEXT_BLOCK, HttpUrl, Strict, _http_url, not_null
from interfaces.realtime.names import EVENT_NAMES

_ON_CARDS = ("comment:", "file:attached", "file:detached")
EVENT_TYPES = tuple(
    sorted(
        {n.name for n in EVENT_NAMES.values()}
        | {f"kanban:{n.name}" for n in EVENT_NAMES.values() if n.name.startswith(_ON_CARDS)}
    )
)
EventType = Literal[("*", *EVENT_TYPES)]  # type: ignore[valid-type]
DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled"]

WebhookUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_http_url),
    HttpUrl(),
    Field(description="https (http only where the server allows it); a public address"),
]
Secret = Annotated[
    str,
    StringConstraints(min_length=16, max_length=256, pattern=r"^[!-~]+$"),
    Field(description="16 to 256 visible ASCII characters; generated when left out"),
]
Description = Annotated[str, Field(max_length=1000), TEXT_BLOCK]


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an event name")
    return values


Events = Annotated[
    list[EventType],
    Field(min_length=1, max_length=200, description="event names, or ['*'] for all"),
    AfterValidator(_distinct),
]


class WebhookCreate(Strict):
    url: WebhookUrl
    events: Events
    secret: Secret | None = None
    description: Description | None = None


UPDATE_NOT_NULLABLE = ("url", "events", "active")


class WebhookUpdate(Strict):
    model_config = {"json_schema_extra": not_null(*UPDATE_NOT_NULLABLE)}

    url: WebhookUrl | None = None
    events: Events | None = None
    description: Description | None = None
    active: bool | None = Field(
        default=None, description="false pauses (pending deliveries are cancelled); true resumes"
    )

    @model_validator(mode="after")
    def _not_null(self) -> WebhookUpdate:
        for name in UPDATE_NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class SecretRotate(Strict):
    secret: Secret | None = None


class WebhookOut(BaseModel):
    id: UUID
    workspace_id: UUID
    url: str
    events: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    created_by: UUID | None
    failing_since: datetime | None
    last_success_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown once: sign-check deliveries with it")


class WebhookSecret(BaseModel):
    id: UUID
    secret: str


class WebhookDeliveryOut(BaseModel):
    id: UUID
    endpoint_id: UUID
    workspace_id: UUID
    position: int
    event: str
    redelivery_of: UUID | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_code: int | None
    latency_ms: int | None
    response_excerpt: str | None = Field(description="the answer's first bytes")
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class WebhookDeliveryDetail(WebhookDeliveryOut):
    body: dict[str, Any]


class WebhookQueued(BaseModel):
    """A ping or redelivery recorded: the policy queues it (see the delivery log)."""

    webhook_id: UUID
    position: int | None
    status: str = "queued"
