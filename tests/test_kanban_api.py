"""Boards, columns and cards over HTTP: order, WIP limits, done columns, deletes."""

from __future__ import annotations

import uuid

from tests.support.authz import add_member
from tests.support.kanban import board, create_board, create_card, create_project, layout

PROBLEM = "application/problem+json"


def setup_board(api, client, columns=None):
    owner = api.register()
    ws = api.create_workspace(owner)
    project_id = create_project(client, owner, ws["id"])
    b = create_board(client, owner, project_id, columns)
    cols = {c["name"]: c["id"] for c in b["columns"]}
    return owner, ws, b, cols


def move(client, user, card, column_id, **target):
    return client.put(
        f"/api/v1/cards/{card['id']}/move",
        json={"column_id": column_id, **target},
        headers=user["headers"],
    )


def test_a_new_board_lists_its_columns_in_order_with_no_cards(api, client):
    _owner, _, b, _ = setup_board(api, client)
    assert [c["name"] for c in b["columns"]] == ["To do", "Doing", "Done"]
    assert [c["position"] for c in b["columns"]] == [0, 1, 2]
    assert all(c["cards"] == [] for c in b["columns"])
    assert b["role"] == "owner"


def test_cards_keep_dense_positions_through_inserts_and_moves(api, client):
    owner, _, b, cols = setup_board(api, client)
    a = create_card(client, owner, cols["To do"], "A")
    create_card(client, owner, cols["To do"], "B")
    c = create_card(client, owner, cols["To do"], "C", position=0)
    assert c["position"] == 0
    assert layout(client, owner, b["id"])["To do"] == ["C", "A", "B"]
    moved = move(client, owner, a, cols["To do"], position=2)
    assert moved.status_code == 200
    assert moved.json()["position"] == 2
    assert layout(client, owner, b["id"])["To do"] == ["C", "B", "A"]
    assert move(client, owner, c, cols["Doing"]).status_code == 200
    assert layout(client, owner, b["id"]) == {"To do": ["B", "A"], "Doing": ["C"], "Done": []}


def test_moves_beside_a_neighbour(api, client):
    owner, _, b, cols = setup_board(api, client)
    a, bb, c = (create_card(client, owner, cols["To do"], t) for t in "ABC")
    assert move(client, owner, c, cols["To do"], before_card_id=a["id"]).status_code == 200
    assert layout(client, owner, b["id"])["To do"] == ["C", "A", "B"]
    assert move(client, owner, c, cols["To do"], after_card_id=bb["id"]).status_code == 200
    assert layout(client, owner, b["id"])["To do"] == ["A", "B", "C"]
    stranger = move(client, owner, a, cols["Doing"], before_card_id=bb["id"])
    assert stranger.status_code == 409  # B is not in "Doing"
    both = move(client, owner, a, cols["To do"], position=0, before_card_id=bb["id"])
    assert both.status_code == 422


def test_a_move_to_where_the_card_already_is_records_nothing(api, client):
    owner, _, b, cols = setup_board(api, client)
    a = create_card(client, owner, cols["To do"], "A")
    version = board(client, owner, b["id"])["version"]
    assert move(client, owner, a, cols["To do"], position=0).status_code == 200
    assert board(client, owner, b["id"])["version"] == version


def test_wip_limit_blocks_create_and_move_unless_overridden_with_a_reason(api, client):
    owner, _, b, cols = setup_board(api, client)
    doing = cols["Doing"]  # limit 2
    create_card(client, owner, doing, "A")
    create_card(client, owner, doing, "B")
    full = client.post(
        f"/api/v1/columns/{doing}/cards", json={"title": "C"}, headers=owner["headers"]
    )
    assert full.status_code == 409
    problem = full.json()
    assert problem["type"].endswith("/wip-limit")
    assert (problem["wip_limit"], problem["card_count"]) == (2, 2)
    todo_card = create_card(client, owner, cols["To do"], "D")
    assert move(client, owner, todo_card, doing).status_code == 409
    assert layout(client, owner, b["id"])["Doing"] == ["A", "B"]
    forced = move(client, owner, todo_card, doing, wip_override_reason="hotfix for prod")
    assert forced.status_code == 200
    history = client.get(
        f"/api/v1/cards/{todo_card['id']}/activities", headers=owner["headers"]
    ).json()["data"]
    assert history[0]["action"] == "moved"
    assert history[0]["details"]["wip_override_reason"] == "hotfix for prod"
    assert (
        client.post(
            f"/api/v1/columns/{doing}/cards",
            json={"title": "E", "wip_override_reason": "x"},
            headers=owner["headers"],
        ).status_code
        == 422
    )


