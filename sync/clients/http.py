"""The one HTTP layer under both clients: session, timeouts, pacing, error classes, call records.

Each client (VTEX, VARIO) owns one ``HttpClient``. Every call:
1. waits for the shared limiter (``RemoteLimiter.acquire``);
2. is sent with connect/read timeouts through one pooled ``EnvironmentOnceSession``;
3. is reported to the ``recorder`` as a redacted ``RemoteCall`` (the order timeline);
4. is classified once: 2xx → the response; timeouts, connection errors, 429, 5xx → RetryableError
   (429 also blocks the route for everyone until Retry-After); 401/403 → AuthError; 404 →
   NotFoundError; other 4xx → RejectedError with the remote's own message.

A 429 is tried again in place, up to ``max_429_tries`` calls in all, when the wait fits the limiter's
``max_wait``. VTEX: the wait is max(``Retry-After``, ``retry_after_default`` × 1, 2, 4, …), its feed
guide's minute doubling per repeat (reference/vtex.md §9), longer than ``max_wait`` in production,
so the job is rescheduled. VARIO (``backoff_429_base``): its ``Retry-After`` when it sends one, else
``base``, ``2 × base``, ``4 × base``, … per try (reference/vario-erp.md §4.1 documents none).

A dry run (``sync.dry_run``) holds the writes: inside ``with writes_held(tap):`` no client sends a call
that may change something (any method but GET, HEAD, OPTIONS, unless the call is marked ``read``: a VQL
query, the OAuth token grant). Each goes to ``tap`` as a redacted ``PlannedCall`` instead, and the tap's
answer (the status and JSON the remote would give) comes back as if the remote had sent it, so the
clients and the recipes above them run exactly as they do for real. Reads are sent as always.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import requests.utils
import urllib3.exceptions
from django.utils import timezone

from portal.redaction import MASK, is_secret_name, redact_mapping, redact_text
from sync.clients.dtos import RemoteCall
from sync.clients.errors import (
    AuthError,
    NotFoundError,
    NotSentError,
    PayloadError,
    RejectedError,
    RemoteError,
    RetryableError,
)
from sync.clients.limiter import RemoteLimiter

EXCERPT_LIMIT = 2000
REDACTION_MARGIN = 4096  # longer than any token or key a remote sends
Recorder = Callable[[RemoteCall], None]
# The first text a remote gives about its own error, given the parsed body.
ErrorReader = Callable[[Any], tuple[str, str]]  # → (code, message)
# Methods that change nothing on the remote (RFC 9110 §9.2.1): sent in a dry run too.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class PlannedCall:
    """A write a dry run held back: what the real run sends, as the remote would receive it."""

    remote: str
    method: str
    path: str  # the URL's path as the remote sees it (VARIO's /api/vario prefix included), then ?query
    body: Any = None  # the JSON body (or form), secrets masked; None: no body


# A dry run's tap: it records the held write and answers (status, JSON body or None) as the remote would.
WriteTap = Callable[[PlannedCall], tuple[int, Any]]
_write_tap: ContextVar[WriteTap | None] = ContextVar("write_tap", default=None)


@contextmanager
def writes_held(tap: WriteTap) -> Iterator[None]:
    """``with writes_held(tap):`` no client in this context sends a write; ``tap`` records and answers it."""
    token = _write_tap.set(tap)
    try:
        yield
    finally:
        _write_tap.reset(token)


# Answers of reads already made in this context (one item of a bulk run): the same read again is served
# from here, not sent (design §2.9: read each document once per run). A write clears it.
_read_cache: ContextVar[dict | None] = ContextVar("read_cache", default=None)


@contextmanager
def reads_cached() -> Iterator[None]:
    """``with reads_cached():`` every client in this context sends each read once; a write (not held by
    a dry run) forgets what was read, since it may change it."""
    token = _read_cache.set({})
    try:
        yield
    finally:
        _read_cache.reset(token)


def _read_key(remote: str, method: str, target: str, params, json_body, form) -> str:
    return json.dumps([remote, method.upper(), target, params, json_body, form], sort_keys=True, default=str)


def redacted_body(value: Any) -> Any:
    """A JSON body with every secret masked: values under secret names, and secrets inside strings (the
    Channel Order API's connectorEndpoint carries the connector secret in its path)."""
    if isinstance(value, Mapping):
        return {key: MASK if is_secret_name(str(key)) else redacted_body(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redacted_body(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def excerpt_of_json(data: Any) -> str:
    if data is None:
        return ""
    if isinstance(data, Mapping):
        data = redact_mapping(data)
    return redact_text(json.dumps(data, ensure_ascii=False, default=str))[:EXCERPT_LIMIT]


def excerpt_of_text(text: str) -> str:
    # Redacted before it is cut, so that a secret the cut would split is still recognised (and with a
    # margin, not whole: a large body would cost the redaction's regular expressions dearly).
    return redact_text(text[: EXCERPT_LIMIT + REDACTION_MARGIN])[:EXCERPT_LIMIT]


class EnvironmentOnceSession(requests.Session):
    """A ``requests.Session`` that reads the proxy and CA-bundle environment once per host.

    With ``trust_env`` on, requests scans every environment variable for proxies (and looks for a
    ~/.netrc) on each call: ≈ 7 % of a sync job's CPU. Here ``HTTP(S)_PROXY``, ``ALL_PROXY``,
    ``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are read when the session first calls
    a host, and apply to its later calls. netrc is left out on purpose: both clients send their own
    Authorization header, which a netrc entry for the host would silently replace.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._environment: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}

    def request(self, method, url, **kwargs):
        host = urlsplit(url)[:2]
        if host not in self._environment:
            self._environment[host] = (
                requests.utils.get_environ_proxies(url, no_proxy=None),
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"),
            )
        proxies, ca_bundle = self._environment[host]
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = proxies
        if kwargs.get("verify") is None and ca_bundle:
            kwargs["verify"] = ca_bundle
        return super().request(method, url, **kwargs)


def never_connected(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the remote: no connection was ever made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class HttpClient:
    def __init__(
        self,
        *,
        remote: str,
        base_url: str,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
        error_reader: ErrorReader,
        limiter: RemoteLimiter | None = None,
        recorder: Recorder | None = None,
        session: requests.Session | None = None,
        retry_after_default: float = 60.0,
        backoff_429_base: float | None = None,
        max_429_tries: int = 4,
    ) -> None:
        self.remote = remote
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout = timeout
        self.error_reader = error_reader
        self.limiter = limiter
        self.recorder = recorder
        self.session = session or EnvironmentOnceSession()
        self.retry_after_default = retry_after_default
        self.backoff_429_base = backoff_429_base
        self.max_429_tries = max(max_429_tries, 1)

    def close(self) -> None:
        """Close the pooled connections (long-running callers that replace a client)."""
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str = "",
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
        read: bool = False,
    ) -> requests.Response:
        """``read``: a call that changes nothing although its method could (a query by POST, a token
        grant), so a dry run sends it too."""
        tap = _write_tap.get()
        is_read = read or method.upper() in SAFE_METHODS
        if tap is not None and not is_read:
            return self._held(tap, method, path, params=params, json_body=json_body, form=form, url=url)
        cache = _read_cache.get()
        if cache is not None and not is_read:
            cache.clear()  # what was read may have changed
        key = _read_key(self.remote, method, url or f"{self.base_url}{path}", params, json_body, form)
        if cache is not None and is_read and key in cache:
            return cache[key]
        response = self._sent(
            method, path, route=route, params=params, json_body=json_body, form=form, headers=headers, url=url
        )
        if cache is not None and is_read:
            cache[key] = response
        return response

    def _sent(self, method, path, *, route, params, json_body, form, headers, url) -> requests.Response:
        """``request`` past the dry run's hold and the read cache: sent, a short 429 waited out, errors raised."""
        for attempt in range(1, self.max_429_tries + 1):
            response = self._send(
                method, path, route=route, params=params, json_body=json_body, form=form, headers=headers, url=url
            )
            if response.status_code == 429 and self.limiter is not None and attempt < self.max_429_tries:
                wait = self._wait_after_429(response, attempt)
                if wait <= self.limiter.max_wait:
                    # Short waits are waited out here (the limiter blocks every worker meanwhile)
                    # instead of failing the whole run and repeating its other calls.
                    self.limiter.block(route, wait)
                    continue
            break
        self._raise_for_status(method, path, route, response, attempt=attempt)
        return response

    def _held(self, tap: WriteTap, method: str, path: str, *, params, json_body, form, url) -> requests.Response:
        """A dry run's write: not sent (no limiter either: it costs the remote nothing); the tap records
        it and its answer is returned as the remote's response would be."""
        target = urlsplit(url or f"{self.base_url}{path}")
        shown = target.path + (f"?{urlencode(params)}" if params else "")
        body = json_body if form is None else dict(form.items())
        status, answer = tap(PlannedCall(self.remote, method.upper(), shown, redacted_body(body)))
        response = requests.Response()
        response.status_code = status
        response.reason = "held by a dry run"
        response.url = target.geturl()
        response._content = b"" if answer is None else json.dumps(answer).encode()
        if answer is not None:
            response.headers["Content-Type"] = "application/json"
        self._raise_for_status(method, path, "", response)
        return response

    def _wait_after_429(self, response: requests.Response, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th call (1-based) was answered 429."""
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if self.backoff_429_base is not None:
            return retry_after if retry_after is not None else self.backoff_429_base * 2 ** (attempt - 1)
        # reference/vtex.md §9: wait max(Retry-After, back-off), the back-off starting from the feed
        # guide's minute and doubling per repeat. A short Retry-After is no invitation to hammer a
        # route: heavy 429s can take the store's admin down.
        return max(retry_after or 0.0, self.retry_after_default * 2 ** (attempt - 1))

    def _send(self, method, path, *, route, params, json_body, form, headers, url) -> requests.Response:
        if self.limiter is not None:
            self.limiter.acquire(route)
        full_url = url or f"{self.base_url}{path}"
        started_at = timezone.now()
        started = time.perf_counter()
        response = None
        error: Exception | None = None
        try:
            response = self.session.request(
                method,
                full_url,
                params=params,
                json=json_body,
                data=form,
                headers={**self.headers, **(headers or {})},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            error = self._transport_error(exc, method, path)
        duration_ms = (time.perf_counter() - started) * 1000
        body = json_body if form is None else dict(form.items())
        self._record(method, path, params, body, response, duration_ms, started_at, error)
        if error is not None:
            raise error
        return response

    def _transport_error(self, exc: requests.RequestException, method: str, path: str) -> RemoteError:
        """No answer: the error class says whether trying again may help and whether the remote may
        have acted. Only the exception's kind is kept: requests quotes an invalid URL or header value
        (a credential, here) in its message."""
        where = {"remote": self.remote, "method": method, "path": path}
        kind = type(exc).__name__
        if isinstance(exc, requests.Timeout):
            return RetryableError(f"timed out ({kind})", may_have_applied=not never_connected(exc), **where)
        if isinstance(exc, requests.ConnectionError):
            return RetryableError(f"connection failed: {kind}", may_have_applied=not never_connected(exc), **where)
        return NotSentError(f"request not sent: {kind} (check the configured URL and credentials)", **where)

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        return self.json_of(response, method, path)

    def json_of(self, response: requests.Response, method: str, path: str) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise PayloadError(
                "the answer is not JSON",
                remote=self.remote,
                method=method,
                path=path,
                status=response.status_code,
                body_excerpt=excerpt_of_text(response.text),
            ) from None

    def parse(self, parser, data: Any, method: str, path: str):
        """Turn a JSON answer into a DTO; a shape the DTO cannot read is the remote's PayloadError."""
        try:
            return parser(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(
                f"unreadable answer: {type(exc).__name__}: {exc}", remote=self.remote, method=method, path=path
            ) from None

    def _record(self, method, path, params, body, response, duration_ms, started_at, error) -> None:
        if self.recorder is None:
            return
        shown_path = path if not params else f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        self.recorder(
            RemoteCall(
                remote=self.remote,
                method=method,
                path=redact_text(shown_path),
                status=response.status_code if response is not None else None,
                duration_ms=round(duration_ms, 2),
                started_at=started_at,
                request_excerpt=excerpt_of_json(body),
                response_excerpt=excerpt_of_text(response.text) if response is not None else "",
                error=str(error) if error else "",
            )
        )

    def _raise_for_status(
        self, method: str, path: str, route: str, response: requests.Response, *, attempt: int = 1
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = None
        code, message = self.error_reader(parsed)
        message = message or response.reason or f"HTTP {status}"
        details = {
            "remote": self.remote,
            "method": method,
            "path": path,
            "status": status,
            "code": code,
            "body_excerpt": excerpt_of_text(response.text),
        }
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429:
            # After the last try this is the next step of the back-off: the job's reschedule and
            # every other worker keep backing off instead of starting again from the base.
            wait = self._wait_after_429(response, attempt)
            if self.limiter is not None:
                self.limiter.block(route, wait)
            raise RetryableError(message, retry_after=wait, may_have_applied=False, **details)
        if status >= 500:
            raise RetryableError(message, retry_after=retry_after, **details)
        if status in (401, 403):
            raise AuthError(message, **details)
        if status == 404:
            raise NotFoundError(message, **details)
        if 400 <= status < 500:
            raise RejectedError(message, **details)
        raise RemoteError(f"unexpected HTTP {status}", **details)
