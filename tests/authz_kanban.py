"""Authorization matrix rows for the kanban endpoints (see tests/authz.py)."""

from __future__ import annotations

from tests.authz import Case

CASES: list[Case] = []
