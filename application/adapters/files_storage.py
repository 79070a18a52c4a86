"""The files' storage adapters (``application.files.Storage``) and the virus-scan hook.

- ``LocalStorage``: a folder (FILES_DIR, default ``<WORKSYNC_DATA_DIR>/files``), the default
  when no bucket is configured. An upload is written to a temporary file in the folder's
  ``.incoming`` and renamed into place on commit (fsync'd first): a reader never sees half
  a file, and an aborted upload leaves nothing.
- ``S3Storage``: any S3-compatible API through boto3 (S3_BUCKET_NAME, S3_REGION,
  S3_ENDPOINT_URL for MinIO and friends, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY). A file up
  to one part (S3_PART_SIZE, default 8 MiB) is one PUT; a larger one is a multipart upload
  whose parts are sent as they fill (so at most one part is in memory), aborted on failure.
  Downloads can be short-lived presigned URLs.
- ``ClamdScanner``: clamd's INSTREAM over TCP or a Unix socket (CLAMD_URL, e.g.
  ``tcp://127.0.0.1:3310`` or ``unix:///run/clamav/clamd.ctl``), fed as the bytes arrive.

Keys are ours (``domain.files.storage_key``): letters, digits, ``-`` and ``/`` only, checked
again here before any path or request is built from one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from application.config import Settings
from application.files import Scanner, Storage
from application.files_content import ScanSession, StoredUpload

CHUNK = 256 * 1024  # bytes per read when serving a file
_KEY = re.compile(r"^[a-z0-9][a-z0-9/-]{0,254}$")


def checked_key(key: str) -> str:
    if not _KEY.fullmatch(key) or "//" in key or key.endswith("/"):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact name in RFC 6266 /
    RFC 8187 ``filename*`` (UTF-8, percent-encoded): quotes, backslashes and non-ASCII never
    appear raw in the header."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# Local folder ---------------------------------------------------------------------------------


class _LocalUpload:
    def __init__(self, root: Path, target: Path) -> None:
        incoming = root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=incoming, prefix="upload-", suffix=".part")
        self.file = os.fdopen(fd, "wb")
        self.temp = Path(name)
        self.target = target

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp, self.target)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.temp.unlink(missing_ok=True)


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / checked_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"not a storage key: {key!r}")
        return path

    def begin(self, key: str) -> StoredUpload:
        return _LocalUpload(self.root, self._path(key))

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            f.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = f.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def url(self, key: str, *, filename: str, mime_type: str, expires: int) -> str | None:
        return None


# S3-compatible ---------------------------------------------------------------------------------


class _S3Upload:
    """One PUT for a file up to a part; above, a multipart upload sent part by part."""

    def __init__(self, client: Any, bucket: str, key: str, part_size: int) -> None:
        self.client, self.bucket, self.key, self.part_size = client, bucket, key, part_size
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            part = bytes(self.buffer[: self.part_size])
            del self.buffer[: self.part_size]
            self._send_part(part)

    def _send_part(self, part: bytes) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=part,
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
            self.buffer = bytearray()
            return
        if self.buffer:
            self._send_part(bytes(self.buffer))
            self.buffer = bytearray()
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
                )
            self.upload_id = None


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.part_size = part_size
        self.client = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                signature_version="s3v4",
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        )

    def begin(self, key: str) -> StoredUpload:
        return _S3Upload(self.client, self.bucket, checked_key(key), self.part_size)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {"Bucket": self.bucket, "Key": checked_key(key)}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self.client.get_object(**params)["Body"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from None
            raise
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=checked_key(key))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=checked_key(key))

    def delete_prefix(self, prefix: str) -> int:
        checked_key(prefix.rstrip("/"))
        count = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if answer.get("Errors"):
                    raise RuntimeError(f"storage kept {len(answer['Errors'])} objects")
                count += len(keys)
        return count

    def url(self, key: str, *, filename: str, mime_type: str, expires: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": checked_key(key),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": mime_type,
            },
            ExpiresIn=expires,
        )


def open_storage(settings: Settings) -> Storage:
    """S3 when a bucket is configured, else the local folder."""
    if settings.s3_bucket_name:
        return S3Storage(
            settings.s3_bucket_name,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url or None,
            access_key=settings.aws_access_key_id or None,
            secret_key=settings.aws_secret_access_key or None,
            part_size=settings.s3_part_size,
        )
    return LocalStorage(settings.files_folder)


# Virus scan --------------------------------------------------------------------------------------


class _ClamdSession:
    """INSTREAM: each chunk as a 4-byte big-endian length and the bytes; a zero length ends
    the stream and clamd answers ``stream: OK`` or ``stream: <name> FOUND``."""

    def __init__(self, connect: Any, timeout: float) -> None:
        self.sock: socket.socket = connect()
        self.sock.settimeout(timeout)
        self.sock.sendall(b"zINSTREAM\0")
        self.failed: str | None = None

    def feed(self, data: bytes) -> None:
        if self.failed:
            return
        try:
            for i in range(0, len(data), 1 << 20):
                piece = data[i : i + (1 << 20)]
                self.sock.sendall(struct.pack("!L", len(piece)) + piece)
        except OSError as e:  # clamd closes the stream past its StreamMaxLength
            self.failed = f"the virus scanner refused the stream ({e})"

    def verdict(self) -> str | None:
        try:
            if self.failed is None:
                self.sock.sendall(struct.pack("!L", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        finally:
            self.close()
        text = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
        if text.endswith("OK") and self.failed is None:
            return None
        if text.endswith("FOUND"):
            return text.removeprefix("stream:").removesuffix("FOUND").strip()
        raise RuntimeError(f"virus scan failed: {self.failed or text or 'no answer'}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class ClamdScanner:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.timeout = timeout
        if parts.scheme == "unix":
            self.address: Any = parts.path
            self.family = socket.AF_UNIX
        elif parts.scheme == "tcp":
            self.address = (parts.hostname or "127.0.0.1", parts.port or 3310)
            self.family = socket.AF_INET
        else:
            raise ValueError(f"CLAMD_URL must be tcp://host:port or unix:///path, not {url!r}")

    def _connect(self) -> socket.socket:
        if self.family == socket.AF_UNIX:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.address)
            return sock
        return socket.create_connection(self.address, timeout=self.timeout)

    def session(self) -> ScanSession:
        return _ClamdSession(self._connect, self.timeout)


def open_scanner(settings: Settings) -> Scanner | None:
    return ClamdScanner(settings.clamd_url) if settings.clamd_url else None
