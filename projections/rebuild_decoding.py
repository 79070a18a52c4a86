"""Fast decoding for a rebuild: the application's mapper with orjson in place of its JSON
decoder (same registered transcodings), falling back to the original for numbers orjson
cannot hold."""

from __future__ import annotations

import copy
import re
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, UUIDAsHex

LONG_NUMBER = re.compile(rb"[0-9]{19}")


class FastJSONTranscoder:
    """Decodes what a ``JSONTranscoder`` encoded, to equal values, faster: orjson parses, then
    each ``{"_type_", "_data_"}`` object is decoded by the same registered transcodings,
    innermost first, as the transcoder's object hook does (ids through a cache)."""

    def __init__(self, inner: JSONTranscoder) -> None:
        self.inner = inner
        self.uuids: dict[str, UUID] = {}
        self.cache_uuids = type(inner.names.get("uuid_hex")) is UUIDAsHex

    def encode(self, obj: Any) -> bytes:
        return self.inner.encode(obj)

    def decode(self, data: bytes) -> Any:
        if LONG_NUMBER.search(data):  # orjson reads integers past 64 bits as floats
            return self.inner.decode(data)
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:  # e.g. NaN, which json reads
            return self.inner.decode(data)
        return self._walk(obj)

    def _walk(self, obj: Any) -> Any:
        if type(obj) is dict:
            for key, value in obj.items():
                if type(value) is dict or type(value) is list:
                    obj[key] = self._walk(value)
            if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
                data = obj["_data_"]
                if self.cache_uuids and obj["_type_"] == "uuid_hex" and type(data) is str:
                    found = self.uuids.get(data)
                    if found is None:
                        if len(self.uuids) > 1_000_000:
                            self.uuids.clear()
                        found = self.uuids[data] = UUID(data)
                    return found
                return self.inner._decode_obj(obj)
            return obj
        for i, value in enumerate(obj):
            if type(value) is dict or type(value) is list:
                obj[i] = self._walk(value)
        return obj


def fast_mapper(mapper: Mapper) -> Mapper:
    """The same mapper (its subclass's own decoding included), with a faster JSON decoder."""
    if type(mapper.transcoder) is not JSONTranscoder:
        return mapper
    clone = copy.copy(mapper)
    clone.transcoder = FastJSONTranscoder(mapper.transcoder)  # type: ignore[assignment]
    return clone
