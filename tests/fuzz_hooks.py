"""schemathesis hooks for tests/test_api_fuzz.py.

A generated ``Idempotency-Key`` is a small value that the fuzzer sends again with other
bodies, and the server rightly answers such a reuse 422 (a rule on stored state that no
schema can state). Each call gets a fresh key, so positive-data acceptance still sees every
create accepted with the header present; reuse is tested in tests/test_command_answers.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    # Through the request's own headers (they override the case's): editing ``case.headers``
    # would make schemathesis re-classify the case and send headers a check had removed.
    if any(name.lower() == "idempotency-key" for name in case.headers or {}):
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Idempotency-Key": uuid.uuid4().hex}
