import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from mappings.models import SalesChannel
from portal.demo import demo_environment_setup

pytestmark = pytest.mark.django_db


def setup(**overrides):
    return demo_environment_setup(
        **{
            "username": "demo",
            "password": "demo-pass",
            "vtex_base_url": "http://127.0.0.1:8001",
            "vtex_app_key": "k",
            "vtex_app_token": "t",
            **overrides,
        }
    )


def log_in(username, password):
    # django-axes counts logins per request (client address), so authenticate() needs one.
    return authenticate(RequestFactory().post("/admin/login/"), username=username, password=password)


def test_demo_setup_creates_a_login_and_a_ready_channel():
    demo = setup()
    assert log_in("demo", "demo-pass").is_superuser
    channel = SalesChannel.objects.get(code="demo")
    assert channel.vtex_base_url == "http://127.0.0.1:8001"
    assert channel.status_mappings.count() == 5
    assert channel.carrier_codes.filter(erp_carrier_key="DHL").exists()
    assert demo.channel == channel


def test_demo_setup_is_idempotent_and_keeps_operator_edits():
    setup()
    SalesChannel.objects.filter(code="demo").update(name="Edited by operator")
    setup(password="new-pass")
    assert SalesChannel.objects.get(code="demo").name == "Edited by operator"
    assert log_in("demo", "new-pass") is not None


def test_demo_setup_command_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("demo_setup")
