"""The VTEX simulator's state after a reset: the demo account with the key pair the demo channel uses."""

from sandbox.vtex.models import Account

DEMO_ACCOUNT = "demostore"
DEMO_APP_KEY = "vtexappkey-demostore-PORTAL"
DEMO_APP_TOKEN = "demo-app-token"  # noqa: S105 - a simulator credential, printed in the docs


def vtex_seed() -> None:
    Account.objects.get_or_create(
        app_key=DEMO_APP_KEY, defaults={"account_name": DEMO_ACCOUNT, "app_token": DEMO_APP_TOKEN}
    )
