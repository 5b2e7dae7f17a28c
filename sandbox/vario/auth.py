"""VARIO authentication: the Keycloak refresh-token grant and bearer checks on /api/vario.

Order of checks on the API (reference §1.3, §4.1): a missing User-Agent is refused with 403 before
the token is looked at (the header check sits in front of the application), then the bearer token
must be one the token endpoint issued and not yet expired on the simulated clock (401).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import wraps

import jwt

from sandbox import clock
from sandbox.http import json_response
from sandbox.vario.models import AccessToken, AppClient

# Signs the simulator's access tokens. Clients must treat access tokens as opaque; only the
# simulator reads them back, and it looks them up by digest anyway.
ACCESS_TOKEN_SIGNING_KEY = "vario-simulator-access-token-key"  # noqa: S105


def vario_error(status: int, message: str, **headers: str):
    """VARIO's error body (reference §4.1): {"status": <code>, "message": "..."}."""
    response = json_response({"status": status, "message": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def oauth_error(status: int, error: str, description: str):
    """Keycloak's token-endpoint error body."""
    response = json_response({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class GrantError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _client_credentials(request) -> tuple[str, str]:
    """client_id/client_secret from the form, or from HTTP Basic (Keycloak accepts both)."""
    client_id = request.POST.get("client_id", "")
    client_secret = request.POST.get("client_secret", "")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise GrantError(400, "invalid_request", "Invalid basic authentication header") from None
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, client_secret = client_id or basic_id, client_secret or basic_secret
    return client_id, client_secret


def access_token_grant(*, request, tenant: str, issuer: str) -> dict:
    """The refresh-token grant of the token endpoint; raises GrantError with Keycloak's answer."""
    grant_type = request.POST.get("grant_type")
    if not grant_type:
        raise GrantError(400, "invalid_request", "Missing form parameter: grant_type")
    client_id, client_secret = _client_credentials(request)
    client = AppClient.objects.filter(tenant=tenant, client_id=client_id).first()
    if client is None:
        raise GrantError(401, "invalid_client", "Invalid client or Invalid client credentials")
    if not hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
        raise GrantError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
    if grant_type != "refresh_token":
        # The app's client has only the refresh-token flow (apps hold one offline token per installation).
        raise GrantError(400, "unsupported_grant_type", "Unsupported grant_type")
    refresh_token = request.POST.get("refresh_token")
    if not refresh_token:
        raise GrantError(400, "invalid_request", "Missing parameter: refresh_token")
    if not hmac.compare_digest(client.refresh_token.encode(), refresh_token.encode()):
        raise GrantError(400, "invalid_grant", "Invalid refresh token")
    now = clock.now()
    lifetime = client.access_token_lifetime
    token = jwt.encode(
        {
            "iss": issuer,
            "azp": client.client_id,
            "typ": "Bearer",
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": secrets.token_hex(16),
        },
        ACCESS_TOKEN_SIGNING_KEY,
        algorithm="HS256",
    )
    AccessToken.objects.create(
        client=client, token_digest=_digest(token), expires_at=now + timedelta(seconds=lifetime), created_at=now
    )
    return {
        "access_token": token,
        "expires_in": lifetime,
        "refresh_expires_in": 0,
        "refresh_token": client.refresh_token,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "openid offline_access",
    }


def _access_token(request) -> AccessToken | None:
    """The stored access token the request's bearer header names, looked up once per request (the
    rate limiter and the view both need it)."""
    if not hasattr(request, "_vario_access_token"):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        request._vario_access_token = (
            AccessToken.objects.select_related("client").filter(token_digest=_digest(token.strip())).first()
            if scheme.lower() == "bearer" and token.strip()
            else None
        )
    return request._vario_access_token


def client_for_bearer(request) -> tuple[AppClient | None, str]:
    """The client the request's bearer token belongs to, or None and why not."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "Full authentication is required to access this resource"
    row = _access_token(request)
    if row is None:
        return None, "Invalid access token"
    if row.expires_at <= clock.now():
        return None, "Access token expired"
    return row.client, ""


def vario_api(view):
    """Require the User-Agent header (403) and a valid bearer token (401); the view gets request.vario_client."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.headers.get("User-Agent", "").strip():
            return vario_error(403, "Forbidden: the User-Agent header is required")
        client, reason = client_for_bearer(request)
        if client is None:
            return vario_error(401, f"Unauthorized: {reason}", WWW_Authenticate='Bearer realm="vario"')
        if request.method in ("POST", "PUT") and request.content_type != "application/json":
            return vario_error(415, f"Content-Type '{request.content_type or ''}' is not supported")
        request.vario_client = client
        return view(request, *args, **kwargs)

    return wrapper


def rate_limit_caller(request) -> str | None:
    """VARIO's 40-per-6-seconds limit is per API client, however many access tokens it holds."""
    if not request.path.startswith("/api/vario"):
        return None
    token = _access_token(request)
    return f"vario-client:{token.client.client_id}" if token else None
