"""Row ids (``projections.base.row_id``) are made without ``UUID.__init__`` for speed, and
are still exactly the version-5 UUIDs of their parts: rows written before keep their ids."""

from __future__ import annotations

import copy
import uuid

import pytest

from projections.base import ROW_NAMESPACE, row_id

CARD = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")


@pytest.mark.parametrize(
    "parts",
    [
        ("activity", 5),
        ("card_activity", 2**40, CARD),
        ("reaction", CARD, CARD, "👍 ünïcode"),
        ("member", None, 1.5),
        ("only",),
        (),
    ],
)
def test_a_row_id_is_the_uuid5_of_its_parts_joined(parts):
    made = row_id(*parts)
    expected = uuid.uuid5(ROW_NAMESPACE, ":".join(str(p) for p in parts))
    assert made == expected
    assert str(made) == str(expected)
    assert hash(made) == hash(expected)
    assert made.version == 5
    assert made.variant == uuid.RFC_4122
    assert copy.deepcopy(made) == expected  # its state (int, is_safe) as UUID keeps it
    assert {made: 1}[expected] == 1


def test_different_parts_give_different_ids():
    assert row_id("activity", 1) != row_id("activity", 2)
    assert row_id("a", "b:c") == row_id("a:b", "c")  # the joined text is what counts
