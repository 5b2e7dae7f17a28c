"""Masking of secrets in anything that may be logged, stored as an excerpt or shown in the admin.

Secrets are recognised by the name they travel under (header, form field, JSON key), so the
same rules serve log records, recorded request excerpts and error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "********"

# Lower-case names whose values are secrets wherever they appear.
SECRET_NAMES = frozenset(
    {
        "authorization",
        "x-vtex-api-apptoken",
        "apptoken",
        "app_token",
        "vtexidclientautcookie",
        "client_secret",
        "refresh_token",
        "access_token",
        "password",
        "secret",
        "token",
    }
)

# A name ending in one of these is a secret too, whatever its prefix: the hook's own header
# (X-Portal-Hook-Secret), clientSecret, hook_token.
SECRET_SUFFIXES = ("secret", "token", "password")

_NAME_ALTERNATION = "|".join(sorted((re.escape(n) for n in SECRET_NAMES), key=len, reverse=True))
# A secret name, or any name ending in a secret suffix (the prefix bounded, so that a long run of
# word characters cannot make the search quadratic).
_NAME = rf"(?:{_NAME_ALTERNATION}|[\w-]{{0,40}}(?:{'|'.join(SECRET_SUFFIXES)}))"
# "name": "value"  |  name=value  |  name: value   (JSON, form bodies, header dumps, reprs)
_PATTERNS = [
    re.compile(rf'(?i)("{_NAME}"\s*:\s*")([^"]*)(")'),
    re.compile(rf"(?i)('{_NAME}'\s*:\s*')([^']*)(')"),
    re.compile(rf"(?i)(\b{_NAME}=)([^&\s,;]+)()"),
    re.compile(rf"(?i)(\b{_NAME}:[ \t]*)((?:Bearer[ \t]+)?[^\s,;]+)()"),
]
# Bearer tokens and JWTs anywhere in free text.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_\.=+/]+")
# The channel's connector secret is the path segment after /webhooks/vtex/<channel>/ (sync/urls.py):
# before /order-integration in the notification path that access logs and Django's 4xx warnings
# print, and last in the connectorEndpoint the portal sends VTEX (recorded request excerpts). Whatever
# follows it (a mistyped suffix is logged as a 404 too), only that segment is masked, so operators
# still see which endpoint was sent; the hook's own segment, /orders, is no secret.
_CONNECTOR_PATH = re.compile(r"(/webhooks/vtex/[\w-]+/)(?!orders(?:[/\s\"'?#\\]|$))[^/\s?#\"'\\]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


# Every pattern above needs one of these (lower-cased) in the text: most texts have none and skip the
# regular expressions, which cost about a millisecond on a large response body (three with accents).
_TRIGGERS = (*SECRET_NAMES, "bearer", "eyj", "/webhooks/vtex/")
# The letters a (?i) pattern matches to an ASCII letter although str.lower() does not turn them into
# that letter (the re module's documentation lists these four), so that text with accents, such as
# an ERP's customer names, can take the same shortcut.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or lowered.endswith(SECRET_SUFFIXES)


def redact_text(text: str) -> str:
    """Return ``text`` with every recognisable secret value replaced by a mask."""
    lowered = (text if text.isascii() else text.translate(_ASCII_FOLD)).lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _CONNECTOR_PATH.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _JWT.sub(MASK, text)


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of a (nested) mapping with the values of secret keys masked."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        if is_secret_name(str(key)):
            result[key] = MASK
        elif isinstance(value, Mapping):
            result[key] = redact_mapping(value)
        elif isinstance(value, list):
            result[key] = [redact_mapping(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[key] = value
    return result
