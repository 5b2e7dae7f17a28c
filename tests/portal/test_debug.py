"""DEBUG's technical error page: no password inside a URL, no typed channel secret (portal/debug.py)."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.debug import PortalExceptionReporterFilter
from tests.factories import SalesChannelFactory
from tests.support.admin_forms import admin_post_data


def _crash(*args, **kwargs):
    # Far from the test's own secrets: the error page shows the source lines around a raise.
    raise RuntimeError("disk full")


def test_passwords_inside_url_settings_are_masked(settings):
    settings.REDIS_URL = "redis://:hunter2@redis.internal:6379/0"
    settings.RQ_QUEUES = {"default": {"URL": "redis://portal:hunter3@redis.internal:6379/0"}}

    shown = PortalExceptionReporterFilter().get_safe_settings()

    assert "hunter2" not in shown["REDIS_URL"] and "redis.internal:6379" in shown["REDIS_URL"]
    assert "hunter3" not in str(shown["RQ_QUEUES"])


def test_a_url_without_password_is_shown_as_it_is(settings):
    settings.VARIO_BASE_URL = "https://tenant.vario.example"
    assert PortalExceptionReporterFilter().get_safe_settings()["VARIO_BASE_URL"] == "https://tenant.vario.example"


@pytest.mark.django_db
def test_a_crash_while_saving_a_channel_does_not_print_the_typed_secrets(admin_user, settings, monkeypatch):
    from mappings.admin import SalesChannelAdmin

    settings.DEBUG = True
    channel = SalesChannelFactory(code="shop")
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    url = reverse("admin:mappings_saleschannel_change", args=[channel.pk])
    data = admin_post_data(client.get(url))
    data.update(vtex_app_token="TYPED-APP-TOKEN-4711", vtex_hook_secret="TYPED-HOOK-SECRET-4711")
    monkeypatch.setattr(SalesChannelAdmin, "save_model", _crash)
    response = client.post(url, data)

    assert response.status_code == 500 and "disk full" in response.content.decode()
    assert "TYPED-APP-TOKEN-4711" not in response.content.decode()
    assert "TYPED-HOOK-SECRET-4711" not in response.content.decode()
