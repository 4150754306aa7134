"""Django settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backoffice import task_names
from backoffice.local_env import var_dir

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. On a development machine, run "
            "`make run` once: it writes var/local.env (DEBUG=1), which manage.py reads."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # First, so its templates (the Backoffice admin's home page and branding) win.
    "staff",
    "staff.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "backoffice.versions",
    "backoffice.outbox",
    "backoffice.audit",
    "catalog",
    "inventory",
    "orders",
    "fulfillment",
    "pos",
    "delivery",
    "channels_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Versions of cached data: read at most once per request (docs/architecture.md, "Caches").
    "backoffice.versions.current.data_versions_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "channels_api.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backoffice" / "templates"],
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

# --- Database ---------------------------------------------------------------
VAR_DIR = var_dir()
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'backoffice.sqlite3'}"
# Each web thread (and Celery worker) keeps its database session DATABASE_CONN_MAX_AGE
# seconds, then opens a new one at a request's end. A new session plans its statements
# again and recompiles the triggers' functions: a long life is cheaper for PostgreSQL.
# Health checks: a session that died (a database restart or failover, a pooler's restart)
# is found by a `SELECT 1` before the request's first query and reopened, so the request
# does not fail (docs/performance.md, "Round ten"; README, "Configuration").
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded development database: wait for the writer lock instead of failing.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Writers take the lock when they begin: a transaction that reads, then writes, never
    # fails at once on "database is locked" while another writes (a webhook and a request).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_SERVER_SIDE_BINDING", True
):
    # PostgreSQL: parameters bound by the server and each statement prepared on its
    # connection once it ran DATABASE_PREPARE_THRESHOLD times there, so a persistent
    # connection parses and plans a checkout's statements once instead of every time
    # (docs/performance.md, "Planning"). Off (0) behind a pooler that cannot keep
    # prepared statements (PgBouncer in transaction mode before 1.21, or without
    # max_prepared_statements): then Django binds on the client and prepares nothing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=env_int("DATABASE_PREPARE_THRESHOLD", 5),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, the store's product pages) ---------------------------
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        # Django's Redis cache, with one client per connection pool (backoffice/redis_clients.py).
        "default": {"BACKEND": "backoffice.redis_clients.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The longest a product page's answer stays in the cache. A change to the catalog or stock
# makes it unused at once whatever this says (channels_api/store/browse_cache.py): this
# only bounds the memory old versions take.
STORE_CACHE_SECONDS = env_int("STORE_CACHE_SECONDS", 300)

# Fernet keys (newest first) for secrets kept encrypted at rest; derived from SECRET_KEY
# when empty. Generate one with: python -c "from cryptography.fernet import Fernet;
# print(Fernet.generate_key().decode())"
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", "")

# --- Auth and passwords -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = ["backoffice.login_guard.ThrottledModelBackend"]
# Staff logins: after this many failures a username or address waits LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# gunicorn serves the admin's and the API docs' assets itself (WhiteNoise), from the
# apps' static folders, so a deployment needs no collectstatic step or extra server.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Uploaded files (product pictures) -----------------------------------------
# Django's default storage: a local folder by default; any backend in production, e.g.
# MEDIA_STORAGE=storages.backends.s3.S3Storage (with django-storages and its settings).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Django serves the local media folder itself unless told not to (a proxy or CDN does it).
MEDIA_SERVE = env_bool("MEDIA_SERVE", "MEDIA_STORAGE" not in os.environ)
# Admin pages take uploads up to this size; API bodies keep API_MAX_BODY_BYTES.
ADMIN_UPLOAD_MAX_BYTES = env_int("ADMIN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)

# --- Security (production) --------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# TLS is usually terminated by the proxy in front; set SECURE_SSL_REDIRECT=1 to redirect here too.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# How many proxies in front of the app append to X-Forwarded-For; 0 ignores the header
# and takes the connection's address as the client's (backoffice/client_address.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = not DEBUG
SESSION_ENGINE = "staff.sessions"  # refuses cookies that are no session key (staff/sessions.py)
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Request limits ---------------------------------------------------------
# Bodies over this size are refused with 413 payload_too_large.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# JSON bodies nesting arrays and objects deeper than this are refused with 400 parse_error,
# before anything parses them (the API's deepest shape nests 4 levels). Not from the
# environment: far higher values would let bodies exhaust the parser's recursion again.
API_MAX_JSON_DEPTH = 32

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["channels_api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["channels_api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["channels_api.parsers.StrictJSONParser"],
    "DEFAULT_METADATA_CLASS": "channels_api.metadata.MinimalMetadata",
    "DEFAULT_RENDERER_CLASSES": ["channels_api.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "channels_api.pagination.LimitPagination",
    "DEFAULT_FILTER_BACKENDS": ["channels_api.query.StrictFilterBackend"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "channels_api.query.StrictContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "channels_api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "channels_api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 20,
    "COERCE_DECIMAL_TO_STRING": True,
}
API_PAGE_SIZE_MAX = 100
# Requests per minute per API key; a key's own limit wins; 0 turns limiting off.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 6000)
# Order lookup by number and email or phone: failed lookups allowed per order number and
# per client address in each window, whatever the key's own limit (0 turns one off).
ORDER_LOOKUP_FAILURES_PER_NUMBER = env_int("ORDER_LOOKUP_FAILURES_PER_NUMBER", 10)
ORDER_LOOKUP_FAILURES_PER_ADDRESS = env_int("ORDER_LOOKUP_FAILURES_PER_ADDRESS", 30)
ORDER_LOOKUP_WINDOW_SECONDS = env_int("ORDER_LOOKUP_WINDOW_SECONDS", 900)

SPECTACULAR_SETTINGS = {
    "TITLE": "Backoffice API",
    "DESCRIPTION": (
        "One channel-agnostic REST API for catalog, inventory, orders and fulfillment.\n\n"
        "Send `Authorization: Bearer <key>`: a channel's publishable key (`pk_...`) for "
        "`/store`, a secret key (`sk_...`) for `/admin`, a courier's token (`ft_...`) for "
        "`/fulfiller`. Every error is `application/problem+json` (the `Problem` schema) with "
        "a stable `code`; each operation lists the codes it can answer. A method a path does "
        "not have answers 405 `method_not_allowed`, with an `Allow` header naming the "
        "methods it has (after the credential is checked: 401 and 403 come first); no "
        "operation lists 405, as no operation answers it. POSTs that list an `Idempotency-Key` "
        "header are safe to retry with the same key."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Serve Swagger UI from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChannelKindEnum": "catalog.models.Channel.Kind",
        "WarehouseKindEnum": "inventory.models.Warehouse.Kind",
        "ShippingMethodKindEnum": "orders.models.ShippingMethod.Kind",
        "VoucherKindEnum": "orders.models.Voucher.Kind",
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "orders.models.Order.PaymentStatus",
        "FulfillmentStatusEnum": "orders.models.Order.FulfillmentStatus",
    },
}
# Stable schema names for choice sets that several serializers share.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "StockMovementReasonEnum": "inventory.models.StockMovement.Reason",
        "WarehouseKindEnum": "inventory.models.Warehouse.Kind",
    }
)

# --- Commerce ---------------------------------------------------------------
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "USD")
CART_MAX_LINES = env_int("CART_MAX_LINES", 100)
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 1000)
# Stored idempotent responses are kept this long (the contract promises at least 24 h).
IDEMPOTENCY_TTL_HOURS = max(env_int("IDEMPOTENCY_TTL_HOURS", 48), 24)

# --- Retention (backoffice/retention.py; beat purges hourly, 0 keeps rows forever) --------
# Finished webhook deliveries not touched for this many days.
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
# Outbox events (GET /admin/events) once dispatched and waiting for no delivery.
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 90)
# The audit trail of changes, kept longest.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730)
# Rows per DELETE: each batch is its own short transaction.
RETENTION_BATCH_SIZE = max(env_int("RETENTION_BATCH_SIZE", 1000), 1)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Without a broker, tasks run in-process (development and the embedded set-up).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
else:
    # `redis://`, `rediss://`: kombu's Redis transport, publishing with one client per
    # connection pool instead of a new one per message (backoffice/redis_clients.py), TLS
    # kept; `unix://` refused here, at start (backoffice/broker.py).
    from backoffice.broker import broker_transport

    CELERY_BROKER_TRANSPORT, CELERY_BROKER_USE_SSL = broker_transport(CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker can no longer acknowledge the late-acknowledged tasks it
# runs, which the broker hands out again: stop them instead of doing the work twice at once.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not acknowledged within this time is handed to another worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# After the broker failed to take a message, this process stops trying for this long.
BROKER_RETRY_PAUSE_SECONDS = env_int("BROKER_RETRY_PAUSE_SECONDS", 10)
# Expired reservations already stopped counting; this only deletes the rows.
CELERY_BEAT_SCHEDULE["inventory-purge-expired-reservations"] = {
    "task": task_names.RESERVATIONS_PURGE_EXPIRED,
    "schedule": 60.0,
    "options": {"expires": 55},  # a run that waited a minute in the queue is skipped
}
# A checkout's allocation (taken once paid, before its order's transaction) that no order
# took over within this many minutes is given back: its process died in between.
INVENTORY_ORPHAN_ALLOCATION_MINUTES = env_int("INVENTORY_ORPHAN_ALLOCATION_MINUTES", 10)
CELERY_BEAT_SCHEDULE["inventory-sweep-orphaned-allocations"] = {
    "task": task_names.ALLOCATIONS_SWEEP_ORPHANED,
    "schedule": 60.0,
    "options": {"expires": 55},
}

# The change counters of ended database sessions are folded into one (backoffice/versions).
CELERY_BEAT_SCHEDULE["versions-compact"] = {
    "task": task_names.DATA_VERSIONS_COMPACT,
    "schedule": 600.0,
    "options": {"expires": 590},
}

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@example.com")

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SESSION_IDLE = timedelta(hours=12)

# --- Webhooks ---------------------------------------------------------------
# 1 lets webhook endpoints target loopback, private, link-local and reserved addresses.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
# Seconds a receiver has to answer (connect, and each read) before the attempt fails.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# An endpoint is disabled after this many failed attempts in a row (0 never disables).
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 50)
# Waits before each retry; after the last one fails the delivery is abandoned (27.7 h in all).
WEBHOOK_RETRY_SCHEDULE_SECONDS = [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
# A queued or in-flight delivery not finished within this time is picked up again (a worker
# died); kept above the timeout.
WEBHOOK_LEASE_SECONDS = max(env_int("WEBHOOK_LEASE_SECONDS", 60), WEBHOOK_TIMEOUT_SECONDS + 5)
# After a secret rotation the previous secret still signs deliveries for this long.
WEBHOOK_PREVIOUS_SECRET_SECONDS = 24 * 3600
# How often beat runs the dispatcher: fans out new events and queues due retries.
WEBHOOK_DISPATCH_INTERVAL_SECONDS = env_int("WEBHOOK_DISPATCH_INTERVAL_SECONDS", 10)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["WebhookDeliveryStatusEnum"] = (
    "backoffice.outbox.models.WebhookDelivery.Status"
)
CELERY_BEAT_SCHEDULE["outbox-dispatch"] = {
    "task": task_names.OUTBOX_DISPATCH,
    "schedule": WEBHOOK_DISPATCH_INTERVAL_SECONDS,
    # A run that waited longer than the interval is superseded by the next one.
    "options": {"expires": WEBHOOK_DISPATCH_INTERVAL_SECONDS},
}
# A dead broker must not hold a request for long: the outbox nudge is sent once, without
# retries, and connecting and talking to Redis time out quickly.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault(
    "socket_connect_timeout", CELERY_BROKER_CONNECTION_TIMEOUT
)
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault(
    "socket_timeout", env_int("CELERY_BROKER_SOCKET_TIMEOUT", 5)
)

# --- Orders and API housekeeping ---------------------------------------------
CELERY_BEAT_SCHEDULE["orders-cancel-stale-unpaid"] = {
    "task": task_names.ORDERS_CANCEL_STALE_UNPAID,
    "schedule": 60.0,
    "options": {"expires": 55},
}

# --- Payments (docs/payments.md) ---------------------------------------------
# The Stripe provider is offered when a secret key is set; `test` and `manual` always are.
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")
# The webhook endpoint's signing secret (whsec_...): events without its signature get 400.
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Stripe's API address; set only to talk to a local stand-in (localstripe) in tests and demos.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# A gateway call gives up after this long (connecting and reading): no request waits longer.
PAYMENT_GATEWAY_TIMEOUT_SECONDS = env_int("PAYMENT_GATEWAY_TIMEOUT_SECONDS", 10)
# A Stripe-Signature older than this is refused (Stripe's own default tolerance).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
# Sessions still open past their order's payment window are asked about, then settled.
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": task_names.PAYMENTS_RECONCILE,
    "schedule": 60.0,
    "options": {"expires": 55},
}
# An API key coming within this many days of its `expires_at` is announced once by an
# `api_key.expiring` webhook event (channels_api/key_expiry.py); 0 turns the reminder off.
API_KEY_EXPIRY_WARNING_DAYS = env_int("API_KEY_EXPIRY_WARNING_DAYS", 14)
CELERY_BEAT_SCHEDULE["api-keys-warn-expiring"] = {
    "task": task_names.API_KEYS_WARN_EXPIRING,
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
CELERY_BEAT_SCHEDULE["retention-purge"] = {
    "task": task_names.RETENTION_PURGE,
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
CELERY_BEAT_SCHEDULE["fulfillment-plan-sweep"] = {
    "task": task_names.FULFILLMENTS_PLAN_SWEEP,
    "schedule": 60.0,
    "options": {"expires": 55},
}

# --- Channel features -------------------------------------------------------
# Public base of shop links (e.g. https://go.example.com); empty: the API's own host.
SHOP_LINK_BASE_URL = os.environ.get("SHOP_LINK_BASE_URL", "")
# A courier's token works this long unless staff give it another expiry.
FULFILLER_ACCESS_DAYS = env_int("FULFILLER_ACCESS_DAYS", 14)

# --- On-demand delivery (docs/delivery.md) -----------------------------------
# An offer not accepted within this time goes to the next courier.
DELIVERY_OFFER_SECONDS = env_int("DELIVERY_OFFER_SECONDS", 45)
# A courier who lets this many offers in a row expire is set unavailable (0: never).
DELIVERY_MISSED_OFFERS_LIMIT = env_int("DELIVERY_MISSED_OFFERS_LIMIT", 3)
# A courier who declined, missed or dropped a delivery is not offered it again for this long.
DELIVERY_REOFFER_AFTER_SECONDS = env_int("DELIVERY_REOFFER_AFTER_SECONDS", 300)
# The promise: a courier's way to the store, a round trip that frees a busy courier.
DELIVERY_COURIER_TO_STORE_MINUTES = env_int("DELIVERY_COURIER_TO_STORE_MINUTES", 5)
DELIVERY_AVERAGE_TRIP_MINUTES = env_int("DELIVERY_AVERAGE_TRIP_MINUTES", 20)
# A scheduled delivery is offered to couriers this long before it must leave the store.
DELIVERY_DISPATCH_LEAD_MINUTES = env_int("DELIVERY_DISPATCH_LEAD_MINUTES", 15)
# Wrong PINs a courier may enter before PIN entry is locked for the delivery.
DELIVERY_PIN_ATTEMPTS = env_int("DELIVERY_PIN_ATTEMPTS", 5)
# A new estimate goes on the order's timeline when it moved by at least this much.
DELIVERY_ESTIMATE_RECORD_MINUTES = env_int("DELIVERY_ESTIMATE_RECORD_MINUTES", 2)
# A courier reads the order and its thread until this long after the delivery ended.
DELIVERY_COURIER_THREAD_HOURS = env_int("DELIVERY_COURIER_THREAD_HOURS", 2)
# Courier positions (and location shares in the thread) are erased this long after the
# delivery ended.
DELIVERY_LOCATION_RETENTION_DAYS = env_int("DELIVERY_LOCATION_RETENTION_DAYS", 7)
# A dotted path to `geocode(address) -> (latitude, longitude) | None`; empty: none.
DELIVERY_GEOCODER = os.environ.get("DELIVERY_GEOCODER", "")
# Who carries a zone's deliveries (its `provider`): name -> a DeliveryProvider class.
DELIVERY_PROVIDERS = {"couriers": "delivery.providers.OwnCouriers"}
# A courier's token lives this long unless staff give it another expiry.
COURIER_TOKEN_DAYS = env_int("COURIER_TOKEN_DAYS", 365)
DELIVERY_SWEEP_SECONDS = env_int("DELIVERY_SWEEP_SECONDS", 15)
CELERY_BEAT_SCHEDULE["delivery-dispatch-sweep"] = {
    "task": task_names.DELIVERIES_DISPATCH_SWEEP,
    "schedule": DELIVERY_SWEEP_SECONDS,
    "options": {"expires": DELIVERY_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["delivery-erase-locations"] = {
    "task": task_names.DELIVERY_LOCATIONS_ERASE,
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "DeliveryStatusEnum": "delivery.models.Delivery.Status",
        "DeliveryZoneKindEnum": "delivery.models.DeliveryZone.Kind",
        "DeliveryProofEnum": "delivery.models.DeliveryZone.Proof",
        "MessageKindEnum": "orders.models.OrderMessage.Kind",
        "OfferStatusEnum": "delivery.models.DeliveryOffer.Status",
        "MessageInputKindEnum": "channels_api.message_io.MESSAGE_INPUT_KINDS",
    }
)

# --- Live streams (server-sent events) ----------------------------------------
# Where stream events are logged and pushed: Redis shared by every process. Empty and no
# Redis CACHE_URL: in this process only (`make run`), see backoffice/realtime.py.
STREAM_REDIS_URL = os.environ.get("STREAM_REDIS_URL") or (
    CACHE_URL if CACHE_URL.startswith(("redis://", "rediss://", "unix://")) else ""
)
STREAM_LOG_LENGTH = env_int("STREAM_LOG_LENGTH", 200)
STREAM_LOG_TTL_SECONDS = env_int("STREAM_LOG_TTL_SECONDS", 24 * 3600)
STREAM_QUEUE_LENGTH = env_int("STREAM_QUEUE_LENGTH", 500)
STREAM_HEARTBEAT_SECONDS = env_int("STREAM_HEARTBEAT_SECONDS", 15)
# An open stream is closed after this long (the client reconnects with Last-Event-ID).
STREAM_MAX_SECONDS = env_int("STREAM_MAX_SECONDS", 3600)
# Served by the WSGI server (no ASGI in front of the stream paths), a stream answers what
# is new and closes; EventSource reconnects after this many milliseconds.
STREAM_WSGI_RETRY_MS = env_int("STREAM_WSGI_RETRY_MS", 3000)
