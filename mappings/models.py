"""Configuration that integration managers edit: sales channels, toggles, mappings, order links.

This app knows nothing of RQ, VTEX or the ERP: it holds data, validates it, and offers
selectors (reads) and services (writes) to the rest of the portal.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.fields import EncryptedTextField

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

vtex_account_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*$",
    "A VTEX account name has lower-case letters, digits and hyphens only (e.g. 'mystore').",
)
vtex_environment_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*$", "A VTEX environment has lower-case letters, digits and hyphens only."
)
erp_key_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]+$",
    "Use letters, digits, '_', '.' or '-' only, without spaces (e.g. CANCELLED, DHL_EXPRESS).",
)
ERP_STATE_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def validate_service_url(value: str) -> None:
    """https everywhere; plain http only for a process on this machine (sandbox, local proxy)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ValidationError(
        "Enter an absolute https:// URL (plain http:// is accepted only for localhost or 127.0.0.1).",
        code="insecure_url",
    )


def validate_connector_endpoint(value: str) -> None:
    """The Channel Order API wants a base URL with no query string (reference/vtex.md §7): VTEX appends
    its own path and ``?an=`` to it.

    Any ``?`` or ``#`` is refused, not only a non-empty query or fragment: urlsplit reads a bare
    trailing ``?`` as an empty query, and the connector secret appended to such a URL would travel as
    a query string or a fragment instead of a path segment.
    """
    if "?" in value or "#" in value:
        raise ValidationError(
            "Enter the connector's base URL without '?' or '#' (no query string or fragment); VTEX appends its own.",
            code="connector_query",
        )


def connector_receiver_path(code: str) -> str:
    """The path a channel's connector endpoint must end in: the prefix of the portal's Channel Order
    notification route (sync/urls.py, ``webhook-channel-order-notification``). The connector secret is
    appended to the endpoint, so an endpoint anywhere else would hand the secret to another path."""
    return f"/webhooks/vtex/{code}"


def connector_secret_new() -> str:
    """A fresh connector secret: 256 random bits, URL-safe, so it can be a path segment."""
    return secrets.token_urlsafe(32)


