"""Rebuild with several processes: the projections are split into groups of about equal
cost, each group's bulk phase (shadow tables, one pass over the log, indexes) runs in a
process of its own, then one transaction in this process catches every group up and swaps
them all in together, as ``rebuild_many`` does for one group.

A rebuild is CPU-bound in Python (decoding, building rows, psycopg), so on a machine with
several cores the groups replay side by side. Each process reads the log and decodes every
event one of its projections handles: projections that handle the same events (the activity
feed handles nearly all) cost less together, which ``split`` weighs with the log's topics.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import queue
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import Mapper

from projections.base import Projection
from projections.engine import EVENTS_TABLE
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

# The weights for splitting, relative: each projection's replay of the bench's event mix
# (bench/rebuild.py), and reading and decoding all of that log once (py-spy samples of a
# 200,000-event rebuild with --jobs 2, scaled to 1,000,000 events). Unknown projections
# weigh 1.
REPLAY_COST = {
    "card_activities": 61,
    "kanban": 60,
    "activities": 51,
    "comments": 27,
    "time_tracking": 18,
    "tasks": 11,
    "files": 5,
}
DECODE_COST = 127
MapperFactory = Callable[[str], Mapper]  # a module-level function: passed to the processes
TRIED = 5_000  # the ways of placing the heavy projections tried at most (then one by one)


def split(
    projections: Sequence[Projection], jobs: int, topics: Mapping[str, int] | None = None
) -> list[list[Projection]]:
    """At most ``jobs`` non-empty groups, the costliest as cheap as can be. A group costs its
    projections' replay, plus decoding the share of the log they handle (``topics``: the
    log's events per topic, a sample will do; without them only the replays count). The
    heavy projections are placed every possible way (one by one past ``TRIED`` ways), then
    each other one where it adds the least."""
    topics = topics or {}
    total = sum(topics.values())
    handled = {p.name: {t for t in topics if p.handles_topic(t)} for p in projections}

    def cost(group: list[Projection]) -> float:
        replay = sum(REPLAY_COST.get(p.name, 1) for p in group)
        if not total or not group:
            return replay
        decoded = set().union(*(handled[p.name] for p in group))
        return replay + DECODE_COST * sum(topics[t] for t in decoded) / total

    def worst(groups: list[list[Projection]]) -> tuple[float, float]:
        costs = [cost(g) for g in groups]
        return max(costs), sum(costs)

    def place(groups: list[list[Projection]], projection: Projection) -> list[list[Projection]]:
        ways = (
            [[*g, projection] if i == j else g for j, g in enumerate(groups)]
            for i in range(len(groups))
        )
        return min(ways, key=worst)

    slots = max(1, min(jobs, len(projections)))
    heavy = sorted((p for p in projections if p.name in REPLAY_COST), key=lambda p: p.name)
    light = sorted((p for p in projections if p.name not in REPLAY_COST), key=lambda p: p.name)
    if slots ** len(heavy) <= TRIED:
        ways = itertools.product(range(slots), repeat=len(heavy))
        best = min(
            (
                [[p for p, g in zip(heavy, w, strict=True) if g == i] for i in range(slots)]
                for w in ways
            ),
            key=worst,
        )
    else:
        best = [[] for _ in range(slots)]
        for projection in sorted(heavy, key=lambda p: -REPLAY_COST[p.name]):
            best = place(best, projection)
    for projection in light:
        best = place(best, projection)
    return [g for g in best if g]


def log_topics(conninfo: str) -> dict[str, int]:
    """Events per topic in a sample of the log (all of it when it is small)."""
    query = f"SELECT topic, count(*) FROM {EVENTS_TABLE} {{}} GROUP BY topic"
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(query.format("TABLESAMPLE SYSTEM (2) REPEATABLE (0)")).fetchall()
        if sum(n for _, n in rows) < 5_000:
            rows = conn.execute(query.format("")).fetchall()
    return dict(rows)


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
    groups = split(projections, jobs, log_topics(conninfo) if jobs > 1 else None)
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
