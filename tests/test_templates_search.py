"""Template search and categories: ranking (a name match above a tag match above a
description match above a task-title match), prefix matching for as-you-type queries,
filters, highlights (escaped), pages, and privacy (a private template never reaches an
outsider)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.templates import Templates


@pytest.fixture
def t(api) -> Templates:
    return Templates(api)


def word() -> str:
    """A word no other test's template holds (the database is shared). It ends in "ko" so
    that English stemming leaves it, and it + "ing", alone: a random ending could be cut
    ("...gg" + "ing" stems to "...g", and "...gg" no longer finds it)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10]) + "ko"


def one_phase(*titles: str) -> list[dict]:
    return [{"name": "Phase", "tasks": [{"title": title} for title in titles]}]


def search(t: Templates, as_user: dict | None = None, **query) -> dict:
    response = t.get("/templates/search", as_user=as_user, params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_ranking_by_where_the_word_is(t):
    w = word()
    in_task = t.template(name="Tasks", phases=one_phase(f"Check the {w} twice"))["id"]
    in_description = t.template(name="Description", description=f"All about {w} here")["id"]
    in_name = t.template(name=f"The {w} plan")["id"]
    in_tags = t.template(name="Tags", tags=[w, "other"])["id"]
    t.template(name="Unrelated", description="nothing to see")
    hits = search(t, q=w)["data"]
    assert [h["id"] for h in hits] == [in_name, in_tags, in_description, in_task]
    ranks = [h["rank"] for h in hits]
    assert ranks == sorted(ranks, reverse=True)
    assert ranks[0] > ranks[1] > ranks[2] > ranks[3]


def test_prefixes_task_titles_and_highlights(t):
    w = word()
    found = t.template(
        name=f"Quarterly {w}ing review",
        description=f"Prepare the {w}ing figures <b>early</b> & often",
        phases=one_phase("Reconcile ledgers"),
    )
    # As you type: the first letters of a word find it.
    for typed in (w[:4], w, f"{w}ing", f"quart {w[:5]}"):
        assert [h["id"] for h in search(t, q=typed)["data"]] == [found["id"]], typed
    # A word of a task title finds its template.
    assert found["id"] in [h["id"] for h in search(t, q="ledger", limit=200)["data"]]
    hit = search(t, q=f"{w}ing")["data"][0]
    assert hit["highlights"]["name"] == f"Quarterly <mark>{w}ing</mark> review"
    description = hit["highlights"]["description"]
    assert f"<mark>{w}ing</mark>" in description
    # No markup but the marks: HTML in the text is dropped or escaped.
    assert "<b>" not in description
    assert "&amp; often" in description
    assert (hit["phase_count"], hit["task_count"]) == (1, 1)
    assert "template_data" not in hit
    # Every word must match.
    assert search(t, q=f"{w} nonexistentword")["data"] == []
    bad = t.get("/templates/search", params={"q": "&|!"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert t.get("/templates/search").status_code == 422
    assert t.get("/templates/search", params={"q": "a\x00b"}).status_code == 422


def test_filters_and_pages(t):
    w = word()
    made = [
        t.template(name=f"{w} one", category="Ops", tags=["weekly"])["id"],
        t.template(name=f"{w} two", category="Ops", tags=["monthly"])["id"],
        t.template(name=f"{w} three", category="Sales", tags=["weekly"])["id"],
    ]
    ids = [h["id"] for h in search(t, q=w)["data"]]
    assert sorted(ids) == sorted(made)
    assert {h["id"] for h in search(t, q=w, category="Ops")["data"]} == set(made[:2])
    assert {h["id"] for h in search(t, q=w, tag="weekly")["data"]} == {made[0], made[2]}
    assert search(t, q=w, category="Ops", tag="weekly")["data"][0]["id"] == made[0]
    first = search(t, q=w, limit=2)
    assert len(first["data"]) == 2
    second = search(t, q=w, limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert [h["id"] for h in first["data"] + second["data"]] == ids
    assert t.get("/templates/search", params={"q": w, "cursor": "xx"}).status_code == 422


def test_a_private_template_never_reaches_an_outsider(t, api):
    w = word()
    private = t.template(name=f"{w} secret", category=f"Cat {w}")["id"]
    outsider = api.register(name="Eve")
    theirs = api.create_workspace(outsider, name="Theirs")
    assert search(t, as_user=outsider, q=w)["data"] == []
    response = t.client.post(
        "/api/v1/templates",
        json={
            "workspace_id": theirs["id"],
            "name": f"{w} their own",
            "category": f"Cat {w}",
            "phases": one_phase("x"),
        },
        headers=outsider["headers"],
    )
    assert response.status_code == 201
    own = response.json()["id"]
    assert [h["id"] for h in search(t, as_user=outsider, q=w)["data"]] == [own]
    assert [h["id"] for h in search(t, q=w)["data"]] == [private]

    def count(user: dict | None) -> int | None:
        rows = t.get("/templates/categories", as_user=user).json()["data"]
        return next((r["count"] for r in rows if r["category"] == f"Cat {w}"), None)

    assert count(None) == 1
    assert count(outsider) == 1
    t.template(name="More", category=f"Cat {w}")
    assert count(None) == 2
    assert count(outsider) == 1
    categories = [r["category"] for r in t.get("/templates/categories").json()["data"]]
    assert categories == sorted(categories)