def validate_cancelled_state_keys(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one ERP state key that means 'cancelled' (e.g. CANCELLED).")
    bad = [key for key in value if not isinstance(key, str) or not ERP_STATE_KEY_RE.match(key)]
    if bad:
        raise ValidationError(
            "These state keys are not valid (letters, digits, '_', '.', '-' only): %(keys)s",
            params={"keys": ", ".join(map(str, bad))},
        )


VTEX_TRADE_POLICY_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def validate_trade_policies(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("Give a list of VTEX trade policy ids (e.g. 1, 2).")
    bad = [policy for policy in value if not isinstance(policy, str) or not VTEX_TRADE_POLICY_RE.match(policy)]
    if bad:
        raise ValidationError("These are not VTEX trade policy ids: %(ids)s", params={"ids": ", ".join(map(str, bad))})


VTEX_ROUTES = frozenset(
    {"get_order", "start_handling", "cancel", "invoice", "tracking", "changes", "notes", "feed", "channel_order"}
)
RATE_RE = re.compile(r"^[1-9][0-9]*/[1-9][0-9]*$")


def validate_rate_limits(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Give a JSON object of route → "calls/seconds", e.g. {"invoice": "20/1"}.')
    unknown = sorted(set(value) - VTEX_ROUTES)
    if unknown:
        raise ValidationError(
            "Unknown VTEX routes: %(unknown)s. Known routes: %(known)s.",
            params={"unknown": ", ".join(unknown), "known": ", ".join(sorted(VTEX_ROUTES))},
        )
    bad = sorted(route for route, rate in value.items() if not isinstance(rate, str) or not RATE_RE.match(rate))
    if bad:
        raise ValidationError(
            'Rates are written "calls/seconds" with whole numbers, e.g. "20/1"; check: %(bad)s.',
            params={"bad": ", ".join(bad)},
        )


def default_cancelled_state_keys() -> list[str]:
    return ["CANCELLED"]


class ChannelKind(models.TextChoices):
    OWN_STORE = "own_store", "Own VTEX store"
    EXTERNAL_MARKETPLACE = "external_marketplace", "External marketplace connector"


class SyncType(models.TextChoices):
    ORDER_STATUS_UPLOAD = "order_status_upload", "Order status upload (ERP → VTEX)"
    TRACKING_UPLOAD = "tracking_upload", "Tracking upload (ERP → VTEX)"
    CANCELLATION_UPLOAD = "cancellation_upload", "Cancellation upload (ERP → VTEX)"
    RETURNS_UPLOAD = "returns_upload", "Returns upload (ERP → VTEX)"
    ORDER_DOWNLOAD = "order_download", "Order download (VTEX → ERP)"
    MARKETPLACE_STATUS = "marketplace_status", "Marketplace status (Channel Order API)"
    # VARIO's own names for the two catalog transfer types (reference/catalog-sync.md §2.2, §3.5 step 6).
    UPLOAD_ARTICLE_STOCK = "upload_article_stock", "Stock upload (ERP → VTEX, UPLOAD_ARTICLE_STOCK)"
    UPLOAD_ARTICLE_PRICE = "upload_article_price", "Price upload (ERP → VTEX, UPLOAD_ARTICLE_PRICE)"


# Created switched off, for new channels and (migration 0011) existing ones: a channel connected for orders
# must not start overwriting VTEX's stock and prices before its catalog configuration is done.
SYNC_TYPES_OFF_BY_DEFAULT = frozenset({SyncType.UPLOAD_ARTICLE_STOCK, SyncType.UPLOAD_ARTICLE_PRICE})


class ErpFulfilmentState(models.TextChoices):
    """The portal's reading of an ERP order (reference/vario-erp.md §4.3), not a tenant state key."""

    CONFIRMED = "confirmed", "Confirmed"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    FULLY_SHIPPED = "fully_shipped", "Fully shipped"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"


class PlatformStatus(models.TextChoices):
    """What the portal does on VTEX for an ERP fulfilment state."""

    PROCESSING = "processing", "Processing (start handling)"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled (partial invoices)"
    FULFILLED = "fulfilled", "Fulfilled / shipped (invoices and tracking)"
    CANCELLED = "cancelled", "Cancelled (cancel order)"
    REFUNDED = "refunded", "Refunded (return invoice)"
    IGNORED = "ignored", "Ignored (push nothing)"


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SalesChannel(TimestampedModel):
    code = models.SlugField(max_length=50, unique=True, help_text="Short unique code used in URLs, imports and logs.")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True, help_text="Inactive channels are never synced.")
    kind = models.CharField(max_length=30, choices=ChannelKind.choices, default=ChannelKind.OWN_STORE)

    vtex_account_name = models.CharField("VTEX account name", max_length=100, validators=[vtex_account_validator])
    vtex_environment = models.CharField(
        "VTEX environment",
        max_length=100,
        default="vtexcommercestable",
        validators=[vtex_environment_validator],
    )
    vtex_base_url_override = models.CharField(
        "VTEX base URL override",
        max_length=300,
        blank=True,
        validators=[validate_service_url],
        help_text="Leave empty for https://{account}.{environment}.com.br. Set to reach the sandbox or a proxy.",
    )
    vtex_app_key = models.CharField("VTEX app key", max_length=200, blank=True)
    vtex_app_token = EncryptedTextField(
        "VTEX app token",
        blank=True,
        help_text="Stored encrypted. Never shown again after saving.",
    )

    connector_name = models.CharField(max_length=100, blank=True, help_text="External marketplace connectors only.")
    connector_endpoint = models.CharField(
        max_length=300,
        blank=True,
        validators=[validate_service_url, validate_connector_endpoint],
        help_text="External marketplace connectors only: the connector's base URL for Channel Order API callbacks, "
        "https://<portal>/webhooks/vtex/<code> (no '?' or '#'; the portal appends the channel's secret to it).",
    )

    # The Channel Order API's connectorEndpoint may carry no query string (reference/vtex.md §7), so the
    # notification endpoint is authenticated by a path segment: connector_notification_endpoint below.
    # Generated, never shown nor edited; `manage.py rotate_connector_secret` replaces it and keeps the
    # previous one valid until the time it stores here (its --grace-seconds, none with --revoke-previous).
    connector_secret = EncryptedTextField(default=connector_secret_new, editable=False)
    connector_secret_previous = EncryptedTextField(blank=True, editable=False)
    connector_secret_previous_valid_until = models.DateTimeField(null=True, blank=True, editable=False)

    vtex_trade_policies = models.JSONField(
        "VTEX trade policies",
        default=list,
        blank=True,
        validators=[validate_trade_policies],
        help_text="Ids of the VTEX trade policies (an order's salesChannel) whose orders this channel imports; "
        "empty: every order of the account. Required when channels share a VTEX account, since each app key's "
        "feed and hook report every order of the account.",
    )
    vario_sales_channel_id = models.CharField(
        "VARIO sales channel id", max_length=50, blank=True, help_text="The id of this channel in VARIO ERP."
    )
    erp_cancelled_state_keys = models.JSONField(
        "ERP 'cancelled' state keys",
        default=default_cancelled_state_keys,
        validators=[validate_cancelled_state_keys],
        help_text="VARIO document state keys that mean the order is cancelled (tenant-specific).",
    )
    vtex_rate_limits = models.JSONField(
        "VTEX rate limits",
        default=dict,
        blank=True,
        validators=[validate_rate_limits],
        help_text='Per-route budgets as calls/seconds, e.g. {"invoice": "20/1", "get_order": "100/1"}. '
        "Routes: " + ", ".join(sorted(VTEX_ROUTES)) + ". Unlisted routes use the portal's default.",
    )
    # --- Order import, VTEX → ERP (issue 5) ---
    # No defaults: ids are the tenant's own, and a guess (the sandbox's 12 and 501) could book orders as
    # another document type or on a real customer's account.
    vario_order_type_id = models.CharField(
        "VARIO order document type id",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "A VARIO id is a number.")],
        help_text="Imported VTEX orders are created as this CUSTOMER_ORDER document type of the tenant. "
        "Required for order import.",
    )
    vario_account_id = models.CharField(
        "VARIO collective customer account id",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "A VARIO id is a number.")],
        help_text="The marketplace collective account imported orders are booked on. Required for order import.",
    )
    vario_delivery_method_id = models.CharField(
        "VARIO delivery method id",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "A VARIO id is a number.")],
        help_text="Optional; empty leaves it to the ERP's default.",
    )
    vario_payment_method_id = models.CharField(
        "VARIO payment method id",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "A VARIO id is a number.")],
        help_text="Optional; empty leaves it to the ERP's default.",
    )
    vtex_hook_secret = EncryptedTextField(
        "VTEX hook secret",
        blank=True,
        help_text="Sent by VTEX in the hook's custom header; the hook receiver refuses calls without it. "
        "Stored encrypted. Never shown again after saving.",
    )
    # Empty rather than NULL (Django's convention for text): "no hook" has one representation.
    vtex_hook_url = models.URLField(
        "VTEX hook URL",
        max_length=300,
        blank=True,
        validators=[validate_service_url],
        help_text="Where VTEX sends this channel's order hook; set by `manage.py configure_feed <code> --hook URL`. "
        "While set (and order download is on) the portal checks periodically that VTEX still has this hook "
        "and recreates it if VTEX deleted it. Empty: no hook is watched.",
    )
    shipping_confirmation_deadline_hours = models.PositiveIntegerField(
        default=48,
        validators=[MinValueValidator(1)],
        help_text="Hours after an order reaches the ERP within which it must be confirmed as shipped.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=ChannelKind.EXTERNAL_MARKETPLACE)
                | (~Q(connector_name="") & ~Q(connector_endpoint="")),
                name="saleschannel_marketplace_has_connector",
                violation_error_message="An external marketplace connector needs its connector name and endpoint.",
            ),
            # clean() says the same naming the other channel; this catches two saves that both passed
            # clean() at once. full_clean() skips it when clean() has already flagged vtex_app_key, so
            # a form shows one message, not two.
            models.UniqueConstraint(
                fields=["vtex_account_name", "vtex_app_key"],
                condition=~Q(vtex_app_key=""),
                name="saleschannel_one_channel_per_app_key",
                violation_error_message=(
                    "Another sales channel already uses this app key for this VTEX account. VTEX gives each "
                    "app key exactly one orders feed and one hook, and an event one channel commits is gone "
                    "for the other, so two channels on one key would each miss orders. Create a separate app "
                    "key for this channel in VTEX."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @sensitive_variables("given", "current", "previous")
    def connector_secret_matches(self, given: str) -> bool:
        """Whether ``given`` is this channel's connector secret, or its previous one until
        ``connector_secret_previous_valid_until`` (the rotation's grace period: notifications VTEX had
        already queued for the old endpoint still land). Constant time: the answer must not tell how
        much was right, so both secrets are always compared."""
        given_bytes = given.encode()
        current, previous = self.connector_secret or "", self.connector_secret_previous or ""
        valid_until = self.connector_secret_previous_valid_until
        in_grace = bool(previous) and valid_until is not None and timezone.now() < valid_until
        current_ok = bool(current) and hmac.compare_digest(given_bytes, current.encode())
        previous_ok = hmac.compare_digest(given_bytes, previous.encode()) and in_grace
        return current_ok or previous_ok

    def connector_endpoint_problem(self) -> str | None:
        """Why the connector endpoint may not carry this channel's connector secret, or None.

        Checked by ``clean()`` and again before the secret is sent (a row saved before these rules, or
        written around the form): the endpoint must be an https (or local http) URL without ``?`` or
        ``#`` whose path ends in ``connector_receiver_path`` (a proxy may put a prefix in front).
        """
        endpoint = self.connector_endpoint
        if not endpoint:
            return "it is empty"
        try:
            validate_service_url(endpoint)
            validate_connector_endpoint(endpoint)
        except ValidationError as exc:
            return " ".join(exc.messages)
        return self._connector_path_problem()

    def _connector_path_problem(self) -> str | None:
        own = connector_receiver_path(self.code)
        if urlsplit(self.connector_endpoint).path.rstrip("/").endswith(own):
            return None
        return (
            f"its path must end in {own}, this channel's notification receiver: the portal appends the "
            "channel's connector secret to it"
        )

    @property
    def connector_notification_endpoint(self) -> str:
        """The ``connectorEndpoint`` the Channel Order API is given: the connector endpoint plus this
        channel's secret segment, under which VTEX posts its processing results. Built with
        urlsplit/urlunsplit, never with a query string or fragment (reference/vtex.md §7); ValueError
        when the endpoint may not carry the secret (``connector_endpoint_problem``)."""
        problem = self.connector_endpoint_problem()
        if problem:
            raise ValueError(f"Connector endpoint of sales channel {self.code} refused: {problem}.")
        parts = urlsplit(self.connector_endpoint)
        path = f"{parts.path.rstrip('/')}/{self.connector_secret}"
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.kind == ChannelKind.EXTERNAL_MARKETPLACE:
            if not self.connector_name:
                errors["connector_name"] = "An external marketplace connector needs its connector name."
            if not self.connector_endpoint:
                errors["connector_endpoint"] = "An external marketplace connector needs its endpoint URL."
        # The field's own validators refuse a query string or fragment; this needs the channel's code.
        # (A code the field refused cannot be checked against: its own error is shown.)
        if self.connector_endpoint and self.code and (path_problem := self._connector_path_problem()):
            errors["connector_endpoint"] = f"The connector endpoint is refused: {path_problem}."
        # The inbox routes an ERP order by the VARIO sales channel it names (none: the one channel
        # without an id): two channels with one id, or two without, could not tell whose it is.
        twin = (
            SalesChannel.objects.filter(vario_sales_channel_id=self.vario_sales_channel_id).exclude(pk=self.pk).first()
        )
        if twin is not None:
            linked = (
                f"is already linked to VARIO sales channel {self.vario_sales_channel_id}"
                if self.vario_sales_channel_id
                else "already has no VARIO sales channel id (orders without one go to it)"
            )
            errors["vario_sales_channel_id"] = (
                f"Sales channel '{twin.code}' {linked}: the portal could not tell whose an ERP order is."
            )
        sharing = self._channel_sharing_the_app_key()
        overlap = self._channel_overlapping_the_account() if sharing is None else None
        if overlap is not None:
            errors["vtex_trade_policies"] = overlap
        if sharing is not None:
            errors["vtex_app_key"] = (
                f"Sales channel '{sharing.code}' already uses this app key for VTEX account "
                f"'{self.vtex_account_name}'. VTEX gives each app key exactly one orders feed and one hook, and "
                "an event one channel commits is gone for the other, so two channels on one key would each miss "
                "orders. Create a separate app key for this channel in VTEX."
            )
        if errors:
            raise ValidationError(errors)

    def _channel_overlapping_the_account(self) -> str | None:
        """Why this channel and another on the same VTEX account could both import one order, or None.

        Every app key's feed and hook report every order of the account (reference/vtex.md §1): two
        channels on one account must each name their trade policies, and no policy twice.
        """
        if not self.vtex_app_key:
            return None  # no key, no feed or hook: it imports nothing
        others = (
            SalesChannel.objects.filter(vtex_account_name=self.vtex_account_name)
            .exclude(pk=self.pk)
            .exclude(vtex_app_key="")
        )
        mine = set(self.vtex_trade_policies or [])
        for other in others.order_by("code"):
            theirs = set(other.vtex_trade_policies or [])
            if not mine or not theirs:
                unscoped = other.code if not theirs else "this channel"
                return (
                    f"Sales channel '{other.code}' reads the same VTEX account '{self.vtex_account_name}'; each app "
                    f"key's feed reports every order of the account, so both channels need trade policies, and "
                    f"{unscoped} has none. Set them on both (first on '{other.code}' if it has none)."
                )
            if mine & theirs:
                return (
                    f"Trade policies {', '.join(sorted(mine & theirs))} are also imported by sales channel "
                    f"'{other.code}' of the same VTEX account: each order would reach the ERP twice."
                )
        return None

    def imports_trade_policy(self, trade_policy: str) -> bool:
        return not self.vtex_trade_policies or trade_policy in self.vtex_trade_policies

    def _channel_sharing_the_app_key(self) -> SalesChannel | None:
        """Another channel with the same VTEX account and app key (reference/vtex.md §1: one feed per appKey).

        Inactive channels count too: activating one, or configuring its hook, would take over the queue.
        The app key is stored in plain text (only the token is encrypted), so the database compares it.
        """
        if not self.vtex_app_key or not self.vtex_account_name:
            return None
        others = SalesChannel.objects.filter(vtex_account_name=self.vtex_account_name, vtex_app_key=self.vtex_app_key)
        if self.pk is not None:
            others = others.exclude(pk=self.pk)
        return others.order_by("code").first()

    @property
    def vtex_base_url(self) -> str:
        if self.vtex_base_url_override:
            return self.vtex_base_url_override.rstrip("/")
        return f"https://{self.vtex_account_name}.{self.vtex_environment}.com.br"

    @property
    def has_vtex_credentials(self) -> bool:
        return bool(self.vtex_app_key and self.vtex_app_token)

    @property
    def is_external_marketplace(self) -> bool:
        return self.kind == ChannelKind.EXTERNAL_MARKETPLACE


class TransferToggle(TimestampedModel):
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="transfer_toggles")
    sync_type = models.CharField(max_length=30, choices=SyncType.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["channel__code", "sync_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "sync_type"],
                name="transfertoggle_unique_per_channel",
                violation_error_message="This channel already has a toggle for this sync type.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.get_sync_type_display()} {'on' if self.enabled else 'off'}"


class MarketplaceOrderStatus(models.TextChoices):
    # The Channel Order API's enum is new/approved, and its status update takes "approved"
    # (reference/vtex.md §7): the only value worth sending, so a typo cannot reach VTEX.
    APPROVED = "approved", "approved"


class StatusMapping(TimestampedModel):
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="status_mappings")
    erp_state = models.CharField("ERP fulfilment state", max_length=30, choices=ErpFulfilmentState.choices)
    platform_status = models.CharField(max_length=30, choices=PlatformStatus.choices)
    marketplace_status = models.CharField(
        max_length=100,
        blank=True,
        choices=MarketplaceOrderStatus.choices,
        help_text="External marketplace channels: the status sent with the Channel Order API update (empty: none).",
    )

    class Meta:
        ordering = ["channel__code", "erp_state"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "erp_state"],
                name="statusmapping_unique_per_channel",
                violation_error_message="This channel already maps this ERP fulfilment state.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.get_erp_state_display()} → {self.get_platform_status_display()}"


class CarrierCode(TimestampedModel):
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="carrier_codes")
    erp_carrier_key = models.CharField(
        "ERP carrier key", max_length=50, validators=[erp_key_validator], help_text="e.g. DHL, UPS, DPD"
    )
    vtex_courier_name = models.CharField("VTEX courier name", max_length=100)
    tracking_url_template = models.CharField(
        max_length=500,
        help_text="Absolute https:// URL with a {tracking_number} placeholder, "
        "e.g. https://www.dhl.de/track?piececode={tracking_number}",
    )
    accepted_by_marketplace = models.BooleanField(default=True)
    integrated_with_vtex_tracking = models.BooleanField(
        "integrated with VTEX tracking",
        default=False,
        help_text="If on, VTEX pulls tracking events itself; otherwise the portal pushes them.",
    )

    class Meta:
        ordering = ["channel__code", "erp_carrier_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "erp_carrier_key"],
                name="carriercode_unique_per_channel",
                violation_error_message="This channel already has a carrier with this ERP carrier key.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.erp_carrier_key} → {self.vtex_courier_name}"

    def clean(self) -> None:
        super().clean()
        if self.tracking_url_template:
            validate_tracking_url_template(self.tracking_url_template)

    def tracking_url(self, tracking_number: str) -> str:
        return self.tracking_url_template.replace("{tracking_number}", quote(tracking_number, safe=""))


def validate_tracking_url_template(template: str) -> None:
    errors = []
    if "{tracking_number}" not in template:
        errors.append("The tracking URL template must contain the {tracking_number} placeholder.")
    other = set(re.findall(r"\{([^}]*)\}", template)) - {"tracking_number"}
    if other:
        errors.append(
            "Only the {tracking_number} placeholder is allowed; found: "
            + ", ".join("{" + p + "}" for p in sorted(other))
        )
    parts = urlsplit(template.replace("{tracking_number}", "X"))
    if parts.scheme != "https" or not parts.hostname:
        errors.append("The tracking URL template must be an absolute https:// URL.")
    if errors:
        raise ValidationError({"tracking_url_template": errors})


class OrderLink(TimestampedModel):
    """One order known on both sides: the VTEX order and the VARIO customer order document."""

    channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="order_links")
    vtex_order_id = models.CharField("VTEX order id", max_length=100)
    marketplace_order_id = models.CharField(max_length=100, blank=True)
    erp_order_id = models.CharField("ERP order document id", max_length=50, blank=True)
    erp_order_number = models.CharField("ERP order number", max_length=100, blank=True)
    vtex_status = models.CharField("last known VTEX status", max_length=50, blank=True)
    vtex_status_at = models.DateTimeField("VTEX status seen at", null=True, blank=True)
    erp_state = models.CharField("last known ERP state", max_length=50, blank=True)
    erp_state_at = models.DateTimeField("ERP state seen at", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "vtex_order_id"],
                name="orderlink_unique_vtex_order",
                violation_error_message="This channel already has an order link for this VTEX order id.",
            ),
            models.UniqueConstraint(
                fields=["channel", "erp_order_id"],
                condition=~Q(erp_order_id=""),
                name="orderlink_unique_erp_order",
                violation_error_message="This channel already has an order link for this ERP order document id.",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "marketplace_order_id"], name="orderlink_marketplace_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.vtex_order_id} ⇄ {self.erp_order_number or self.erp_order_id or '—'}"


