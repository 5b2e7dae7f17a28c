"""Errors of the remote clients, classified once, at the boundary (design §2.4).

- ``RetryableError``: try again later (connection error, timeout, 429, 5xx); carries Retry-After.
- ``RejectedError``: the remote understood and refused (a 4xx it means); retrying the same call
  would fail the same way. ``NotFoundError`` and ``AuthError`` are kinds of it.
- ``PayloadError``: the remote answered 2xx with something we cannot read.
"""

from __future__ import annotations


class RemoteError(Exception):
    def __init__(
        self,
        message: str,
        *,
        remote: str,
        method: str = "",
        path: str = "",
        status: int | None = None,
        code: str = "",
        body_excerpt: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remote = remote
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.body_excerpt = body_excerpt

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        status = f" → {self.status}" if self.status else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{self.remote} {where}{status}{code}: {self.message}"


class RetryableError(RemoteError):
    """``may_have_applied`` is False only when the remote cannot have acted on the request (no
    connection was made, it answered 429, the portal's own rate limiter held it back, or getting the
    VARIO access token failed before it was sent); after a read timeout or a 5xx it may have."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, may_have_applied: bool = True, **kwargs
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.may_have_applied = may_have_applied


class RejectedError(RemoteError):
    pass


class NotSentError(RemoteError):
    """The HTTP library refused to send the request (an invalid URL or header value): the remote
    cannot have seen it, and sending it again the same way fails the same way."""


class NotFoundError(RejectedError):
    pass


class AuthError(RejectedError):
    """Credentials missing, wrong or lacking a permission (401/403)."""


class PayloadError(RemoteError):
    pass
