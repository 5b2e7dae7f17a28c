import django_rq
import pytest

from mappings.models import ErpFulfilmentState
from sync import runner
from sync.clients.errors import RejectedError, RetryableError
from sync.locks import order_lock
from sync.models import OrderSync, TimelineEntry
from sync.outcomes import Done, NotYet, Parked
from tests.factories import SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sync(redis_conn, settings):
    settings.SYNC_RETRY_BASE_SECONDS = 2
    settings.SYNC_RETRY_MAX_SECONDS = 60
    settings.SYNC_MAX_RETRIES = 3
    settings.SYNC_NOT_YET_MAX_WAITS = 2
    channel = SalesChannelFactory(code="shop")
    return runner.order_sync_request(kind=OrderSync.Kind.STATUS, channel=channel, key="1042")


def run(sync, outcome_or_error):
    def work(order_sync, recorder, lock):
        if isinstance(outcome_or_error, Exception):
            raise outcome_or_error
        return outcome_or_error

    runner.order_sync_run(order_sync_id=sync.pk, work=work)
    sync.refresh_from_db()
    return sync


def queued_jobs() -> int:
    return django_rq.get_queue("default").count


def scheduled_jobs() -> int:
    return len(django_rq.get_queue("default").scheduled_job_registry.get_job_ids())


def test_a_request_queues_one_job_and_many_requests_collapse(sync):
    for _ in range(5):
        runner.order_sync_request(kind=sync.kind, channel=sync.channel, key=sync.key)
    sync.refresh_from_db()
    assert (sync.status, sync.generation, queued_jobs()) == (OrderSync.Status.PENDING, 6, 1)


def test_done_records_the_generation_it_finished(sync):
    sync = run(sync, Done("all good"))
    assert (sync.status, sync.done_generation) == (OrderSync.Status.DONE, sync.generation)
    assert TimelineEntry.objects.filter(order_sync=sync, title="all good").exists()


def test_events_during_a_run_make_it_run_once_more(sync):
    def work(order_sync, recorder, lock):
        runner.order_sync_request(kind=order_sync.kind, channel=order_sync.channel, key=order_sync.key)
        return Done()

    before = queued_jobs()
    runner.order_sync_run(order_sync_id=sync.pk, work=work)
    sync.refresh_from_db()
    assert sync.status == OrderSync.Status.PENDING
    assert sync.done_generation == sync.generation - 1
    assert queued_jobs() == before + 1


def test_a_retryable_error_waits_with_backoff_and_honours_retry_after(sync):
    sync = run(sync, RetryableError("429", remote="vtex", retry_after=30))
    assert (sync.status, sync.retries) == (OrderSync.Status.WAITING, 1)
    delay = (sync.next_attempt_at - sync.finished_at).total_seconds()
    assert 30 <= delay <= 31
    assert scheduled_jobs() == 1


def test_retries_run_out_into_a_visible_failure(sync):
    for _ in range(3):
        sync = run(sync, RetryableError("timeout", remote="vtex"))
    assert sync.status == OrderSync.Status.WAITING
    sync = run(sync, RetryableError("timeout", remote="vtex"))
    assert sync.status == OrderSync.Status.FAILED
    assert "Gave up after 3 retries" in sync.message


def test_a_rejection_fails_with_the_remotes_message(sync):
    sync = run(sync, RejectedError("Invoice value exceeds the order", remote="vtex", status=400, code="X"))
    assert sync.status == OrderSync.Status.FAILED
    assert "Invoice value exceeds the order" in sync.message


def test_not_yet_waits_a_bounded_number_of_times(sync):
    sync = run(sync, NotYet("VTEX still in start-handling"))
    sync = run(sync, NotYet("VTEX still in start-handling"))
    assert (sync.status, sync.waits) == (OrderSync.Status.WAITING, 2)
    sync = run(sync, NotYet("VTEX still in start-handling"))
    assert sync.status == OrderSync.Status.FAILED and "Gave up after 2 waits" in sync.message


def test_a_run_does_nothing_while_another_holds_the_order(sync):
    with order_lock(f"order-sync:{sync.pk}") as lock:
        assert lock is not None
        sync = run(sync, Done())
    assert sync.status == OrderSync.Status.PENDING


