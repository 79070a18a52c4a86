"""Schemathesis over the whole OpenAPI document against a real server, signed in with real ids
(a workspace, project, board, column, card, task, comment, time entry... created first) and
anonymous, with every response check: no 5xx, every status code, content type and body
documented, every schema-valid request accepted. Bounded here (CI); `make fuzz` runs it with
FUZZ_EXAMPLES=100."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from interfaces.bootstrap import POLICY_NAMES
from interfaces.http.pagination import encode_cursor
from projections.control import status
from projections.registry import all_projections
from tests.support.live_server import live_server

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "5")
# One worker: with two threads, hypothesis's lambda descriptions (ast.parse, inspect) hit a
# CPython 3.11 bug now and then ("AST constructor recursion depth mismatch"), failing the run
# with errors of the tool itself (seen in `make test` as well as in `make fuzz`).
WORKERS = os.environ.get("FUZZ_WORKERS", "1")
# The anonymous pass, in `make test`: examples and fuzzing. Its coverage phase would send the
# signed-in pass's ~9,000 boundary and negative cases again without a token (a third of this
# test's time), and in a measured run every (operation, method, status) it met was also met by
# the signed-in pass (whose coverage phase sends each operation without Authorization too) or
# by the anonymous fuzzing phase. `make fuzz` runs the anonymous pass with all three phases.
ANONYMOUS_PHASES = os.environ.get("FUZZ_ANONYMOUS_PHASES", "examples,fuzzing")
ST = str(Path(sys.executable).parent / "st")
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
# Calls that would end or change the fuzzing user's own session are left to their own tests.
EXCLUDE = r"/api/v1/auth/(logout|password)$"
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
    )
)
# Lists paged by log position rather than by (time, id).
POSITION_CURSORS = r"activit|/columns/\{column_id\}/cards$"
# A schema cannot say which version is current: a generated If-Match is stale (412). A
# generated If-None-Match of "*" holds every representation: 304 Not Modified is its answer.
POSITIVE_STATUSES = ["2xx", "304", "401", "403", "404", "409", "412", "429"]
# Where a well-formed request can still break a rule that JSON Schema cannot state (it
# depends on stored state or relates two fields), 422 is the documented answer:
RULES_BEYOND_SCHEMA = "|".join(
    (
        r"/audit/",  # version or as_of, not both (two query parameters)
        r"/auth/reset-password$",  # the reset link must exist and be unused
        r"/cards/\{card_id\}$|/columns/\{column_id\}/cards$",  # assignee: a member
        r"/tasks$|/tasks/\{task_id\}$",  # assignee, parent, dependencies: of this project
        r"/comments$",  # the parent comment must be on the same object
        r"/time-entries|/time-tracking/start$",  # end after start, description per settings
        r"/time-tracking/report$",  # from..to at most 366 days
        r"/activit",  # since not after until
        r"/time-tracking/settings$",  # a time zone of the server's IANA database
        # dates from 1900 to 2999, end not before start and at most 731 days after, hours
        # (0, 168] and 0-24 a weekday, the user an active team member, the project the
        # workspace's, a bulk item's allocation of the workspace, at most 53 weeks reported
        r"/allocations|/team-members|/conflicts|/utilization$|/capacity-forecast$",
        r"/optimize-allocations$",
        r"/projects$|/projects/\{project_id\}(/members)?$",  # owner, member: of the workspace
        r"/milestones$|/milestones/\{milestone_id\}$",  # assignees: members of the workspace
        r"/milestone-templates",  # depends_on and milestone: indexes in range, no cycle
        # e-mail addresses on domains reserved for special use (RFC 6761) are refused
        r"/auth/(register|login|forgot-password)$|/invite$|/members$",
        r"/attachments$",  # the file must be in the workspace of what it is attached to
        # project templates: phases or from_project_id (one of them), tags and dependency
        # keys not repeated; a search needs a word
        r"/templates$|/templates/\{template_id\}$|/templates/search$",
        # from..to at most 366 days (53 weeks of utilization), tz of the server's IANA
        # database, a project of the workspace given
        r"/analytics/",
        r"/webhooks$|/webhooks/\{webhook_id\}$",  # the URL must resolve to public addresses
    )
)
# The project templates' {template_id} (the milestone templates' is the default one).
PROJECT_TEMPLATES = r"^/api/v1/templates/"
# An upload's bytes decide: generated ones are mostly of no allowed type (415) or empty (422).
UPLOADS = (
    r"/files/upload$|/imports/(trello|worksync)$"  # imports: generated files are no Trello export
)
# The smallest Trello board export (application/imports_trello.py).
TRELLO_EXPORT = json.dumps(
    {
        "id": "5f1a00000000000000000f01",
        "name": "Fuzz",
        "lists": [{"id": "l1", "name": "List", "pos": 1}],
        "cards": [{"id": "c1", "name": "Card", "idList": "l1", "pos": 1}],
    }
).encode()


def seed(base: str) -> dict[str, Any]:
    """A user with one of everything (plus a second set to delete), and a second member."""
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as client:

        def post(path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token or ids['token']}"}
            answer = client.post(path, json=body, headers=headers)
            assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
            return answer.json()

        ids: dict[str, Any] = {}
        for who, email in (("other", "member@example.com"), ("me", "fuzzer@example.com")):
            user = client.post(
                "/auth/register", json={"email": email, "password": "password123", "name": who}
            ).json()
            ids[f"{who}_id"], ids["token"] = user["user"]["id"], user["access_token"]
        sets = []
        for n in range(2):  # the second set is for the DELETE operations
            ws = post("/workspaces", {"name": f"Fuzzed {n}"})["id"]
            post(f"/workspaces/{ws}/members", {"user_id": ids["other_id"], "role": "member"})
            project = post("/projects", {"workspace_id": ws, "name": "P"})["id"]
            post(f"/projects/{project}/members", {"user_id": ids["other_id"]})
            board = post(f"/projects/{project}/boards", {"name": "B"})["id"]
            column = post(f"/boards/{board}/columns", {"name": "C"})["id"]
            card = post(f"/columns/{column}/cards", {"title": "Card"})["id"]
            task = post(f"/projects/{project}/tasks", {"title": "Task"})["id"]
            comment = post(f"/cards/{card}/comments", {"content": "hello"})["id"]
            entry = post(
                "/time-entries",
                {
                    "project_id": project,
                    "start_time": f"2025-01-0{n + 1}T09:00:00Z",
                    "end_time": f"2025-01-0{n + 1}T10:00:00Z",
                    "description": "work",
                },
            )["id"]
            milestone = post(
                f"/projects/{project}/milestones", {"title": "M", "due_date": "2030-01-31"}
            )["id"]
            deliverable = post(f"/milestones/{milestone}/deliverables", {"title": "D"})["id"]
            template = post(
                "/milestone-templates",
                {"workspace_id": ws, "name": "T", "milestones_data": [{"title": "One"}]},
            )["id"]
            project_template = post(
                "/templates",
                {
                    "workspace_id": ws,
                    "name": "PT",
                    "phases": [{"name": "P", "tasks": [{"title": "A"}]}],
                },
            )["id"]
            invite = post(f"/workspaces/{ws}/invite", {"email": f"invitee{n}@example.com"})
            uploaded = client.post(
                f"/files/upload?workspace_id={ws}",
                files={"file": ("fuzz.txt", b"fuzzed file\n", "text/plain")},
                headers={"Authorization": f"Bearer {ids['token']}"},
            )
            assert uploaded.status_code == 201, uploaded.text
            file_id = uploaded.json()["id"]
            attachment = post(
                "/attachments",
                {"file_id": file_id, "attachable_type": "card", "attachable_id": card},
            )["id"]
            member = post(f"/workspaces/{ws}/team-members", {"user_id": ids["other_id"]})["id"]
            booked = [
                post(
                    f"/workspaces/{ws}/allocations",
                    {
                        "project_id": project,
                        "user_id": ids["other_id"],
                        "hours_per_week": 30,
                        "start_date": "2027-01-04",
                        "end_date": "2027-01-31",
                    },
                )["id"]
                for _ in range(2)
            ]
            conflict = wait_for_conflict(client, ws, ids["token"])
            hook = post(
                f"/workspaces/{ws}/webhooks",
                {"url": "https://93.184.215.14/fuzz", "events": ["*"]},
            )["id"]
            delivery = wait_for_ping(client, ws, hook, ids["token"])
            imported = client.post(
                f"/workspaces/{ws}/imports/trello",
                files={"file": ("board.json", TRELLO_EXPORT, "application/json")},
                headers={"Authorization": f"Bearer {ids['token']}"},
            )
            assert imported.status_code == 202, imported.text
            sets.append(
                {
                    "workspace_id": ws,
                    "project_id": project,
                    "board_id": board,
                    "column_id": column,
                    "card_id": card,
                    "task_id": task,
                    "comment_id": comment,
                    "entry_id": entry,
                    "file_id": file_id,
                    "attachment_id": attachment,
                    "milestone_id": milestone,
                    "deliverable_id": deliverable,
                    "template_id": template,
                    "project_template_id": project_template,
                    "object_id": card,
                    "token": invite["token"],
                    "team_member_id": member,
                    "allocation_id": booked[0],
                    "conflict_id": conflict,
                    "webhook_id": hook,
                    "delivery_id": delivery,
                    "import_id": imported.json()["id"],
                }
            )
        ids["live"], ids["doomed"] = sets
        return ids


def wait_for_conflict(client: httpx.Client, workspace_id: str, token: str) -> str:
    """The conflict the resources_workload policy finds in the seeded allocations."""
    for _ in range(600):
        found = client.get(
            f"/workspaces/{workspace_id}/conflicts",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["data"]
        if found:
            return found[0]["id"]
        time.sleep(0.05)
    raise AssertionError("no conflict was detected")


def wait_for_ping(client: httpx.Client, workspace_id: str, webhook_id: str, token: str) -> str:
    """A delivery of the webhook's: its ping, once the webhooks policy has queued it."""
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/workspaces/{workspace_id}/webhooks/{webhook_id}"
    assert client.post(f"{path}/ping", headers=headers).status_code == 202
    for _ in range(600):
        found = client.get(f"{path}/deliveries", headers=headers).json()["data"]
        if found:
            return found[0]["id"]
        time.sleep(0.05)
    raise AssertionError("the ping was never queued")


