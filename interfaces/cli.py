"""The ``worksync`` command line: serve, projector, realtime, migrate, projections, openapi,
import (interfaces/cli_imports.py)."""

from __future__ import annotations

import getpass
import json
import os
import signal
import threading
from typing import Annotated

import structlog
import typer
from eventsourcing.persistence import Mapper
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from application.config import ConfigError, get_settings
from application.errors import NotFound
from application.templates_builtin import BUILTIN_TEMPLATES
from interfaces import metrics
from interfaces.bootstrap import (
    POLICY_NAMES,
    make_projector,
    migrate,
    open_event_store,
    open_identity,
    open_templates,
    settle_heap,
)
from interfaces.cli_imports import export_workspace, imports_app
from interfaces.doctor import run_checks
from interfaces.embedded import resolve_database_url
from interfaces.logs import configure_logging
from projections import control
from projections.rebuild import DEFAULT_BATCH
from projections.rebuild_parallel import rebuild_parallel
from projections.registry import all_projections, by_name

app = typer.Typer(help="WorkSync: event-sourced project management backend.", no_args_is_help=True)
projections_app = typer.Typer(help="Inspect and operate the projections.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
users_app = typer.Typer(help="Administer user accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
templates_app = typer.Typer(help="Project templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(imports_app, name="import")
app.command("export")(export_workspace)
console = Console(stderr=True)


def event_mapper(database_url: str) -> Mapper:
    """The event store's mapper (personal data decrypted with the users' keys)."""
    return open_event_store(database_url, pool_size=1).mapper


def _database_url() -> str:
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT or 8000)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    with_projector: Annotated[
        bool,
        typer.Option(
            "--with-projector/--no-projector",
            help="Run the projector in-process (the default; an advisory lock elects one runner"
            " per projection, so a separate `worksync projector` stays safe). --no-projector"
            " when a `worksync projector` service does it",
        ),
    ] = True,
    run_migrations: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations first")
    ] = False,
    realtime_emitter: Annotated[
        bool,
        typer.Option(
            "--realtime-emitter/--no-realtime-emitter",
            help="Stand for election as the Socket.IO event emitter (with REDIS_URL; off when"
            " a `worksync realtime` process does it)",
        ),
    ] = True,
) -> None:
    """Serve the HTTP API and Socket.IO (/socket.io) with uvicorn."""
    import uvicorn

    settings = get_settings()
    try:
        settings.check_safe()
    except ConfigError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)  # every stderr line JSON, uvicorn's included
    log = structlog.get_logger("serve")
    url = resolve_database_url(settings.database_url, settings.data_dir)
    if run_migrations:
        log.info("migrations applied", applied=migrate(url))
    if not with_projector:
        log.info("no in-process projector (--no-projector): a `worksync projector` must run")
    os.environ["WORKSYNC_WITH_PROJECTOR"] = "1" if with_projector else "0"
    os.environ["WORKSYNC_REALTIME_EMITTER"] = "1" if realtime_emitter else "0"
    metrics.prepare_multiprocess(workers)  # workers count into one folder (multiprocess)
    uvicorn.run(
        "interfaces.http.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,  # RequestContext logs each request (JSON, no query string)
        log_config=None,  # keep configure_logging's JSON handler (uvicorn's would be text)
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        lifespan="on",
        ws_per_message_deflate=False,  # Socket.IO frames are small: compression costs CPU
    )


@app.command()
def projector() -> None:
    """Run every projection (one runner each, elected by advisory lock) until stopped."""
    settings = get_settings()
    configure_logging(settings.log_level)
    url = _database_url()
    runner = make_projector(url, settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"projector running {len(runner.workers)} projections; Ctrl-C stops")
    settle_heap()
    runner.run_forever(should_stop=stop.is_set)


@app.command()
def realtime() -> None:
    """Publish every event to Socket.IO clients through Redis (one emitter is elected by
    advisory lock; run two for failover), so API processes need not emit."""
    import asyncio
    import contextlib

    from interfaces.realtime import run_emitter

    settings = get_settings()
    if not settings.redis_url:
        console.print("[red]a dedicated real-time emitter needs REDIS_URL[/red]")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    url = _database_url()
    mapper = open_event_store(url, pool_size=1).mapper
    console.print("real-time emitter running (standing by while another holds the lock)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_emitter(settings.redis_url, url, mapper))


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process")] = 4,
) -> None:
    """Run background jobs (e-mail, ...) from the Redis queue until stopped."""
    from interfaces.jobs import mail  # noqa: F401  (registers the mail actor)
    from interfaces.jobs.broker import run_worker

    settings = get_settings()
    if not settings.redis_url:
        console.print("[red]the job worker needs REDIS_URL[/red]")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    run_worker(settings, processes=processes, threads=threads)


