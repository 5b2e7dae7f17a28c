"""Every simulator request passes here: faults and rate limits first, then the view, then the log."""

from __future__ import annotations

import hashlib
import socket
import time
from contextlib import suppress

from django.http import HttpRequest, HttpResponse

from portal.redaction import MASK, is_secret_name, redact_text
from sandbox import clock
from sandbox.http import json_response
from sandbox.limits import fault_for, holds, rate_limit_for
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
        if verdict and verdict.hang_seconds:
            return self._hang(request, request_body, remote, started, verdict)
        if verdict and verdict.delay_seconds:
            time.sleep(verdict.delay_seconds)
        if verdict and verdict.status:
            response = self._fault_response(remote, verdict)
        else:
            response = self.get_response(request)
        if remote != Remote.CONTROL:  # the log is what the simulators received, not the test's own calls
            content = b"" if getattr(response, "streaming", False) else response.content
            self._log(
                request,
                request_body,
                remote,
                started,
                verdict.reason if verdict else "",
                status=response.status_code,
                headers=dict(response.items()),
                content=content,
            )
        return response

    def _hang(self, request, request_body: bytes, remote: str, started: float, verdict) -> HttpResponse:
        """A remote that accepted the connection and never answers: the view never runs.

        Logged on arrival (status 0: no answer), so a test counts the calls made while it is held.
        Once released, the connection is dropped without a byte of answer where the server gives
        the socket (gunicorn, as ``run_sandbox`` serves); elsewhere (Django's test client) a 504 ends it.
        """
        self._log(request, request_body, remote, started, verdict.reason, status=0, headers={}, content=b"")
        holds.hold(verdict.hang_seconds)
        sock = request.META.get("gunicorn.socket")
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return json_response({"error": "hang fault: no answer"}, status=504)

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
    def _log(
        request, request_body: bytes, remote: str, started: float, fault: str, *, status: int, headers, content
    ) -> None:
        RequestLogEntry.objects.create(
            remote=remote,
            method=request.method,
            path=request.path,
            query=redact_text(request.META.get("QUERY_STRING", "")),
            request_headers=_headers_for_log(request.headers),
            request_body=_text(request_body),
            status=status,
            response_headers=_headers_for_log(headers),
            response_body=_text(content),
            duration_ms=(time.perf_counter() - started) * 1000,
            fault=fault,
            created_at=clock.now(),
        )
