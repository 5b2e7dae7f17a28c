"""Secrets rotate (issue #13 §5): FIELD_ENCRYPTION_KEY's old keys read, `reencrypt_secrets` moves every
stored secret to the new key, and a VTEX app token changed after a job was queued is the one it sends."""

import io

import django_rq
import pytest
import responses
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from rq import SimpleWorker

from mappings.models import SalesChannel
from portal.fields import encrypted_fields
from sync import queue as sync_queue
from sync.models import OrderSync
from tests.factories import OrderSyncFactory, SalesChannelFactory
from tests.support.fixtures import load_fixture

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
TOKEN = "OLD-KEY-TOKEN-do-not-leak"
HOOK_SECRET = "OLD-KEY-HOOK-SECRET-do-not-leak"


def stored(channel: SalesChannel, column: str = "vtex_app_token") -> str:
    """The token in the database, as the field wrote it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {SalesChannel._meta.db_table} WHERE id = %s", [channel.pk])  # noqa: S608
        return cursor.fetchone()[0]


def reencrypt() -> str:
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


@pytest.fixture
def under_the_old_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    return SalesChannelFactory(code="shop", vtex_app_token=TOKEN, vtex_hook_secret=HOOK_SECRET)


def test_every_encrypted_field_is_found():
    labels = {f"{model._meta.label}.{field.name}" for model, field in encrypted_fields()}
    assert {"mappings.SalesChannel.vtex_app_token", "mappings.SalesChannel.vtex_hook_secret"} <= labels


def test_a_secret_under_the_old_key_is_read_with_new_and_old_then_reencrypted_read_with_new_alone(
    settings, under_the_old_key
):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(ImproperlyConfigured, match="reencrypt_secrets"):
        SalesChannel.objects.get(code="shop")

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert SalesChannel.objects.get(code="shop").vtex_app_token == TOKEN
    out = reencrypt()

    assert "mappings.SalesChannel.vtex_app_token: 1 re-encrypted, 0 already under the first key, 0 empty" in out
    assert "mappings.SalesChannel.vtex_hook_secret: 1 re-encrypted" in out
    assert TOKEN not in out and HOOK_SECRET not in out
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    channel = SalesChannel.objects.get(code="shop")
    assert (channel.vtex_app_token, channel.vtex_hook_secret) == (TOKEN, HOOK_SECRET)
    assert Fernet(NEW_KEY.encode()).decrypt(stored(channel).encode()).decode() == TOKEN


def test_a_second_run_changes_nothing(settings, under_the_old_key):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    reencrypt()
    before = stored(under_the_old_key)

    out = reencrypt()

    assert "mappings.SalesChannel.vtex_app_token: 0 re-encrypted, 1 already under the first key, 0 empty" in out
    assert stored(under_the_old_key) == before


def test_empty_secrets_stay_empty(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    channel = SalesChannelFactory(code="bare", vtex_app_token="", vtex_hook_secret="")

    out = reencrypt()

    assert "mappings.SalesChannel.vtex_app_token: 0 re-encrypted, 0 already under the first key, 1 empty" in out
    assert stored(channel) == ""


def test_a_secret_no_key_decrypts_stops_the_run_and_nothing_changes(settings, under_the_old_key):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    lost = SalesChannelFactory(code="lost", vtex_app_token="LOST-KEY-TOKEN-do-not-leak")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    before = stored(under_the_old_key)

    with pytest.raises(CommandError, match=f"Cannot decrypt mappings.SalesChannel.vtex_app_token of row {lost.pk}"):
        reencrypt()

    assert stored(under_the_old_key) == before  # the shop's row, before the lost one, was rolled back too


# --- a VTEX app token changed after the job was queued ---------------------------------------------------


@responses.activate
def test_a_job_queued_before_the_app_token_changed_sends_the_new_token(redis_conn, settings):
    settings.LIMITER_MARGIN_SECONDS = 0
    channel = SalesChannelFactory(code="shop", vtex_app_token="TOKEN-BEFORE-do-not-leak")
    order = load_fixture("vtex/order__handling")
    get_order = responses.get(f"{channel.vtex_base_url}/api/oms/pvt/orders/{order['orderId']}", json=order)
    sync = OrderSyncFactory(kind=OrderSync.Kind.IMPORT, channel=channel, key=order["orderId"])
    assert sync_queue.order_sync_enqueue(order_sync_id=sync.pk, kind="import")
    queue = django_rq.get_queue(sync_queue.QUEUE)
    [job] = queue.get_jobs()
    assert job.args == [sync.pk]  # the job carries the id, not the channel or its token

    channel.vtex_app_token = "TOKEN-AFTER-do-not-leak"
    channel.save()
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)

    assert job.get_status(refresh=True) == "finished"
    assert get_order.call_count == 1
    assert get_order.calls[0].request.headers["X-VTEX-API-AppToken"] == "TOKEN-AFTER-do-not-leak"
