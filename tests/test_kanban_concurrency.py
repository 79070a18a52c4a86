"""20 clients moving cards on one board at once, against a real server and database:
no move lost, no card in two places, positions dense, live projection equal to a rebuild."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from interfaces.bootstrap import open_event_store
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.live_server import live_server
from tests.support.projections import snapshot

CLIENTS = 20
MOVES_PER_CLIENT = 10
CARDS_PER_CLIENT = 2


@pytest.fixture
def server(fresh_database_url):
    with live_server(fresh_database_url) as base:
        yield base, fresh_database_url


@pytest.mark.slow
def test_twenty_clients_moving_cards_lose_nothing(server):
    base, url = server
    http = httpx.Client(base_url=base, timeout=30)
    user = http.post(
        "/api/v1/auth/register",
        json={"email": "mover@example.com", "password": "password123", "name": "M"},
    ).json()
    headers = {"Authorization": f"Bearer {user['access_token']}"}
    ws = http.post("/api/v1/workspaces", json={"name": "W"}, headers=headers).json()
    project = http.post(
        "/api/v1/projects", json={"workspace_id": ws["id"], "name": "P"}, headers=headers
    ).json()
    board = http.post(
        f"/api/v1/projects/{project['id']}/boards",
        json={"name": "Race", "columns": [{"name": f"C{i}"} for i in range(4)]},
        headers=headers,
    ).json()
    columns = [c["id"] for c in board["columns"]]
    cards = [
        http.post(
            f"/api/v1/columns/{columns[0]}/cards", json={"title": f"card {i}"}, headers=headers
        ).json()["id"]
        for i in range(CLIENTS * CARDS_PER_CLIENT)
    ]

    def client_moves(index: int) -> tuple[dict[str, str], list[int]]:
        rng = random.Random(index)
        mine = cards[index * CARDS_PER_CLIENT : (index + 1) * CARDS_PER_CLIENT]
        last: dict[str, str] = {}
        codes = []
        with httpx.Client(base_url=base, timeout=60, headers=headers) as c:
            for _ in range(MOVES_PER_CLIENT):
                card = rng.choice(mine)
                column = rng.choice(columns)
                target = {"column_id": column, "position": rng.randint(0, 12)}
                response = c.put(f"/api/v1/cards/{card}/move", json=target)
                codes.append(response.status_code)
                if response.status_code == 200:
                    last[card] = column
        return last, codes

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client_moves, range(CLIENTS)))
    codes = [code for _, cs in results for code in cs]
    assert set(codes) == {200}, codes  # every move acknowledged, none refused or failed

    deadline = time.monotonic() + 30
    while http.get("/ready").json()["max_lag"] > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    document = http.get(f"/api/v1/boards/{board['id']}", headers=headers).json()
    where = {}
    for column in document["columns"]:
        assert [c["position"] for c in column["cards"]] == list(range(len(column["cards"])))
        for card in column["cards"]:
            assert card["id"] not in where, "a card in two places"
            where[card["id"]] = column["id"]
    assert sorted(where) == sorted(cards)
    expected = {card: columns[0] for card in cards}
    for last, _ in results:
        expected.update(last)
    assert where == expected  # the last acknowledged move of each card holds

    with psycopg.connect(url) as conn:
        moved_events = conn.execute(
            "SELECT count(*) FROM worksync_events WHERE topic = 'domain.kanban:Board.CardMoved'"
        ).fetchone()[0]
        moved_rows = conn.execute(
            "SELECT count(*) FROM card_activities WHERE action = 'moved'"
        ).fetchone()[0]
    assert moved_rows == moved_events <= len(codes)
    tables = ("kanban_boards", "kanban_columns", "kanban_cards", "card_activities")
    live = {t: snapshot(url, t) for t in tables}
    store = open_event_store(url, pool_size=1)
    for name in ("kanban", "card_activities"):
        rebuild(url, by_name(name), store.mapper)
    store.close()
    assert {t: snapshot(url, t) for t in tables} == live
