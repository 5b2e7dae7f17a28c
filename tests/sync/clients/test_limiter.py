import time

import pytest

from sync.clients.errors import RetryableError
from sync.clients.limiter import Rate, RemoteLimiter


@pytest.fixture
def make_limiter(settings, redis_conn):
    def make(
        rate="3/1",
        max_wait=5.0,
        scope="acct",
        rates=None,
        margin=0.0,
        remote="vtex",
        per_route=True,
        lane="",
        share=1.0,
    ):
        return RemoteLimiter(
            remote=remote,
            scope=scope,
            redis_url=settings.REDIS_URL,
            rates=rates or {},
            default_rate=Rate.parse(rate) if rate else None,
            max_wait=max_wait,
            margin_seconds=margin,
            per_route=per_route,
            lane=lane,
            lane_share=share,
        )

    return make


def test_calls_within_the_rate_do_not_wait(make_limiter):
    limiter = make_limiter("3/1")
    assert [limiter.acquire() for _ in range(3)] == [0, 0, 0]


def test_the_call_over_the_rate_waits_for_the_window(make_limiter):
    limiter = make_limiter("3/1")
    for _ in range(3):
        limiter.acquire()
    started = time.monotonic()
    waited = limiter.acquire()
    assert waited > 0
    assert time.monotonic() - started >= waited * 0.9


def test_two_workers_share_one_window(make_limiter):
    first, second = make_limiter("2/5"), make_limiter("2/5")
    first.acquire()
    second.acquire()
    with pytest.raises(RetryableError) as exc_info:
        make_limiter("2/5", max_wait=0.1).acquire()
    assert 0 < exc_info.value.retry_after <= 5


def test_the_window_is_the_remotes_plus_the_margin(make_limiter):
    limiter = make_limiter("2/1", max_wait=0, margin=0.4)
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(RetryableError) as exc_info:
        limiter.acquire()
    assert 1.2 < exc_info.value.retry_after <= 1.4


def test_a_longer_retry_after_is_kept_over_a_shorter_one(make_limiter):
    limiter = make_limiter(None, max_wait=0)
    limiter.block("invoice", 3)
    limiter.block("invoice", 1)
    with pytest.raises(RetryableError) as exc_info:
        limiter.acquire("invoice")
    assert 2 < exc_info.value.retry_after <= 3


def test_another_account_has_its_own_window(make_limiter):
    make_limiter("1/5", scope="a").acquire()
    assert make_limiter("1/5", scope="b", max_wait=0).acquire() == 0


def test_routes_have_their_own_rates(make_limiter):
    limiter = make_limiter("1/5", rates={"get_order": Rate(100, 1)}, max_wait=0)
    limiter.acquire("invoice")
    for _ in range(10):
        limiter.acquire("get_order")
    with pytest.raises(RetryableError):
        limiter.acquire("invoice")


def test_after_a_429_nobody_calls_before_retry_after(make_limiter):
    limiter = make_limiter(None, max_wait=0.05)
    limiter.block("invoice", 2)
    with pytest.raises(RetryableError) as exc_info:
        make_limiter(None, max_wait=0.05).acquire("invoice")
    assert 1 < exc_info.value.retry_after <= 2
    assert make_limiter(None, max_wait=0).acquire("get_order") == 0


def test_a_short_retry_after_is_waited_out(make_limiter):
    limiter = make_limiter(None, max_wait=2)
    limiter.block("", 0.2)
    assert 0.1 < limiter.acquire() <= 0.3


def test_a_remote_counted_per_client_shares_one_window_across_routes(make_limiter):
    # VARIO: 40 per 6 s for the whole API client (reference/vario-erp.md §1.3).
    vario = make_limiter("2/5", max_wait=0, remote="vario", scope="client-window", per_route=False)
    vario.acquire("documents")
    vario.acquire("query")
    with pytest.raises(RetryableError, match="rate limit 2/5"):
        vario.acquire("shipments")


def test_a_retry_after_on_one_route_of_a_per_client_remote_blocks_every_route(make_limiter):
    vario = make_limiter(None, max_wait=0, remote="vario", scope="client-block", per_route=False)
    vario.block("documents", 2)
    with pytest.raises(RetryableError, match="Retry-After") as exc_info:
        vario.acquire("webhooks")
    assert 1 < exc_info.value.retry_after <= 2


def test_a_route_with_its_own_rate_keeps_its_own_window_when_the_rest_is_shared(make_limiter):
    # VARIO's token endpoint is the SSO server: neither its calls nor its 429s touch the API's budget.
    vario = make_limiter(
        "1/5", max_wait=0, remote="vario", scope="client-token", per_route=False, rates={"token": Rate(30, 1)}
    )
    vario.acquire("documents")
    vario.block("token", 2)
    with pytest.raises(RetryableError, match="Retry-After"):
        vario.acquire("token")
    with pytest.raises(RetryableError, match="rate limit 1/5"):
        vario.acquire("query")


def test_a_per_route_remote_still_blocks_only_the_route_that_got_the_429(make_limiter):
    vtex = make_limiter("1/5", max_wait=0, scope="route-block")
    vtex.acquire("invoice")
    vtex.block("get_order", 2)
    assert vtex.acquire("cancel") == 0


@pytest.mark.parametrize("text", ["40", "0/6", "40/0", "a/b"])
def test_bad_rates_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"40/6|at least"):
        Rate.parse(text)


def test_a_lane_takes_at_most_its_share_of_the_window_and_leaves_the_rest(make_limiter):
    bulk = make_limiter("4/2", max_wait=0.1, lane="bulk", share=0.5)
    assert [bulk.acquire(), bulk.acquire()] == [0, 0]
    shared = make_limiter("4/2", max_wait=0.1)
    assert [shared.acquire(), shared.acquire()] == [0, 0]  # the rest is there for everything else
    with pytest.raises(RetryableError):  # the lane's calls counted in the shared window too
        shared.acquire()
    # Its share used, the lane waits out its own window (its pace) rather than give up at max_wait.
    assert 1.0 < bulk.acquire() <= 2.2


def test_remote_lane_builds_clients_in_the_lane(settings):
    from mappings.models import SalesChannel
    from sync.remotes import remote_lane, vtex_client_for

    settings.BULK_BUDGET_SHARE = 0.25
    channel = SalesChannel(code="x", vtex_account_name="acct", vtex_app_key="k", vtex_app_token="t")
    with remote_lane("bulk"):
        inside = vtex_client_for(channel)
    outside = vtex_client_for(channel)
    assert (inside.http.limiter.lane, inside.http.limiter.lane_share) == ("bulk", 0.25)
    assert outside.http.limiter.lane == ""
