"""VTEX machine authentication: X-VTEX-API-AppKey / X-VTEX-API-AppToken.

401 when either header is missing (VTEX's body for it), 403 when the pair is not known
(issue #3; reference §12 would say 401 for an unknown pair too — the issue's stricter split is used
so a client can tell "forgot credentials" from "wrong credentials").
"""

from __future__ import annotations

import hmac
from functools import wraps

from sandbox.http import json_response
from sandbox.vtex.models import Account


def vtex_error(status: int, code: str, message: str):
    return json_response({"error": {"code": code, "message": message, "exception": None}}, status=status)


def authenticate(request) -> Account | None:
    """The account the request's key pair belongs to; None when the pair is unknown."""
    app_key = request.headers.get("X-VTEX-API-AppKey", "")
    app_token = request.headers.get("X-VTEX-API-AppToken", "")
    account = Account.objects.filter(app_key=app_key).first()
    if account is None or not hmac.compare_digest(account.app_token.encode(), app_token.encode()):
        return None
    return account


def vtex_auth(view):
    """Require a known key pair; the view receives it as ``request.vtex_account``."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.headers.get("X-VTEX-API-AppKey") or not request.headers.get("X-VTEX-API-AppToken"):
            return vtex_error(401, "1", "Unauthorized access")
        account = authenticate(request)
        if account is None:
            return vtex_error(403, "2", "Forbidden: the appKey/appToken pair is not valid for this account")
        request.vtex_account = account
        return view(request, *args, **kwargs)

    return wrapper
