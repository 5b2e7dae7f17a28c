"""Logging in: failed logins throttled and locked out (django-axes), the optional TOTP second factor
(django-otp) and the command that gives a user a TOTP device (issue #13 §2)."""

import importlib
import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import RequestFactory
from django.urls import clear_url_caches, reverse
from django_otp.admin import OTPAdminSite
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

import portal.urls
from portal.auth import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return settings


def log_in(client, password, *, otp_token=None, otp_device=None, **headers):
    data = {"username": "operator", "password": password, "next": "/admin/"}
    if otp_token is not None:
        data["otp_token"] = otp_token
    if otp_device is not None:  # django-otp asks for the device by name once the password is right
        data["otp_device"] = otp_device.persistent_id
    return client.post(LOGIN, data, headers=headers)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, times: int, **headers) -> None:
    """``times`` logins with a wrong password; the one reaching the limit is answered 429 already."""
    for attempt in range(1, times + 1):
        response = log_in(client, "wrong password", **headers)
        assert response.status_code == (429 if attempt >= settings.AXES_FAILURE_LIMIT else 200)
        assert not logged_in(client)


# --- throttling and lockout ---------------------------------------------------------------------------------


def test_failed_logins_lock_the_next_one_out_even_with_the_right_password(client, staff, lockout):
    fail(client, 3)

    response = log_in(client, PASSWORD)

    assert response.status_code == 429
    assert "too many login attempts" in response.content.decode()
    assert not logged_in(client)


def test_the_right_password_works_again_after_the_cool_off(client, staff, lockout):
    fail(client, 3)
    assert log_in(client, PASSWORD).status_code == 429  # a try during the lockout restarts it
    # The cool-off runs from the last failure: move every recorded attempt back past it, not the clock.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - lockout.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = log_in(client, PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert logged_in(client)


def test_fewer_failures_than_the_limit_let_the_right_password_in(client, staff, lockout):
    fail(client, 2)

    assert log_in(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_behind_the_proxy_a_user_is_locked_out_per_client_address(client, staff, lockout):
    lockout.BEHIND_TLS_PROXY = True
    fail(client, 3, X_FORWARDED_FOR="203.0.113.5")
    # The client cannot choose its address: the proxy appends the real one last.
    assert log_in(client, PASSWORD, X_FORWARDED_FOR="198.51.100.1, 203.0.113.5").status_code == 429

    # The same user from another address (a colleague's office) is not locked out by someone else's guesses.
    assert log_in(client, PASSWORD, X_FORWARDED_FOR="203.0.113.9").status_code == 302


def test_without_the_proxy_the_forwarded_header_is_ignored(client, staff, lockout):
    lockout.BEHIND_TLS_PROXY = False
    fail(client, 3, X_FORWARDED_FOR="203.0.113.5")

    # A made-up header does not give a fresh address to guess from.
    assert log_in(client, PASSWORD, X_FORWARDED_FOR="203.0.113.9").status_code == 429


@pytest.mark.parametrize(
    ("behind_proxy", "forwarded", "expected"),
    [
        (True, "203.0.113.5", "203.0.113.5"),
        (True, "10.0.0.1, 198.51.100.7 , 203.0.113.5", "203.0.113.5"),
        (True, "", "192.0.2.10"),
        (False, "203.0.113.5", "192.0.2.10"),
    ],
)
def test_the_client_address_is_the_one_the_proxy_appended(settings, behind_proxy, forwarded, expected):
    settings.BEHIND_TLS_PROXY = behind_proxy
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_the_axes_backend_comes_first(settings):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- the TOTP second factor --------------------------------------------------------------------------------


@pytest.fixture
def otp_required(settings, monkeypatch):
    """portal/urls.py as it is loaded with ADMIN_REQUIRE_OTP on; the plain admin site again afterwards."""
    settings.ADMIN_REQUIRE_OTP = True
    monkeypatch.setattr(admin.site, "__class__", admin.site.__class__)  # restored after the test
    importlib.reload(portal.urls)
    clear_url_caches()
    assert isinstance(admin.site, OTPAdminSite)
    yield settings
    settings.ADMIN_REQUIRE_OTP = False
    clear_url_caches()


def token_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def test_with_otp_off_the_password_is_enough(client, staff):
    assert not isinstance(admin.site, OTPAdminSite)

    assert log_in(client, PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_with_otp_on_the_password_alone_is_refused(client, staff, otp_required):
    call_command("add_totp_device", "operator", "--no-qr", stdout=io.StringIO())
    device = TOTPDevice.objects.get(user=staff)

    response = log_in(client, PASSWORD, otp_device=device)

    assert response.status_code == 200 and not logged_in(client)
    assert "Please enter your OTP token." in response.content.decode()


def test_with_otp_on_a_wrong_token_is_refused(client, staff, otp_required):
    call_command("add_totp_device", "operator", "--no-qr", stdout=io.StringIO())
    device = TOTPDevice.objects.get(user=staff)
    wrong = f"{(int(token_of(device)) + 1) % 10**device.digits:0{device.digits}d}"

    response = log_in(client, PASSWORD, otp_token=wrong, otp_device=device)

    assert response.status_code == 200 and not logged_in(client)
    assert "Invalid token." in response.content.decode()


def test_with_otp_on_a_user_without_a_device_cannot_log_in(client, staff, otp_required):
    response = log_in(client, PASSWORD, otp_token="123456")

    assert response.status_code == 200 and not logged_in(client)
    assert "Please select a device." in response.content.decode()  # django-otp: the user has none


def test_with_otp_on_the_password_and_the_devices_token_open_the_admin(client, staff, otp_required):
    call_command("add_totp_device", "operator", "--no-qr", stdout=io.StringIO())
    device = TOTPDevice.objects.get(user=staff)

    response = log_in(client, PASSWORD, otp_token=token_of(device), otp_device=device)

    assert response.status_code == 302, response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 200


def test_with_otp_on_a_session_without_a_verified_device_is_sent_to_the_login(client, staff, otp_required):
    client.force_login(staff)  # a password-only session, e.g. from before OTP was required

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


# --- add_totp_device --------------------------------------------------------------------------------------


def test_add_totp_device_prints_the_otpauth_url_and_a_qr_code_once(staff, capsys):
    call_command("add_totp_device", "operator")

    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed
    assert device.config_url in out
    assert out.startswith("TOTP device 'authenticator' created for operator.")
    assert "▀" in out or "█" in out  # the QR code, drawn with block characters


def test_add_totp_device_refuses_a_second_device_unless_told_to_replace(staff):
    call_command("add_totp_device", "operator", "--no-qr", stdout=io.StringIO())
    first = TOTPDevice.objects.get(user=staff)

    with pytest.raises(CommandError, match="has a TOTP device already; --replace removes it"):
        call_command("add_totp_device", "operator", "--no-qr", stdout=io.StringIO())
    call_command("add_totp_device", "operator", "--no-qr", "--replace", stdout=io.StringIO())

    assert list(TOTPDevice.objects.filter(user=staff).values_list("pk", flat=True)) != [first.pk]
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_add_totp_device_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("add_totp_device", "nobody")
