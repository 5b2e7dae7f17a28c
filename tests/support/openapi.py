"""Validation against VTEX's official OpenAPI files (../shared/reference/vtex-openapi/).

Requests are validated as they would be sent to VTEX (host ``https://{account}.vtexcommercestable.com.br``),
responses as VTEX would answer them. Used by the sandbox's contract tests and by the portal's client
tests, so both sides are held to the same schemas.

The files live in the shared reference beside the project, not in it (design.md §3): a clone without
``../shared`` skips every test that reaches one of these checks, all with the one reason
``SPEC_MISSING`` (pytest's ``-ra`` summary folds them into one line; tests/conftest.py's report
header says so too). CI always has the folder, so there they run.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "vtex-openapi"
SPEC_MISSING = f"VTEX OpenAPI contract check skipped: no folder {SPEC_DIR} (../shared beside the project)"
VTEX_HOST = "https://demostore.vtexcommercestable.com.br"
SPECS = {
    "orders": "orders-api.json",
    "marketplace": "external-marketplace-orders.json",  # fails strict spec validation: loaded without it
    "do": "do-api.json",
    "logistics": "logistics-api.json",
    "pricing": "pricing-api.json",
    "catalog": "catalog-api.json",
}
# The host a spec's servers name, where it is not VTEX_HOST: Pricing lives on api.vtex.com/{account}.
SPEC_HOSTS = {"pricing": "https://api.vtex.com/demostore"}
AUTH_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "X-VTEX-API-AppKey": VTEX_APP_KEY,
    "X-VTEX-API-AppToken": VTEX_APP_TOKEN,
}


def spec_dir() -> Path:
    """The folder of VTEX's OpenAPI files; skips the calling test when this clone has no ../shared."""
    if not SPEC_DIR.is_dir():
        pytest.skip(SPEC_MISSING)
    return SPEC_DIR


@cache
def vtex_spec(name: str) -> OpenAPI:
    path = spec_dir() / SPECS[name]
    if name == "marketplace":
        return OpenAPI.from_file_path(str(path), config=Config(spec_validator_cls=None))
    return OpenAPI.from_file_path(str(path))


def _request(
    method: str, path: str, *, query: dict | None, body: Any, headers: dict | None, host: str = VTEX_HOST
) -> MockRequest:
    data = None if body is None else (body if isinstance(body, bytes | str) else json.dumps(body))
    # openapi-core joins host and path as URLs, dropping a path in the host: it goes before the path instead.
    parts = urlsplit(host)
    return MockRequest(
        f"{parts.scheme}://{parts.netloc}",
        method.lower(),
        parts.path.rstrip("/") + path,
        args=query or {},
        data=data,
        headers={**AUTH_HEADERS, **(headers or {})},
        content_type="application/json",
    )


def validate_vtex_request(
    spec: str, method: str, path: str, *, query=None, body=None, headers=None, host: str | None = None
) -> None:
    """Raise openapi-core's validation error when the request breaks the official schema. ``host``: where an
    operation's own ``servers`` entry differs from the spec's (Pricing's tables: ``…/{account}/pricing``)."""
    host = host or SPEC_HOSTS.get(spec, VTEX_HOST)
    vtex_spec(spec).validate_request(_request(method, path, query=query, body=body, headers=headers, host=host))


def validate_vtex_response(
    spec: str,
    method: str,
    path: str,
    *,
    status: int,
    body: Any,
    query=None,
    request_body=None,
    content_type: str = "application/json",
    response_headers: dict | None = None,
    host: str | None = None,
) -> None:
    """Raise when the answer (status and body) breaks the official schema of that operation."""
    host = host or SPEC_HOSTS.get(spec, VTEX_HOST)
    request = _request(method, path, query=query, body=request_body, headers=None, host=host)
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    response = MockResponse(data, status_code=status, content_type=content_type, headers=response_headers or {})
    vtex_spec(spec).validate_response(request, response)


def query_string(query: dict) -> str:
    return urlencode(query, doseq=True)
