"""`manage.py check --deploy` warns about settings that are fine in development only (issue #13 §6)."""

import pytest

from portal.checks import bench_views_check, redis_password_check, redis_url_has_password
from tests.support.settings_env import PRODUCTION_ENV, deploy_check


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", False),
        ("rediss://redis.internal:6380/0", False),
        ("redis://portal@127.0.0.1:6379/0", False),  # a user name is no password
        ("redis://:s3cret@127.0.0.1:6379/0", True),
        ("rediss://portal:s3cret@redis.internal:6380/0", True),
        ("redis://127.0.0.1:6379/0?password=s3cret", True),
        ("unix:///run/redis/redis.sock?db=0", None),  # file permissions guard a socket
    ],
)
def test_redis_url_has_password(url, expected):
    assert redis_url_has_password(url) is expected


def test_redis_without_a_password_in_production_is_a_warning(settings):
    settings.DEBUG = False
    settings.REDIS_URL = "redis://redis.internal:6379/0"

    [warning] = redis_password_check(None)

    assert warning.id == "portal.W002" and "REDIS_URL has no password" in warning.msg


@pytest.mark.parametrize(
    ("debug", "url"),
    [
        (True, "redis://127.0.0.1:6379/0"),
        (False, "redis://:s3cret@redis.internal:6379/0"),
        (False, "unix:///run/redis/redis.sock"),
    ],
)
def test_no_redis_warning_in_development_with_a_password_or_on_a_socket(settings, debug, url):
    settings.DEBUG, settings.REDIS_URL = debug, url

    assert redis_password_check(None) == []


def test_bench_views_are_a_warning(settings):
    settings.BENCH_VIEWS = True
    [warning] = bench_views_check(None)
    assert warning.id == "portal.W001"

    settings.BENCH_VIEWS = False
    assert bench_views_check(None) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "check_id"),
    [("BENCH_VIEWS", "1", "portal.W001"), ("REDIS_URL", "redis://redis.internal:6379/0", "portal.W002")],
)
def test_the_deploy_check_fails_on_each(variable, value, check_id):
    result = deploy_check(**{**PRODUCTION_ENV, variable: value})

    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr
