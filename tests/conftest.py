import os

import pytest
import redis

from tests.factories import SalesChannelFactory


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