def write_config(directory: Path, ids: dict[str, Any]) -> Path:
    """schemathesis.toml: real ids for path and body parameters; DELETEs get the second set."""

    def table(values: dict[str, Any]) -> str:
        return "\n".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items())

    # Cursors are opaque: only ones the server issued are valid (a time and id, or a position).
    project_template = ids["live"].pop("project_template_id")
    ids["doomed"].pop("project_template_id")
    live = {
        **ids["live"],
        "user_id": ids["other_id"],
        "cursor": encode_cursor(datetime(2100, 1, 1, tzinfo=UTC), uuid.uuid4()),
    }
    body = {
        "body.workspace_id": live["workspace_id"],
        "body.project_id": live["project_id"],
        "body.user_id": ids["other_id"],
        "body.file_id": live["file_id"],
        "body.template_id": live["template_id"],
    }
    lines = [
        f"hooks = {json.dumps(str(HOOKS))}",
        f"[checks.positive_data_acceptance]\nexpected-statuses = {json.dumps(POSITIVE_STATUSES)}",
        f"[parameters]\n{table({**live, **body})}",
        '[[operations]]\ninclude-method = "DELETE"',
        f"[operations.parameters]\n{table({**ids['doomed'], 'user_id': ids['other_id']})}",
        f"[[operations]]\ninclude-path-regex = {json.dumps(PROJECT_TEMPLATES)}",
        f"[operations.parameters]\ntemplate_id = {json.dumps(project_template)}",
        f"[[operations]]\ninclude-path-regex = {json.dumps(POSITION_CURSORS)}",
        f"[operations.parameters]\ncursor = {json.dumps(encode_cursor(10**9))}",
        f"[[operations]]\ninclude-path-regex = {json.dumps(RULES_BEYOND_SCHEMA)}",
        "[operations.checks.positive_data_acceptance]\n"
        f"expected-statuses = {json.dumps([*POSITIVE_STATUSES, '422'])}",
        f"[[operations]]\ninclude-path-regex = {json.dumps(UPLOADS)}",
        "[operations.checks.positive_data_acceptance]\n"
        f"expected-statuses = {json.dumps([*POSITIVE_STATUSES, '415', '422'])}",
    ]
    path = directory / "schemathesis.toml"
    path.write_text("\n\n".join(lines) + "\n")
    return path


