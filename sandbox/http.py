"""Small JSON helpers shared by the simulators' views."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, JsonResponse

# Views run reads without a transaction: on SQLite every transaction is BEGIN IMMEDIATE (the write
# lock), so wrapping reads would queue every GET behind every write.
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


class InvalidJson(ValueError):
    pass


class QueryParamError(ValueError):
    """A query parameter outside what the simulator accepts; the message names it and its range."""


# Digits (an optional minus, so "-1" gets the range message), short enough that int() is cheap and no
# value reaches SQLite's 64-bit OFFSET/LIMIT: a page of 10**20 once answered 500 (OverflowError).
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


def int_query_param(query, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """Query parameter ``name`` as a whole number from ``minimum`` to ``maximum`` (``default`` when it
    is absent); ``QueryParamError`` otherwise. Stricter than int(): no spaces, signs, '_' or non-ASCII
    digits."""
    raw = query.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise QueryParamError(f"{name} must be a whole number from {minimum} to {maximum}, got {raw[:40]!r}")
    return int(raw)


# A row id as a path or a JSON body gives it: ASCII digits only (str.isdigit passes "²", which int()
# refuses with a 500) and no more than a 64-bit integer column holds (SQLite overflows beyond).
_OBJECT_ID = re.compile(r"[0-9]{1,19}")
OBJECT_ID_MAX = 2**63 - 1


def object_id(value) -> int | None:
    """``value`` (text, or an int from a JSON body) as a row id, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= OBJECT_ID_MAX else None
    if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= OBJECT_ID_MAX else None


def json_body(request: HttpRequest, *, required: bool = True) -> Any:
    """The request's JSON body; InvalidJson says what is wrong with it."""
    if not request.body:
        if required:
            raise InvalidJson("The request body is empty; a JSON body is required.")
        return None
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(f"The request body is not valid JSON: {exc}") from None


def json_response(data: Any, status: int = 200, **kwargs) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False}, **kwargs)
