"""Authorization matrix rows for the projects endpoints (see tests/authz.py)."""

from __future__ import annotations

from tests.authz import Case

CASES: list[Case] = []
