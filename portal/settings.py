"""Settings for the VARIO ERP ⇄ VTEX portal.

Every value comes from the environment through one django-environ ``Env`` (and an optional
``.env`` file next to manage.py). ``.env.example`` lists each variable. With ``DEBUG`` off the
settings are production settings: a real ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEY`` are required
and ``manage.py check --deploy --fail-level WARNING`` passes.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE lets tests and operators point at another file (or /dev/null for none).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The technical error page of DEBUG runs hides secrets inside URL settings too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.debug.PortalExceptionReporterFilter"
# The VTEX and VARIO simulators: demo and tests only. `check --deploy` fails while they are enabled.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)


def _required_in_production(name: str, *, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"The {name} environment variable is required when DEBUG is off. "
        f"Set {name} (see .env.example), or set DEBUG=1 for a development run."
    )


SECRET_KEY = _required_in_production(
    "SECRET_KEY", dev_default="django-insecure-development-only-key-never-use-in-production"
)

# Fernet keys for secrets at rest (app tokens). Comma-separated: the first encrypts, all decrypt,
# so a key can be rotated by prepending a new one. In development a key is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEY",
    default=[] if not DEBUG else [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()],
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "The FIELD_ENCRYPTION_KEY environment variable is required when DEBUG is off. Generate one with "
        '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # portal first: its rqworker command (JSON serializer by default) overrides django_rq's.
    "portal",
    "mappings",
    "sync",
    "sync.bulk",
    "sync.catalog",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_rq",
    "import_export",
    # Login throttling and lockout (LOGIN_* settings below), and TOTP devices for the admin's optional
    # second factor (ADMIN_REQUIRE_OTP). Installed always, so devices can be given before it is required.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]
if SANDBOX_ENABLED:
    INSTALLED_APPS += ["sandbox", "sandbox.vtex", "sandbox.vtex_feed", "sandbox.vario", "sandbox.vtex_catalog"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a TOTP device (read by the OTP admin site).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused (locked-out) login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# Default: a SQLite file tuned for several processes (web, workers, poller) writing at once.


def _tuned(database: dict) -> dict:
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("OPTIONS", {}).update(
            {
                # Writers wait for the lock instead of failing at once with "database is locked".
                "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
                # BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            }
        )
    else:
        # A server can restart under a kept connection; SQLite's file cannot go away like that.
        database.setdefault("CONN_HEALTH_CHECKS", True)
    # Keep connections between requests: opening one (and SQLite's PRAGMAs) costs more than a webhook.
    database.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    return database


DATABASES = {"default": _tuned(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and env.str("SQLITE_TEST_DATABASE", default=""):
    # A file, not memory, so end-to-end tests' worker processes share the test database.
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_DATABASE")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sandbox (VTEX and VARIO simulators) ----------------------------------------------------------
# Its state lives in its own database alias so simulator traffic never competes with the portal's.
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8001")
# Seconds between two looks of the sandbox's delivery loop (VTEX hooks, VARIO webhooks, callbacks).
SANDBOX_DISPATCH_INTERVAL = env.float("SANDBOX_DISPATCH_INTERVAL", default=0.2)
# Delays between VARIO webhook attempts (reference/vario-erp.md §4.4: 1, 2, 4, 8, 16 s).
SANDBOX_WEBHOOK_RETRY_DELAYS = [float(x) for x in env.list("SANDBOX_WEBHOOK_RETRY_DELAYS", default=[1, 2, 4, 8, 16])]
# Seconds a receiver may take before a delivery counts as failed (VTEX hooks and VARIO: 5 s).
SANDBOX_DELIVERY_TIMEOUT = env.float("SANDBOX_DELIVERY_TIMEOUT", default=5.0)
if SANDBOX_ENABLED:
    DATABASES["sandbox"] = _tuned(env.db("SANDBOX_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'sandbox.sqlite3'}"))
    if DATABASES["sandbox"]["ENGINE"] == "django.db.backends.sqlite3" and env.str("SQLITE_TEST_DATABASE", default=""):
        # A file too, not shared memory: the test live server hands in-memory SQLite connections to its
        # request threads, and a late request closing the shared one fails with a thread error.
        DATABASES["sandbox"]["TEST"] = {
            "NAME": str(Path(env.str("SQLITE_TEST_DATABASE")).with_name("test-sandbox.sqlite3"))
        }
DATABASE_ROUTERS = ["sandbox.routers.SandboxRouter"]

# --- Redis and RQ --------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Seconds a health check or enqueue waits for Redis before calling it unavailable.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)

# Jobs carry ids only, so JSON is enough, and no pickled payload can execute code in a worker.
RQ_SERIALIZER = "rq.serializers.JSONSerializer"
RQ_DEFAULT_TIMEOUT = env.int("RQ_DEFAULT_TIMEOUT", default=300)
RQ_QUEUE_NAMES = ["default", "bulk"]  # a worker reads them in this order: bulk runs last


def _with_timeouts(url: str, seconds: float) -> str:
    """django-rq ignores SOCKET_TIMEOUT for URL-configured queues; redis-py reads it from the URL."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_timeout", str(seconds))
    query.setdefault("socket_connect_timeout", str(seconds))
    return urlunsplit(parts._replace(query=urlencode(query)))


