"""Setup (not measured) for the milestones benchmarks driven by bench/run.py: one project with
``BENCH_CP_TASKS`` tasks (10,000), ``BENCH_CP_DEPENDENCIES`` dependencies between them (30,000)
and ``BENCH_MILESTONES`` milestones (1,000), in a workspace of the owner's that the members
join; milestones are assigned to them.

Milestones are made through the API; the tasks are appended to the log straight from their
aggregates (``Task`` events with their estimated hours, dependencies and milestone, in
batches: ten thousand POSTs would take minutes), then the projector reads them like any
other. Task i depends on up to three tasks among the ``WINDOW`` before it, so the network is a
DAG with long chains; one task in ten belongs to a milestone (in order: the milestones policy
counts each, one transaction per task, which is most of the setup's time), and each milestone
depends on the one before.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from lib import BenchUser, _lua_string, log

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.tasks import Task  # noqa: E402
from interfaces.bootstrap import open_event_store  # noqa: E402

WINDOW = 200  # a task depends on tasks at most this many before it
BATCH = 500  # tasks per append
LINKED = 10  # one task in LINKED belongs to a milestone (the milestones policy counts each)
STATUSES = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high", "critical")


@dataclass
class MilestoneProject:
    project_id: str
    milestone_ids: list[str]
    assignee_ids: list[str]
    tokens: list[str]
    tasks: int
    dependencies: int


def create_milestone_project(
    base_url: str,
    database_url: str,
    owner: BenchUser,
    members: list[BenchUser],
    *,
    milestones: int,
    tasks: int,
    dependencies: int,
    seed: int = 20261203,
) -> MilestoneProject:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {owner.token}"}
    start = date(2027, 1, 4)

    def call(client: httpx.Client, method: str, path: str, body: dict) -> dict:
        r = client.request(method, path, json=body, headers=headers)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text}")
        return r.json()

    with httpx.Client(base_url=base_url, timeout=60) as client:
        workspace_id = call(client, "POST", "/api/v1/workspaces", {"name": "Milestones"})["id"]
        for member in members:
            call(
                client,
                "POST",
                f"/api/v1/workspaces/{workspace_id}/members",
                {"user_id": member.user_id, "role": "member"},
            )
        body = {"workspace_id": workspace_id, "name": "Critical", "start_date": str(start)}
        project = call(client, "POST", "/api/v1/projects", body)["id"]
        people = [owner.user_id, *(m.user_id for m in members)]
        milestone_ids: list[str] = []
        started = time.monotonic()
        for i in range(milestones):
            body = {
                "title": f"Milestone {i}",
                "due_date": str(start + timedelta(days=7 * (i + 1) // 2)),
                "priority": rng.choice(PRIORITIES),
                "assignee_ids": rng.sample(people, k=min(2, len(people))),
                "dependencies": milestone_ids[-1:],
            }
            milestone_ids.append(
                call(client, "POST", f"/api/v1/projects/{project}/milestones", body)["id"]
            )
        for milestone_id in milestone_ids[: milestones // 4]:
            call(client, "PUT", f"/api/v1/milestones/{milestone_id}", {"status": "in_progress"})
        log(f"setup: {milestones} milestones in {time.monotonic() - started:.1f}s")

    started = time.monotonic()
    store = open_event_store(database_url, pool_size=2)
    actor = uuid.UUID(owner.user_id)
    try:
        ids: list[uuid.UUID] = []
        per_task = [0] * tasks
        for _ in range(dependencies):  # spread the dependencies over the tasks after the first
            per_task[rng.randrange(1, tasks)] += 1
        made = 0
        batch: list[Task] = []
        for i in range(tasks):
            candidates = range(max(0, i - WINDOW), i)
            wanted = min(per_task[i], len(candidates))
            needs = [ids[j] for j in rng.sample(candidates, wanted)] if wanted else []
            made += len(needs)
            task = Task(
                workspace_id=uuid.UUID(workspace_id),
                project_id=uuid.UUID(project),
                title=f"Task {i}",
                description=None,
                status="todo",
                priority="medium",
                estimated_hours=Decimal(rng.randint(1, 40)),
                assignee_id=None,
                due_date=None,
                tags=[],
                milestone_id=(
                    uuid.UUID(milestone_ids[i * milestones // tasks]) if i % LINKED == 0 else None
                ),
                parent_task_id=None,
                dependencies=needs,
                actor_id=actor,
            )
            ids.append(task.id)
            batch.append(task)
            if len(batch) == BATCH:
                store.save(*batch)
                batch = []
        if batch:
            store.save(*batch)
    finally:
        store.close()
    log(f"setup: {tasks} tasks, {made} dependencies appended in {time.monotonic() - started:.1f}s")
    return MilestoneProject(
        project_id=project,
        milestone_ids=milestone_ids,
        assignee_ids=people,
        tokens=[owner.token, *(m.token for m in members)],
        tasks=tasks,
        dependencies=made,
    )


def check_critical_path(base_url: str, project: MilestoneProject) -> None:
    """Fail in setup, not in the measured run: every task is in the answer."""
    headers = {"Authorization": f"Bearer {project.tokens[-1]}"}
    r = httpx.get(
        f"{base_url}/api/v1/projects/{project.project_id}/critical-path",
        headers=headers,
        timeout=60,
    )
    if r.status_code != 200:
        raise RuntimeError(f"critical path answered {r.status_code}: {r.text[:300]}")
    items = r.json()["items"]
    expected = project.tasks + len(project.milestone_ids)
    if len(items) != expected:
        raise RuntimeError(f"the critical path has {len(items)} items, expected {expected}")


def write_milestones_lua_data(project: MilestoneProject, path: Path) -> None:
    q = _lua_string
    path.write_text(
        "return {\n"
        f"  tokens = {{{', '.join(q(t) for t in project.tokens)}}},\n"
        f"  project = {q(project.project_id)},\n"
        f"  assignees = {{{', '.join(q(a) for a in project.assignee_ids)}}},\n"
        f"  statuses = {{{', '.join(q(s) for s in STATUSES)}}},\n"
        f"  priorities = {{{', '.join(q(p) for p in PRIORITIES)}}},\n"
        f"  milestones = {len(project.milestone_ids)},\n"
        "}\n"
    )
