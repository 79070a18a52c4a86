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
    # Only positive cases: editing a negative case's headers makes schemathesis re-classify
    # it, and a header a check had removed (Authorization) would be sent after all.
    meta = case._meta  # reading ``case.meta`` would re-validate the case
    if meta is not None and meta.generation.mode.is_negative:
        return
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = uuid.uuid4().hex
