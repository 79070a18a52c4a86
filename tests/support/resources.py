"""Helpers for the resource allocation tests: a workspace with a manager, team members and a
project, the calls, and waiting for the conflict policy."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.authz import add_member


@dataclass
class Team:
    """A workspace (owned by ``owner``) with a project and people added as team members."""

    client: Any
    api: Any
    owner: dict
    workspace: dict
    project_id: str
    people: dict[str, dict] = field(default_factory=dict)  # name -> registered user
    members: dict[str, dict] = field(default_factory=dict)  # name -> team member row

    @property
    def ws(self) -> str:
        return f"/workspaces/{self.workspace['id']}"

    def uid(self, name: str) -> str:
        return self.people[name]["user"]["id"]

    def call(self, method: str, path: str, as_user: dict | None = None, **kw: Any) -> Any:
        headers = {**(as_user or self.owner)["headers"], **kw.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self.call(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def person(self, name: str, role: str = "member", **member: Any) -> dict:
        """Register someone, add them to the workspace and make them a team member."""
        user = self.api.register(name=name)
        self.people[name] = user
        add_member(self.client, self.workspace["id"], self.owner, user["user"]["id"], role)
        row = self.ok(
            "POST",
            f"{self.ws}/team-members",
            201,
            json={"user_id": user["user"]["id"], **member},
        )
        self.members[name] = row
        return row

    def project(self, name: str = "P") -> str:
        return self.ok(
            "POST", "/projects", 201, json={"workspace_id": self.workspace["id"], "name": name}
        )["id"]

    def allocate(self, name: str, hours: float, start: str, end: str, **extra: Any) -> dict:
        body = {
            "project_id": extra.pop("project_id", self.project_id),
            "user_id": self.uid(name),
            "hours_per_week": hours,
            "start_date": start,
            "end_date": end,
            **extra,
        }
        return self.ok("POST", f"{self.ws}/allocations", 201, json=body)

    def conflicts(self, **params: Any) -> list[dict]:
        return self.ok("GET", f"{self.ws}/conflicts", params={"limit": 200, **params})["data"]

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until the conflict policy and the read model have caught up with the log."""
        from projections import control

        url = self.client.app.state.container.database_url
        names = ["resources_workload", "resources"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = control.status(url, names, ("resources_workload",))
            if all(r.lag == 0 and r.state == "running" for r in rows):
                # the policy's own events reached the projection too
                rows = control.status(url, names, ("resources_workload",))
                if all(r.lag == 0 for r in rows):
                    return
            time.sleep(0.05)
        raise AssertionError(f"resources did not settle: {rows}")


def make_team(client: Any, api: Any, **settings: Any) -> Team:
    owner = api.register(name="Owner")
    workspace = api.create_workspace(owner, name="Resources", settings=settings)
    team = Team(client, api, owner, workspace, "")
    team.project_id = team.project()
    return team
