"""Milestone rules and the critical path without PostgreSQL: textbook networks checked by hand,
properties on random DAGs (hypothesis), working days, derived progress, the plan's dependency
rules and the milestone's status rules."""

from __future__ import annotations

import uuid
from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.milestones import DependenciesIncomplete, Milestone
from domain.milestones_plan import MilestoneCycle, MilestonePlan
from domain.milestones_schedule import (
    ScheduleCycle,
    add_working_days,
    critical_path,
    derived_progress,
    working_days_between,
)
from domain.milestones_templates import template_problem
from domain.shared import Missing, RuleBroken

ACTOR = uuid.uuid4()

# The textbook critical path network (durations in days), solved by hand:
#
#   A(3) ──► C(2) ──► E(3) ──┐
#     └──────────┐           ▼
#   B(4) ───────► D(5) ───► F(2)
#
#   item  ES  EF  LS  LF  slack
#   A      0   3   1   4    1
#   B      0   4   0   4    0   critical
#   C      3   5   4   6    1
#   D      4   9   4   9    0   critical
#   E      5   8   6   9    1
#   F      9  11   9  11    0   critical       project length 11, chain B -> D -> F
TEXTBOOK = {"A": 3, "B": 4, "C": 2, "D": 5, "E": 3, "F": 2}
TEXTBOOK_EDGES = [("A", "C"), ("A", "D"), ("B", "D"), ("C", "E"), ("D", "F"), ("E", "F")]
TEXTBOOK_EXPECTED = {
    "A": (0, 3, 1, 4, 1),
    "B": (0, 4, 0, 4, 0),
    "C": (3, 5, 4, 6, 1),
    "D": (4, 9, 4, 9, 0),
    "E": (5, 8, 6, 9, 1),
    "F": (9, 11, 9, 11, 0),
}


def test_the_textbook_network_by_hand():
    schedule = critical_path(TEXTBOOK, TEXTBOOK_EDGES)
    got = {
        item: (t.earliest_start, t.earliest_finish, t.latest_start, t.latest_finish, t.slack)
        for item, t in schedule.timings.items()
    }
    assert got == TEXTBOOK_EXPECTED
    assert schedule.length == 11
    assert schedule.chain == ["B", "D", "F"]
    assert {i for i, t in schedule.timings.items() if t.critical} == {"B", "D", "F"}


# A second network with a zero-length milestone M and two equally long branches:
#
#   start(0) ─► P(2) ─► Q(4) ─► M(0) ─► R(1)
#        └────► S(3) ─► T(3) ──┘
#        └────► U(1) ──────────────────► R
#
#   item   ES EF LS LF slack
#   start   0  0  0  0  0
#   P       0  2  0  2  0     both P-Q and S-T take 6: both critical
#   Q       2  6  2  6  0
#   S       0  3  0  3  0
#   T       3  6  3  6  0
#   M       6  6  6  6  0
#   U       0  1  5  6  5
#   R       6  7  6  7  0     length 7
MILESTONE_NET = {"start": 0, "P": 2, "Q": 4, "S": 3, "T": 3, "M": 0, "U": 1, "R": 1}
MILESTONE_EDGES = [
    ("start", "P"),
    ("start", "S"),
    ("start", "U"),
    ("P", "Q"),
    ("S", "T"),
    ("Q", "M"),
    ("T", "M"),
    ("M", "R"),
    ("U", "R"),
]
MILESTONE_EXPECTED = {
    "start": (0, 0, 0, 0, 0),
    "P": (0, 2, 0, 2, 0),
    "Q": (2, 6, 2, 6, 0),
    "S": (0, 3, 0, 3, 0),
    "T": (3, 6, 3, 6, 0),
    "M": (6, 6, 6, 6, 0),
    "U": (0, 1, 5, 6, 5),
    "R": (6, 7, 6, 7, 0),
}