def test_parked_work_runs_again_when_its_mapping_is_saved(sync):
    sync = run(sync, Parked("status:returned", "no mapping for returned"))
    assert (sync.status, sync.needs_mapping) == (OrderSync.Status.PARKED, "status:returned")
    jobs = queued_jobs()

    StatusMappingFactory(channel=sync.channel, erp_state=ErpFulfilmentState.RETURNED, platform_status="refunded")

    sync.refresh_from_db()
    assert sync.status == OrderSync.Status.PENDING
    assert queued_jobs() == jobs + 1


def test_an_unrelated_mapping_leaves_parked_work_alone(sync):
    sync = run(sync, Parked("status:returned", "no mapping for returned"))
    StatusMappingFactory(channel=sync.channel, erp_state=ErpFulfilmentState.CONFIRMED, platform_status="processing")
    sync.refresh_from_db()
    assert sync.status == OrderSync.Status.PARKED


def test_a_crash_in_the_work_is_a_visible_failure(sync):
    sync = run(sync, ZeroDivisionError("bug"))
    assert sync.status == OrderSync.Status.FAILED and "ZeroDivisionError" in sync.message


@pytest.mark.parametrize("retries", [1, 2, 5, 20])
def test_backoff_stays_within_its_bounds(settings, retries):
    settings.SYNC_RETRY_BASE_SECONDS, settings.SYNC_RETRY_MAX_SECONDS = 2, 60
    ceiling = min(60, 2 * 2 ** (retries - 1))
    for _ in range(50):
        assert ceiling / 2 <= runner.backoff_seconds(retries, None) <= ceiling
    assert runner.backoff_seconds(retries, 500) == 500


def test_an_answer_that_arrives_during_a_run_is_not_undone_by_its_finish(sync):
    OrderSync.objects.filter(pk=sync.pk).update(marketplace_status_sent="approved")

    def work(order_sync, recorder, lock):
        # VTEX's asynchronous EOI008 lands while the run waits for it: send the status again later.
        runner.order_sync_defer(order_sync=order_sync, message="Channel Order API EOI008", marketplace_status_sent="")
        return NotYet("waiting for VTEX's answer to the Channel Order API status 'approved'")

    runner.order_sync_run(order_sync_id=sync.pk, work=work)

    assert OrderSync.objects.get(pk=sync.pk).marketplace_status_sent == ""


def test_a_status_sent_by_the_run_is_kept(sync):
    def work(order_sync, recorder, lock):
        order_sync.marketplace_status_sent = "approved"
        return NotYet("Channel Order API status 'approved' enqueued by VTEX")

    runner.order_sync_run(order_sync_id=sync.pk, work=work)

    assert OrderSync.objects.get(pk=sync.pk).marketplace_status_sent == "approved"


def test_redis_going_away_in_a_run_leaves_the_order_to_the_sweep_not_failed(sync, settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from sync.inbox import inbox_sweep

    sync = run(sync, RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."))

    assert sync.status == OrderSync.Status.RUNNING
    assert sync.timeline.filter(title="Run stopped: Redis unavailable").exists()
    settings.SYNC_LOCK_SECONDS = 0  # the run's lease has run out
    assert inbox_sweep()["orders"] == 1


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        (runner.Try.RETRY, 0, (1, 3, False, "timeout")),
        (runner.Try.RETRY, 2, (3, 3, False, "timeout")),
        (runner.Try.RETRY, 3, (4, 3, True, "Gave up after 3 retries: timeout")),
        (runner.Try.WAIT, 1, (2, 2, False, "timeout")),
        (runner.Try.WAIT, 2, (3, 2, True, "Gave up after 2 waits: timeout")),
    ],
)
def test_one_policy_bounds_retries_and_waits_by_their_own_settings(settings, kind, count, expected):
    settings.SYNC_MAX_RETRIES, settings.SYNC_NOT_YET_MAX_WAITS = 3, 2
    settings.SYNC_NOT_YET_DELAY_SECONDS = 7

    step = runner.next_try(kind=kind, count=count, reason="timeout", retry_after=None)

    assert (step.count, step.limit, step.gave_up, step.message) == expected
    if not step.gave_up and kind == runner.Try.WAIT:
        assert step.delay == 7


def test_a_retry_is_never_sooner_than_the_remotes_retry_after(settings):
    settings.SYNC_RETRY_BASE_SECONDS, settings.SYNC_RETRY_MAX_SECONDS, settings.SYNC_MAX_RETRIES = 2, 60, 3

    assert runner.next_try(kind=runner.Try.RETRY, count=0, reason="429", retry_after=45).delay == 45
