import pytest
import requests
import responses

from sync.clients.errors import AuthError, NotFoundError, PayloadError, RejectedError, RemoteError, RetryableError
from sync.clients.http import EXCERPT_LIMIT, HttpClient, retry_after_seconds
from sync.clients.vario import vario_error
from sync.clients.vtex import vtex_error

BASE = "https://shop.vtexcommercestable.com.br"


def client(recorded=None, limiter=None, *, minute: float = 0.1) -> HttpClient:
    """A VTEX-like client; ``minute`` is its 429 back-off base (60 s in production), short here so
    that the remote's own Retry-After decides."""
    return HttpClient(
        remote="vtex",
        base_url=BASE,
        headers={"X-VTEX-API-AppToken": "SECRET-TOKEN", "X-VTEX-API-AppKey": "key"},
        timeout=(1, 1),
        error_reader=vtex_error,
        recorder=(recorded.append if recorded is not None else None),
        limiter=limiter,
        retry_after_default=minute,
    )


@responses.activate
def test_a_2xx_answer_is_returned():
    responses.get(f"{BASE}/x", json={"ok": True})
    assert client().request_json("GET", "/x") == {"ok": True}


@responses.activate
def test_a_timeout_is_retryable():
    responses.get(f"{BASE}/x", body=requests.ReadTimeout("slow"))
    with pytest.raises(RetryableError, match="timed out"):
        client().request("GET", "/x")


@responses.activate
def test_a_connection_error_is_retryable():
    responses.get(f"{BASE}/x", body=requests.ConnectionError("refused"))
    with pytest.raises(RetryableError, match="connection failed"):
        client().request("GET", "/x")


@responses.activate
def test_429_is_retryable_and_carries_retry_after():
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"}, json={})
    with pytest.raises(RetryableError) as exc_info:
        client().request("GET", "/x")
    assert exc_info.value.retry_after == 7
    assert exc_info.value.status == 429


@responses.activate
def test_429_blocks_the_route_in_the_limiter():
    class Limiter:
        blocked = None
        max_wait = 0  # nothing is waited out in place

        def acquire(self, route):
            return 0

        def block(self, route, seconds):
            self.blocked = (route, seconds)

    limiter = Limiter()
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "3"})
    with pytest.raises(RetryableError):
        client(limiter=limiter).request("GET", "/x", route="invoice")
    assert limiter.blocked == ("invoice", 3)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_5xx_is_retryable(status):
    responses.get(f"{BASE}/x", status=status, json={"error": {"code": "X", "message": "boom"}})
    with pytest.raises(RetryableError, match="boom"):
        client().request("GET", "/x")


@pytest.mark.parametrize(("status", "error_class"), [(401, AuthError), (403, AuthError), (404, NotFoundError)])
@responses.activate
def test_auth_and_not_found_are_rejections(status, error_class):
    responses.get(f"{BASE}/x", status=status, json={"error": {"code": "1", "message": "nope"}})
    with pytest.raises(error_class) as exc_info:
        client().request("GET", "/x")
    assert isinstance(exc_info.value, RejectedError)


@responses.activate
def test_a_4xx_is_rejected_with_the_remotes_code_and_message():
    responses.post(
        f"{BASE}/api/oms/pvt/orders/1-01/start-handling",
        status=409,
        json={"error": {"code": "OMS003", "message": "Order status should be ready-for-handling", "exception": None}},
    )
    with pytest.raises(RejectedError) as exc_info:
        client().request("POST", "/api/oms/pvt/orders/1-01/start-handling")
    error = exc_info.value
    assert (error.status, error.code) == (409, "OMS003")
    assert "ready-for-handling" in str(error)


@responses.activate
def test_a_2xx_that_is_not_json_is_a_payload_error():
    responses.get(f"{BASE}/x", body="<html>maintenance</html>", status=200)
    with pytest.raises(PayloadError):
        client().request_json("GET", "/x")


@responses.activate
def test_every_call_is_recorded_without_secrets():
    recorded = []
    responses.post(f"{BASE}/x", json={"access_token": "abc.def.ghi", "ok": True})
    client(recorded).request("POST", "/x", json_body={"reason": "r", "appToken": "SECRET-IN-BODY"})
    [call] = recorded
    assert (call.remote, call.method, call.path, call.status) == ("vtex", "POST", "/x", 200)
    assert call.duration_ms >= 0
    assert "SECRET-IN-BODY" not in call.request_excerpt and '"reason": "r"' in call.request_excerpt
    assert "abc.def.ghi" not in call.response_excerpt
    assert "SECRET-TOKEN" not in repr(call)


