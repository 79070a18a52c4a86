"""Reading a Trello board export ("Export as JSON" in a board's menu) into an import plan:
pure Python, no I/O. Everything is checked before anything is made, so bad input is one clear
error (``BadImport``, 422; ``ImportTooLarge``, 413) and nothing is created.

What is read (Trello's documented board JSON): the board's ``id``, ``name``, ``desc``;
``lists`` (``id``, ``name``, ``closed``, ``pos``); ``cards`` (``id``, ``name``, ``desc``,
``closed``, ``pos``, ``idList``, ``idLabels``, ``idMembers``, ``due``); ``labels`` (``id``,
``name``, ``color``); ``checklists`` (``id``, ``idCard``, ``name``, ``pos``, ``checkItems``
with ``id``, ``name``, ``state``, ``pos``, ``due``, ``idMember``); ``actions`` of type
``commentCard`` (``id``, ``date``, ``idMemberCreator``, ``memberCreator``, ``data.text``,
``data.card.id``); ``members`` (``id``, ``fullName``, ``username``, ``email`` when the export
has one). Other fields (Trello exports carry dozens: ``prefs``, ``pluginData``,
``customFields``...) are ignored, as are actions of other types: refusing them would refuse
every real export, since Trello adds fields over time. A known field of the wrong type, a
missing required one, a duplicate id or a reference to a list that is not in the export is
refused, naming its place (``cards[3].pos``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from application.errors import ApplicationError, Invalid

MAX_NAME = 255  # titles and names (longer ones are cut, with an ellipsis)
MAX_LABEL = 50  # a tag
MAX_TEXT = 16_384  # Trello's own limit on descriptions and comments
MAX_COUNTS = {  # larger boards are refused (absurd sizes)
    "lists": 1_000,
    "cards": 20_000,
    "labels": 1_000,
    "checklists": 20_000,
    "check_items": 100_000,
    "comments": 100_000,
    "members": 5_000,
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not tab, LF, CR
LINE_BREAKS = re.compile(r"[\t\n\r]+")


class BadImport(Invalid):
    code, title = "invalid-import", "Not an importable file"


class ImportTooLarge(ApplicationError):
    status, code, title = 413, "import-too-large", "The import is too large"


def load_json(data: bytes, max_bytes: int) -> Any:
    """The JSON document in ``data``: refused when larger than ``max_bytes``, not UTF-8, with
    NUL bytes, or not JSON (truncated, say), before any of it is used."""
    if len(data) > max_bytes:
        raise ImportTooLarge(f"the file is {len(data)} bytes, more than the limit of {max_bytes}")
    if not data.strip():
        raise BadImport("the file is empty")
    if b"\x00" in data:
        raise BadImport("the file contains NUL bytes: it is not a JSON export")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadImport(f"the file is not UTF-8 text (byte {e.start})") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise BadImport(f"the file is not valid JSON (truncated?): {e}") from None


def _name(value: str) -> str:
    """One line, no control characters, at most MAX_NAME characters."""
    line = CONTROL.sub("", LINE_BREAKS.sub(" ", value)).strip()
    return line if len(line) <= MAX_NAME else line[: MAX_NAME - 1] + "…"


def _text(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_TEXT:
        raise BadImport(f"{where} is longer than {MAX_TEXT} characters")
    return CONTROL.sub("", value).strip() or None


class _Reader:
    """Typed access to the export's fields, each error naming its place."""

    def get(self, obj: dict[str, Any], key: str, kind: Any, where: str, required: bool = True):
        value = obj.get(key)
        if value is None:
            if required:
                raise BadImport(f"{where}.{key} is missing")
            return None
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if not ok:
            raise BadImport(f"{where}.{key} must be {_kind_name(kind)}")
        if isinstance(value, str) and "\x00" in value:
            raise BadImport(f"{where}.{key} contains a NUL character")
        return value

    def items(self, obj: dict[str, Any], key: str, where: str, limit: int) -> list[dict]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadImport(f"{where}{key} must be an array")
        if len(value) > limit:
            raise ImportTooLarge(f"{where}{key} has {len(value)} entries, more than {limit}")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise BadImport(f"{where}{key}[{i}] must be an object")
        return value

    def date(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        value = self.get(obj, key, str, where, required=False)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadImport(f"{where}.{key} is not an ISO 8601 date: {value[:40]!r}") from None
        if moment.tzinfo is None:
            raise BadImport(f"{where}.{key} has no time zone")
        return moment.astimezone(UTC).isoformat()

    def ids(self, obj: dict[str, Any], key: str, where: str) -> list[str]:
        value = obj.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadImport(f"{where}.{key} must be an array of ids")
        return value


def _kind_name(kind: Any) -> str:
    names = {str: "a string", bool: "true or false", dict: "an object", list: "an array"}
    return names.get(kind, "a number")


NUMBER = (int, float)


def _unique(items: list[dict[str, Any]], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item["id"] in seen:
            raise BadImport(f"{what} {item['id']!r} appears twice")
        seen.add(item["id"])


def parse_trello(doc: Any) -> dict[str, Any]:
    """The import plan of a Trello board export (see the module's docstring). Lists and
    cards come in board order (``pos``, then their place in the file); checklist items in
    ``pos`` order; comments oldest first."""
    r = _Reader()
    if not isinstance(doc, dict) or not isinstance(doc.get("lists"), list):
        raise BadImport("this is not a Trello board export (no board object with 'lists')")
    if not isinstance(doc.get("cards"), list):
        raise BadImport("this is not a Trello board export (no 'cards' array)")
    board_id = r.get(doc, "id", str, "board")
    name = _name(r.get(doc, "name", str, "board")) or "Trello board"
    board = {
        "id": board_id,
        "name": name,
        "desc": _text(r.get(doc, "desc", str, "board", required=False), "board.desc"),
        "url": r.get(doc, "url", str, "board", required=False),
    }
    lists = []
    for i, item in enumerate(r.items(doc, "lists", "", MAX_COUNTS["lists"])):
        where = f"lists[{i}]"
        lists.append(
            {
                "id": r.get(item, "id", str, where),
                "name": _name(r.get(item, "name", str, where)) or "Untitled list",
                "closed": bool(r.get(item, "closed", bool, where, required=False)),
                "pos": r.get(item, "pos", NUMBER, where, required=False) or 0,
                "n": i,
            }
        )
    _unique(lists, "list")
    lists.sort(key=lambda x: (x["pos"], x["n"]))
    list_ids = {x["id"] for x in lists}

    labels: dict[str, str] = {}
    for i, item in enumerate(r.items(doc, "labels", "", MAX_COUNTS["labels"])):
        where = f"labels[{i}]"
        label_id = r.get(item, "id", str, where)
        text = r.get(item, "name", str, where, required=False) or ""
        color = r.get(item, "color", str, where, required=False) or ""
        tag = _name(text or color)[:MAX_LABEL].strip()
        if tag:
            labels[label_id] = tag

    cards = []
    for i, item in enumerate(r.items(doc, "cards", "", MAX_COUNTS["cards"])):
        where = f"cards[{i}]"
        list_id = r.get(item, "idList", str, where)
        if list_id not in list_ids:
            raise BadImport(f"{where}.idList {list_id!r} is not a list of the export")
        tags: list[str] = []
        for label_id in r.ids(item, "idLabels", where):
            tag = labels.get(label_id)
            if tag and tag not in tags:
                tags.append(tag)
        cards.append(
            {
                "id": r.get(item, "id", str, where),
                "list": list_id,
                "name": _name(r.get(item, "name", str, where)) or "Untitled card",
                "desc": _text(r.get(item, "desc", str, where, required=False), f"{where}.desc"),
                "closed": bool(r.get(item, "closed", bool, where, required=False)),
                "pos": r.get(item, "pos", NUMBER, where, required=False) or 0,
                "due": r.date(item, "due", where),
                "labels": tags[:50],
                "members": r.ids(item, "idMembers", where),
                "n": i,
            }
        )
    _unique(cards, "card")
    order = {x["id"]: k for k, x in enumerate(lists)}
    cards.sort(key=lambda x: (order[x["list"]], x["pos"], x["n"]))
    card_ids = {x["id"] for x in cards}

    checklists, items_total = [], 0
    for i, item in enumerate(r.items(doc, "checklists", "", MAX_COUNTS["checklists"])):
        where = f"checklists[{i}]"
        card_id = r.get(item, "idCard", str, where)
        if card_id not in card_ids:
            raise BadImport(f"{where}.idCard {card_id!r} is not a card of the export")
        entries = r.items(item, "checkItems", f"{where}.", MAX_COUNTS["check_items"])
        items_total += len(entries)
        if items_total > MAX_COUNTS["check_items"]:
            raise ImportTooLarge(f"more than {MAX_COUNTS['check_items']} checklist items")
        check_items = []
        for j, entry in enumerate(entries):
            at = f"{where}.checkItems[{j}]"
            state = r.get(entry, "state", str, at, required=False) or "incomplete"
            if state not in ("complete", "incomplete"):
                raise BadImport(f"{at}.state must be 'complete' or 'incomplete'")
            check_items.append(
                {
                    "id": r.get(entry, "id", str, at),
                    "name": _name(r.get(entry, "name", str, at)) or "Untitled item",
                    "done": state == "complete",
                    "pos": r.get(entry, "pos", NUMBER, at, required=False) or 0,
                    "due": r.date(entry, "due", at),
                    "member": r.get(entry, "idMember", str, at, required=False),
                    "n": j,
                }
            )
        _unique(check_items, "checklist item")
        check_items.sort(key=lambda x: (x["pos"], x["n"]))
        checklists.append(
            {
                "id": r.get(item, "id", str, where),
                "card": card_id,
                "name": _name(r.get(item, "name", str, where, required=False) or "") or "Checklist",
                "pos": r.get(item, "pos", NUMBER, where, required=False) or 0,
                "items": check_items,
                "n": i,
            }
        )
    _unique(checklists, "checklist")
    checklists.sort(key=lambda x: (x["card"], x["pos"], x["n"]))

    members = []
    for i, item in enumerate(r.items(doc, "members", "", MAX_COUNTS["members"])):
        where = f"members[{i}]"
        email = r.get(item, "email", str, where, required=False)
        members.append(
            {
                "id": r.get(item, "id", str, where),
                "name": _name(r.get(item, "fullName", str, where, required=False) or ""),
                "username": _name(r.get(item, "username", str, where, required=False) or ""),
                "email": email.strip().lower() if email else None,
            }
        )
    _unique(members, "member")

    comments = []
    for i, action in enumerate(r.items(doc, "actions", "", 10 * MAX_COUNTS["comments"])):
        if action.get("type") != "commentCard":
            continue
        where = f"actions[{i}]"
        data = r.get(action, "data", dict, where)
        card = r.get(data, "card", dict, f"{where}.data")
        card_id = r.get(card, "id", str, f"{where}.data.card")
        if card_id not in card_ids:
            continue  # a comment on a card deleted since: Trello keeps the action
        creator = (
            action.get("memberCreator") if isinstance(action.get("memberCreator"), dict) else {}
        )
        text = _text(r.get(data, "text", str, f"{where}.data"), f"{where}.data.text")
        if text is None:
            continue
        comments.append(
            {
                "id": r.get(action, "id", str, where),
                "card": card_id,
                "text": text,
                "date": r.date(action, "date", where),
                "author": r.get(action, "idMemberCreator", str, where, required=False),
                "author_name": _name(str(creator.get("fullName") or creator.get("username") or "")),
            }
        )
        if len(comments) > MAX_COUNTS["comments"]:
            raise ImportTooLarge(f"more than {MAX_COUNTS['comments']} comments")
    _unique(comments, "action")
    comments.sort(key=lambda x: (x["date"] or "", x["id"]))
    return {
        "source": "trello",
        "board": board,
        "lists": lists,
        "cards": cards,
        "checklists": checklists,
        "members": members,
        "comments": comments,
    }
