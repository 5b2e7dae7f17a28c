"""sync.checks: feed queue settings inside the bounds VTEX sets (reference/vtex.md §1.2)."""

import pytest
from django.core.checks.registry import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from sync.checks import feed_queue_settings_check


def ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_the_defaults_pass():
    assert feed_queue_settings_check(None) == []


@pytest.mark.parametrize("retention", [345600, 1209600])
def test_retention_at_vtexs_bounds_passes(settings, retention):
    settings.VTEX_FEED_RETENTION = retention
    assert feed_queue_settings_check(None) == []


@pytest.mark.parametrize("retention", [345599, 1209601, 0, "1209600"])
def test_retention_outside_four_to_fourteen_days_is_an_error(settings, retention):
    settings.VTEX_FEED_RETENTION = retention

    [error] = feed_queue_settings_check(None)

    assert error.id == "sync.E001" and error.is_serious()
    assert "VTEX_FEED_RETENTION" in error.msg and "345600 to 1209600" in error.msg


@pytest.mark.parametrize("timeout", [1, 43200])
def test_visibility_timeout_within_bounds_passes(settings, timeout):
    settings.VTEX_FEED_VISIBILITY_TIMEOUT = timeout
    assert feed_queue_settings_check(None) == []


@pytest.mark.parametrize("timeout", [0, -5, 43201, True])
def test_visibility_timeout_outside_one_second_to_twelve_hours_is_an_error(settings, timeout):
    settings.VTEX_FEED_VISIBILITY_TIMEOUT = timeout

    [error] = feed_queue_settings_check(None)

    assert error.id == "sync.E002"
    assert "VTEX_FEED_VISIBILITY_TIMEOUT" in error.msg and "1 to 43200" in error.msg


def test_both_are_reported_at_once(settings):
    settings.VTEX_FEED_RETENTION = 60
    settings.VTEX_FEED_VISIBILITY_TIMEOUT = 86400
    assert ids(feed_queue_settings_check(None)) == ["sync.E001", "sync.E002"]


def test_the_check_is_registered_so_every_command_reports_it(settings):
    assert feed_queue_settings_check in registry.get_checks()
    settings.VTEX_FEED_RETENTION = 100
    with pytest.raises(SystemCheckError, match="VTEX_FEED_RETENTION"):
        call_command("check")