RQ_QUEUES = {
    name: {
        # Without timeouts an enqueue to a Redis that accepts but never answers would hang a request.
        "URL": _with_timeouts(REDIS_URL, REDIS_SOCKET_TIMEOUT),
        "DEFAULT_TIMEOUT": RQ_DEFAULT_TIMEOUT,
        "SERIALIZER": RQ_SERIALIZER,
        "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
    }
    for name in RQ_QUEUE_NAMES
}
# django-rq would register its own admin entry, whose views let any staff user empty queues and read job
# arguments; sync/admin.py registers a guarded one instead (portal/admin_rq.py).
RQ_SHOW_ADMIN_LINK = False
# Workers are RQ's with a shorter maintenance interval (portal/worker.py): a worker whose scheduler is not
# running (the lock was held by a killed worker's, or a Redis outage ended it) tries to start one this
# often (seconds; RQ's default is 600). Idle workers check when they wake, at least every periodic sweep.
RQ_MAINTENANCE_INTERVAL_SECONDS = env.int("RQ_MAINTENANCE_INTERVAL_SECONDS", default=30)
RQ = {"WORKER_CLASS": "portal.worker.PortalWorker"}

# --- VARIO ERP (reference/vario-erp.md §4.1) -------------------------------------------------------
VARIO_BASE_URL = env.str("VARIO_BASE_URL", default="")
VARIO_TOKEN_URL = env.str("VARIO_TOKEN_URL", default="")
VARIO_CLIENT_ID = env.str("VARIO_CLIENT_ID", default="")
VARIO_CLIENT_SECRET = env.str("VARIO_CLIENT_SECRET", default="")
VARIO_APP_IDENTIFIER = env.str("VARIO_APP_IDENTIFIER", default="")
VARIO_REFRESH_TOKEN = env.str("VARIO_REFRESH_TOKEN", default="")
# VARIO allows 40 requests per 6 seconds per client; all workers share this budget through Redis.
VARIO_RATE = env.str("VARIO_RATE", default="40/6")
# A VARIO 429 without Retry-After (VARIO documents no such header) waits BACKOFF, then twice as long
# per try (1, 2, 4, 8 s), at most MAX_TRIES calls in all, as reference §4.1 asks of a VARIO client.
# Every worker waits too (the limiter's block). VTEX's flat minute (RETRY_AFTER_DEFAULT_SECONDS)
# would stop every worker's ERP calls for ten of VARIO's 6-second windows.
VARIO_429_BACKOFF_SECONDS = env.float("VARIO_429_BACKOFF_SECONDS", default=1.0)
VARIO_429_MAX_TRIES = env.int("VARIO_429_MAX_TRIES", default=5)
# Where VARIO and VTEX reach the portal's webhooks (used when registering them).
PORTAL_WEBHOOK_BASE_URL = env.str("PORTAL_WEBHOOK_BASE_URL", default="http://127.0.0.1:8000")

