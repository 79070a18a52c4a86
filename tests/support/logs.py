"""How the API logs inside the test processes: structlog's console renderer (every level,
so ``structlog.testing.capture_logs`` sees everything), with plain-text tracebacks.

structlog's default console renderer formats an exception with rich, locals of every frame
included: 5-10 s for one logged 500 (the locals hold the app), more under coverage. Nothing
reads those renderings (pytest captures them); the plain traceback says the same."""

from __future__ import annotations

import structlog


def console_logging() -> None:
    """structlog's defaults, the renderer's tracebacks plain (also after a test that
    configured JSON logging: call this instead of ``structlog.reset_defaults()``)."""
    structlog.reset_defaults()
    processors = list(structlog.get_config()["processors"])
    processors[-1] = structlog.dev.ConsoleRenderer(
        exception_formatter=structlog.dev.plain_traceback
    )
    structlog.configure(processors=processors)
