"""Migrations that change existing rows' tables, run forwards and backwards on a database with data."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mappings", "0003_saleschannel_order_import")]
AFTER = [("mappings", "0004_saleschannel_vtex_hook_url")]
# 0010: every existing channel gets a connector secret of its own, encrypted at rest.
BEFORE_CONNECTOR_SECRET = [("mappings", "0009_saleschannel_vario_ids_without_defaults")]
AFTER_CONNECTOR_SECRET = [("mappings", "0010_saleschannel_connector_secret")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # the state on disk after the previous run
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_hook_url_is_added_empty_to_existing_channels_and_removed_again():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = migrate(BEFORE)
        old_apps.get_model("mappings", "SalesChannel").objects.create(
            code="shop", name="Shop", vtex_account_name="demostore"
        )

        new_apps = migrate(AFTER)
        channel = new_apps.get_model("mappings", "SalesChannel").objects.get(code="shop")
        assert channel.vtex_hook_url == ""

        channel.vtex_hook_url = "https://portal.example.com/webhooks/vtex/shop/orders"
        channel.save()
        back = migrate(BEFORE).get_model("mappings", "SalesChannel").objects.get(code="shop")
        assert not hasattr(back, "vtex_hook_url")
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_free_text_marketplace_statuses_become_approved():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = migrate([("mappings", "0005_marketplace_status_choices")])
        channel = old_apps.get_model("mappings", "SalesChannel").objects.create(
            code="mkp", name="Marketplace", vtex_account_name="demostore"
        )
        mappings = old_apps.get_model("mappings", "StatusMapping")
        for erp_state, status in (("confirmed", "APPROVED"), ("fully_shipped", ""), ("cancelled", "approved")):
            mappings.objects.create(
                channel=channel, erp_state=erp_state, platform_status="processing", marketplace_status=status
            )

        new_apps = migrate([("mappings", "0006_marketplace_status_values")])

        rows = new_apps.get_model("mappings", "StatusMapping").objects.order_by("erp_state")
        assert [(m.erp_state, m.marketplace_status) for m in rows] == [
            ("cancelled", "approved"),
            ("confirmed", "approved"),
            ("fully_shipped", ""),
        ]
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_channels_already_sharing_an_app_key_stop_the_constraint_with_their_codes():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    before = [("mappings", "0006_marketplace_status_values")]
    try:
        channels = migrate(before).get_model("mappings", "SalesChannel")
        for code in ("shop", "shop-b2b"):
            channels.objects.create(code=code, name=code, vtex_account_name="demostore", vtex_app_key="K")
        channels.objects.create(code="draft", name="Draft", vtex_account_name="demostore", vtex_app_key="")

        with pytest.raises(RuntimeError, match=r"account 'demostore': shop, shop-b2b\. Give each channel"):
            migrate([("mappings", "0007_saleschannel_one_channel_per_app_key")])

        assert channels.objects.count() == 3  # nothing deleted
        channels.objects.filter(code="shop-b2b").update(vtex_app_key="K2")
        migrate([("mappings", "0007_saleschannel_one_channel_per_app_key")])
    finally:
        # With the model as of `before`: its columns exist whichever state the test stopped in.
        MigrationExecutor(connection).loader.project_state(before).apps.get_model(
            "mappings", "SalesChannel"
        ).objects.all().delete()
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_existing_channels_each_get_their_own_connector_secret_and_lose_it_backwards():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE_CONNECTOR_SECRET).get_model("mappings", "SalesChannel")
        for code in ("one", "two", "three"):
            old.objects.create(code=code, name=code, vtex_account_name=f"store-{code}", vario_sales_channel_id=code)

        channels = migrate(AFTER_CONNECTOR_SECRET).get_model("mappings", "SalesChannel").objects.all()
        secrets = [channel.connector_secret for channel in channels]
        assert len(set(secrets)) == 3 and all(len(secret) >= 43 for secret in secrets)
        with connection.cursor() as cursor:
            cursor.execute("SELECT connector_secret FROM mappings_saleschannel")
            stored = [row[0] for row in cursor.fetchall()]
        assert not set(stored) & set(secrets)  # encrypted, not the plain values

        back = migrate(BEFORE_CONNECTOR_SECRET).get_model("mappings", "SalesChannel").objects.first()
        assert not hasattr(back, "connector_secret")
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_its_own_secrets_not_through_the_live_model_function(monkeypatch):
    # A later change to mappings.models.connector_secret_new must not change what 0010 does.
    monkeypatch.setattr("mappings.models.connector_secret_new", lambda: "the-same-for-everyone")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE_CONNECTOR_SECRET).get_model("mappings", "SalesChannel")
        for code in ("one", "two"):
            old.objects.create(code=code, name=code, vtex_account_name=f"store-{code}", vario_sales_channel_id=code)

        channels = migrate(AFTER_CONNECTOR_SECRET).get_model("mappings", "SalesChannel").objects.all()
        secrets = [c.connector_secret for c in channels]

        assert "the-same-for-everyone" not in secrets
        assert len(set(secrets)) == 2 and all(len(secret) >= 43 for secret in secrets)
    finally:
        migrate(latest)


# 0011/0012: the catalog's transfer toggles and settings for channels that existed before.
BEFORE_CATALOG = [("mappings", "0010_saleschannel_connector_secret")]
AFTER_TOGGLES = [("mappings", "0011_transfertoggle_stock_and_price_upload")]
AFTER_SETTINGS = [("mappings", "0012_catalogsettings")]


@pytest.mark.django_db(transaction=True)
def test_existing_channels_get_stock_and_price_upload_switched_off_and_lose_them_backwards():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE_CATALOG)
        channels = old.get_model("mappings", "SalesChannel")
        toggles = old.get_model("mappings", "TransferToggle")
        for code in ("one", "two"):
            channel = channels.objects.create(
                code=code, name=code, vtex_account_name=f"store-{code}", vario_sales_channel_id=code
            )
            toggles.objects.create(channel=channel, sync_type="order_status_upload", enabled=True)

        new = migrate(AFTER_TOGGLES).get_model("mappings", "TransferToggle").objects
        rows = sorted(new.values_list("channel__code", "sync_type", "enabled"))

        assert rows == [
            ("one", "order_status_upload", True),
            ("one", "upload_article_price", False),
            ("one", "upload_article_stock", False),
            ("two", "order_status_upload", True),
            ("two", "upload_article_price", False),
            ("two", "upload_article_stock", False),
        ]
        back = migrate(BEFORE_CATALOG).get_model("mappings", "TransferToggle").objects
        assert sorted(back.values_list("sync_type", flat=True)) == ["order_status_upload", "order_status_upload"]
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_existing_channels_get_their_catalog_settings_with_the_defaults():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        channels = migrate(AFTER_TOGGLES).get_model("mappings", "SalesChannel")
        for code in ("one", "two"):
            channels.objects.create(code=code, name=code, vtex_account_name=f"s-{code}", vario_sales_channel_id=code)

        settings = migrate(AFTER_SETTINGS).get_model("mappings", "CatalogSettings").objects

        assert sorted(settings.values_list("channel__code", "stock_field", "lead_time", "price_mode")) == [
            ("one", "stockAvailable", "00:00:00", "gross"),
            ("two", "stockAvailable", "00:00:00", "gross"),
        ]
    finally:
        migrate(latest)