def schemathesis_run(
    base: str, config: Path, report: Path, *headers: str, phases: str = "examples,coverage,fuzzing"
) -> subprocess.CompletedProcess:
    command = [
        ST,
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261125",
        "--checks",
        CHECKS,
        "--exclude-path-regex",
        EXCLUDE,
        "--phases",
        phases,
        "--workers",
        WORKERS,
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]
    for header in headers:
        command += ["-H", header]
    timeout = max(900, 30 * int(EXAMPLES))  # `make fuzz` (100 examples) takes longer
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_every_response_is_documented_and_every_valid_request_accepted(
    fresh_database_url, tmp_path
):
    with live_server(fresh_database_url) as base:
        ids = seed(base)
        config = write_config(tmp_path, ids)
        signed_in = schemathesis_run(
            base, config, tmp_path / "signed_in.ndjson", f"Authorization: Bearer {ids['token']}"
        )
        assert signed_in.returncode == 0, signed_in.stdout[-8000:]
        assert generated_cases(signed_in.stdout) > 500  # it really exercised the API
        anonymous = schemathesis_run(
            base, config, tmp_path / "anonymous.ndjson", phases=ANONYMOUS_PHASES
        )
        assert anonymous.returncode == 0, anonymous.stdout[-8000:]
        assert generated_cases(anonymous.stdout) > 100
        assert_every_projection_running_at_the_head(fresh_database_url)


def assert_every_projection_running_at_the_head(database_url: str, timeout: float = 60) -> None:
    """Nothing the fuzzer got accepted may stop a projection or a policy: all running, lag 0."""
    deadline = time.monotonic() + timeout
    while True:
        names = [p.name for p in all_projections()] + list(POLICY_NAMES)
        rows = status(database_url, names, POLICY_NAMES)
        stuck = [(r.name, r.state, r.lag, r.error) for r in rows if r.state != "running" or r.lag]
        if not stuck or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert stuck == []


def generated_cases(output: str) -> int:
    """How many cases schemathesis generated (from its summary line)."""
    for line in output.splitlines():
        words = line.split()
        if "generated," in words:
            return int(words[words.index("generated,") - 1])
    return 0