def test_a_done_column_completes_cards_and_leaving_it_reopens_them(api, client):
    owner, _, _b, cols = setup_board(api, client)
    card = create_card(client, owner, cols["To do"], "A")
    assert card["completed_at"] is None
    done = move(client, owner, card, cols["Done"]).json()
    assert done["completed_at"] is not None
    reopened = move(client, owner, card, cols["To do"]).json()
    assert reopened["completed_at"] is None


def test_deleting_a_column_with_cards_needs_a_target(api, client):
    owner, _, b, cols = setup_board(api, client)
    create_card(client, owner, cols["Done"], "X")
    for title in ("A", "B"):
        create_card(client, owner, cols["To do"], title)
    refused = client.delete(f"/api/v1/columns/{cols['To do']}", headers=owner["headers"])
    assert refused.status_code == 409
    assert refused.json()["card_count"] == 2
    ok = client.delete(
        f"/api/v1/columns/{cols['To do']}",
        params={"target_column_id": cols["Done"]},
        headers=owner["headers"],
    )
    assert ok.status_code == 204
    assert layout(client, owner, b["id"]) == {"Doing": [], "Done": ["X", "A", "B"]}
    assert (
        client.delete(f"/api/v1/columns/{cols['Doing']}", headers=owner["headers"]).status_code
        == 204
    )
    assert [c["position"] for c in board(client, owner, b["id"])["columns"]] == [0]


def test_moving_into_a_full_column_by_deleting_another_is_blocked(api, client):
    owner, _, _, cols = setup_board(api, client)
    for title in "ABC":
        create_card(client, owner, cols["To do"], title)
    into_full = client.delete(
        f"/api/v1/columns/{cols['To do']}",
        params={"target_column_id": cols["Doing"]},
        headers=owner["headers"],
    )
    assert into_full.status_code == 409


def test_columns_are_reordered_and_updated(api, client):
    owner, _, b, cols = setup_board(api, client)
    moved = client.put(
        f"/api/v1/columns/{cols['Done']}/position", json={"position": 0}, headers=owner["headers"]
    )
    assert moved.status_code == 200
    assert moved.json()["position"] == 0
    assert [c["name"] for c in board(client, owner, b["id"])["columns"]] == [
        "Done",
        "To do",
        "Doing",
    ]
    updated = client.put(
        f"/api/v1/columns/{cols['Doing']}",
        json={"name": "In progress", "wip_limit": 5, "color": "#ff0000"},
        headers=owner["headers"],
    )
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["wip_limit"], updated.json()["color"]) == (
        "In progress",
        5,
        "#ff0000",
    )
    assert (
        client.put(
            f"/api/v1/columns/{cols['Doing']}", json={"color": "red"}, headers=owner["headers"]
        ).status_code
        == 422
    )
    listed = client.get(f"/api/v1/boards/{b['id']}/columns", headers=owner["headers"]).json()
    assert [c["name"] for c in listed] == ["Done", "To do", "In progress"]


def test_card_edits_assignment_and_stale_versions(api, client):
    owner, ws, _b, cols = setup_board(api, client)
    teammate, stranger = api.register(), api.register()
    add_member(client, ws["id"], owner, teammate["user"]["id"], "member")
    card = create_card(client, owner, cols["To do"], "A", estimated_hours="2.5", labels=["bug"])
    url = f"/api/v1/cards/{card['id']}"
    edited = client.put(
        url,
        json={"title": "A!", "priority": "urgent", "assignee_id": teammate["user"]["id"]},
        headers={**owner["headers"], "If-Match": '"1"'},
    )
    assert edited.status_code == 200
    body = edited.json()
    assert (body["title"], body["priority"], body["assignee_id"], body["estimated_hours"]) == (
        "A!",
        "urgent",
        teammate["user"]["id"],
        2.5,
    )
    stale = client.put(url, json={"title": "B"}, headers={**owner["headers"], "If-Match": '"1"'})
    assert stale.status_code == 412
    outsider = client.put(
        url, json={"assignee_id": stranger["user"]["id"]}, headers=owner["headers"]
    )
    assert outsider.status_code == 422
    actions = [
        a["action"]
        for a in client.get(f"{url}/activities", headers=owner["headers"]).json()["data"]
    ]
    assert actions[:2] == ["assigned", "updated"]


