"""Structured JSON logs (structlog) with request id, user id and workspace id in context.

Every line on stderr is one JSON object: structlog's own events, and everything that goes
through the standard library's ``logging`` (uvicorn's server and access logs, psycopg, the
Socket.IO server...) and ``warnings``, rendered by structlog's ``ProcessorFormatter``; uncaught
exceptions in any thread are logged too. Secrets never reach a line: access and refresh
tokens (``?token=``, ``access_token``, ``refresh_token``...), ``Authorization`` header values,
anything shaped like a JWT and passwords in URLs are replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

import structlog

REDACTED = "[REDACTED]"
# The names of secrets to redact, not a secret (nosec B105).
_SECRET_NAMES = r"(?:access_token|refresh_token|id_token|token|password|secret|api_key|apikey)"  # noqa: S105 # nosec B105
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # ?token=... &access_token=... password=...
    (re.compile(rf"(?i)(\b{_SECRET_NAMES}=)[^&\s\"',;#]+"), rf"\g<1>{REDACTED}"),
    # "token": "...", 'refresh_token': '...' (JSON, dict reprs)
    (re.compile(rf"(?i)([\"']{_SECRET_NAMES}[\"']\s*:\s*[\"']?)[^\"',}}\s]+"), rf"\g<1>{REDACTED}"),
    # Authorization: Bearer ..., authorization=...
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic)\s+)?[^\s\"',}]+"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Bearer <credential> anywhere
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1> {REDACTED}"),
    # JWT-shaped: three base64url segments, the first a JSON header ("eyJ" = '{"')
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"), REDACTED),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+@"), rf"\g<1>{REDACTED}@"),
]
_SECRET_KEYS = re.compile(rf"(?i)^(?:{_SECRET_NAMES}|authorization|cookie|set-cookie)$")


def redact_text(text: str) -> str:
    """``text`` with every token, credential and JWT-shaped string replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEYS.match(k) else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: no secret in any value (keys named like secrets are dropped)."""
    return _redact(event_dict)


_WRITING = threading.Lock()


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (test runners swap and close it). structlog's
    lines and the standard library's each arrive as one ``write`` (message and newline
    together), and one lock serializes them: two threads logging at once never share a line."""

    def write(self, text: str) -> int:
        with _WRITING:
            return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _stdlib_handler(shared: list[Callable]) -> logging.Handler:
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def _log_uncaught() -> None:
    log = structlog.get_logger("uncaught")

    def on_exception(kind: type, value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log.critical("uncaught exception", exc_info=(kind, value, tb))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        log.error(
            "uncaught exception in thread",
            thread=args.thread.name if args.thread else None,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception


def configure_logging(level: str = "info", *, cache: bool = True) -> None:
    """``cache=False`` for tests in one process: a logger cached on first use would keep this
    configuration even inside ``structlog.testing.capture_logs``."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared: list[Callable] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(_CurrentStderr()),
        cache_logger_on_first_use=cache,
    )
    root = logging.getLogger()
    root.handlers = [_stdlib_handler(shared)]
    root.setLevel(numeric)
    # uvicorn's own handlers (if it configured any) would print plain text: route it to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # we log requests ourselves
    logging.captureWarnings(False)  # re-installed even if something swapped showwarning since
    logging.captureWarnings(True)  # warnings.warn(...) -> logger "py.warnings" -> JSON
    _log_uncaught()
