"""mappings 0010: every existing channel gets a connector secret of its own, encrypted at rest."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mappings", "0009_saleschannel_vario_ids_without_defaults")]
AFTER = [("mappings", "0010_saleschannel_connector_secret")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # the state on disk after the previous run
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_channels_each_get_their_own_connector_secret_and_lose_it_backwards():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE).get_model("mappings", "SalesChannel")
        for code in ("one", "two", "three"):
            old.objects.create(code=code, name=code, vtex_account_name=f"store-{code}", vario_sales_channel_id=code)

        channels = migrate(AFTER).get_model("mappings", "SalesChannel").objects.all()
        secrets = [channel.connector_secret for channel in channels]
        assert len(set(secrets)) == 3 and all(len(secret) >= 43 for secret in secrets)
        with connection.cursor() as cursor:
            cursor.execute("SELECT connector_secret FROM mappings_saleschannel")
            stored = [row[0] for row in cursor.fetchall()]
        assert not set(stored) & set(secrets)  # encrypted, not the plain values

        back = migrate(BEFORE).get_model("mappings", "SalesChannel").objects.first()
        assert not hasattr(back, "connector_secret")
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_its_own_secrets_not_through_the_live_model_function(monkeypatch):
    # A later change to mappings.models.connector_secret_new must not change what 0010 does.
    monkeypatch.setattr("mappings.models.connector_secret_new", lambda: "the-same-for-everyone")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE).get_model("mappings", "SalesChannel")
        for code in ("one", "two"):
            old.objects.create(code=code, name=code, vtex_account_name=f"store-{code}", vario_sales_channel_id=code)

        secrets = [c.connector_secret for c in migrate(AFTER).get_model("mappings", "SalesChannel").objects.all()]

        assert "the-same-for-everyone" not in secrets
        assert len(set(secrets)) == 2 and all(len(secret) >= 43 for secret in secrets)
    finally:
        migrate(latest)
