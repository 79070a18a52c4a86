"""Job metrics: a dramatiq middleware counting each actor's attempts by outcome (success,
failure, and retry for an attempt that is a retry), into ``interfaces.metrics.JOBS``."""

from __future__ import annotations

from typing import Any

import dramatiq

from interfaces import metrics


class JobMetrics(dramatiq.Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.options.get("retries", 0) > 0:
            metrics.JOBS.labels(message.actor_name, "retry").inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        outcome = "failure" if exception is not None else "success"
        metrics.JOBS.labels(message.actor_name, outcome).inc()