# --- Stock and prices, ERP → VTEX (reference/catalog-sync.md §3.1, §3.2) ---------------------------------------

INT32_MAX = 2_147_483_647  # a VTEX SKU id is an int32 (catalog-sync.md §1.2)

# ``\Z``, not ``$``: ``$`` also matches before a final line break, and an id read from a file may end in one.
vario_id_validator = RegexValidator(r"^[0-9]+\Z", "A VARIO id is a number.")
# The inventory PUT's ``dd.hh:mm:ss`` (catalog-sync.md §1.4.2), the same rule as the Logistics client's: hours
# above 23 are refused, since VTEX reads ``78:00:00`` as 78 days (§1.4.3).
LEAD_TIME_RE = re.compile(r"^(?:[0-9]{1,4}\.)?(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\Z")
# A VTEX warehouse or price table id: compared exactly (case-sensitive) and never with blanks, which break
# VTEX's internal logistics requests (catalog-sync.md §1.3, §3.1).
VTEX_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+\Z")


def validate_lead_time(value: str) -> None:
    if not isinstance(value, str) or not LEAD_TIME_RE.match(value):
        raise ValidationError(
            "Write the lead time as VTEX does, dd.hh:mm:ss or hh:mm:ss (hours 00-23), e.g. 00:00:00 or 2.12:00:00.",
            code="lead_time",
        )


