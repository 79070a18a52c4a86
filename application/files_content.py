"""What an upload is allowed to be, decided from its bytes: the content type sniffed from the
first bytes (``filetype``) and checked against the declared type and the allowlist, the
size limit, the SHA-256, an optional virus scan, all while the bytes stream to storage.

``Receiver`` is fed the file's bytes in order (from a worker thread: it writes to storage).
Nothing reaches storage before the type is decided (the first ``SNIFF_BYTES``), and every
refusal aborts the storage upload, so a refused file leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import filetype

from application.errors import ApplicationError, Invalid
from application.tasks import invalid

SNIFF_BYTES = 8192  # what filetype reads; enough for every signature it knows
GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream"})
DEFAULT_ALLOWED = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/avif",
        "application/pdf",
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/json",
        "application/zip",
        "application/gzip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/rtf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/x-wav",
        "video/mp4",
        "video/webm",
        "video/quicktime",
    }
)
# Text has no signature: a declared text type is believed when the bytes are text.
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "application/json"})
# Containers whose declared, more precise type is believed when the bytes are a zip.
ZIP_BASED = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/epub+zip",
    }
)
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "application/x-zip-compressed": "application/zip",
    "application/x-gzip": "application/gzip",
}
# Executable content, refused whatever the allowlist says: PE (MZ), ELF, Mach-O (both byte
# orders, 32/64-bit, universal), WebAssembly, and scripts with an interpreter line.
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\x00asm",
    b"#!",
)


class UnsupportedType(ApplicationError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class TooLarge(ApplicationError):
    status, code, title = 413, "too-large", "The file is too large"


class Infected(Invalid):
    code, title = "infected", "The file was refused by the virus scan"


def allowed_types(setting: str) -> frozenset[str]:
    """FILES_ALLOWED_TYPES (comma-separated media types), or the default list."""
    given = {t.strip().lower() for t in setting.split(",") if t.strip()}
    return frozenset(given) or DEFAULT_ALLOWED


def media_type(value: str | None) -> str:
    """A Content-Type reduced to its lowercase media type (parameters dropped), aliases
    resolved."""
    media = (value or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(media, media)


def _is_text(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # The sniffed window may cut a character in two: only its last 3 bytes may be cut.
        return not complete and e.start >= len(head) - 3 and e.reason == "unexpected end of data"
    return True


def decide_type(head: bytes, declared: str | None, allowed: Iterable[str], complete: bool) -> str:
    """The media type stored and served for a file whose first bytes are ``head``
    (``complete``: the whole file). UnsupportedType when the bytes are executable, contradict
    the declared type, or are of a type not allowed."""
    if head.startswith(EXECUTABLE_MAGIC):
        raise UnsupportedType("executable content is not accepted")
    declared_type = media_type(declared)
    kind = filetype.guess(head)
    if kind is not None and kind.mime in ("application/x-msdownload", "application/x-executable"):
        raise UnsupportedType("executable content is not accepted")
    if kind is not None:
        sniffed = ALIASES.get(kind.mime, kind.mime)
    elif _is_text(head, complete):
        sniffed = "text/plain"
    else:
        sniffed = "application/octet-stream"
    if declared_type in GENERIC or declared_type == sniffed:
        chosen = sniffed
    elif (sniffed == "text/plain" and declared_type in TEXT_TYPES) or (
        sniffed == "application/zip" and declared_type in ZIP_BASED
    ):
        chosen = declared_type
    else:
        raise UnsupportedType(
            f"the content is {sniffed}, not the declared {declared_type}",
            declared=declared_type,
            detected=sniffed,
        )
    if chosen not in set(allowed):
        raise UnsupportedType(f"files of type {chosen} are not accepted", detected=chosen)
    return chosen


class StoredUpload(Protocol):
    """One object being written to storage: written in order, then committed or aborted
    (an aborted upload leaves nothing)."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class ScanSession(Protocol):
    """One file streamed to a virus scanner."""

    def feed(self, data: bytes) -> None: ...

    def verdict(self) -> str | None:
        """None when clean, else what was found."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Received:
    file_size: int
    checksum: str  # SHA-256, hex
    mime_type: str


class Receiver:
    """Takes a file's bytes in order: sniffs, limits, hashes, scans and stores them."""

    def __init__(
        self,
        begin: Callable[[], StoredUpload],  # called once the type is decided
        *,
        declared: str | None,
        allowed: frozenset[str],
        limit: int,
        scan: ScanSession | None = None,
    ) -> None:
        self._begin = begin
        self.declared = declared
        self.allowed = allowed
        self.limit = limit
        self.scan = scan
        self.size = 0
        self.sha = hashlib.sha256()
        self.head = bytearray()
        self.mime_type: str | None = None
        self.upload: StoredUpload | None = None

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(
                f"the file is larger than the limit of {self.limit} bytes", limit=self.limit
            )
        self.sha.update(data)
        if self.scan is not None:
            self.scan.feed(data)
        if self.upload is None:
            self.head += data
            if len(self.head) >= SNIFF_BYTES:
                self._start(complete=False)
            return
        self.upload.write(data)

    def _start(self, *, complete: bool) -> None:
        self.mime_type = decide_type(
            bytes(self.head[:SNIFF_BYTES]), self.declared, self.allowed, complete
        )
        self.upload = self._begin()
        self.upload.write(bytes(self.head))
        self.head = bytearray()

    def finish(self) -> Received:
        """The file is complete: the verdict of the scan, then the object committed."""
        if self.size == 0:
            raise invalid("file", "the file is empty")
        if self.upload is None:
            self._start(complete=True)
        if self.scan is not None:
            found = self.scan.verdict()
            if found is not None:
                raise Infected(f"the virus scan found {found}", found=found)
        assert self.upload is not None
        assert self.mime_type is not None
        self.upload.commit()
        return Received(self.size, self.sha.hexdigest(), self.mime_type)

    def abort(self) -> None:
        """Nothing of this file stays in storage (idempotent)."""
        if self.upload is not None:
            self.upload.abort()
        if self.scan is not None:
            self.scan.close()