# --- Calls to the remotes ----------------------------------------------------------------------------
REMOTE_CONNECT_TIMEOUT = env.float("REMOTE_CONNECT_TIMEOUT", default=5.0)
# VTEX recommends 20 s for its synchronous order APIs.
REMOTE_READ_TIMEOUT = env.float("REMOTE_READ_TIMEOUT", default=30.0)
# Longest a call waits for the shared rate limiter before its job is rescheduled instead.
LIMITER_MAX_WAIT_SECONDS = env.float("LIMITER_MAX_WAIT_SECONDS", default=10.0)
# The limiter's window is the remote's plus this: calls granted at the edge of the window still arrive
# inside the remote's budget when their travel times differ by less than this.
LIMITER_MARGIN_SECONDS = env.float("LIMITER_MARGIN_SECONDS", default=0.075)
# Default VTEX budget per route and account (calls/seconds); channels can override per route.
VTEX_DEFAULT_RATE = env.str("VTEX_DEFAULT_RATE", default="50/1")
# Inventory updates (PUT per SKU and warehouse) per VTEX account (calls/seconds). VTEX publishes no limit
# for Logistics; 10 a second is the working model's pace (reference/catalog-sync.md §1.6, §3.5 step 3).
VTEX_INVENTORY_WRITE_RATE = env.str("VTEX_INVENTORY_WRITE_RATE", default="10/1")
# Least wait after a VTEX 429; a longer Retry-After wins (reference/vtex.md §9: max(Retry-After,
# back-off), the feed guide recommending a minute). Repeats back off further (the job's retry
# back-off, the poller's doubling pause). VARIO backs off on its own: VARIO_429_BACKOFF_SECONDS.
RETRY_AFTER_DEFAULT_SECONDS = env.float("RETRY_AFTER_DEFAULT_SECONDS", default=60.0)

