"""Small JSON helpers shared by the simulators' views."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

# Views run reads without a transaction: on SQLite every transaction is BEGIN IMMEDIATE (the write
# lock), so wrapping reads would queue every GET behind every write.
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


class InvalidJson(ValueError):
    pass


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