@responses.activate
def test_a_failed_connection_is_recorded_with_its_error():
    recorded = []
    responses.get(f"{BASE}/x", body=requests.ConnectionError("refused"))
    with pytest.raises(RetryableError):
        client(recorded).request("GET", "/x")
    assert recorded[0].status is None and "connection failed" in recorded[0].error


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("12") == 12
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert retry_after_seconds("soon") is None


@responses.activate
def test_a_short_retry_after_is_waited_out_in_place(settings, redis_conn):
    from sync.clients.limiter import RemoteLimiter

    limiter = RemoteLimiter(
        remote="vtex", scope="acct", redis_url=settings.REDIS_URL, rates={}, default_rate=None, max_wait=2
    )
    responses.post(f"{BASE}/x", status=429, headers={"Retry-After": "0.3"})
    responses.post(f"{BASE}/x", json={"ok": True})
    recorded = []
    assert client(recorded, limiter=limiter).request_json("POST", "/x", route="invoice") == {"ok": True}
    assert [c.status for c in recorded] == [429, 200]
    gap = (recorded[1].started_at - recorded[0].started_at).total_seconds()
    assert gap >= 0.29


@responses.activate
def test_a_long_retry_after_fails_the_call_as_retryable(settings, redis_conn):
    from sync.clients.limiter import RemoteLimiter

    limiter = RemoteLimiter(
        remote="vtex", scope="acct", redis_url=settings.REDIS_URL, rates={}, default_rate=None, max_wait=1
    )
    responses.post(f"{BASE}/x", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RetryableError) as exc_info:
        client(limiter=limiter).request("POST", "/x", route="invoice")
    assert exc_info.value.retry_after == 30
    assert len(responses.calls) == 1


class RecordingLimiter:
    """Grants every call at once and records each block: the waits, without sleeping through them."""

    def __init__(self, max_wait: float = 10) -> None:
        self.max_wait = max_wait
        self.blocks: list[float] = []

    def acquire(self, route):
        return 0

    def block(self, route, seconds):
        self.blocks.append(seconds)


def vario_like(limiter, *, base: float = 1.0) -> HttpClient:
    return HttpClient(
        remote="vario",
        base_url=BASE,
        headers={},
        timeout=(1, 1),
        error_reader=vario_error,
        limiter=limiter,
        backoff_429_base=base,
        max_429_tries=5,
    )


@responses.activate
def test_a_429_without_retry_after_backs_off_exponentially_from_the_base():
    limiter = RecordingLimiter()
    for _ in range(3):
        responses.get(f"{BASE}/x", status=429, json={"status": 429, "message": "Too Many Requests"})
    responses.get(f"{BASE}/x", json={"ok": True})

    assert vario_like(limiter, base=0.5).request_json("GET", "/x") == {"ok": True}
    assert limiter.blocks == [0.5, 1.0, 2.0]


@responses.activate
def test_a_429_is_tried_five_times_in_all_then_retryable():
    limiter = RecordingLimiter()
    for _ in range(5):
        responses.get(f"{BASE}/x", status=429, json={"status": 429, "message": "Too Many Requests"})
    responses.get(f"{BASE}/x", json={"ok": True})  # a sixth try would get it

    with pytest.raises(RetryableError) as exc_info:
        vario_like(limiter).request("GET", "/x")

    assert len(responses.calls) == 5
    # 1, 2, 4, 8 s between the tries; then the next step for every worker and the job's reschedule.
    assert limiter.blocks == [1, 2, 4, 8, 16]
    assert (exc_info.value.status, exc_info.value.retry_after) == (429, 16)


@responses.activate
def test_a_retry_after_is_honoured_instead_of_the_back_off_step():
    limiter = RecordingLimiter()
    responses.get(f"{BASE}/x", status=429)
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "5"})
    responses.get(f"{BASE}/x", status=429)
    responses.get(f"{BASE}/x", json={"ok": True})

    assert vario_like(limiter).request_json("GET", "/x") == {"ok": True}
    assert limiter.blocks == [1, 5, 4]  # the third try's step still counts the tries before it


