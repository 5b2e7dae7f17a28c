"""The VTEX simulator's state after a reset: the demo account with the key pair the demo channel uses,
and the rate limits VTEX publishes for the order routes (reference §2, §9)."""

from sandbox import harness
from sandbox.models import RateLimitRule, Remote
from sandbox.vtex.models import Account

DEMO_ACCOUNT = "demostore"
# A simulator credential, printed in the docs; defined once in sandbox.harness.
DEMO_APP_KEY = harness.VTEX_APP_KEY
DEMO_APP_TOKEN = harness.VTEX_APP_TOKEN

# Limits are counted per caller (appKey), which stands for VTEX's "per account".
PUBLISHED_LIMITS = [
    # Get order: "up to 6000 requests per minute" per account (Orders API spec).
    {"name": "vtex-get-order", "method": "GET", "path_pattern": r"^/api/oms/pvt/orders/[^/]+$", "limit": 6000},
    # List orders: 6000/min in the PII spec, 5000/min in an older page; the stricter one.
    {"name": "vtex-list-orders", "method": "GET", "path_pattern": r"^/api/oms/pvt/orders$", "limit": 5000},
]


def vtex_seed() -> None:
    Account.objects.get_or_create(
        app_key=DEMO_APP_KEY, defaults={"account_name": DEMO_ACCOUNT, "app_token": DEMO_APP_TOKEN}
    )
    for rule in PUBLISHED_LIMITS:
        RateLimitRule.objects.get_or_create(
            remote=Remote.VTEX, name=rule["name"], defaults={**rule, "window_seconds": 60}
        )