def validate_vtex_id(value: str) -> None:
    if not isinstance(value, str) or not VTEX_ID_RE.match(value):
        raise ValidationError(
            "A VTEX id has no spaces or line breaks; copy it exactly as VTEX lists it (upper and lower case count).",
            code="vtex_id",
        )


currency_validator = RegexValidator(r"^[A-Z]{3}\Z", "A currency is its three-letter ISO 4217 code, e.g. EUR.")
country_validator = RegexValidator(
    r"^[A-Z]{2,3}\Z", "A country is its ISO code in capitals as VARIO stores it on the RRP, e.g. DEU."
)


class StockField(models.TextChoices):
    """Which VARIO stock figure is sent (the Q2 row's field names, catalog-sync.md §3.3)."""

    STOCK_AVAILABLE = "stockAvailable", "Available (stockAvailable: VARIO's availability determination)"
    QUANTITY_IN_STOCK = "quantityInStock", "Physical (quantityInStock)"


class PriceMode(models.TextChoices):
    GROSS = "gross", "Gross"
    NET = "net", "Net"


class ListPriceSource(models.TextChoices):
    NONE = "none", "None (no list price)"
    RRP = "rrp", "Recommended retail price (RRP)"
    PRICE_GROUP = "price_group", "A VARIO price group"