def test_a_network_with_a_zero_length_milestone_and_two_critical_branches():
    schedule = critical_path(MILESTONE_NET, MILESTONE_EDGES)
    got = {
        item: (t.earliest_start, t.earliest_finish, t.latest_start, t.latest_finish, t.slack)
        for item, t in schedule.timings.items()
    }
    assert got == MILESTONE_EXPECTED
    assert schedule.length == 7
    chain = schedule.chain
    assert chain[0] == "start"
    assert chain[-2:] == ["M", "R"]
    assert chain in (["start", "P", "Q", "M", "R"], ["start", "S", "T", "M", "R"])


def test_a_cycle_is_named():
    with pytest.raises(ScheduleCycle) as caught:
        critical_path({"a": 1, "b": 1, "c": 1}, [("a", "b"), ("b", "c"), ("c", "a")])
    cycle = caught.value.extra["cycle"]
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    assert "cycle" in caught.value.detail
    with pytest.raises(ScheduleCycle):
        critical_path({"a": 1}, [("a", "a")])


def test_an_empty_network_and_unknown_edges():
    assert critical_path({}, []).length == 0
    schedule = critical_path({"a": 2}, [("ghost", "a")])
    assert schedule.length == 2
    assert schedule.chain == ["a"]


# Random DAGs ----------------------------------------------------------------------------------


@st.composite
def dags(draw, max_nodes: int = 8):
    n = draw(st.integers(min_value=1, max_value=max_nodes))
    durations = {f"n{i}": draw(st.integers(min_value=0, max_value=10)) for i in range(n)}
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    # Shuffle the names so that topological order is not the naming order.
    names = draw(st.permutations(list(durations)))
    rename = dict(zip(durations, names, strict=True))
    durations = {rename[k]: v for k, v in durations.items()}
    edges = [(rename[f"n{i}"], rename[f"n{j}"]) for i, j in chosen]
    return durations, edges


def longest_path(durations: dict[str, int], edges: list[tuple[str, str]]) -> int:
    """Brute force: the longest total duration over every path (every node alone too)."""
    successors: dict[str, list[str]] = {k: [] for k in durations}
    for a, b in edges:
        successors[a].append(b)

    def walk(node: str) -> int:
        return durations[node] + max((walk(s) for s in successors[node]), default=0)

    return max((walk(n) for n in durations), default=0)


@settings(max_examples=300, deadline=None)
@given(dags())
def test_random_dags_slack_chain_and_length(dag):
    durations, edges = dag
    schedule = critical_path(durations, edges)
    edge_set = set(edges)
    predecessors = {b for _, b in edges}
    for timing in schedule.timings.values():
        assert timing.slack >= 0
        assert timing.earliest_finish <= schedule.length
    chain = schedule.chain
    assert chain, "a non-empty network has a critical chain"
    assert all(schedule.timings[i].critical for i in chain)
    assert chain[0] not in predecessors
    assert schedule.timings[chain[0]].earliest_start == 0
    assert schedule.timings[chain[-1]].earliest_finish == schedule.length
    assert all(pair in edge_set for pair in pairwise(chain))
    assert sum(durations[i] for i in chain) == schedule.length
    assert schedule.length == longest_path(durations, edges)


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_adding_a_dependency_never_shortens_the_project(dag, data):
    durations, edges = dag
    before = critical_path(durations, edges)
    rank = {item: i for i, item in enumerate(before.order)}
    candidates = [
        (a, b) for a in durations for b in durations if rank[a] < rank[b] and (a, b) not in edges
    ]
    if not candidates:
        return
    extra = data.draw(st.sampled_from(candidates))
    after = critical_path(durations, [*edges, extra])
    assert after.length >= before.length


# Working days -------------------------------------------------------------------------------


def test_working_days_skip_weekends():
    monday = date(2026, 1, 5)
    assert add_working_days(monday, 0) == monday
    assert add_working_days(monday, 4) == date(2026, 1, 9)  # Friday
    assert add_working_days(monday, 5) == date(2026, 1, 12)  # next Monday
    assert add_working_days(date(2026, 1, 10), 0) == date(2026, 1, 12)  # Saturday -> Monday
    assert add_working_days(monday, 12) == date(2026, 1, 21)
    assert working_days_between(monday, date(2026, 1, 21)) == 12
    assert working_days_between(date(2026, 1, 21), monday) == -12
    assert working_days_between(date(2026, 1, 16), date(2026, 1, 19)) == 1  # Fri -> Mon


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 400))
def test_working_days_round_trip(start, days):
    end = add_working_days(start, days)
    assert end.weekday() < 5
    assert working_days_between(start, end) == days


