import os

import pytest
import redis

from tests.factories import SalesChannelFactory


def pytest_report_header(config):
    # design.md §3: the suite runs in a clone without ../shared; say once, up front, what that skips.
    from tests.support.openapi import SPEC_DIR

    if SPEC_DIR.is_dir():
        return f"VTEX OpenAPI contract checks: against {SPEC_DIR}"
    return (
        f"VTEX OpenAPI contract checks: SKIPPED, no folder {SPEC_DIR} (../shared beside the project); "
        "every test that reaches one is skipped"
    )


def pytest_collection_modifyitems(config, items):
    # .ci/run runs the suite on PostgreSQL, then on SQLite: the longest end-to-end scenarios, which
    # test processes and remotes rather than the database, run in the first pass only (docs/testing.md).
    if os.environ.get("CI_SKIP_ONCE") != "1":
        return
    skip = pytest.mark.skip(reason="marked once: CI ran it in its PostgreSQL pass")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(skip)


@pytest.fixture
def redis_conn(settings):
    """The test Redis; flushed around the test only when this run started it."""
    conn = redis.Redis.from_url(settings.REDIS_URL)
    owned = os.environ.get("PORTAL_TEST_REDIS_OWNED") == "1"
    if owned:
        conn.flushdb()
    yield conn
    if owned:
        conn.flushdb()


@pytest.fixture
def channel(db):
    return SalesChannelFactory(code="shop")


@pytest.fixture(scope="session")
def live_sandbox(tmp_path_factory):
    """One sandbox process for the session; each test that uses it starts from a reset."""
    from sandbox.harness import LiveSandbox

    sandbox = LiveSandbox(directory=tmp_path_factory.mktemp("sandbox")).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox_url(live_sandbox):
    live_sandbox.control("POST", "reset")
    return live_sandbox.url


@pytest.fixture
def receiver():
    """An HTTP endpoint on loopback that records every POST/PUT it gets."""
    from tests.support.receiver import Receiver

    with Receiver() as r:
        yield r


@pytest.fixture(autouse=True)
def _vtex_list_checks_off():
    """The catalog flow lends ``mappings.checks`` listers that ask VTEX for a channel's warehouses and price tables
    (sync.catalog.checks, registered when the app is ready). Factory channels carry credentials for VTEX hosts that
    do not exist, so in tests nothing is checked unless a test registers a lister of its own."""
    from mappings import checks

    saved = {kind: checks.checks_register(kind=kind, lister=None) for kind in checks.KINDS}
    yield
    for kind, lister in saved.items():
        checks.checks_register(kind=kind, lister=lister)
