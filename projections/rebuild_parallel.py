"""Rebuild with several processes: the projections are split into groups of about equal
replay cost, each group's bulk phase (shadow tables, one pass over the log, indexes) runs in
a process of its own, then one transaction in this process catches every group up and swaps
them all in together, as ``rebuild_many`` does for one group.

A rebuild is CPU-bound in Python (decoding, building rows, psycopg), so on a machine with
several cores the groups replay side by side.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from projections.base import Projection
from projections.rebuild import (
    DEFAULT_BATCH,
    Progress,
    RebuildReport,
    bulk_replay,
    catch_up_and_swap,
    check_rebuildable,
    rebuild_many,
)
from projections.registry import by_name

# Seconds each projection spent applying the bench's 1,000,000-event mix (bench/rebuild.py):
# the weights for splitting. Unknown projections weigh 1.
REPLAY_COST = {
    "comments": 92,
    "kanban": 79,
    "activities": 72,
    "card_activities": 48,
    "time_tracking": 29,
    "tasks": 11,
}
MapperFactory = Callable[[str], Mapper]  # a module-level function: passed to the processes


def split(projections: Sequence[Projection], jobs: int) -> list[list[Projection]]:
    """At most ``jobs`` non-empty groups of about equal cost (heaviest first, to the lightest
    group)."""
    groups: list[list[Projection]] = [[] for _ in range(max(1, jobs))]
    costs = [0] * len(groups)
    for projection in sorted(projections, key=lambda p: -REPLAY_COST.get(p.name, 1)):
        lightest = costs.index(min(costs))
        groups[lightest].append(projection)
        costs[lightest] += REPLAY_COST.get(projection.name, 1)
    return [g for g in groups if g]


def _replay_group(
    conninfo: str,
    names: list[str],
    batch_size: int,
    mapper_factory: MapperFactory,
    results: Any,
    index: int,
) -> None:
    """In a child process: the bulk phase for one group; progress and the outcome go to the
    parent through ``results``."""
    try:

        def report(position: int, head: int) -> None:
            results.put(("progress", index, position, head))

        done = bulk_replay(
            conninfo,
            [by_name(n) for n in names],
            mapper_factory(conninfo),
            batch_size=batch_size,
            progress=report,
        )
        results.put(("done", index, done))
    except BaseException:
        results.put(("error", index, traceback.format_exc()))


def rebuild_parallel(
    conninfo: str,
    projections: Sequence[Projection],
    mapper: Mapper,
    mapper_factory: MapperFactory,
    *,
    jobs: int,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> list[RebuildReport]:
    """Rebuild these projections with up to ``jobs`` processes; swap them in together."""
    check_rebuildable(projections)
    groups = split(projections, jobs)
    if len(groups) < 2:
        return rebuild_many(conninfo, projections, mapper, batch_size=batch_size, progress=progress)
    started = time.perf_counter()
    context = mp.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(
            target=_replay_group,
            args=(conninfo, [p.name for p in group], batch_size, mapper_factory, results, i),
            name=f"rebuild-{i}",
            daemon=True,
        )
        for i, group in enumerate(groups)
    ]
    for worker in workers:
        worker.start()
    done: dict[int, Any] = {}
    positions, heads = [0] * len(groups), [0] * len(groups)
    try:
        while len(done) < len(groups):
            try:
                kind, index, *rest = results.get(timeout=1.0)
            except queue.Empty:
                for i, worker in enumerate(workers):
                    if i not in done and not worker.is_alive() and results.empty():
                        died = f"rebuild process {i} died ({worker.exitcode})"
                        raise RuntimeError(died) from None
                continue
            if kind == "progress":
                positions[index], heads[index] = rest
                if progress:
                    progress(min(positions), max(heads))
            elif kind == "done":
                done[index] = rest[0]
            else:
                names = ", ".join(p.name for p in groups[index])
                raise RuntimeError(f"rebuilding {names} failed:\n{rest[0]}")
    finally:
        for worker in workers:
            worker.join(timeout=5 if len(done) == len(groups) else 0.1)
            if worker.is_alive():
                worker.terminate()
                worker.join(5)
    finals, caught_up = catch_up_and_swap(
        conninfo,
        [(group, done[i].position) for i, group in enumerate(groups)],
        mapper,
        batch_size=batch_size,
    )
    if progress:
        final = max(finals.values(), default=0)
        progress(final, final)
    seconds = time.perf_counter() - started
    reports = {}
    for i, group in enumerate(groups):
        for projection in group:
            reports[projection.name] = RebuildReport(
                projection.name,
                done[i].consumed + caught_up,
                finals[projection.name],
                seconds,
                done[i].apply_seconds[projection.name],
                tuple(done[i].batch_ms),
            )
    return [reports[p.name] for p in projections]