# --- Sync behaviour (small values in tests keep them fast) ------------------------------------------------
# Retryable failures back off exponentially with jitter from BASE up to MAX, at most MAX_RETRIES times.
SYNC_RETRY_BASE_SECONDS = env.float("SYNC_RETRY_BASE_SECONDS", default=5.0)
SYNC_RETRY_MAX_SECONDS = env.float("SYNC_RETRY_MAX_SECONDS", default=600.0)
SYNC_MAX_RETRIES = env.int("SYNC_MAX_RETRIES", default=10)
# "VTEX not ready yet" (EOI008/009/011, start-handling still running, return before invoicing) waits.
SYNC_NOT_YET_DELAY_SECONDS = env.float("SYNC_NOT_YET_DELAY_SECONDS", default=60.0)
SYNC_NOT_YET_MAX_WAITS = env.int("SYNC_NOT_YET_MAX_WAITS", default=60)
# VTEX applies cancellations and order modifications after answering (reference/vtex.md §3.2, §13).
# A run that sent one waits this long for it to show on the order; then it is a conflict for a person.
VTEX_CHANGE_CONFIRM_SECONDS = env.float("VTEX_CHANGE_CONFIRM_SECONDS", default=900.0)
# An ERP order create whose answer never came (read timeout, 5xx) may still have created the order: the
# import looks it up again (both external-id fields) for this long before it is a conflict for a person.
ERP_CREATE_CONFIRM_SECONDS = env.float("ERP_CREATE_CONFIRM_SECONDS", default=900.0)
# One writer per order: a Redis lock with this lease, extended by the holder every third of it while
# it works; a killed worker's lock expires after it.
SYNC_LOCK_SECONDS = env.float("SYNC_LOCK_SECONDS", default=30.0)
# The sweep re-enqueues work left pending or running this long (Redis was down, a worker was killed).
SYNC_SWEEP_AFTER_SECONDS = env.float("SYNC_SWEEP_AFTER_SECONDS", default=20.0)
SYNC_SWEEP_INTERVAL_SECONDS = env.int("SYNC_SWEEP_INTERVAL_SECONDS", default=10)
# --- Bulk runs (sync.bulk; docs/operations.md "Bulk runs") ---------------------------------------------------
# A bulk run's calls take at most this share of each remote's budget (its own window beside the shared
# one), so webhooks and the feed keep flowing during a backfill.
BULK_BUDGET_SHARE = env.float("BULK_BUDGET_SHARE", default=0.5)
# One step job works this long, then queues the next: pause and cancel take effect in between, and a
# worker is never held by one run for long (normal work comes first: the bulk queue is read last).
BULK_STEP_SECONDS = env.float("BULK_STEP_SECONDS", default=30.0)
# Items read from a remote or the database per page; the run never holds more of its scope than this.
BULK_PAGE_SIZE = env.int("BULK_PAGE_SIZE", default=100)
# A running run without progress for this long and no step queued lost its worker: the sweep resumes it.
BULK_STALE_SECONDS = env.float("BULK_STALE_SECONDS", default=120.0)
# The scheduled reconciliation: every channel with order status upload, over the last N days, as a dry
# run that only reports (0 switches it off). A person repairs from its report.
BULK_RECONCILE_INTERVAL_SECONDS = env.int("BULK_RECONCILE_INTERVAL_SECONDS", default=86400)
BULK_RECONCILE_DAYS = env.int("BULK_RECONCILE_DAYS", default=7)
# VTEX's List orders serves 30 pages (reference/vtex.md §1.6): the order backfill cuts its date range in
# halves until each slice fits, but no slice narrower than this; one that still holds more than 30 pages
# is read as far as VTEX allows and the run says which range was cut off (sync.bulk.vtex_scan).
BULK_VTEX_MIN_SLICE_SECONDS = env.int("BULK_VTEX_MIN_SLICE_SECONDS", default=60)

# --- Stock and prices (sync.catalog; docs/catalog.md) ------------------------------------------------------
# One batch job takes at most this many eligible articles of a channel and topic and reads the ERP for all of
# them in one query (reference/catalog-sync.md §3.5 step 3: batches of at most 50).
CATALOG_BATCH_SIZE = env.int("CATALOG_BATCH_SIZE", default=50)
# An article's events are debounced (the channel's catalog settings), but never for longer than this after the
# first of a steady stream: a change every few seconds would otherwise never be sent.
CATALOG_DEBOUNCE_MAX_SECONDS = env.float("CATALOG_DEBOUNCE_MAX_SECONDS", default=60.0)
# Least time between two inventory updates of one SKU and warehouse, and never two at once (§3.5 step 4):
# VTEX discards a second update that comes within milliseconds (423, §1.4.2).
CATALOG_INVENTORY_SPACING_SECONDS = env.float("CATALOG_INVENTORY_SPACING_SECONDS", default=2.0)

