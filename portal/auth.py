"""Logging in: the client address django-axes counts failed logins by, and the admin's TOTP devices."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice


def client_ip(request: HttpRequest) -> str | None:
    """The address the login came from.

    Behind the TLS proxy (``BEHIND_TLS_PROXY``) every request's peer is the proxy, so the client is the
    last address in X-Forwarded-For: the one the proxy itself appended (nginx
    ``$proxy_add_x_forwarded_for``). The entries before it are whatever the client sent, and trusting
    them would let an attacker pick a fresh address per guess. Without the proxy the header is the
    client's own text and only the peer address counts.
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR") or None


# --- TOTP devices (ADMIN_REQUIRE_OTP) ------------------------------------------------------------------


class TotpDeviceExists(Exception):
    """The user has a TOTP device already; replacing it must be asked for."""


def totp_device_add(*, username: str, name: str = "authenticator", replace: bool = False) -> TOTPDevice:
    """A new confirmed TOTP device for ``username`` (django-otp's model, random key).

    ``replace`` deletes the user's other TOTP devices first (a lost phone): without it a second device
    is refused, so a typo cannot leave a forgotten device that still opens the admin.
    """
    user = get_user_model().objects.get_by_natural_key(username)
    with transaction.atomic():
        existing = TOTPDevice.objects.devices_for_user(user, confirmed=None)
        if existing.exists():
            if not replace:
                raise TotpDeviceExists(f"{username} has a TOTP device already; --replace removes it")
            existing.delete()
        return TOTPDevice.objects.create(user=user, name=name, confirmed=True)
