import os
import subprocess
import sys

import django_rq
import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from sandbox.harness import ROOT, RedisServer
from tests.support import stack

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_jobs_run_with_the_job_modules_already_imported(settings, redis_conn):
    """RQ forks a process per job: what the worker imported first, every job gets for free."""
    preloaded = ["sync.jobs", "sync.inbox", "sync.outbound", "sync.inbound"]
    job = django_rq.get_queue("default").enqueue("tests.support.jobs.modules_imported", preloaded)
    env = {**os.environ, "DATABASE_URL": stack.worker_database_url(), "REDIS_URL": settings.REDIS_URL}

    subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst", "default"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )

    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() == preloaded


@pytest.mark.slow
def test_jobs_inherit_the_workers_heap_frozen(settings, redis_conn):
    """A full collection in a forked job would copy the parent's heap page by page (portal/.../rqworker.py)."""
    job = django_rq.get_queue("default").enqueue("tests.support.jobs.frozen_objects")
    env = {**os.environ, "DATABASE_URL": stack.worker_database_url(), "REDIS_URL": settings.REDIS_URL}

    subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst", "default"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )

    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() > 100_000  # Django, the apps and the services, not a handful


@pytest.fixture
def evicting_redis():
    """A private Redis set to evict keys under memory pressure (the run's own Redis is left alone)."""
    server = RedisServer().start()
    try:
        redis.Redis.from_url(server.url).config_set("maxmemory-policy", "allkeys-lru")
        yield server
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["rqworker", "rqworker-pool"])
def test_workers_refuse_to_start_on_a_redis_that_evicts_keys(command, evicting_redis):
    connection = redis.Redis.from_url(evicting_redis.url)
    queue = Queue("default", connection=connection, serializer=JSONSerializer)
    job = queue.enqueue("tests.support.jobs.modules_imported", [])
    env = {**os.environ, "DATABASE_URL": stack.worker_database_url(), "REDIS_URL": evicting_redis.url}

    result = subprocess.run(
        [sys.executable, "manage.py", command, "--burst", "default"],
        cwd=ROOT,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "The worker does not start: Redis's maxmemory-policy is allkeys-lru; RQ needs noeviction" in result.stderr
    assert job.get_status(refresh=True) == "queued"
