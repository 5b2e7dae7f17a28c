"""The feed and hook endpoints served by the real `run_sandbox` process over HTTP."""

import pytest
import requests

from tests.support.openapi import AUTH_HEADERS
from tests.support.sandbox_vtex_feed import FEED_CONFIG

pytestmark = pytest.mark.slow


def test_feed_and_hook_configuration_work_over_real_http(sandbox_url, receiver):
    feed = requests.post(f"{sandbox_url}/api/orders/feed/config", json=FEED_CONFIG, headers=AUTH_HEADERS, timeout=10)
    hook_body = {"filter": {"type": "FromWorkflow", "status": ["cancel"]}, "hook": {"url": receiver.url, "headers": {}}}
    hook = requests.post(f"{sandbox_url}/api/orders/hook/config", json=hook_body, headers=AUTH_HEADERS, timeout=10)
    batch = requests.get(f"{sandbox_url}/api/orders/feed", params={"maxlot": 10}, headers=AUTH_HEADERS, timeout=10)
    assert (feed.status_code, hook.status_code, batch.status_code) == (200, 200, 200)
    assert batch.json() == []
    assert [body for body, _ in receiver.received] == [{"hookConfig": "ping"}]
