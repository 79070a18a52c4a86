"""``worksync import``: imports run by an operator, in this process (no job): ``worksync
import trello FILE --workspace ID`` (application/imports.py), with a progress bar on stderr
and the counts and report at the end (``--json``: one JSON object on stdout); ``worksync
import worksync FILE --workspace ID``, the workspace export that ``worksync export`` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from application.config import get_settings
from application.errors import ApplicationError
from interfaces.bootstrap import open_exports, open_imports
from interfaces.embedded import resolve_database_url

imports_app = typer.Typer(help="Import boards from other tools.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # messages whole, never markup


def _fail(message: str) -> typer.Exit:
    console.print(message, style="red", markup=False)
    return typer.Exit(1)


@imports_app.command("trello")
def import_trello(
    file: Annotated[Path, typer.Argument(help="the board's JSON export from Trello")],
    workspace: Annotated[UUID, typer.Option("--workspace", help="the workspace's id")],
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="who imports (an owner or admin); default: an owner"),
    ] = None,
    include_archived_lists: Annotated[
        bool, typer.Option(help="keep archived lists as columns instead of skipping them")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Import a Trello board export as a new project with its board (one atomic command;
    importing the same export again makes nothing)."""
    settings = get_settings()
    service = open_imports(settings, resolve_database_url(settings.database_url, settings.data_dir))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        if not file.is_file():
            raise _fail(f"no such file: {file}")
        size = file.stat().st_size
        if size > service.max_bytes:  # refused before a byte is read
            raise _fail(f"the file is {size} bytes, more than the limit of {service.max_bytes}")
        actor_id = service.actor_for(workspace_id=workspace, email=as_email)
        with Progress(*columns, console=console, transient=not console.is_terminal) as bar:
            step = bar.add_task("reading", total=None)
            plan = service.read_trello(file.read_bytes())
            bar.update(step, description="cards", total=len(plan["cards"]), completed=0)

            def report(done: int, total: int) -> None:
                bar.update(step, completed=done, total=total)

            result = service.import_trello(
                workspace_id=workspace,
                actor_id=actor_id,
                plan=plan,
                include_archived_lists=include_archived_lists,
                progress=report,
            )
            bar.update(step, description="saved", completed=len(plan["cards"]))
    except ApplicationError as e:
        raise _fail(e.detail) from None
    finally:
        service.store.close()
    _print(result, as_json)


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    report = result["report"]
    if report.get("already_imported"):
        console.print(f"already imported: project {result['project_id']} (nothing made)")
        return
    console.print(f"project {result['project_id']}, board {result['board_id']}")
    for name, n in result["counts"].items():
        console.print(f"  {name.replace('_', ' ')}: {n}")
    for member in report["unmatched_members"]:
        who = member["name"] or member["username"] or member["trello_id"]
        console.print(f"  unassigned {who}: {member['reason']}", markup=False)
    for name in report["skipped_lists"]:
        console.print(f"  skipped archived list {name!r}", markup=False)


def _database_url() -> str:
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


@imports_app.command("worksync")
def import_worksync(
    file: Annotated[Path, typer.Argument(help="a WorkSync workspace export (JSON)")],
    workspace: Annotated[UUID, typer.Option("--workspace", help="the workspace's id")],
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="who imports (an owner or admin); default: an owner"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Recreate the projects, boards, cards, tasks and comments of a WorkSync workspace
    export in a workspace (one atomic command; importing it again makes nothing)."""
    service = open_imports(get_settings(), _database_url())
    try:
        if not file.is_file():
            raise _fail(f"no such file: {file}")
        if file.stat().st_size > service.max_bytes:
            raise _fail(f"the file is more than the limit of {service.max_bytes} bytes")
        actor_id = service.actor_for(workspace_id=workspace, email=as_email)
        with console.status("importing"):
            rows = service.read_worksync(file.read_bytes())
            result = service.import_worksync(workspace_id=workspace, actor_id=actor_id, rows=rows)
    except ApplicationError as e:
        raise _fail(e.detail) from None
    finally:
        service.store.close()
    if as_json:
        typer.echo(json.dumps(result, default=str))
    elif result["already_imported"]:
        console.print("already imported (nothing made)")
    else:
        for name, n in result["counts"].items():
            console.print(f"  {name}: {n}")


def export_workspace(
    workspace: Annotated[UUID, typer.Option("--workspace", help="the workspace's id")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="the file to write (default: stdout)")
    ] = None,
) -> None:
    """Write a workspace's JSON export (the document of ``POST /workspaces/{id}/exports``)."""
    service = open_exports(get_settings(), _database_url())
    try:
        data = service.export_now(workspace_id=workspace)
    except ApplicationError as e:
        raise _fail(e.detail) from None
    finally:
        service.notifications.store.close()
    if output is None:
        typer.echo(data.decode())
    else:
        output.write_bytes(data)
        console.print(f"{len(data)} bytes written to {output}")
