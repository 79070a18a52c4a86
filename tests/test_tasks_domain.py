"""Task, TaskGraph and Comment rules, without I/O."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.comments import Comment
from domain.shared import Gone, Missing, NotPermitted, RuleBroken
from domain.tasks import CycleDetected, Task, TaskGraph

NODES = [uuid.UUID(int=i + 1) for i in range(6)]
ACTOR = uuid.uuid4()


def new_graph() -> TaskGraph:
    return TaskGraph(workspace_id=uuid.uuid4(), project_id=uuid.uuid4(), actor_id=ACTOR)


def new_task(**overrides) -> Task:
    fields = {
        "workspace_id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "title": "T",
        "description": None,
        "status": "todo",
        "priority": "medium",
        "estimated_hours": None,
        "assignee_id": None,
        "due_date": None,
        "tags": [],
        "milestone_id": None,
        "parent_task_id": None,
        "dependencies": [],
        "actor_id": ACTOR,
    }
    return Task(**{**fields, **overrides})


def acyclic(edges: dict[str, list[str]]) -> bool:
    """Kahn's algorithm: an independent check that the dependency links form a DAG."""
    nodes = set(edges) | {d for deps in edges.values() for d in deps}
    indegree = dict.fromkeys(nodes, 0)
    for deps in edges.values():
        for d in deps:
            indegree[d] += 1
    ready = [n for n, k in indegree.items() if k == 0]
    visited = 0
    while ready:
        node = ready.pop()
        visited += 1
        for d in edges.get(node, []):
            indegree[d] -= 1
            if indegree[d] == 0:
                ready.append(d)
    return visited == len(nodes)


def forest(parents: dict[str, str]) -> bool:
    for start in parents:
        seen, current = set(), start
        while current in parents:
            if current in seen:
                return False
            seen.add(current)
            current = parents[current]
    return True


operation = st.one_of(
    st.tuples(
        st.just("deps"),
        st.sampled_from(NODES),
        st.lists(st.sampled_from(NODES), unique=True, max_size=3),
    ),
    st.tuples(st.just("parent"), st.sampled_from(NODES), st.none() | st.sampled_from(NODES)),
    st.tuples(st.just("remove"), st.sampled_from(NODES), st.none()),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=30))
def test_any_sequence_of_link_changes_keeps_dags_and_a_forest(operations):
    graph = new_graph()
    for kind, task, arg in operations:
        before = (dict(graph.parents), {k: list(v) for k, v in graph.dependencies.items()})
        graph.collect_events()
        try:
            if kind == "deps":
                graph.link(ACTOR, task, graph_parent(graph, task), arg)
            elif kind == "parent":
                graph.link(ACTOR, task, arg, graph_deps(graph, task))
            else:
                graph.remove(ACTOR, task)
        except CycleDetected as e:
            cycle = e.extra["cycle"]
            assert cycle[0] == cycle[-1] == str(task)
            assert graph.collect_events() == []  # a refused change records nothing
            assert (graph.parents, graph.dependencies) == before
        assert acyclic(graph.dependencies)
        assert forest(graph.parents)


def graph_parent(graph: TaskGraph, task: uuid.UUID) -> uuid.UUID | None:
    parent = graph.parents.get(str(task))
    return uuid.UUID(parent) if parent else None


def graph_deps(graph: TaskGraph, task: uuid.UUID) -> list[uuid.UUID]:
    return [uuid.UUID(d) for d in graph.dependencies.get(str(task), [])]


def test_the_graph_id_is_derived_from_the_project():
    project = uuid.uuid4()
    graph = TaskGraph(workspace_id=uuid.uuid4(), project_id=project, actor_id=ACTOR)
    assert graph.id == TaskGraph.id_for(project)
    assert TaskGraph.id_for(uuid.uuid4()) != graph.id


def test_a_cycle_names_its_tasks_in_order():
    a, b, c = NODES[:3]
    graph = new_graph()
    graph.link(ACTOR, b, None, [a])
    graph.link(ACTOR, c, None, [b])
    with pytest.raises(CycleDetected) as caught:
        graph.link(ACTOR, a, None, [c])
    assert caught.value.extra["cycle"] == [str(a), str(c), str(b), str(a)]
    assert "->" in caught.value.detail
    with pytest.raises(CycleDetected):
        graph.link(ACTOR, a, a, [])
    with pytest.raises(RuleBroken):
        graph.link(ACTOR, a, None, [b, b])


