import pytest
import requests

from sandbox.harness import LiveSandbox

pytestmark = pytest.mark.slow


def test_run_sandbox_serves_over_http_and_keeps_its_state_across_a_restart(tmp_path):
    sandbox = LiveSandbox(directory=tmp_path).start()
    try:
        sandbox.control(
            "POST", "faults", json={"remote": "vtex", "pathPattern": "^/never$", "kind": "status", "statusCode": 503}
        )
        requests.get(f"{sandbox.url}/api/oms/pvt/orders/1-01", timeout=5)
        assert sandbox.control("GET", "requests").json()[0]["path"] == "/api/oms/pvt/orders/1-01"
    finally:
        sandbox.stop()

    restarted = LiveSandbox(directory=tmp_path, port=sandbox.port).start(reset=False)
    try:
        assert [f["path_pattern"] for f in restarted.control("GET", "faults").json()] == ["^/never$"]
        assert len(restarted.control("GET", "requests").json()) == 1
    finally:
        restarted.stop()
