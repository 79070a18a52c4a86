"""Fast decoding for a rebuild: the application's mapper with orjson in place of its JSON
decoder (same registered transcodings), falling back to the original for numbers orjson
cannot hold."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

# orjson reads an integer past 64 bits as a float: any float this large may have been one (a
# large float stays one in the long way too).
LARGE = 9e18


class _MaybeLong(Exception):
    """A float as large as an integer orjson cannot hold: decode the long way."""


class FastJSONTranscoder:
    """Decodes what a ``JSONTranscoder`` encoded, to equal values, faster: orjson parses, then
    each ``{"_type_", "_data_"}`` object is decoded by the same registered transcodings,
    innermost first, as the transcoder's object hook does. Ids, datetimes and decimals (when
    their transcodings are eventsourcing's own) are made here from their string at once,
    ids through a cache."""

    def __init__(self, inner: JSONTranscoder) -> None:
        self.inner = inner
        self.uuids: dict[str, UUID] = {}
        names = inner.names
        own: dict[str, tuple[type, Callable[[str], Any]]] = {
            "uuid_hex": (UUIDAsHex, self._uuid),
            "datetime_iso": (DatetimeAsISO, datetime.fromisoformat),
            "decimal_str": (DecimalAsStr, Decimal),
        }
        # _type_ -> the value of its string _data_
        self.strings = {n: f for n, (cls, f) in own.items() if type(names.get(n)) is cls}

    def encode(self, obj: Any) -> bytes:
        return self.inner.encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            return self._walk(orjson.loads(data))
        except (orjson.JSONDecodeError, _MaybeLong):  # NaN (json reads it), long integers
            return self.inner.decode(data)

    def _uuid(self, data: str) -> UUID:
        found = self.uuids.get(data)
        if found is None:
            if len(self.uuids) > 1_000_000:
                self.uuids.clear()
            found = self.uuids[data] = UUID(data)
        return found

    def _walk(self, obj: Any) -> Any:
        return (
            self._dict(obj) if type(obj) is dict else self._list(obj) if type(obj) is list else obj
        )

    def _dict(self, obj: dict[str, Any]) -> Any:
        strings = self.strings
        for key, value in obj.items():
            kind = type(value)
            if kind is dict:
                if len(value) == 2:  # most often a typed string: {"_type_", "_data_": str}
                    data = value.get("_data_")
                    if type(data) is str:
                        make = strings.get(value.get("_type_"))  # type: ignore[arg-type]
                        if make is not None:
                            obj[key] = make(data)
                            continue
                obj[key] = self._dict(value)
            elif kind is list:
                obj[key] = self._list(value)
            elif kind is float and not -LARGE < value < LARGE:
                raise _MaybeLong
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            data = obj["_data_"]
            if type(data) is str:
                make = strings.get(obj["_type_"])
                if make is not None:
                    return make(data)
            return self.inner._decode_obj(obj)
        return obj

    def _list(self, obj: list[Any]) -> list[Any]:
        for i, value in enumerate(obj):
            kind = type(value)
            if kind is dict:
                obj[i] = self._dict(value)
            elif kind is list:
                obj[i] = self._list(value)
            elif kind is float and not -LARGE < value < LARGE:
                raise _MaybeLong
        return obj


def fast_mapper(mapper: Mapper) -> Mapper:
    """The same mapper (its subclass's own decoding included), with a faster JSON decoder."""
    if type(mapper.transcoder) is not JSONTranscoder:
        return mapper
    clone = copy.copy(mapper)
    clone.transcoder = FastJSONTranscoder(mapper.transcoder)  # type: ignore[assignment]
    return clone
