"""What the files tests share: small files of known types, uploads, and waiting for storage."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 50 + b"%%EOF\n"
TEXT = "Quarterly notes: ünïcödé ✓\n".encode() * 20
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120 + b"This program cannot be run in DOS mode"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def upload(
    client: Any,
    user: dict,
    workspace_id: str,
    content: bytes = PNG,
    name: str = "picture.png",
    content_type: str | None = "image/png",
    *,
    public: bool = False,
) -> Any:
    """POST /files/upload (one part named file); returns the response."""
    part = (name, content, content_type) if content_type else (name, content)
    return client.post(
        f"/api/v1/files/upload?workspace_id={workspace_id}" + ("&is_public=true" if public else ""),
        files={"file": part},
        headers=user.get("headers", {}),
    )


def uploaded(client: Any, user: dict, workspace_id: str, **kwargs: Any) -> dict:
    response = upload(client, user, workspace_id, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``check`` holds within ``timeout`` (storage is cleaned after the log says so)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
