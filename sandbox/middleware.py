"""Every simulator request passes here: faults and rate limits first, then the view, then the log."""

from __future__ import annotations

import hashlib
import time

from django.http import HttpRequest, HttpResponse

from portal.redaction import MASK, is_secret_name, redact_text
from sandbox import clock
from sandbox.http import json_response
from sandbox.limits import fault_for, rate_limit_for
from sandbox.models import Remote, RequestLogEntry
from sandbox.registry import caller_resolvers

BODY_LOG_LIMIT = 64 * 1024
VARIO_PREFIXES = ("/api/vario", "/realms/", "/vario/")


def remote_of(path: str) -> str:
    if path.startswith("/_sim/"):
        return Remote.CONTROL
    if path.startswith(VARIO_PREFIXES):
        return Remote.VARIO
    return Remote.VTEX


def caller_of(request: HttpRequest) -> str:
    """Who is calling, for per-account limits: a simulator's own answer (VARIO: the OAuth client
    behind the bearer token), else the VTEX app key, else a digest of the Authorization header."""
    for resolver in caller_resolvers():
        caller = resolver(request)
        if caller:
            return caller
    app_key = request.headers.get("X-VTEX-API-AppKey")
    if app_key:
        return f"vtex:{app_key}"
    auth = request.headers.get("Authorization", "")
    return "bearer:" + hashlib.sha256(auth.encode()).hexdigest()[:16] if auth else "anonymous"


def _headers_for_log(headers) -> dict[str, str]:
    return {name: (MASK if is_secret_name(name) else value) for name, value in headers.items()}


def _text(raw: bytes) -> str:
    return redact_text(raw[:BODY_LOG_LIMIT].decode("utf-8", errors="replace"))


class SandboxMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        remote = remote_of(request.path)
        request_body = request.body  # read before the view, so the log has it even after streaming
        verdict = None
        if remote != Remote.CONTROL:
            verdict = fault_for(remote=remote, method=request.method, path=request.path) or rate_limit_for(
                remote=remote, method=request.method, path=request.path, caller=caller_of(request)
            )
        if verdict and verdict.delay_seconds:
            time.sleep(verdict.delay_seconds)
        if verdict and verdict.status:
            response = self._fault_response(remote, verdict)
        else:
            response = self.get_response(request)
        if remote != Remote.CONTROL:  # the log is what the simulators received, not the test's own calls
            self._log(request, request_body, response, remote, started, verdict.reason if verdict else "")
        return response

    @staticmethod
    def _fault_response(remote: str, verdict) -> HttpResponse:
        if verdict.body is not None:
            body = verdict.body
        elif remote == Remote.VARIO:
            body = {"status": verdict.status, "message": "Too Many Requests" if verdict.status == 429 else "Error"}
        else:
            message = "Too Many Requests" if verdict.status == 429 else "An error has occurred"
            body = {"error": {"code": str(verdict.status), "message": message, "exception": None}}
        response = json_response(body, status=verdict.status)
        if verdict.retry_after is not None:
            response["Retry-After"] = str(verdict.retry_after)
        return response

    @staticmethod
    def _log(request, request_body: bytes, response, remote: str, started: float, fault: str) -> None:
        content = b"" if getattr(response, "streaming", False) else response.content
        RequestLogEntry.objects.create(
            remote=remote,
            method=request.method,
            path=request.path,
            query=redact_text(request.META.get("QUERY_STRING", "")),
            request_headers=_headers_for_log(request.headers),
            request_body=_text(request_body),
            status=response.status_code,
            response_headers=_headers_for_log(dict(response.items())),
            response_body=_text(content),
            duration_ms=(time.perf_counter() - started) * 1000,
            fault=fault,
            created_at=clock.now(),
        )