# Stored events are handed to workers in batches: one drain job takes at most this many at a time.
INBOX_DRAIN_BATCH_SIZE = env.int("INBOX_DRAIN_BATCH_SIZE", default=20)
# Webhooks hand their stored events to the workers from a background thread of the web process (one
# Redis call for whatever piled up), not inside the request. Off: at once, in the request's thread.
INBOX_HANDOFF_THREAD = env.bool("INBOX_HANDOFF_THREAD", default=True)
# How long that thread lets ids gather after the first before it sends them (seconds): the delay a
# worker sees, traded for one Redis call and one thread wake-up per batch instead of per webhook.
INBOX_HANDOFF_LINGER_SECONDS = env.float("INBOX_HANDOFF_LINGER_SECONDS", default=0.005)
# Webhook bodies larger than this are refused with 413.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
# A VARIO app token issued ("iat") up to this many seconds in the future is accepted: clocks drift.
# Its expiry ("exp") is checked without it.
VARIO_TOKEN_CLOCK_LEEWAY_SECONDS = env.int("VARIO_TOKEN_CLOCK_LEEWAY_SECONDS", default=60)
# A VARIO app token whose "exp" lies further ahead than this is refused: VARIO's real lifetime is
# unpublished (the simulator issues 60 s, reference/vario-erp.md §4.4), so the cap only stops absurd ones.
VARIO_TOKEN_MAX_LIFETIME_SECONDS = env.int("VARIO_TOKEN_MAX_LIFETIME_SECONDS", default=24 * 3600)
# While rotating the client secret in VARIO: the old secret, whose tokens are accepted too and which a
# token refresh VARIO refuses as invalid_client is repeated with once (sync/clients/vario.py). Remove it
# once VARIO signs with the new one (docs/operations.md "Rotating secrets").
VARIO_CLIENT_SECRET_PREVIOUS = env.str("VARIO_CLIENT_SECRET_PREVIOUS", default="")
# After `manage.py rotate_connector_secret`, a channel's previous connector secret (the path segment of
# its Channel Order API notification URL) stays valid this long, so notifications VTEX queued land. The
# command's default: --grace-seconds N or --revoke-previous choose per rotation, and the end is stored
# on the channel (connector_secret_previous_valid_until).
VTEX_CONNECTOR_SECRET_GRACE_SECONDS = env.int("VTEX_CONNECTOR_SECRET_GRACE_SECONDS", default=24 * 3600)

# --- Benchmarks ------------------------------------------------------------------------------------
# Routes /_bench/bare/<event>, the bare JSON view `make bench` compares the webhook with. Never on in production.
BENCH_VIEWS = env.bool("BENCH_VIEWS", default=False)

# --- Inbound (VTEX → ERP) -------------------------------------------------------------------------
# Feed statuses the import needs (reference/vtex.md §1.2: not validated by VTEX, so typos never match).
VTEX_FEED_STATUSES = env.list(
    "VTEX_FEED_STATUSES", default=["ready-for-handling", "cancellation-requested", "canceled"]
)
# Seconds a retrieved feed item stays invisible; the poller commits long before (store, then commit).
# 1 to 43200 (VTEX's bounds, reference/vtex.md §1.2); sync/checks.py reports a value outside them.
VTEX_FEED_VISIBILITY_TIMEOUT = env.int("VTEX_FEED_VISIBILITY_TIMEOUT", default=300)
# Seconds an uncommitted item lives (VTEX: 4 to 14 days, checked by sync/checks.py). The longest outage
# the portal survives.
VTEX_FEED_RETENTION = env.int("VTEX_FEED_RETENTION", default=1209600)
# Seconds the poller sleeps after a batch that was not full (a full one is followed at once).
FEED_POLL_SLEEP_SECONDS = env.float("FEED_POLL_SLEEP_SECONDS", default=5.0)
# Lease of the per-account poller lock; a standby poller takes over this long after the active one died.
FEED_POLL_LOCK_SECONDS = env.float("FEED_POLL_LOCK_SECONDS", default=60.0)
# While batches come back full, the poll state's "last success" is written at most this often.
FEED_STATE_WRITE_SECONDS = env.float("FEED_STATE_WRITE_SECONDS", default=1.0)
# While batches come back full, the poller re-reads its channels (active, order download on) at most this
# often; after a sleep it always does.
FEED_CHANNELS_REFRESH_SECONDS = env.float("FEED_CHANNELS_REFRESH_SECONDS", default=1.0)
# A polling channel whose last successful poll is older than this is stale: /healthz/feed answers 503,
# `check_feed` exits 1 and the periodic check logs an ERROR. Well above the poller's longest own wait
# (a 429's minute) so a throttled but working poller does not alert.
FEED_STALE_AFTER_SECONDS = env.int("FEED_STALE_AFTER_SECONDS", default=300)
# How often the periodic process looks for stale feed polls (and logs them at ERROR).
FEED_STALE_CHECK_INTERVAL_SECONDS = env.int("FEED_STALE_CHECK_INTERVAL_SECONDS", default=60)
# How often the periodic process checks that VTEX still has each channel's hook (VTEX deletes a hook
# after 3 days without notifications) and recreates it. Well inside those 3 days.
VTEX_HOOK_CHECK_INTERVAL_SECONDS = env.int("VTEX_HOOK_CHECK_INTERVAL_SECONDS", default=3600)
# Header VTEX sends on hook notifications (the hook configuration's custom header; value per channel).
VTEX_HOOK_SECRET_HEADER = env.str("VTEX_HOOK_SECRET_HEADER", default="X-Portal-Hook-Secret")
# Seconds an ERP article id found by SKU/EAN is cached (only hits are cached).
VARIO_ARTICLE_CACHE_SECONDS = env.int("VARIO_ARTICLE_CACHE_SECONDS", default=600)