class CatalogSettings(TimestampedModel):
    """How one channel's stock and prices are computed for VTEX (catalog-sync.md §3.1, §3.4).

    One row per channel, created with it (like its transfer toggles), rather than more fields on
    ``SalesChannel``: the catalog settings import and export by channel code like the other mappings, a
    person may be allowed to change them without the channel's credentials, and the channel form stays
    what it is. The warehouse and price table maps are rows of their own (``WarehouseMapping``,
    ``PriceTableMapping``).
    """

    channel = models.OneToOneField(SalesChannel, on_delete=models.CASCADE, related_name="catalog_settings")
    stock_field = models.CharField(
        max_length=30,
        choices=StockField.choices,
        default=StockField.STOCK_AVAILABLE,
        help_text="The VARIO stock figure summed over a warehouse's storages. Available is what VARIO's guide "
        "recommends pushing: it is already net of the ERP's reservations.",
    )
    unlimited_when_sellable_without_stock = models.BooleanField(
        default=False,
        help_text="Articles VARIO lists as sellable without stock are sent to VTEX as unlimited stock.",
    )
    safety_stock = models.PositiveIntegerField(
        default=0,
        help_text="Units held back in every warehouse: VTEX gets max(0, stock − safety stock).",
    )
    lead_time = models.CharField(
        max_length=16,
        default="00:00:00",
        validators=[validate_lead_time],
        help_text="Sent with every stock update, as dd.hh:mm:ss (VTEX resets a missing lead time to 0).",
    )
    stock_debounce_seconds = models.PositiveIntegerField(
        default=5,
        validators=[MaxValueValidator(3600)],
        help_text="A stock change is sent this long after the article's last stock event (a burst is one update).",
    )
    price_debounce_seconds = models.PositiveIntegerField(
        default=10,
        validators=[MaxValueValidator(3600)],
        help_text="A price change is sent this long after the article's last price event.",
    )
    price_mode = models.CharField(
        max_length=10,
        choices=PriceMode.choices,
        default=PriceMode.GROSS,
        help_text="Whether VTEX gets VARIO's gross or net prices (a price table's own mode overrides it).",
    )
    base_price_group_id = models.CharField(
        "VARIO base price group id",
        max_length=20,
        blank=True,
        validators=[vario_id_validator],
        help_text="The VARIO price group whose price becomes VTEX's base price. Required for price upload.",
    )
    list_price_source = models.CharField(
        max_length=20,
        choices=ListPriceSource.choices,
        default=ListPriceSource.NONE,
        help_text="Where VTEX's list price (the struck-through price) comes from. It is sent only when it is "
        "above the price.",
    )
    list_price_group_id = models.CharField(
        "VARIO list price group id",
        max_length=20,
        blank=True,
        validators=[vario_id_validator],
        help_text="The VARIO price group of the list price, when its source is a price group.",
    )
    list_price_country = models.CharField(
        "RRP country",
        max_length=3,
        blank=True,
        validators=[country_validator],
        help_text="The country of the recommended retail price, when the list price is the RRP (e.g. DEU).",
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[currency_validator],
        help_text="The channel's currency (ISO 4217, e.g. EUR); a VARIO price in another currency is not sent. "
        "Required for price upload.",
    )

    class Meta:
        verbose_name = "catalog settings"
        verbose_name_plural = "catalog settings"
        ordering = ["channel__code"]

    def __str__(self) -> str:
        return f"Catalog settings of {self.channel.code}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.list_price_source == ListPriceSource.PRICE_GROUP and not self.list_price_group_id:
            errors["list_price_group_id"] = "Give the VARIO price group the list price comes from."
        if self.list_price_source == ListPriceSource.RRP and not self.list_price_country:
            # VARIO keeps one RRP per country (catalog-sync.md §3.3): without one, which of them is unclear.
            errors["list_price_country"] = "Give the country whose recommended retail price is the list price."
        if errors:
            raise ValidationError(errors)


