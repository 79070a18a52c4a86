"""Project template rules without PostgreSQL: keys, ids kept across updates, dependencies
(unknown, cycles), due dates on working days, and a project saved as a template giving its
own due dates back."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.templates import phases_from_project
from domain.milestones_schedule import is_working_day
from domain.shared import Gone, RuleBroken
from domain.templates import (
    DependencyCycle,
    ProjectTemplate,
    UnknownDependency,
    due_dates,
    normalized,
    task_order,
)


def phase(name: str, days: int, *tasks: dict) -> dict:
    return {"name": name, "estimated_duration": days, "tasks": list(tasks)}


def test_keys_default_to_phase_and_task_numbers_and_order_follows_dependencies():
    phases = normalized(
        [
            phase("P", 2, {"title": "a", "dependencies": ["c"]}, {"title": "b"}),
            phase("Q", 1, {"title": "c", "key": "c"}, {"title": "d", "dependencies": ["c", "1.2"]}),
        ]
    )
    keys = [t["key"] for p in phases for t in p["tasks"]]
    assert keys == ["1.1", "1.2", "c", "2.2"]
    assert [p["position"] for p in phases] == [0, 1]
    assert [t["position"] for t in phases[1]["tasks"]] == [0, 1]
    order = task_order(phases)
    assert order.index("c") < order.index("1.1")
    assert order.index("c") < order.index("2.2")
    assert order.index("1.2") < order.index("2.2")


def test_unknown_dependencies_and_cycles_are_named():
    with pytest.raises(UnknownDependency) as unknown:
        normalized([phase("P", 1, {"title": "a", "dependencies": ["nope"]})])
    assert unknown.value.extra == {"task": "1.1", "dependency": "nope"}
    with pytest.raises(DependencyCycle) as cycle:
        normalized(
            [
                phase("P", 1, {"key": "a", "title": "a", "dependencies": ["b"]}),
                phase("Q", 1, {"key": "b", "title": "b", "dependencies": ["a"]}),
            ]
        )
    assert cycle.value.extra["cycle"][0] == cycle.value.extra["cycle"][-1]
    assert set(cycle.value.extra["cycle"]) == {"a", "b"}
    with pytest.raises(RuleBroken, match="used twice"):
        normalized([phase("P", 1, {"key": "a", "title": "a"}, {"key": "a", "title": "b"})])
    with pytest.raises(RuleBroken, match="negative"):
        normalized([phase("P", -1)])


def test_an_update_keeps_the_ids_of_phases_by_position_and_tasks_by_key():
    template = ProjectTemplate.create(
        workspace_id=uuid.uuid4(),
        name="T",
        description=None,
        category=None,
        tags=["a", "a", "b"],
        is_public=False,
        phases=[phase("P", 1, {"key": "x", "title": "x"}), phase("Q", 2)],
        actor_id=uuid.uuid4(),
    )
    assert template.tags == ["a", "b"]
    before = template.phases
    template.update(
        uuid.uuid4(),
        phases=[phase("R", 3, {"key": "y", "title": "y"}, {"key": "x", "title": "x2"})],
    )
    after = template.phases
    assert after[0]["id"] == before[0]["id"]
    assert after[0]["tasks"][1]["id"] == before[0]["tasks"][0]["id"]
    assert after[0]["tasks"][0]["id"] != before[0]["tasks"][0]["id"]
    version = template.version
    template.update(uuid.uuid4(), name="T")  # unchanged: nothing recorded
    assert template.version == version
    template.count_use(uuid.uuid4())
    assert template.usage_count == 1
    template.delete(uuid.uuid4())
    with pytest.raises(Gone):
        template.update(uuid.uuid4(), name="again")


def test_due_dates_are_last_working_days_of_consecutive_phases():
    phases = [{"estimated_duration": d} for d in (5, 3, 0, 1)]
    # Saturday 2030-01-05: work starts on Monday the 7th.
    assert due_dates(date(2030, 1, 5), phases) == [
        date(2030, 1, 11),
        date(2030, 1, 16),
        date(2030, 1, 16),
        date(2030, 1, 17),
    ]
    assert due_dates(date(2030, 1, 7), [{"estimated_duration": 0}]) == [date(2030, 1, 7)]
    with pytest.raises(RuleBroken, match="9999"):
        due_dates(date(9999, 12, 20), [{"estimated_duration": 30}])


working_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)).filter(
    is_working_day
)


@given(start=working_days, gaps=st.lists(st.integers(0, 40), min_size=1, max_size=8))
def test_a_project_saved_as_a_template_gives_its_due_dates_back(start, gaps):
    """Milestones on working days after the start: used from the same start date, the
    template dates its milestones on the same days."""
    dues, day = [], start
    for gap in gaps:
        day += timedelta(days=gap)
        while not is_working_day(day):
            day += timedelta(days=1)
        dues.append(day)
    milestones = [
        {"id": uuid.uuid4(), "title": f"M{i}", "description": None, "due_date": d}
        for i, d in enumerate(dues)
    ]
    phases = normalized(phases_from_project(start, milestones, []))
    assert due_dates(start, phases) == sorted(dues)