def test_deleting_cards_and_boards(api, client):
    owner, _, b, cols = setup_board(api, client)
    a, _, _ = (create_card(client, owner, cols["To do"], t) for t in "ABC")
    assert client.delete(f"/api/v1/cards/{a['id']}", headers=owner["headers"]).status_code == 204
    assert client.get(f"/api/v1/cards/{a['id']}", headers=owner["headers"]).status_code == 404
    assert layout(client, owner, b["id"])["To do"] == ["B", "C"]
    assert client.delete(f"/api/v1/boards/{b['id']}", headers=owner["headers"]).status_code == 204
    assert client.get(f"/api/v1/boards/{b['id']}", headers=owner["headers"]).status_code == 404
    assert (
        client.get(f"/api/v1/columns/{cols['To do']}/cards", headers=owner["headers"]).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/columns/{cols['To do']}/cards", json={"title": "x"}, headers=owner["headers"]
        ).status_code
        == 404
    )


def test_roles_viewers_read_outsiders_see_nothing(api, client):
    owner, ws, b, cols = setup_board(api, client)
    viewer, outsider = api.register(), api.register()
    add_member(client, ws["id"], owner, viewer["user"]["id"], "viewer")
    card = create_card(client, owner, cols["To do"], "A")
    assert (
        client.get(f"/api/v1/boards/{b['id']}", headers=viewer["headers"]).json()["role"]
        == "viewer"
    )
    assert (
        client.post(
            f"/api/v1/columns/{cols['To do']}/cards", json={"title": "x"}, headers=viewer["headers"]
        ).status_code
        == 403
    )
    assert move(client, viewer, card, cols["Doing"]).status_code == 403
    assert client.get(f"/api/v1/boards/{b['id']}", headers=outsider["headers"]).status_code == 404
    assert move(client, outsider, card, cols["Doing"]).status_code == 404
    assert client.get(f"/api/v1/boards/{uuid.uuid4()}", headers=owner["headers"]).status_code == 404


def test_cards_of_a_column_are_paginated_in_order(api, client):
    owner, _, _, cols = setup_board(api, client)
    titles = [f"T{i}" for i in range(5)]
    for t in titles:
        create_card(client, owner, cols["To do"], t)
    seen, cursor = [], None
    while True:
        page = client.get(
            f"/api/v1/columns/{cols['To do']}/cards",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=owner["headers"],
        ).json()
        seen += [c["title"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == titles


def test_bad_card_payloads_are_422(api, client):
    owner, _, _, cols = setup_board(api, client)
    url = f"/api/v1/columns/{cols['To do']}/cards"
    for body in (
        {},
        {"title": ""},
        {"title": "x", "priority": "extreme"},
        {"title": "x", "estimated_hours": -1},
        {"title": "x", "unknown": 1},
    ):
        assert client.post(url, json=body, headers=owner["headers"]).status_code == 422, body


def test_a_comment_on_a_card_shows_in_the_cards_activities(api, client):
    owner, _, _, cols = setup_board(api, client)
    card = create_card(client, owner, cols["To do"], "A")
    posted = client.post(
        f"/api/v1/cards/{card['id']}/comments",
        json={"content": "Looks good"},
        headers=owner["headers"],
    )
    assert posted.status_code == 201, posted.text
    history = client.get(f"/api/v1/cards/{card['id']}/activities", headers=owner["headers"]).json()[
        "data"
    ]
    assert history[0]["action"] == "commented"
    assert history[0]["details"]["comment_id"] == posted.json()["id"]


def test_repeated_board_reads_follow_every_change_and_each_callers_role(api, client):
    """Board documents are reused between reads; a change of any card, column or the board,
    and a member's removal, show at once."""
    owner, ws, b, cols = setup_board(api, client)
    viewer = api.register()
    add_member(client, ws["id"], owner, viewer["user"]["id"], "viewer")
    card = create_card(client, owner, cols["To do"], "A")
    first = board(client, owner, b["id"])
    assert board(client, owner, b["id"]) == first  # served again, unchanged
    assert board(client, viewer, b["id"])["role"] == "viewer"
    assert board(client, owner, b["id"])["role"] == "owner"

    assert move(client, owner, card, cols["Doing"]).status_code == 200
    assert layout(client, viewer, b["id"]) == {"To do": [], "Doing": ["A"], "Done": []}
    edited = client.put(
        f"/api/v1/cards/{card['id']}", json={"title": "A2"}, headers=owner["headers"]
    )
    assert edited.status_code == 200, edited.text
    assert layout(client, viewer, b["id"])["Doing"] == ["A2"]
    renamed = client.put(
        f"/api/v1/columns/{cols['Done']}",
        json={"name": "Shipped"},
        headers=owner["headers"],
    )
    assert renamed.status_code == 200, renamed.text
    assert "Shipped" in layout(client, viewer, b["id"])
    removed = client.delete(
        f"/api/v1/workspaces/{ws['id']}/members/{viewer['user']['id']}", headers=owner["headers"]
    )
    assert removed.status_code == 204, removed.text
    assert client.get(f"/api/v1/boards/{b['id']}", headers=viewer["headers"]).status_code == 404


def test_a_board_read_shows_a_role_change_and_a_removal_at_once(api, client):
    """The board read keeps the caller's role between reads (tagged with the projections'
    positions): a change of role, then the removal, show in the very next read."""
    owner, ws, b, _ = setup_board(api, client)
    other = api.register()
    other_id = other["user"]["id"]
    add_member(client, ws["id"], owner, other_id, "member")
    assert board(client, other, b["id"])["role"] == "member"
    assert board(client, other, b["id"])["role"] == "member"  # the kept role
    changed = client.put(
        f"/api/v1/workspaces/{ws['id']}/members/{other_id}",
        json={"role": "viewer"},
        headers=owner["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert board(client, other, b["id"])["role"] == "viewer"
    removed = client.delete(
        f"/api/v1/workspaces/{ws['id']}/members/{other_id}", headers=owner["headers"]
    )
    assert removed.status_code == 204
    gone = client.get(f"/api/v1/boards/{b['id']}", headers=other["headers"])
    assert gone.status_code == 404
    assert board(client, owner, b["id"])["role"] == "owner"


def test_a_card_is_archived_and_restored_and_the_board_shows_it(api, client):
    owner, _, b, cols = setup_board(api, client)
    card = create_card(client, owner, cols["To do"], "Old")
    assert card["is_archived"] is False
    path = f"/api/v1/cards/{card['id']}"
    archived = client.put(path, json={"is_archived": True}, headers=owner["headers"])
    assert archived.status_code == 200, archived.text
    assert archived.json()["is_archived"] is True
    shown = board(client, owner, b["id"])["columns"][0]["cards"]
    assert [(c["title"], c["is_archived"]) for c in shown] == [("Old", True)]
    restored = client.put(path, json={"is_archived": False}, headers=owner["headers"])
    assert restored.json()["is_archived"] is False
    refused = client.put(path, json={"is_archived": "maybe"}, headers=owner["headers"])
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM


def get_board(client, user, board_id, etag=None):
    headers = {**user["headers"], **({"If-None-Match": etag} if etag else {})}
    return client.get(f"/api/v1/boards/{board_id}", headers=headers)


def test_an_unchanged_board_answers_if_none_match_with_304_and_any_change_moves_its_etag(
    api, client
):
    owner, ws, b, cols = setup_board(api, client)
    viewer = api.register()
    add_member(client, ws["id"], owner, viewer["user"]["id"], "viewer")
    card = create_card(client, owner, cols["To do"], "A")
    first = get_board(client, owner, b["id"])
    etag = first.headers["ETag"]
    assert etag.split(".")[0] == f'"{first.json()["version"]}'
    unchanged = get_board(client, owner, b["id"], etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert get_board(client, owner, b["id"], f"W/{etag}").status_code == 304  # weak compare
    assert get_board(client, owner, b["id"], f'"other", {etag}').status_code == 304
    assert get_board(client, owner, b["id"], "*").status_code == 304
    assert get_board(client, owner, b["id"], '"other"').status_code == 200
    malformed = get_board(client, owner, b["id"], '"not a tag"')
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM
    # another role sees another body: another tag
    as_viewer = get_board(client, viewer, b["id"], etag)
    assert as_viewer.status_code == 200
    assert as_viewer.headers["ETag"] != etag
    # a card edit does not change the board's version, but changes the document
    edited = client.put(
        f"/api/v1/cards/{card['id']}", json={"title": "A2"}, headers=owner["headers"]
    )
    assert edited.status_code == 200, edited.text
    after_edit = get_board(client, owner, b["id"], etag)
    assert after_edit.status_code == 200
    assert after_edit.json()["columns"][0]["cards"][0]["title"] == "A2"
    assert after_edit.headers["ETag"] != etag
    assert move(client, owner, card, cols["Doing"]).status_code == 200
    after_move = get_board(client, owner, b["id"], after_edit.headers["ETag"])
    assert after_move.status_code == 200
    assert after_move.headers["ETag"] not in (etag, after_edit.headers["ETag"])
    # outsiders get 404 whatever they hold
    outsider = api.register()
    assert get_board(client, outsider, b["id"], "*").status_code == 404


def test_a_boards_etag_serves_as_if_match_by_its_version(api, client):
    owner, _, b, _ = setup_board(api, client)
    etag = get_board(client, owner, b["id"]).headers["ETag"]
    renamed = client.put(
        f"/api/v1/boards/{b['id']}",
        json={"name": "Renamed"},
        headers={**owner["headers"], "If-Match": etag},
    )
    assert renamed.status_code == 200, renamed.text
    stale = client.put(
        f"/api/v1/boards/{b['id']}",
        json={"name": "Again"},
        headers={**owner["headers"], "If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
