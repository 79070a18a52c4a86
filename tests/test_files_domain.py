"""Files rules without PostgreSQL: names, the File aggregate, the type decided from the bytes,
the receiver (nothing stored before the type is known, everything aborted on refusal), the
clamd hook against a scripted clamd, the Range header, and the real-time names."""

from __future__ import annotations

import socketserver
import struct
import threading
import uuid

import pytest

from application.adapters.files_storage import ClamdScanner, content_disposition
from application.errors import Invalid
from application.files_content import (
    DEFAULT_ALLOWED,
    Infected,
    Receiver,
    TooLarge,
    UnsupportedType,
    allowed_types,
    decide_type,
)
from domain.files import BadName, File, check_name, storage_key
from domain.shared import Gone, Missing, NotPermitted, RuleBroken
from interfaces.http.files import RangeNotSatisfiable, byte_range
from interfaces.realtime.names import route
from tests.support.files import EICAR, ELF, EXE, PDF, PNG, TEXT

ACTOR = uuid.uuid4()


def new_file(**changes) -> File:
    workspace_id = uuid.uuid4()
    file_id = uuid.uuid4()
    values = {
        "file_id": file_id,
        "workspace_id": workspace_id,
        "name": "a.png",
        "original_name": "a.png",
        "storage_key": storage_key(workspace_id, file_id),
        "file_size": 10,
        "mime_type": "image/png",
        "checksum": "0" * 64,
        "is_public": False,
        "actor_id": ACTOR,
        **changes,
    }
    return File(**values)


# Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "Résumé 2026 (final).docx",
        "отчёт.txt",
        ".hidden",
        "a..b.txt",
        "conference.txt",
    ],
)
def test_ordinary_names_are_kept(name):
    assert check_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "../x",
        "a/b",
        "a\\b",
        ".",
        "..",
        "CON",
        "con.txt",
        "Lpt1.tar.gz",
        "aux ",
        "a\x00b",
        "a\nb",
        "evil\u202efdp.exe",
        "zero\u200bwidth",
        "x" * 256,
    ],
)
def test_names_that_could_name_a_path_or_hide_are_refused(name):
    with pytest.raises(BadName):
        check_name(name)


def test_the_storage_key_is_ours():
    workspace_id, file_id = uuid.uuid4(), uuid.uuid4()
    assert storage_key(workspace_id, file_id) == f"workspaces/{workspace_id}/files/{file_id}"


# The aggregate ---------------------------------------------------------------------------------


def test_the_uploader_or_a_moderator_deletes_and_attachments_go_with_it():
    file = new_file()
    target = uuid.uuid4()
    attachment = uuid.uuid4()
    file.attach(ACTOR, attachment, "card", target, uuid.uuid4())
    with pytest.raises(RuleBroken):
        file.attach(ACTOR, uuid.uuid4(), "card", target, None)  # the same target twice
    with pytest.raises(RuleBroken):
        file.attach(ACTOR, uuid.uuid4(), "invoice", target, None)
    with pytest.raises(NotPermitted):
        file.delete(uuid.uuid4(), moderator=False)
    file.delete(uuid.uuid4(), moderator=True)
    deleted = file.collect_events()[-1]
    assert deleted.attachments == [
        {"id": str(attachment), "attachable_type": "card", "attachable_id": str(target)}
    ]
    with pytest.raises(Gone):
        file.delete(ACTOR, moderator=True)
    with pytest.raises(Gone):
        file.attach(ACTOR, uuid.uuid4(), "task", uuid.uuid4(), None)


def test_detaching_an_unknown_attachment_is_missing_and_a_detached_target_can_be_reattached():
    file = new_file()
    target = uuid.uuid4()
    attachment = uuid.uuid4()
    with pytest.raises(Missing):
        file.detach(ACTOR, attachment)
    file.attach(ACTOR, attachment, "task", target, None)
    assert file.target_of(attachment) == ("task", target)
    file.detach(ACTOR, attachment)
    file.attach(ACTOR, uuid.uuid4(), "task", target, None)


# The type, from the bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "declared", "expected"),
    [
        (PNG, "image/png", "image/png"),
        (PNG, "application/octet-stream", "image/png"),
        (PNG, None, "image/png"),
        (PNG, "IMAGE/PNG; charset=binary", "image/png"),
        (PDF, "application/pdf", "application/pdf"),
        (TEXT, "text/plain", "text/plain"),
        (TEXT, "text/csv", "text/csv"),
        (TEXT, None, "text/plain"),
        (b'{"a": 1}', "application/json", "application/json"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpg", "image/jpeg"),  # an alias
    ],
)
def test_types_decided_from_the_bytes(head, declared, expected):
    assert decide_type(head, declared, DEFAULT_ALLOWED, complete=True) == expected