@users_app.command("grant-admin")
def users_grant_admin(email: str) -> None:
    """Make an existing account a site administrator (operators bootstrap the first one)."""
    identity = open_identity(get_settings(), _database_url())
    try:
        identity.grant_admin(email=email)
    except NotFound as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    finally:
        identity.store.close()
    console.print(f"{email} is now an administrator")


@templates_app.command("seed")
def templates_seed() -> None:
    """Load the built-in public project templates (idempotent: existing ones are kept)."""
    templates = open_templates(_database_url())
    try:
        created = templates.seed(BUILTIN_TEMPLATES)
    finally:
        templates.store.close()
    kept = len(BUILTIN_TEMPLATES) - len(created)
    console.print(f"built-in templates: {len(created)} created, {kept} already there")


@app.command("migrate")
def migrate_command() -> None:
    """Create the event store and apply the read-model migrations (idempotent)."""
    applied = migrate(_database_url())
    console.print(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (JSON)."""
    from interfaces.http.app import create_app

    typer.echo(json.dumps(create_app().openapi(), indent=2))


def _names() -> list[str]:
    return [p.name for p in all_projections()] + list(POLICY_NAMES)


def _known(name: str) -> None:
    if name not in _names():
        raise typer.BadParameter(f"unknown projection or policy {name!r}")


@projections_app.command("status")
def projections_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each projection's and policy's position, the log head, lag, state, whether a runner is
    active, the error it stopped at, and the events parked for it."""
    rows = control.status(_database_url(), _names(), POLICY_NAMES)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows]))
        return
    table = Table("projection", "kind", "position", "head", "lag", "state", "runner", "error")
    for r in rows:
        error = f"at {r.error_position}: {r.error}" if r.error else ""
        table.add_row(
            r.name,
            r.kind,
            str(r.position),
            str(r.head),
            str(r.lag),
            r.state,
            "yes" if r.runner else "no",
            error,
        )
    Console().print(table)
    parked = [p for r in rows for p in r.parked]
    if parked:
        table = Table("parked", "position", "topic", "reason", "by", "at")
        for p in parked:
            at = p.parked_at.isoformat(timespec="seconds")
            table.add_row(p.projection, str(p.position), p.topic, p.reason, p.parked_by, at)
        Console().print(table)


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="Projection name")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every projection")] = False,
    batch_size: Annotated[int, typer.Option(help="Events per transaction")] = DEFAULT_BATCH,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON report per projection")
    ] = False,
    jobs: Annotated[
        int, typer.Option(min=1, help="Processes replaying groups of projections side by side")
    ] = min(2, os.cpu_count() or 1),
) -> None:
    """Replay the whole log into shadow tables, then swap them in atomically (with --all:
    every projection in one pass over the log, swapped in together)."""
    if all_ == (name is not None):
        raise typer.BadParameter("give a projection NAME or --all")
    try:
        targets = all_projections() if all_ else [by_name(name)]
    except KeyError:
        raise typer.BadParameter(f"unknown projection {name!r}") from None
    url = _database_url()
    mapper = event_mapper(url)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    label = "all projections" if all_ else targets[0].name
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=None, rate="")

        def report(position: int, head: int) -> None:
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(
                task, completed=position, total=head, rate=f"{position / elapsed:,.0f} pos/s"
            )

        results = rebuild_parallel(
            url, targets, mapper, event_mapper, jobs=jobs, batch_size=batch_size, progress=report
        )
        done = results[0]
        bar.update(task, rate=f"{done.events:,} events, {done.events_per_second:,.0f} events/s")
    if as_json:
        for r in results:
            typer.echo(
                json.dumps(
                    {
                        "name": r.name,
                        "events": r.events,
                        "position": r.position,
                        "seconds": round(r.seconds, 3),
                        "apply_seconds": round(r.apply_seconds, 3),
                        "batch_ms": [round(ms, 2) for ms in r.batch_ms],
                    }
                )
            )


@projections_app.command("pause")
def projections_pause(name: str) -> None:
    """Stop applying events to a projection (or policy) until resumed."""
    _known(name)
    control.set_state(_database_url(), name, "paused")


@projections_app.command("resume")
def projections_resume(name: str) -> None:
    """Resume a paused or failed projection or policy (after fixing the cause)."""
    _known(name)
    control.set_state(_database_url(), name, "running")


