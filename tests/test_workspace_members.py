"""Members, roles and invitations of a workspace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.shared import Missing, NotPermitted, RuleBroken
from domain.workspaces import Workspace
from tests.support.authz import add_member

PROBLEM = "application/problem+json"


def members_url(ws: dict) -> str:
    return f"/api/v1/workspaces/{ws['id']}/members"


def roles(client, ws: dict, user: dict) -> dict[str, str]:
    page = client.get(members_url(ws), headers=user["headers"]).json()
    return {m["user_id"]: m["role"] for m in page["data"]}


def test_owner_adds_members_by_id_or_email_and_they_see_the_workspace(api, client):
    owner, ann, bob = api.register(), api.register(), api.register()
    ws = api.create_workspace(owner)
    by_id = client.post(
        members_url(ws),
        json={"user_id": ann["user"]["id"], "role": "admin"},
        headers=owner["headers"],
    )
    assert by_id.status_code == 201
    assert by_id.json()["role"] == "admin"
    by_email = client.post(
        members_url(ws),
        json={"email": bob["user"]["email"].upper(), "role": "viewer"},
        headers=owner["headers"],
    )
    assert by_email.status_code == 201
    assert by_email.json()["user_id"] == bob["user"]["id"]
    assert (
        client.get(f"/api/v1/workspaces/{ws['id']}", headers=bob["headers"]).json()["role"]
        == "viewer"
    )
    assert roles(client, ws, owner) == {
        owner["user"]["id"]: "owner",
        ann["user"]["id"]: "admin",
        bob["user"]["id"]: "viewer",
    }


def test_adding_unknown_or_existing_members_and_bad_bodies(api, client):
    owner, ann = api.register(), api.register()
    ws = api.create_workspace(owner)
    headers = owner["headers"]
    assert (
        client.post(
            members_url(ws), json={"email": "nobody@example.com"}, headers=headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            members_url(ws), json={"user_id": str(uuid.uuid4())}, headers=headers
        ).status_code
        == 404
    )
    add_member(client, ws["id"], owner, ann["user"]["id"], "member")
    again = client.post(members_url(ws), json={"user_id": ann["user"]["id"]}, headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    for body in (
        {},
        {"user_id": ann["user"]["id"], "email": ann["user"]["email"]},
        {"user_id": ann["user"]["id"], "role": "god"},
    ):
        assert client.post(members_url(ws), json=body, headers=headers).status_code == 422, body


def test_the_last_owner_can_be_neither_demoted_nor_removed(api, client):
    owner = api.register()
    ws = api.create_workspace(owner)
    me = f"{members_url(ws)}/{owner['user']['id']}"
    demote = client.put(me, json={"role": "admin"}, headers=owner["headers"])
    assert demote.status_code == 409
    assert "last owner" in demote.json()["detail"]
    assert client.delete(me, headers=owner["headers"]).status_code == 409
    assert roles(client, ws, owner) == {owner["user"]["id"]: "owner"}


def test_ownership_can_be_handed_over_then_the_old_owner_steps_down(api, client):
    owner, heir = api.register(), api.register()
    ws = api.create_workspace(owner)
    add_member(client, ws["id"], owner, heir["user"]["id"], "owner")
    me = f"{members_url(ws)}/{owner['user']['id']}"
    assert client.put(me, json={"role": "member"}, headers=owner["headers"]).status_code == 200
    assert roles(client, ws, heir)[owner["user"]["id"]] == "member"


def test_admins_cannot_grant_or_touch_the_owner_role(api, client):
    owner, admin, ann = api.register(), api.register(), api.register()
    ws = api.create_workspace(owner)
    add_member(client, ws["id"], owner, admin["user"]["id"], "admin")
    grant = client.post(
        members_url(ws),
        json={"user_id": ann["user"]["id"], "role": "owner"},
        headers=admin["headers"],
    )
    assert grant.status_code == 403
    demote_owner = client.put(
        f"{members_url(ws)}/{owner['user']['id']}",
        json={"role": "viewer"},
        headers=admin["headers"],
    )
    assert demote_owner.status_code == 403
    remove_owner = client.delete(
        f"{members_url(ws)}/{owner['user']['id']}", headers=admin["headers"]
    )
    assert remove_owner.status_code == 403
    assert roles(client, ws, owner)[owner["user"]["id"]] == "owner"


def test_a_member_may_leave_and_then_no_longer_sees_the_workspace(api, client):
    owner, ann = api.register(), api.register()
    ws = api.create_workspace(owner)
    add_member(client, ws["id"], owner, ann["user"]["id"], "member")
    assert (
        client.delete(f"{members_url(ws)}/{ann['user']['id']}", headers=ann["headers"]).status_code
        == 204
    )
    assert client.get(f"/api/v1/workspaces/{ws['id']}", headers=ann["headers"]).status_code == 404
    missing = client.delete(f"{members_url(ws)}/{ann['user']['id']}", headers=owner["headers"])
    assert missing.status_code == 404


def test_an_invitation_is_accepted_once_by_its_addressee(api, client):
    owner, guest, other = api.register(), api.register(), api.register()
    ws = api.create_workspace(owner)
    created = client.post(
        f"/api/v1/workspaces/{ws['id']}/invite",
        json={"email": guest["user"]["email"], "role": "viewer"},
        headers=owner["headers"],
    )
    assert created.status_code == 201
    invite = created.json()
    assert invite["role"] == "viewer"
    assert datetime.fromisoformat(invite["expires_at"]) > datetime.now(UTC) + timedelta(days=6)
    accept_url = invite["accept_url"]
    assert client.get(accept_url, headers=other["headers"]).status_code == 404  # not theirs
    accepted = client.get(accept_url, headers=guest["headers"])
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "viewer"
    reused = client.get(accept_url, headers=guest["headers"])
    assert reused.status_code == 409
    assert "already been used" in reused.json()["detail"]
    wrong_token = client.get(
        f"/api/v1/workspaces/{ws['id']}/invite/{'x' * 43}", headers=other["headers"]
    )
    assert wrong_token.status_code == 404


def test_invitation_payloads_are_validated(api, client):
    owner = api.register()
    ws = api.create_workspace(owner)
    url = f"/api/v1/workspaces/{ws['id']}/invite"
    for body in ({}, {"email": "not-an-email"}, {"email": "a@example.com", "role": "king"}):
        assert client.post(url, json=body, headers=owner["headers"]).status_code == 422, body


def _workspace_with_invite(expires_at: datetime) -> tuple[Workspace, uuid.UUID]:
    owner = uuid.uuid4()
    workspace = Workspace(name="W", description=None, settings={}, owner_id=owner)
    workspace.invite(
        actor_id=owner,
        invite_id=uuid.uuid4(),
        token_hash="t",
        email_hash="e",
        role="member",
        expires_at=expires_at,
    )
    return workspace, owner


def test_an_expired_invitation_cannot_be_accepted():
    now = datetime.now(UTC)
    workspace, _ = _workspace_with_invite(now - timedelta(seconds=1))
    with pytest.raises(RuleBroken, match="expired"):
        workspace.accept_invite(token_hash="t", user_id=uuid.uuid4(), email_hash="e", now=now)


def test_an_invitation_for_another_address_is_not_found():
    now = datetime.now(UTC)
    workspace, _ = _workspace_with_invite(now + timedelta(days=1))
    with pytest.raises(Missing):
        workspace.accept_invite(token_hash="t", user_id=uuid.uuid4(), email_hash="other", now=now)


def test_only_an_owner_may_invite_as_owner():
    now = datetime.now(UTC)
    workspace, owner = _workspace_with_invite(now + timedelta(days=1))
    admin = uuid.uuid4()
    workspace.add_member(actor_id=owner, user_id=admin, role="admin")
    with pytest.raises(NotPermitted):
        workspace.invite(
            actor_id=admin,
            invite_id=uuid.uuid4(),
            token_hash="u",
            email_hash="f",
            role="owner",
            expires_at=now,
        )