@pytest.mark.parametrize(
    ("head", "declared"),
    [
        (TEXT, "image/png"),  # contradicts the bytes
        (PNG, "application/pdf"),
        (PNG, "text/plain"),
        (EXE, None),  # executables, whatever is declared
        (EXE, "application/pdf"),
        (ELF, "application/octet-stream"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", None),  # Mach-O
        (b"\x00asm\x01\x00\x00\x00", None),  # WebAssembly
        (b"#!/usr/bin/env python\n", "text/plain"),
        (b"<html><script>x()</script></html>", "text/html"),  # not allowed
        (bytes(range(256)), None),  # unknown binary
    ],
)
def test_types_refused(head, declared):
    with pytest.raises(UnsupportedType):
        decide_type(head, declared, DEFAULT_ALLOWED, complete=True)


def test_a_multibyte_character_cut_by_the_sniffed_window_is_still_text():
    head = ("é" * 4096).encode()[:8191]  # ends inside a character
    assert decide_type(head, "text/plain", DEFAULT_ALLOWED, complete=False) == "text/plain"
    with pytest.raises(UnsupportedType):
        decide_type(head, "text/plain", DEFAULT_ALLOWED, complete=True)


def test_the_allowlist_is_configurable():
    assert allowed_types("") == DEFAULT_ALLOWED
    only_pdf = allowed_types(" application/pdf , ")
    assert only_pdf == {"application/pdf"}
    with pytest.raises(UnsupportedType):
        decide_type(PNG, "image/png", only_pdf, complete=True)


# The receiver ----------------------------------------------------------------------------------


class FakeUpload:
    def __init__(self, log: list) -> None:
        self.log = log
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def commit(self) -> None:
        self.log.append(("commit", bytes(self.data)))

    def abort(self) -> None:
        self.log.append(("abort", len(self.data)))


def receiver(log: list, limit: int = 1_000_000, scan=None) -> Receiver:
    def begin() -> FakeUpload:
        log.append(("begin",))
        return FakeUpload(log)

    return Receiver(begin, declared=None, allowed=DEFAULT_ALLOWED, limit=limit, scan=scan)


def test_nothing_reaches_storage_before_the_type_is_decided():
    log: list = []
    r = receiver(log)
    content = PNG + bytes(20_000)
    for i in range(0, 4000, 1000):
        r.feed(content[i : i + 1000])
    assert log == []  # 4 KB in: not yet sniffed
    for i in range(4000, len(content), 1000):
        r.feed(content[i : i + 1000])
    assert log == [("begin",)]
    received = r.finish()
    assert log[-1] == ("commit", content)
    assert (received.file_size, received.mime_type) == (len(content), "image/png")


def test_refusals_abort():
    log: list = []
    r = receiver(log, limit=20_000)
    r.feed(PNG + bytes(18_000))
    with pytest.raises(TooLarge):
        r.feed(bytes(2000))
    r.abort()
    assert log == [("begin",), ("abort", len(PNG) + 18_000)]
    empty = receiver([])
    with pytest.raises(Invalid):
        empty.finish()
    refused = receiver(log := [])
    refused.feed(EXE)
    with pytest.raises(UnsupportedType):
        refused.finish()
    assert log == []  # never begun


# The virus scan: a scripted clamd speaking INSTREAM ----------------------------------------------


class Clamd(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        stream = b""
        while True:
            (size,) = struct.unpack("!L", self._exactly(4))
            if size == 0:
                break
            stream += self._exactly(size)
        found = b"Win.Test.EICAR_HDB-1 FOUND" if EICAR in stream else b"OK"
        self.request.sendall(b"stream: " + found + b"\0")

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data


@pytest.fixture(scope="module")
def clamd_url():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Clamd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_scan_passes_clean_files_and_refuses_infected_ones(clamd_url):
    scanner = ClamdScanner(clamd_url)
    log: list = []
    clean = receiver(log, scan=scanner.session())
    clean.feed(TEXT)
    assert clean.finish().mime_type == "text/plain"
    log.clear()
    infected = receiver(log, scan=scanner.session())
    infected.feed(EICAR + b"\n" + TEXT)
    with pytest.raises(Infected) as refused:
        infected.finish()
    assert "EICAR" in refused.value.detail
    infected.abort()
    assert [entry[0] for entry in log] == ["begin", "abort"]


def test_a_clamd_url_must_name_tcp_or_unix():
    with pytest.raises(ValueError, match="CLAMD_URL"):
        ClamdScanner("http://127.0.0.1:3310")


# Headers ---------------------------------------------------------------------------------------


def test_byte_ranges():
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=90-500", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=-500", 100) == (0, 99)
    for ignored in ("bytes=5-1", "bytes=0-1,5-6", "lines=0-1", "bytes=-", "garbage"):
        assert byte_range(ignored, 100) is None
    for unsatisfiable in ("bytes=100-", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(unsatisfiable, 100)


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name():
    assert content_disposition("a.pdf") == "attachment; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"
    header = content_disposition('naïve "quote"\\.pdf')
    assert header == (
        'attachment; filename="na_ve _quote__.pdf"; '
        "filename*=UTF-8''na%C3%AFve%20%22quote%22%5C.pdf"
    )


# Real time -------------------------------------------------------------------------------------


def test_an_attachment_on_a_card_is_a_kanban_event_in_the_workspace():
    file = new_file()
    card, project = uuid.uuid4(), uuid.uuid4()
    attachment = uuid.uuid4()
    file.attach(ACTOR, attachment, "card", card, project)
    file.attach(ACTOR, uuid.uuid4(), "task", uuid.uuid4(), project)
    file.detach(ACTOR, attachment)
    routes = [route(e, n) for n, e in enumerate(file.collect_events(), 1)]
    assert [r.name for r in routes] == [
        "file:uploaded",
        "kanban:file:attached",
        "file:attached",
        "kanban:file:detached",
    ]
    on_card = routes[1]
    assert on_card.rooms == {f"workspace:{file.workspace_id}"}
    assert on_card.payload["resource"] == {"type": "attachment", "id": str(attachment)}
    assert on_card.payload["project_id"] == str(project)
    assert on_card.payload["data"]["attachable_id"] == str(card)
    assert on_card.payload["data"]["name"] == "a.png"
