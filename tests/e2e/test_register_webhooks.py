"""`manage.py register_webhooks` against the VARIO simulator (reference/vario-erp.md §4.4)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sync.inbox import VARIO_EVENTS
from sync.registration import NOT_REGISTERED

EVENTS = set(VARIO_EVENTS) - NOT_REGISTERED


@pytest.fixture(autouse=True)
def unpaced(stack_settings):
    # Each install is ~8 VARIO calls; the portal's own 40-per-6-s budget would pace the tests, not them.
    stack_settings.VARIO_RATE = "1000000/1"


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


# --- install_vario: the custom-field group, then the webhooks ---------------------------------------


def test_install_creates_the_custom_field_group_on_a_fresh_tenant_once(sim, stack_settings):
    sim.session.delete(f"{sim.url}/_sim/vario/eav-groups/vtexportal", timeout=10)

    call_command("install_vario", "--base-url", "https://portal.example")
    call_command("install_vario", "--base-url", "https://portal.example")  # idempotent

    group = sim.get("vario/eav-groups/vtexportal")
    assert {a["key"] for a in group["attributes"]} == {"externalOrderId", "marketplaceOrderId", "externalItemId"}
    assert next(a for a in group["attributes"] if a["key"] == "externalOrderId")["searchIndex"] is True
    assert len([r for r in sim.requests_to("POST", "/cmn/eav-groups") if r["status"] == 201]) == 1
    assert {event for event, _ in registrations(sim)} == EVENTS


def test_install_names_what_an_existing_group_lacks_and_registers_nothing(sim, stack_settings):
    from sync.remotes import vario_client

    sim.session.delete(f"{sim.url}/_sim/vario/eav-groups/vtexportal", timeout=10)
    partial = {"key": "vtexportal", "attributes": [{"key": "externalOrderId", "type": "TEXT", "searchIndex": True}]}
    vario_client().create_eav_group(partial)

    with pytest.raises(CommandError, match="lacks marketplaceOrderId, externalItemId"):
        call_command("install_vario", "--base-url", "https://portal.example")
    assert not any("portal.example" in url for _, url in registrations(sim))