@responses.activate
def test_a_back_off_step_longer_than_the_limiter_waits_reschedules_the_job():
    limiter = RecordingLimiter(max_wait=10)
    for _ in range(3):
        responses.get(f"{BASE}/x", status=429)

    with pytest.raises(RetryableError) as exc_info:
        vario_like(limiter, base=4).request("GET", "/x")

    assert len(responses.calls) == 3  # waited 4 and 8 in place; 16 is too long to hold the worker
    assert limiter.blocks == [4, 8, 16]
    assert exc_info.value.retry_after == 16


@responses.activate
def test_vtex_429_without_retry_after_still_waits_its_flat_minute_as_a_reschedule():
    limiter = RecordingLimiter(max_wait=10)
    responses.get(f"{BASE}/x", status=429, json={})
    responses.get(f"{BASE}/x", json={"ok": True})

    with pytest.raises(RetryableError) as exc_info:
        client(limiter=limiter, minute=60).request("GET", "/x")

    assert len(responses.calls) == 1
    assert limiter.blocks == [60]
    assert exc_info.value.retry_after == 60


@responses.activate
def test_vtex_429_waits_its_minute_even_when_retry_after_is_shorter():
    # reference/vtex.md §9: max(Retry-After, back-off), the feed guide recommending a minute.
    limiter = RecordingLimiter(max_wait=10)
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"}, json={})
    responses.get(f"{BASE}/x", json={"ok": True})

    with pytest.raises(RetryableError) as exc_info:
        client(limiter=limiter, minute=60).request("GET", "/x")

    assert len(responses.calls) == 1
    assert limiter.blocks == [60] and exc_info.value.retry_after == 60


@responses.activate
def test_vtex_429s_in_a_row_double_the_wait_and_a_longer_retry_after_wins():
    limiter = RecordingLimiter(max_wait=10)
    for retry_after in ("1", "1", "9", "1"):
        responses.get(f"{BASE}/x", status=429, headers={"Retry-After": retry_after}, json={})
    responses.get(f"{BASE}/x", json={"ok": True})
    with pytest.raises(RetryableError) as exc_info:
        client(limiter=limiter, minute=1).request("GET", "/x")  # a test's minute

    assert len(responses.calls) == 4
    assert limiter.blocks == [1, 2, 9, 8]
    assert exc_info.value.retry_after == 8