class WarehouseMapping(TimestampedModel):
    """One VARIO storage → one VTEX warehouse of the channel. A storage maps to at most one warehouse; a
    warehouse may take several storages, whose stock is summed (catalog-sync.md §3.1)."""

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="warehouse_mappings")
    vario_storage_id = models.CharField("VARIO storage id", max_length=20, validators=[vario_id_validator])
    vtex_warehouse_id = models.CharField(
        "VTEX warehouse id",
        max_length=100,
        validators=[validate_vtex_id],
        help_text="Exactly as VTEX lists it (Logistics: warehouses); upper and lower case count.",
    )

    class Meta:
        ordering = ["channel__code", "vtex_warehouse_id", "vario_storage_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "vario_storage_id"],
                name="warehousemapping_one_warehouse_per_storage",
                violation_error_message="This channel already maps this VARIO storage: a storage goes to one "
                "VTEX warehouse only.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: storage {self.vario_storage_id} → {self.vtex_warehouse_id}"


class PriceTableMapping(TimestampedModel):
    """One VTEX price table (a trade policy id or a table name) ← one VARIO price group: its prices become
    the table's fixed prices, its quantity tiers too (catalog-sync.md §3.1, §3.3)."""

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="price_table_mappings")
    vtex_price_table = models.CharField(
        "VTEX price table",
        max_length=50,
        validators=[validate_vtex_id],
        help_text="A trade policy id or price table name exactly as VTEX lists it (Pricing: price tables).",
    )
    vario_price_group_id = models.CharField("VARIO price group id", max_length=20, validators=[vario_id_validator])
    price_mode = models.CharField(
        max_length=10,
        choices=PriceMode.choices,
        blank=True,
        help_text="Gross or net for this table; empty: the channel's price mode.",
    )

    class Meta:
        ordering = ["channel__code", "vtex_price_table"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "vtex_price_table"],
                name="pricetablemapping_unique_per_channel",
                violation_error_message="This channel already maps this VTEX price table.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: price group {self.vario_price_group_id} → table {self.vtex_price_table}"