def test_a_long_chain_is_checked_without_recursion():
    graph = new_graph()
    chain = [uuid.UUID(int=i + 100) for i in range(3000)]
    for previous, task in itertools.pairwise(chain):
        graph.dependencies[str(task)] = [str(previous)]
    with pytest.raises(CycleDetected) as caught:
        graph.link(ACTOR, chain[0], None, [chain[-1]])
    assert len(caught.value.extra["cycle"]) == len(chain) + 1


def test_removing_a_task_removes_its_subtree_and_every_link_to_it():
    root, child, grandchild, other, waiting = NODES[:5]
    graph = new_graph()
    graph.link(ACTOR, child, root, [])
    graph.link(ACTOR, grandchild, child, [other])
    graph.link(ACTOR, waiting, None, [grandchild, other])
    assert graph.subtree_of(root) == [str(root), str(child), str(grandchild)]
    assert graph.dependents_of({str(grandchild)}) == [str(waiting)]
    removed = graph.remove(ACTOR, root)
    assert set(removed) == {str(root), str(child), str(grandchild)}
    assert graph.parents == {}
    assert graph.dependencies == {str(waiting): [str(other)]}
    graph.collect_events()
    graph.remove(ACTOR, other)  # recorded even without links: concurrent linkers clash
    assert len(graph.collect_events()) == 1


def test_task_status_and_priority_come_from_fixed_lists():
    with pytest.raises(RuleBroken):
        new_task(status="finished")
    task = new_task()
    with pytest.raises(RuleBroken):
        task.change_status(ACTOR, "nope")
    with pytest.raises(RuleBroken):
        task.update(ACTOR, priority="critical")
    with pytest.raises(RuleBroken):
        task.update(ACTOR, status="done")  # status has its own event
    task.collect_events()
    task.change_status(ACTOR, "done")
    (event,) = task.collect_events()
    assert (event.old_status, event.status) == ("todo", "done")
    assert (event.workspace_id, event.project_id, event.actor_id) == (
        task.workspace_id,
        task.project_id,
        ACTOR,
    )


def test_every_task_event_carries_workspace_project_and_actor():
    task = new_task()
    task.update(ACTOR, title="New", tags=["x"])
    task.change_status(ACTOR, "review")
    task.assign(ACTOR, uuid.uuid4())
    task.change_parent(ACTOR, uuid.uuid4())
    task.change_dependencies(ACTOR, [uuid.uuid4()])
    task.delete(ACTOR)
    events = task.collect_events()
    assert len(events) == 7
    for event in events:
        assert (event.workspace_id, event.project_id, event.actor_id) == (
            task.workspace_id,
            task.project_id,
            ACTOR,
        )
    with pytest.raises(Gone):
        task.update(ACTOR, title="x")


def new_comment(author: uuid.UUID) -> Comment:
    return Comment(
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        commentable_type="task",
        commentable_id=uuid.uuid4(),
        parent_comment_id=None,
        content="Hi",
        actor_id=author,
    )


def test_comment_rules():
    author, someone = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(RuleBroken):
        Comment(
            workspace_id=uuid.uuid4(),
            project_id=uuid.uuid4(),
            commentable_type="milestone",
            commentable_id=uuid.uuid4(),
            parent_comment_id=None,
            content="x",
            actor_id=author,
        )
    comment = new_comment(author)
    with pytest.raises(NotPermitted):
        comment.edit(someone, "mine")
    comment.collect_events()
    comment.edit(author, "Hi")
    assert comment.collect_events() == []  # nothing changed
    comment.edit(author, "Hello")
    assert comment.is_edited
    comment.react(someone, "like")
    with pytest.raises(RuleBroken):
        comment.react(someone, "like")
    with pytest.raises(RuleBroken):
        comment.react(someone, "shrug")
    comment.react(author, "like")
    comment.unreact(someone, "like")
    with pytest.raises(Missing):
        comment.unreact(someone, "like")
    assert comment.reactions == {str(author): ["like"]}
    with pytest.raises(NotPermitted):
        comment.delete(someone, moderator=False)
    comment.delete(someone, moderator=True)
    with pytest.raises(Gone):
        comment.react(author, "love")
    for event in comment.collect_events():
        assert event.workspace_id == comment.workspace_id
        assert event.project_id == comment.project_id
        assert event.actor_id in (author, someone)
