"""Reading a multipart upload as it streams in (python-multipart's push parser): the one
``file`` part goes to an ``application.files_content.Receiver`` in slices of ``FEED_BYTES``
(from a worker thread, since it writes to storage), so at most a slice (and, for S3, one
part) of the file is ever in memory. Any failure, the client's disconnection included,
aborts the receiver: nothing stays in storage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio import to_thread
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from application.errors import ApplicationError, Invalid
from application.files_content import Received, Receiver, UnsupportedType
from application.tasks import invalid

FEED_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024  # a part's headers


class Malformed(ApplicationError):
    status, code, title = 400, "malformed-multipart", "The multipart body is malformed"


@dataclass
class FilePart:
    filename: str
    content_type: str | None


def boundary_of(content_type: str | None) -> bytes:
    media, options = parse_options_header((content_type or "").encode("latin-1", "replace"))
    if media != b"multipart/form-data":
        raise UnsupportedType("the upload must be multipart/form-data with a part named 'file'")
    boundary = options.get(b"boundary")
    if not boundary:
        raise Malformed("the multipart body has no boundary")
    return boundary


def _filename(disposition: bytes) -> tuple[str, str | None]:
    """(field name, filename) of a part's Content-Disposition."""
    kind, options = parse_options_header(disposition)
    if kind != b"form-data":
        raise Malformed("each part must be form-data")
    try:
        name = options.get(b"name", b"").decode("utf-8")
        raw = options.get(b"filename")
        if raw is None:
            return name, None
        # Browsers write a name's '"', CR and LF as %22, %0D and %0A (the HTML standard's
        # multipart/form-data encoding); read back, a CR or LF is then refused as a control.
        filename = raw.decode("utf-8")
        for escaped, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n")):
            filename = filename.replace(escaped, char)
        return name, filename
    except UnicodeDecodeError:
        raise invalid("file", "the file name is not UTF-8") from None


async def receive_file(
    request: Request, start: Callable[[FilePart], Receiver]
) -> tuple[FilePart, Received]:
    """Stream the request's one file part into the receiver ``start`` gives for it."""
    boundary = boundary_of(request.headers.get("content-type"))
    events: list[tuple[str, bytes]] = []
    headers: dict[bytes, bytes] = {}
    field, value = bytearray(), bytearray()
    part: FilePart | None = None
    receiver: Receiver | None = None
    pending = bytearray()
    header_bytes = 0
    complete = False

    def on(kind: str) -> Callable[..., None]:
        def callback(data: bytes | None = None, start: int = 0, end: int = 0) -> None:
            events.append((kind, bytes(data[start:end]) if data is not None else b""))

        return callback

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on("part_begin"),
            "on_part_data": on("data"),
            "on_part_end": on("part_end"),
            "on_header_field": on("header_field"),
            "on_header_value": on("header_value"),
            "on_header_end": on("header_end"),
            "on_headers_finished": on("headers_finished"),
        },
    )

    async def feed(final: bool = False) -> None:
        if receiver is not None and pending and (final or len(pending) >= FEED_BYTES):
            data = bytes(pending)
            pending.clear()
            await to_thread.run_sync(receiver.feed, data)

    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except Exception as e:
                raise Malformed(f"the multipart body is malformed: {e}") from None
            for kind, data in events:
                if kind == "part_begin":
                    headers, header_bytes = {}, 0
                elif kind in ("header_field", "header_value"):
                    header_bytes += len(data)
                    if header_bytes > MAX_HEADER_BYTES:
                        raise Malformed("a part's headers are too large")
                    (field if kind == "header_field" else value).extend(data)
                elif kind == "header_end":
                    headers[bytes(field).lower()] = bytes(value)
                    field.clear()
                    value.clear()
                elif kind == "headers_finished":
                    name, filename = _filename(headers.get(b"content-disposition", b""))
                    if name != "file":
                        raise Invalid(f"unexpected form field {name!r}: send one part named 'file'")
                    if part is not None:
                        raise invalid("file", "send one file per upload")
                    declared = headers.get(b"content-type")
                    part = FilePart(
                        filename if filename is not None else "file",
                        declared.decode("latin-1") if declared else None,
                    )
                    receiver = await to_thread.run_sync(start, part)  # may connect to clamd
                elif kind == "data" and receiver is not None:
                    pending.extend(data)
                    await feed()
                elif kind == "part_end":
                    complete = complete or receiver is not None
                    await feed(final=True)
            events.clear()
        try:
            parser.finalize()
        except Exception as e:
            raise Malformed(f"the multipart body is malformed: {e}") from None
        if part is None or receiver is None:
            raise invalid("file", "the upload has no part named 'file'")
        if not complete:
            raise Malformed("the multipart body ended inside the file part")
        await feed(final=True)
        received = await to_thread.run_sync(receiver.finish)
    except BaseException:
        if receiver is not None:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(receiver.abort)
        raise
    return part, received
