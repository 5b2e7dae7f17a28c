import pytest

from mappings.models import CarrierCode
from mappings.services import status_mappings_load_defaults
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN, Sim, vario_settings
from sync.registration import vario_webhooks_register
from tests.factories import SalesChannelFactory
from tests.support.stack import FAST_SYNC, Worker, worker_database_url

CARRIERS = {
    "DHL": ("DHL", "https://www.dhl.de/track?piececode={tracking_number}", False),
    "UPS": ("UPS", "https://www.ups.com/track?tracknum={tracking_number}", True),
    "DPD": ("DPD", "https://tracking.dpd.de/parcel/{tracking_number}", False),
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture
def stack_settings(settings, live_sandbox):
    """The in-process portal (live server) talks to the sandbox with fast sync settings."""
    for name, value in {**vario_settings(live_sandbox.url), **FAST_SYNC}.items():
        setattr(settings, name, type(getattr(settings, name))(value) if name in FAST_SYNC else value)
    return settings


@pytest.fixture
def worker(live_sandbox, stack_settings, tmp_path, redis_conn):
    import os

    env = {
        **os.environ,
        **vario_settings(live_sandbox.url),
        **FAST_SYNC,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": stack_settings.REDIS_URL,
    }
    w = Worker(env=env, log_path=tmp_path / "worker.log").start()
    yield w
    w.stop()


@pytest.fixture
def sim(sandbox_url):
    """The sandbox's control API; afterwards, every request the portal sent to VTEX must match the
    official OpenAPI schema (design §6)."""
    sim = Sim(sandbox_url)
    yield sim
    assert_vtex_requests_match_the_official_schema(sim)


@pytest.fixture
def channel(stack_settings, live_sandbox, live_server, sim, redis_conn):
    """The demo-like channel on the sandbox, with default mappings and carriers, webhooks registered."""
    channel = sandbox_channel(live_sandbox)
    vario_webhooks_register(base_url=live_server.url)
    return channel


@pytest.fixture
def quiet_channel(stack_settings, live_sandbox, sim, redis_conn):
    """The same channel with no VARIO webhooks registered: what happens in the ERP reaches the portal
    only when it asks (a bulk run), as after webhooks were lost."""
    return sandbox_channel(live_sandbox)


def sandbox_channel(live_sandbox):
    channel = SalesChannelFactory(
        code="shop",
        vtex_account_name="demostore",
        vtex_base_url_override=live_sandbox.url,
        vtex_app_key=VTEX_APP_KEY,
        vtex_app_token=VTEX_APP_TOKEN,
        vario_sales_channel_id="7",
    )
    status_mappings_load_defaults(channel=channel)
    for key, (courier, template, integrated) in CARRIERS.items():
        CarrierCode.objects.create(
            channel=channel,
            erp_carrier_key=key,
            vtex_courier_name=courier,
            tracking_url_template=template,
            integrated_with_vtex_tracking=integrated,
        )
    return channel


def _spec_for(path: str) -> str:
    if path.startswith("/api/order-integration/"):
        return "marketplace"
    if path.startswith("/api/do/"):
        return "do"
    return "orders"


def assert_vtex_requests_match_the_official_schema(sim: Sim) -> None:
    import json
    from urllib.parse import parse_qsl

    from tests.support.openapi import validate_vtex_request

    for call in sim.get("requests", remote="vtex"):
        body = json.loads(call["requestBody"]) if call["requestBody"] else None
        validate_vtex_request(
            _spec_for(call["path"]), call["method"], call["path"], query=dict(parse_qsl(call["query"])), body=body
        )
