"""`manage.py register_webhooks` against the VARIO simulator (reference/vario-erp.md §4.4)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sync.inbox import VARIO_EVENTS
from sync.registration import NOT_REGISTERED

EVENTS = set(VARIO_EVENTS) - NOT_REGISTERED


def registrations(sim) -> set[tuple[str, str]]:
    return {(r["destinationQueue"], r["url"]) for r in sim.get("vario/webhooks")}


def test_moving_the_portal_replaces_the_old_registrations(sim, stack_settings):
    call_command("register_webhooks", "--base-url", "https://old.portal.example")
    call_command("register_webhooks", "--base-url", "https://old.portal.example")  # idempotent

    call_command(
        "register_webhooks",
        "--base-url",
        "https://new.portal.example",
        "--replace-base-url",
        "https://old.portal.example",
    )

    urls = {url for _, url in registrations(sim)}
    assert {event for event, _ in registrations(sim)} == EVENTS
    assert all(url.startswith("https://new.portal.example/webhooks/vario/") for url in urls)


@pytest.mark.parametrize("base_url", ["http://portal.example", "portal.example", "ftp://portal.example"])
def test_a_base_url_vario_could_not_call_safely_is_refused_before_anything_is_registered(sim, stack_settings, base_url):
    with pytest.raises(CommandError, match="refused"):
        call_command("register_webhooks", "--base-url", base_url)
    assert not any("portal.example" in url for _, url in registrations(sim))


def test_a_failure_half_way_names_what_is_registered_and_that_a_rerun_is_safe(sim, stack_settings):
    sim.post(
        "faults",
        {
            "remote": "vario",
            "method": "POST",
            "pathPattern": "/register$",
            "kind": "status",
            "statusCode": 400,
            "body": {"status": 400, "message": "queue unknown"},
        },
    )
    with pytest.raises(CommandError, match=r"Registered before it stopped: none\. Running the command again is safe"):
        call_command("register_webhooks", "--base-url", "https://portal.example")