# --- Auth ----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes first, as it requires: it refuses a locked-out login before any backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Logging in: throttling and lockout (django-axes) -----------------------------------------------
# After LOGIN_FAILURE_LIMIT failed logins, further logins (even with the right password) are refused with
# 429 for LOGIN_COOLOFF_SECONDS after the last failure; a failure during the lockout starts it again.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("LOGIN_COOLOFF_SECONDS", default=900))
# What failures are counted by: comma-separated sets, a set's parts joined with "+". The default locks
# a user name from one client address only, so nobody can lock a colleague out from elsewhere by
# typing their name; "ip_address" alone also stops one address spraying many user names, at the price
# of locking everyone behind one NAT; "username" alone stops a distributed guess, but anyone can lock
# the account out. docs/operations.md "Logging in".
AXES_LOCKOUT_PARAMETERS = [
    part.split("+") if "+" in part else part for part in env.list("LOGIN_LOCKOUT_BY", default=["username+ip_address"])
]
if not AXES_LOCKOUT_PARAMETERS or not all(
    name in ("username", "ip_address", "user_agent")
    for part in AXES_LOCKOUT_PARAMETERS
    for name in ([part] if isinstance(part, str) else part)
):
    raise ImproperlyConfigured(
        "LOGIN_LOCKOUT_BY takes comma-separated sets of username, ip_address and user_agent joined with '+', "
        "e.g. 'username+ip_address' or 'ip_address'."
    )
# A successful login forgets that user's earlier failures from that address.
AXES_RESET_ON_SUCCESS = True
# The client address: behind the TLS proxy the one it appended to X-Forwarded-For, else the peer's.
AXES_CLIENT_IP_CALLABLE = "portal.auth.client_ip"
# No start-up banner in every command's output; failures and lockouts are still logged (WARNING).
AXES_VERBOSE = False
# The login form's field, named here: axes' default is a lazy object that the error page's settings
# filter (portal/debug.py) cannot read as the text it claims to be.
AXES_USERNAME_FORM_FIELD = "username"

# --- Logging in: TOTP second factor for the admin (django-otp) ----------------------------------------
# On: the admin (and its login) needs a confirmed TOTP device besides the password; a staff user without
# one cannot log in. Give devices first: `manage.py add_totp_device <username>` (docs/operations.md).
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=False)
# The name authenticator apps show next to the user name.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="VARIO VTEX portal")
# A device's key is a secret: the admin never shows it or its QR code again (add_totp_device shows it once).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- I18N ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic` first; tests and development do without.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATICFILES_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Import/export -------------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Import needs the model's change permission (the admin also requires add: mappings/admin.py), export its
# view permission; unset, django-import-export lets any staff user import and export.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Security (production defaults; each can be relaxed through the environment) ------------------
# On: TLS ends at a proxy that sets X-Forwarded-Proto and appends the client's address to X-Forwarded-For
# (read by the login lockout, portal/auth.py). Off: neither header is trusted.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and monitors probe /healthz and /healthz/feed over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/feed$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging -------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "portal.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Failed logins and lockouts are WARNINGs; its INFO lines narrate every attempt.
        "axes": {"level": "WARNING"},
    },
}
