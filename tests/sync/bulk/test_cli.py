"""`manage.py bulk_run` (sync/management/commands/bulk_run.py): the same service as the admin's start."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sync.bulk.models import BulkRun
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_force_reaches_the_scope_of_a_kind_that_reads_it(redis_conn):
    SalesChannelFactory(code="shop")
    out = io.StringIO()

    call_command("bulk_run", "shop", "stock_initial", "--force", stdout=out)

    run = BulkRun.objects.get()
    assert (run.kind, run.scope, run.started_by.startswith("cli:")) == ("stock_initial", {"force": True}, True)
    assert f"Started bulk run #{run.pk}" in out.getvalue()


@pytest.mark.parametrize(
    "args, message",
    [
        (["order_status_initial", "--since", "2026-01-01", "--force"], "does not read force"),
        (["order_status_initial", "--since", "2026-02-30"], "expected a date"),
        (["order_backfill", "--since", "2026-01-01", "--erp-states", "open"], "does not read --erp-states"),
    ],
)
def test_a_scope_the_kind_can_not_run_is_a_command_error_not_a_traceback(redis_conn, args, message):
    SalesChannelFactory(code="shop")

    with pytest.raises(CommandError, match=message):
        call_command("bulk_run", "shop", *args, stdout=io.StringIO())
    assert not BulkRun.objects.exists()


def test_an_unknown_channel_is_named():
    with pytest.raises(CommandError, match="No sales channel 'nope'"):
        call_command("bulk_run", "nope", "order_backfill", stdout=io.StringIO())