class SkuMappingStatus(models.TextChoices):
    MAPPED = "mapped", "Mapped"
    UNMAPPED = "unmapped", "Unmapped"
    AMBIGUOUS = "ambiguous", "Ambiguous"
    INACTIVE = "inactive", "Inactive in VTEX"


class MatchedBy(models.TextChoices):
    REFID = "refid", "RefId = article number"
    EAN = "ean", "EAN"
    MANUAL = "manual", "By hand"


class SkuMapping(TimestampedModel):
    """A VARIO article of the channel and the VTEX SKU it is (catalog-sync.md §3.2).

    Matched by RefId = article number, then by EAN; a person may set the SKU by hand (``matched_by``
    manual), which matching then leaves alone. Only ``mapped`` rows are ever sent to Logistics or Pricing.
    The last values sent are kept so the pipeline sends only what differs (§3.4).
    """

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="sku_mappings")
    vario_article_id = models.CharField("VARIO article id", max_length=20, validators=[vario_id_validator])
    article_number = models.CharField(max_length=100, blank=True)
    ean = models.CharField("EAN", max_length=50, blank=True)
    # An integer, never text: Logistics takes SKU 0123 and 123 for two SKUs (catalog-sync.md §1.2).
    vtex_sku_id = models.PositiveIntegerField(
        "VTEX SKU id", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(INT32_MAX)]
    )
    matched_by = models.CharField(max_length=10, choices=MatchedBy.choices, blank=True)
    status = models.CharField(max_length=10, choices=SkuMappingStatus.choices, default=SkuMappingStatus.UNMAPPED)
    last_checked_at = models.DateTimeField("last matched at", null=True, blank=True)
    last_stock_sent = models.JSONField(
        default=dict, blank=True, help_text="The last inventory update VTEX accepted, per VTEX warehouse id."
    )
    last_stock_at = models.DateTimeField("stock last sent at", null=True, blank=True)
    last_price_sent = models.JSONField(default=dict, blank=True, help_text="The last price VTEX accepted.")
    last_price_at = models.DateTimeField("price last sent at", null=True, blank=True)
    message = models.TextField(blank=True, help_text="Why the article is not mapped, or what the last match found.")

    class Meta:
        verbose_name = "SKU mapping"
        ordering = ["channel__code", "vario_article_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "vario_article_id"],
                name="skumapping_unique_article",
                violation_error_message="This channel already has a SKU mapping for this VARIO article.",
            ),
            models.UniqueConstraint(
                fields=["channel", "vtex_sku_id"],
                condition=Q(vtex_sku_id__isnull=False),
                name="skumapping_unique_sku",
                violation_error_message="Another article of this channel is already mapped to this VTEX SKU.",
            ),
            models.CheckConstraint(
                condition=~Q(status="mapped") | Q(vtex_sku_id__isnull=False),
                name="skumapping_mapped_has_sku",
                violation_error_message="A mapped article needs its VTEX SKU id.",
            ),
        ]
        indexes = [
            # The admin's status filter and counts, the unmatched report, and the pipeline's pages of a
            # channel's mapped SKUs (keyset by id).
            models.Index(fields=["channel", "status", "id"], name="skumapping_channel_status_idx"),
            models.Index(fields=["status"], name="skumapping_status_idx"),
        ]

    def __str__(self) -> str:
        sku = self.vtex_sku_id if self.vtex_sku_id is not None else "—"
        return f"{self.channel.code}: article {self.article_number or self.vario_article_id} → SKU {sku}"

    def sku_set_by_hand(self, *, by: str = "") -> None:
        """A person set (or removed) the SKU id: the mapping is theirs, and matching leaves it alone.
        Changes only this copy; the caller saves it."""
        who = f" by {by}" if by else ""
        if self.vtex_sku_id is None:
            self.status, self.matched_by = SkuMappingStatus.UNMAPPED, ""
            self.message = f"Unmapped by hand{who}."
        else:
            self.status, self.matched_by = SkuMappingStatus.MAPPED, MatchedBy.MANUAL
            self.message = f"Mapped by hand{who}."
        self.last_checked_at = timezone.now()
