"""An activity's details are written in one orjson call, to the same JSON as the value by
value conversion (``_jsonable``) gives, for every kind of value an event may hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from uuid import UUID, uuid4

from projections.activities import _jsonable, details_json
from projections.base import json_dumps


@dataclass(frozen=True)
class Phase:
    name: str
    starts: date


def long_way(event: SimpleNamespace) -> object:
    fields = {"originator_id", "originator_version", "originator_topic", "timestamp"}
    fields |= {"actor_id", "workspace_id", "password_hash", "token_hash", "secret"}
    details = {k: _jsonable(v) for k, v in vars(event).items() if k not in fields}
    return json.loads(json_dumps(details))  # as the rows were written before details_json


def event(**fields: object) -> SimpleNamespace:
    envelope = {"originator_id": uuid4(), "originator_version": 3, "timestamp": datetime.now(UTC)}
    return SimpleNamespace(**envelope, actor_id=uuid4(), workspace_id=uuid4(), **fields)


def test_every_kind_of_value_gives_the_same_details_as_value_by_value():
    tz = timezone(timedelta(hours=5, minutes=30))
    e = event(
        title='Café ☕ "quoted" \\ \n',
        card_id=UUID("12345678-1234-5678-1234-567812345678"),
        hours=Decimal("12.50"),
        due=date(2027, 1, 4),
        at=datetime(2027, 1, 4, 9, 30, tzinfo=tz),
        whole_second=datetime(2027, 1, 4, 9, 30, 0, 120, tzinfo=UTC),
        naive=datetime(2027, 1, 4, 9, 30),
        starts_at=time(9, 15),
        labels=("a", "b"),
        tags={"x"},
        changes={"assignee_id": uuid4(), "nested": [{"at": date(2026, 2, 1)}, None, 1.5]},
        phase=Phase("design", date(2027, 2, 1)),
        done=True,
        count=7,
        password_hash="never shown",
        secret="never shown",
    )
    assert json.loads(details_json(e)) == long_way(e)
    assert "password_hash" not in json.loads(details_json(e))
    assert "actor_id" not in json.loads(details_json(e))


def test_values_orjson_cannot_write_take_the_long_way():
    keyed_by_id = event(by_member={uuid4(): 3, 7: "seven"})
    huge = event(size=2**70, inner=[{"n": -(2**65)}])
    for e in (keyed_by_id, huge):
        assert json.loads(details_json(e)) == long_way(e)