# Derived progress ---------------------------------------------------------------------------


def test_progress_is_the_done_share_weighted_by_estimated_hours():
    assert derived_progress([]) is None
    assert derived_progress([{"done": False, "cancelled": True, "hours": "4"}]) is None
    # 6 of 8 hours done
    entries = [{"done": True, "hours": "6"}, {"done": False, "hours": "2"}]
    assert derived_progress(entries) == 75
    # without estimates each task weighs the same
    assert derived_progress([{"done": True}, {"done": False}, {"done": False}]) == 33
    # a task without an estimate weighs the mean estimate (4): 4 done of 4 + 2 + 6 = 12
    entries = [{"done": True}, {"done": False, "hours": "2"}, {"done": False, "hours": "6"}]
    assert derived_progress(entries) == 33
    assert derived_progress([{"done": True, "hours": "1"}, {"cancelled": True}]) == 100


# The plan: dependencies ---------------------------------------------------------------------


def new_plan() -> tuple[MilestonePlan, list[uuid.UUID]]:
    plan = MilestonePlan(workspace_id=uuid.uuid4(), project_id=uuid.uuid4(), actor_id=ACTOR)
    ids = [uuid.uuid4() for _ in range(3)]
    for milestone_id in ids:
        plan.place(ACTOR, milestone_id, [])
    return plan, ids


def test_a_dependency_outside_the_project_is_refused():
    plan, (a, _b, _c) = new_plan()
    with pytest.raises(RuleBroken, match="not a milestone of this project"):
        plan.place(ACTOR, a, [uuid.uuid4()])


def test_a_dependency_that_closes_a_cycle_is_refused_naming_it():
    plan, (a, b, c) = new_plan()
    plan.place(ACTOR, b, [a])  # b waits for a
    plan.place(ACTOR, c, [b])  # c waits for b
    with pytest.raises(MilestoneCycle) as caught:
        plan.place(ACTOR, a, [c])  # a waiting for c closes a -> c -> b -> a
    assert caught.value.extra["cycle"] == [str(a), str(c), str(b), str(a)]
    with pytest.raises(MilestoneCycle):
        plan.place(ACTOR, a, [a])
    with pytest.raises(RuleBroken, match="repeat"):
        plan.place(ACTOR, c, [a, a])
    plan.remove(ACTOR, b)
    assert plan.milestones[str(c)] == []
    plan.place(ACTOR, a, [c])  # without b there is no cycle any more


# The milestone: status, progress, deliverables ------------------------------------------------


def new_milestone(**overrides) -> Milestone:
    fields = {
        "workspace_id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "title": "Beta",
        "description": None,
        "due_date": date(2026, 3, 1),
        "status": "pending",
        "priority": "medium",
        "progress": 0,
        "assignee_ids": [],
        "dependencies": [],
        "actor_id": ACTOR,
    }
    return Milestone(**{**fields, **overrides})


def test_status_follows_the_lifecycle():
    milestone = new_milestone()
    milestone.change_status(ACTOR, "in_progress")
    milestone.change_status(ACTOR, "completed")
    with pytest.raises(RuleBroken, match="a completed milestone cannot become pending"):
        milestone.change_status(ACTOR, "pending")
    with pytest.raises(RuleBroken, match="unknown status"):
        milestone.change_status(ACTOR, "nope")
    milestone = new_milestone()
    milestone.change_status(ACTOR, "cancelled")
    with pytest.raises(RuleBroken, match="cannot become completed"):
        milestone.change_status(ACTOR, "completed")


