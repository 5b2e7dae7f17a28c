"""Keeps the simulators' tables in the `sandbox` database alias and the portal's out of it."""

SANDBOX_APP_LABELS = frozenset(
    {"sandbox", "sandbox_vtex", "sandbox_vtex_feed", "sandbox_vario", "sandbox_vtex_catalog"}
)
SANDBOX_DB = "sandbox"


class SandboxRouter:
    def db_for_read(self, model, **hints):
        return SANDBOX_DB if model._meta.app_label in SANDBOX_APP_LABELS else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        in_sandbox = {obj._meta.app_label in SANDBOX_APP_LABELS for obj in (obj1, obj2)}
        return None if len(in_sandbox) == 1 else False

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in SANDBOX_APP_LABELS:
            return db == SANDBOX_DB
        if db == SANDBOX_DB:
            # The sandbox alias holds only the simulators (plus contenttypes, which migrate needs).
            return app_label == "contenttypes"
        return None
