"""What the VTEX Catalog, Logistics and Pricing clients share: one ``HttpClient`` with VTEX's auth headers.

reference/catalog-sync.md §1.1: the same app key and token headers as the OMS (reference/vtex.md §0),
``Accept`` and ``Content-Type: application/json`` on every call; VTEX's error shape is read by
``sync.clients.vtex.vtex_error``. Each API has its own base URL (Pricing lives on ``api.vtex.com``), so
each client gets the one it calls.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from sync.clients.http import HttpClient, Recorder
from sync.clients.limiter import RemoteLimiter
from sync.clients.vtex import VtexCredentials, vtex_error


class VtexApiClient:
    remote = "vtex"

    @sensitive_variables("credentials")
    def __init__(
        self,
        *,
        credentials: VtexCredentials,
        timeout: tuple[float, float],
        limiter: RemoteLimiter | None = None,
        recorder: Recorder | None = None,
        session=None,
        retry_after_default: float = 60.0,
        backoff_429_base: float | None = None,
    ) -> None:
        self.account_name = credentials.account_name
        self.http = HttpClient(
            remote=self.remote,
            base_url=credentials.base_url,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-VTEX-API-AppKey": credentials.app_key,
                "X-VTEX-API-AppToken": credentials.app_token,
            },
            timeout=timeout,
            error_reader=vtex_error,
            limiter=limiter,
            recorder=recorder,
            session=session,
            retry_after_default=retry_after_default,
            backoff_429_base=backoff_429_base,
        )

    def close(self) -> None:
        """Close the pooled connections (callers that make a client for a batch of work)."""
        self.http.close()