class _SentRequests:
    """Stands in for the network: records what each call would have sent, answers 200 ``{}``."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[tuple[requests.PreparedRequest, dict]] = []
        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", self._send)

    def _send(self, request, **kwargs):  # set on the class as a bound method: no adapter argument
        self.sent.append((request, kwargs))
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"{}", request
        return response


@pytest.fixture
def quiet_environment(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("no_proxy", "proxy", "verify"),
    [
        ("", "http://proxy.example:3128", "/etc/ssl/company-ca.pem"),
        ("vtexcommercestable.com.br", None, "/etc/ssl/company-ca.pem"),  # this host is called directly
    ],
)
def test_the_proxy_and_ca_bundle_of_the_environment_are_used(quiet_environment, no_proxy, proxy, verify):
    quiet_environment.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    quiet_environment.setenv("NO_PROXY", no_proxy)
    quiet_environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    network = _SentRequests(quiet_environment)

    client().request("GET", "/x")

    [(_, sent)] = network.sent
    assert sent["proxies"].get("https") == proxy
    assert sent["verify"] == verify


def test_the_environment_is_read_once_per_host_not_per_call(quiet_environment):
    reads = []
    real = requests.utils.get_environ_proxies
    quiet_environment.setattr(
        requests.utils, "get_environ_proxies", lambda url, **kw: reads.append(url) or real(url, **kw)
    )
    _SentRequests(quiet_environment)
    http = client()

    for _ in range(5):
        http.request("GET", "/x")
    http.request("GET", "/y", url="https://other.example/y")

    assert reads == [f"{BASE}/x", "https://other.example/y"]


def test_a_netrc_entry_never_replaces_the_clients_own_authorization(quiet_environment, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine shop.vtexcommercestable.com.br login someone password hunter2\n")
    netrc.chmod(0o600)
    quiet_environment.setenv("NETRC", str(netrc))
    network = _SentRequests(quiet_environment)

    client().request("GET", "/x", headers={"Authorization": "Bearer app-token"})

    [(request, _)] = network.sent
    assert request.headers["Authorization"] == "Bearer app-token"


@responses.activate
def test_a_credential_no_header_can_carry_fails_the_call_without_quoting_it():
    recorded = []
    broken = HttpClient(
        remote="vtex",
        base_url=BASE,
        headers={"X-VTEX-API-AppToken": "SECRET-PART-ONE\nSECRET-PART-TWO"},
        timeout=(1, 1),
        error_reader=vtex_error,
        recorder=recorded.append,
    )
    with pytest.raises(RemoteError) as exc_info:
        broken.request("GET", "/x")
    assert not isinstance(exc_info.value, RetryableError)
    assert "InvalidHeader" in str(exc_info.value)
    assert "SECRET-PART" not in str(exc_info.value) and "SECRET-PART" not in recorded[0].error


@responses.activate
@pytest.mark.parametrize(
    ("answer", "applied"),
    [
        ({"body": requests.ReadTimeout("slow")}, True),  # it arrived; the answer did not
        ({"body": requests.ConnectTimeout("no route")}, False),
        ({"status": 503, "json": {}}, True),
        ({"status": 429, "json": {}, "headers": {"Retry-After": "30"}}, False),
    ],
)
def test_a_retryable_error_tells_whether_the_remote_may_have_acted(answer, applied):
    responses.post(f"{BASE}/x", **answer)
    with pytest.raises(RetryableError) as exc_info:
        client().request("POST", "/x")
    assert exc_info.value.may_have_applied is applied


def test_a_refused_connection_never_reached_the_remote():
    # Port 9 (discard) is closed on loopback: the connection is refused before anything is sent.
    refused = HttpClient(
        remote="vtex", base_url="http://127.0.0.1:9", headers={}, timeout=(1, 1), error_reader=vtex_error
    )
    with pytest.raises(RetryableError) as exc_info:
        refused.request("POST", "/x")
    assert exc_info.value.may_have_applied is False


@responses.activate
def test_a_secret_the_excerpt_would_cut_in_two_is_still_masked():
    recorded = []
    body = '{"padding": "' + "x" * (EXCERPT_LIMIT - 40) + '", "refresh_token": "' + "R" * 800 + '"}'
    responses.post(f"{BASE}/x", body=body, status=200, content_type="application/json")
    client(recorded).request("POST", "/x")
    excerpt = recorded[0].response_excerpt
    assert len(excerpt) <= EXCERPT_LIMIT
    assert "RRRR" not in excerpt


@responses.activate
def test_within_reads_cached_each_read_is_sent_once_and_a_write_forgets_them():
    from sync.clients.http import reads_cached

    responses.get(f"{BASE}/api/oms/pvt/orders/1", json={"orderId": "1", "status": "handling"})
    responses.post(f"{BASE}/api/query", json={"rows": [1]})
    responses.post(f"{BASE}/api/oms/pvt/orders/1/start-handling", status=204)
    http = client()

    with reads_cached():
        first = http.request_json("GET", "/api/oms/pvt/orders/1")
        again = http.request_json("GET", "/api/oms/pvt/orders/1")
        http.request_json("POST", "/api/query", json_body={"q": 1}, read=True)
        http.request_json("POST", "/api/query", json_body={"q": 1}, read=True)
        http.request_json("POST", "/api/query", json_body={"q": 2}, read=True)  # another read
        http.request("POST", "/api/oms/pvt/orders/1/start-handling")  # a write: what was read may change
        http.request_json("GET", "/api/oms/pvt/orders/1")
    http.request_json("GET", "/api/oms/pvt/orders/1")  # outside: always sent

    assert first == again
    sent = [(call.request.method, call.request.url.removeprefix(BASE)) for call in responses.calls]
    assert sent == [
        ("GET", "/api/oms/pvt/orders/1"),
        ("POST", "/api/query"),
        ("POST", "/api/query"),
        ("POST", "/api/oms/pvt/orders/1/start-handling"),
        ("GET", "/api/oms/pvt/orders/1"),
        ("GET", "/api/oms/pvt/orders/1"),
    ]