def test_completing_needs_the_dependencies_unless_forced():
    milestone = new_milestone()
    with pytest.raises(DependenciesIncomplete) as caught:
        milestone.change_status(ACTOR, "completed", ["dep-1"])
    assert caught.value.extra["incomplete"] == ["dep-1"]
    milestone.collect_events()
    milestone.change_status(ACTOR, "completed", ["dep-1"], force=True)
    (completed,) = milestone.collect_events()
    assert isinstance(completed, Milestone.Completed)
    assert completed.forced is True
    assert completed.incomplete_dependencies == ["dep-1"]
    assert milestone.status == "completed"


def test_progress_by_hand_until_tasks_decide_it():
    milestone = new_milestone()
    milestone.set_progress(ACTOR, 40)
    assert (milestone.progress, milestone.progress_source) == (40, "manual")
    with pytest.raises(RuleBroken, match="between 0 and 100"):
        milestone.set_progress(ACTOR, 101)
    task = uuid.uuid4()
    milestone.count_task(ACTOR, task, {"done": False, "cancelled": False, "hours": "4"})
    assert (milestone.progress, milestone.progress_source) == (0, "tasks")
    with pytest.raises(RuleBroken, match="derived from its linked tasks"):
        milestone.set_progress(ACTOR, 50)
    milestone.count_task(ACTOR, task, {"done": True, "cancelled": False, "hours": "4"})
    assert milestone.progress == 100
    milestone.collect_events()
    milestone.count_task(ACTOR, task, {"done": True, "cancelled": False, "hours": "4"})
    assert milestone.collect_events() == []  # nothing changed, nothing recorded
    milestone.count_task(ACTOR, task, None)
    assert milestone.progress_source == "manual"
    assert milestone.tasks == {}


def test_deliverables_count_their_own_versions():
    milestone = new_milestone()
    deliverable = uuid.uuid4()
    milestone.add_deliverable(ACTOR, deliverable, "Spec", None, "document", "pending", None)
    milestone.update_deliverable(ACTOR, deliverable, status="completed")
    assert milestone.deliverable(deliverable)["version"] == 2
    with pytest.raises(RuleBroken, match="unknown deliverable type"):
        milestone.update_deliverable(ACTOR, deliverable, type="poem")
    milestone.remove_deliverable(ACTOR, deliverable)
    with pytest.raises(Missing):
        milestone.deliverable(deliverable)


def test_template_data_is_checked():
    one = {"title": "One"}
    assert template_problem([one], []) is None
    assert template_problem([{"title": "A", "depends_on": [1]}, one], [{"milestone": 1}]) is None
    assert template_problem([{"title": "A", "depends_on": [5]}], [])[0] == "milestones.0.depends_on"
    cyclic = [{"title": "A", "depends_on": [1]}, {"title": "B", "depends_on": [0]}]
    assert "cycle" in template_problem(cyclic, [])[1]
    assert template_problem([one], [{"milestone": 3}])[0] == "deliverables.0.milestone"


def test_milestone_events_get_the_spec_names():
    from interfaces.realtime.names import route

    milestone = new_milestone()
    deliverable = uuid.uuid4()
    milestone.update(ACTOR, title="Renamed")
    milestone.set_progress(ACTOR, 10)
    milestone.add_deliverable(ACTOR, deliverable, "D", None, "code", "pending", None)
    milestone.change_status(ACTOR, "completed")
    routes = [route(e, n) for n, e in enumerate(milestone.collect_events(), 1)]
    assert [r.name for r in routes] == [
        "milestone:created",
        "milestone:updated",
        "milestone:progress:updated",
        "milestone:deliverable:added",
        "milestone:completed",
    ]
    assert routes[3].payload["resource"] == {"type": "deliverable", "id": str(deliverable)}
    assert routes[0].rooms == {f"workspace:{milestone.workspace_id}"}
    plan = MilestonePlan(workspace_id=uuid.uuid4(), project_id=uuid.uuid4(), actor_id=ACTOR)
    assert [route(e, 1) for e in plan.collect_events()] == [None]  # bookkeeping: not sent