@projections_app.command("skip")
def projections_skip(
    name: Annotated[str, typer.Argument(help="Projection or policy")],
    position: Annotated[int, typer.Argument(help="The event's log position")],
    reason: Annotated[str, typer.Option(help="Why (recorded, shown in status)")],
    by: Annotated[str | None, typer.Option(help="Who parks it (default: the OS user)")] = None,
) -> None:
    """Park one event for one projection or policy: it and every rebuild pass over it (the
    other projections still apply it). A projection that failed at that very event runs
    again at once; one paused, or failed at another event, stays so (resume it). Only an
    event the projection has not applied yet can be parked. Recorded with who, when and why,
    and listed by `projections status`."""
    _known(name)
    try:
        parked, resumed = control.park(
            _database_url(), name, position, reason, by or getpass.getuser()
        )
    except control.ParkError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"parked position {parked.position} ({parked.topic}) for {name}"
        + ("; it runs again" if resumed else ""),
        soft_wrap=True,
    )


# Backup and restore (interfaces/backup.py, interfaces/backup_restore.py) ---------------------


@app.command("backup")
def backup_command(
    path: Annotated[str, typer.Argument(help="Directory to write (new or empty)")],
) -> None:
    """Back up the event log and the tables no projection rebuilds, from one consistent
    snapshot: gzip'd COPY streams, a manifest and SHA-256 checksums."""
    from interfaces.backup import backup

    try:
        report = backup(_database_url(), path)
    except FileExistsError as e:
        console.print(f"[red]{e}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    rows = sum(report.tables.values())
    console.print(
        f"backup written to {report.path}: log head {report.head}, {len(report.tables)}"
        f" tables, {rows:,} rows, {report.bytes:,} bytes",
        soft_wrap=True,
    )


@app.command("restore")
def restore_command(
    path: Annotated[str, typer.Argument(help="A directory written by `worksync backup`")],
    jobs: Annotated[int, typer.Option(min=1, help="Processes for the rebuild")] = 1,
) -> None:
    """Restore a backup into an EMPTY database: verify checksums, migrate, load the log and
    security tables, start every policy at the restored head (nothing is sent again), and
    rebuild every projection."""
    from interfaces.backup_restore import BackupInvalid, DatabaseNotEmpty, restore

    try:
        report = restore(
            _database_url(),
            path,
            migrate=migrate,
            mapper_factory=event_mapper,
            policy_names=POLICY_NAMES,
            jobs=jobs,
        )
    except (BackupInvalid, DatabaseNotEmpty) as e:
        console.print(f"[red]{e}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    behind = {n: p for n, p in report.policies.items() if p < report.head}
    console.print(
        f"restored log head {report.head}: {sum(report.tables.values()):,} rows in"
        f" {len(report.tables)} tables; {len(report.rebuilt)} projections rebuilt",
        soft_wrap=True,
    )
    if behind:
        console.print(
            "policies started at the head although they were behind at the backup (their"
            f" reactions to those events are not repeated): {behind}",
            soft_wrap=True,
        )


# Retention and partitions (application/retention.py, interfaces/jobs/retention.py) -----------


@app.command("retention")
def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would go; remove nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Apply the retention rules (RETENTION_*_DAYS) now, or say what they would remove."""
    from datetime import UTC, datetime

    from application.adapters.retention import PostgresRetention
    from application.retention import apply_rules, rules_from

    outcomes = apply_rules(
        PostgresRetention(_database_url()),
        rules_from(get_settings()),
        datetime.now(UTC),
        dry_run=dry_run,
    )
    if as_json:
        for o in outcomes:
            typer.echo(
                json.dumps(
                    {
                        "target": o.target,
                        "cutoff": o.cutoff.isoformat(),
                        "rows": o.rows,
                        "partitions": list(o.partitions),
                        "dry_run": dry_run,
                    }
                )
            )
        return
    table = Table("target", "older than", "rows" + (" (would go)" if dry_run else ""), "partitions")
    for o in outcomes:
        table.add_row(
            o.target, o.cutoff.isoformat(timespec="seconds"), str(o.rows), ", ".join(o.partitions)
        )
    Console().print(table)


@app.command("partitions")
def partitions_command() -> None:
    """Create the monthly partitions ahead (PARTITIONS_AHEAD_MONTHS), as the scheduled job does."""
    from datetime import UTC, datetime

    from application.adapters.retention import ensure_partitions

    created = ensure_partitions(
        _database_url(), datetime.now(UTC), get_settings().partitions_ahead_months
    )
    console.print(f"partitions created: {', '.join(created) or 'none (up to date)'}")


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the configuration, database, read replica, Redis, storage, SMTP and projection
    lag, and say what to fix; exit 1 when a check failed."""
    results = run_checks(get_settings, _names(), POLICY_NAMES)
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in results]))
    else:
        table = Table("check", "status", "detail", "fix")
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in results:
            table.add_row(c.name, f"[{colour[c.status]}]{c.status}[/]", c.detail, c.fix)
        Console().print(table)
    if any(c.status == "fail" for c in results):
        raise typer.Exit(1)


def main() -> None:
    app()
