"""Consentry's one settings module: every value comes from the environment, parsed strictly.

The README's configuration table lists each variable; keep the two in step.
"""

from __future__ import annotations

import secrets
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from consentry.env import Env

env = Env()
BASE_DIR = Path(__file__).resolve().parent.parent

# Where the embedded default keeps its SQLite database, generated secret key and media.
VAR_DIR = Path(env.text("VAR_DIR") or BASE_DIR / "var")

# Django's debug mode; never on in production (it also allows a generated SECRET_KEY).
DEBUG = env.flag("DEBUG", False)

# Signs cookies, email tokens and sessions. With DEBUG off, start-up refuses to run without one.
_secret = env.text("SECRET_KEY")
if _secret is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off; "
            "`make run` generates one under ./var/ for a trial"
        )
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    _secret = _key_file.read_text().strip()
if len(_secret) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
SECRET_KEY = _secret

# Host names this server answers to.
ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

# The tracker's public base URL, used in emails and scripts (no trailing slash).
PUBLIC_URL = (env.text("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")

# The database; unset means SQLite under VAR_DIR (the embedded default).
_database_url = env.text("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'consentry.sqlite3'}"
try:
    _db: dict[str, Any] = dict(
        dj_database_url.parse(_database_url, conn_max_age=600, conn_health_checks=True)
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if _db["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    raise ImproperlyConfigured("DATABASE_URL must be postgres://… or sqlite:///…")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept, as on PostgreSQL (one per thread; Django never shares them).
    # Closing the last connection checkpoints the WAL into the database and deletes it, with
    # an fsync: closed after every request, a hit cost 14 ms instead of 1 ms.
    _db["OPTIONS"] = {
        # The embedded default has two web workers and a scheduler thread in each, all writing
        # to one file. A transaction that reads first and writes later (Django's default,
        # DEFERRED) fails at once with "database is locked" when another writer committed in
        # between: no timeout helps, because its snapshot is stale. IMMEDIATE takes the write
        # lock at BEGIN, so writers queue for it instead.
        "transaction_mode": "IMMEDIATE",
        # How long a writer waits for the lock (seconds): a request waits, it does not fail.
        "timeout": 20,
        # WAL: readers never wait for the writer. NORMAL syncs at checkpoints, not at every
        # commit; in WAL mode it never corrupts the file, and a power cut loses at most the
        # last commits.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis for the event stream, Celery and rate limits; unset means the embedded in-process pipeline.
REDIS_URL = env.text("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://"
    )

# off: count and store nothing; anonymous: cookieless counting only; consent: cookies only
# after an explicit grant; always: legacy, for sites that gate the script behind their own CMP.
TRACKING_MODE = env.choice("TRACKING_MODE", "consent", ("off", "anonymous", "consent", "always"))

# Does a Do-Not-Contact entry also revoke tracking (cookies and identification)?
DNC_REVOKES_TRACKING = env.flag("DNC_REVOKES_TRACKING", True)

# Does each web process keep who is on Do-Not-Contact in memory, told of every change by
# PostgreSQL (LISTEN/NOTIFY, contacts/dnc_view.py), instead of asking the database on every
# identified hit? Every process honours a change a few milliseconds after it commits, the one
# that made it at once; until a process has its copy, and whenever it lost PostgreSQL's
# notices, it asks the database. PostgreSQL only: on SQLite every hit asks the database.
DNC_LISTEN = env.flag("DNC_LISTEN", True)

# Is the Sec-GPC: 1 header treated as a refusal?
HONOR_GPC = env.flag("HONOR_GPC", True)

# Is the DNT: 1 header treated as a refusal?
HONOR_DNT = env.flag("HONOR_DNT", True)

# May the email a page sends with its pageview (Mautic's mt('send', 'pageview', {email}), the
# pixel's email=) tie the hit to a contact, found or created by that email? Only ever with the
# gate's permit to identify and store; off, the page's contact fields are dropped unread.
PAGE_FIELDS_IDENTIFY = env.flag("PAGE_FIELDS_IDENTIFY", False)

# Domain attribute of the tracker's cookies; unset means host-only cookies.
COOKIE_DOMAIN = env.text("COOKIE_DOMAIN")

# Are the tracker's cookies sent over HTTPS only?
COOKIE_SECURE = env.flag("COOKIE_SECURE", True)

# SameSite attribute of the tracker's cookies.
_SAMESITE: dict[str, Literal["Lax", "Strict", "None"]] = {
    "lax": "Lax",
    "strict": "Strict",
    "none": "None",
}
COOKIE_SAMESITE = _SAMESITE[env.choice("COOKIE_SAMESITE", "lax", tuple(_SAMESITE))]
if COOKIE_SAMESITE == "None" and not COOKIE_SECURE:
    raise ImproperlyConfigured("COOKIE_SAMESITE=none needs COOKIE_SECURE=true (browsers drop it)")

# Reverse proxies (CIDRs) whose X-Forwarded-For is believed.
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES")

# How many trailing bytes of an IPv4 address are zeroed before anything is stored.
IP_MASK_V4_BYTES = env.number("IP_MASK_V4_BYTES", 2, minimum=1, maximum=4)

# How many trailing bits of an IPv6 address are zeroed before anything is stored.
IP_MASK_V6_BITS = env.number("IP_MASK_V6_BITS", 80, minimum=8, maximum=128)

# The version of the privacy notice that a consent given now refers to.
CONSENT_NOTICE_VERSION = env.text("CONSENT_NOTICE_VERSION") or "1"

# Who decides what is done with the visitors' data (GDPR Art. 13(1)(a)), named on the privacy
# choices page with a contact address; unset, the page says the operator has not named one.
CONTROLLER_NAME = env.text("CONTROLLER_NAME") or ""
CONTROLLER_CONTACT = env.email("CONTROLLER_CONTACT")

# The operator's privacy policy, linked from the privacy choices page (an http(s) address).
PRIVACY_POLICY_URL = env.url("PRIVACY_POLICY_URL")

# Origins allowed to embed the tracking script and forms (CORS), e.g. https://example.com.
TRACKED_SITES = env.origins("TRACKED_SITES")

# Days identified hits are kept before retention deletes them (about 25 months).
RETENTION_DAYS = env.number("RETENTION_DAYS", 760, minimum=1, maximum=3650)

# Where email goes: smtp://user:password@host:587?tls=true (or ssl=true), or console://.
_email_url = urlsplit(env.text("EMAIL_URL") or "console://")
if _email_url.scheme == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif _email_url.scheme in ("smtp", "smtps"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email_url.hostname or "localhost"
    EMAIL_PORT = _email_url.port or (465 if _email_url.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_email_url.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email_url.password or "")
    _email_options = Env(dict(parse_qsl(_email_url.query)))
    EMAIL_USE_TLS = _email_options.flag("tls", False)
    EMAIL_USE_SSL = _email_url.scheme == "smtps" or _email_options.flag("ssl", False)
    EMAIL_TIMEOUT = 30
else:
    raise ImproperlyConfigured("EMAIL_URL must be smtp://…, smtps://… or console://")

# Hours a double opt-in confirmation link stays valid; unconfirmed requests are deleted after.
DOUBLE_OPT_IN_HOURS = env.number("DOUBLE_OPT_IN_HOURS", 48, minimum=1, maximum=24 * 90)

# A mailbox whose mail means "unsubscribe me", added to List-Unsubscribe as a mailto: link.
UNSUBSCRIBE_MAILTO = env.text("UNSUBSCRIBE_MAILTO")

# A folder of refreshed proxy ranges (Apple's and Google's, see `manage.py
# machine_ranges_refresh`) that mark email opens as machine opens; unset: the dated snapshots
# shipped under emails/data/.
EMAIL_MACHINE_RANGES_DIR = env.text("EMAIL_MACHINE_RANGES_DIR")

# Shared secret of the bounce and complaint webhook (HMAC-SHA256); unset disables it.
BOUNCE_WEBHOOK_SECRET = env.text("BOUNCE_WEBHOOK_SECRET")

# Tracking events per masked IP and minute that one web worker accepts before answering 429.
EVENT_RATE_LIMIT = env.number("EVENT_RATE_LIMIT", 6000, minimum=1, maximum=10_000_000)

# How long a web worker gathers hits in its spool file (VAR_DIR/spool, on a local disk) before
# sending them to Redis in one round trip; 0 sends each hit on its own. Needs REDIS_URL.
EVENT_BATCH_MS = env.number("EVENT_BATCH_MS", 100, minimum=0, maximum=10_000)

# Redis keys the event stream is spread over. One key is enough for one Redis; on a Redis
# Cluster more keys let its nodes share the stream. Readers find every shard still holding
# entries, so the number can be changed at any time (see consentry/streams.py).
EVENT_STREAM_SHARDS = env.number("EVENT_STREAM_SHARDS", 1, minimum=1, maximum=64)

# A drain consumer that has read nothing for this long and holds no entry is removed from the
# consumer group (a worker that was stopped or died; its entries were already claimed by a
# living one, CLAIM_IDLE_MS after it went silent).
DRAIN_CONSUMER_TIMEOUT_S = env.number(
    "DRAIN_CONSUMER_TIMEOUT_S", 600, minimum=60, maximum=7 * 86_400
)

# How often the drain tries to store an event that fails on its own (about a second apart)
# before it keeps it as a dead letter and goes on.
DRAIN_MAX_TRIES = env.number("DRAIN_MAX_TRIES", 5, minimum=1, maximum=100)

# Days a dead letter is kept for an operator to re-drive before retention deletes it.
DEAD_LETTER_DAYS = env.number("DEAD_LETTER_DAYS", 30, minimum=1, maximum=3650)

# /healthz says "degraded" when the oldest event waiting in the stream is older than this many
# seconds (the drain is stopped or cannot keep up), or when dead letters exist.
DRAIN_LAG_DEGRADED_S = env.number("DRAIN_LAG_DEGRADED_S", 60, minimum=1, maximum=86_400)

# May focus items remember in a functional cookie (no identifier) when they were shown, so
# that "once" and "once a day" hold across page loads?
FOCUS_FREQUENCY_COOKIE = env.flag("FOCUS_FREQUENCY_COOKIE", True)

# Outgoing webhooks (webhooks/). Private networks (CIDRs) an endpoint may reach, for
# receivers on the operator's own network; empty, only public addresses are reached. Cloud
# metadata addresses are never reached, whatever this says.
WEBHOOK_ALLOWED_NETWORKS = env.networks("WEBHOOK_ALLOWED_NETWORKS")

# Seconds a receiver has to answer a delivery before it counts as failed (and is retried).
WEBHOOK_TIMEOUT_SECONDS = env.number("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)

# Hours a failed delivery is retried (exponential backoff with jitter) before it has failed.
WEBHOOK_RETRY_HOURS = env.number("WEBHOOK_RETRY_HOURS", 24, minimum=1, maximum=24 * 7)

# Seconds before the first retry; each later wait is four times the one before, up to 6 hours.
WEBHOOK_RETRY_FIRST_SECONDS = env.number("WEBHOOK_RETRY_FIRST_SECONDS", 5, minimum=1, maximum=3600)

# Hours an endpoint may fail every attempt before it is switched off (the admin says why).
WEBHOOK_DISABLE_AFTER_HOURS = env.number(
    "WEBHOOK_DISABLE_AFTER_HOURS", 72, minimum=1, maximum=24 * 90
)

# Days the delivery log (events, deliveries, attempts, answers' first bytes) is kept.
WEBHOOK_LOG_DAYS = env.number("WEBHOOK_LOG_DAYS", 30, minimum=1, maximum=3650)

# Form submissions allowed per masked IP in 10 minutes (a /16 by default: keep it generous).
FORM_SUBMIT_LIMIT = env.number("FORM_SUBMIT_LIMIT", 60, minimum=1, maximum=1_000_000)

# The largest asset an operator may upload, in bytes.
ASSET_MAX_BYTES = env.number("ASSET_MAX_BYTES", 50 * 1024 * 1024, minimum=1, maximum=2**40)

# Recipients per delivery task.
EMAIL_BATCH_SIZE = env.number("EMAIL_BATCH_SIZE", 100, minimum=1, maximum=10000)

# Log level of the application's own loggers.
LOG_LEVEL = env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error"))

INSTALLED_APPS = [
    "consentry.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "consentry",
    "consent",
    "contacts",
    "audiences",
    "tracker",
    "emails",
    "forms",
    "focus",
    "pages",
    "dwc",
    "video",
    "api",
    "audit",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outermost of ours, so that it sees every cookie any later layer tried to write.
    "consent.middleware.CookieGuardMiddleware",
    "consentry.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads the request: the one edge for text (consentry/text.py).
    "consentry.text.TextEdgeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "consentry.urls"
WSGI_APPLICATION = "consentry.wsgi.application"

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Operator sessions (admin) follow the tracker's cookie security.
SESSION_COOKIE_SECURE = COOKIE_SECURE
CSRF_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# The admin's messages stay on the server, in the operator's session: one of them carries a
# webhook signing secret, shown once, which must not travel in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis, tasks run in-process so the embedded default needs nothing installed.
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps its database connection across tasks (Celery closes it after every task
# otherwise): the drain runs every second, and a new PostgreSQL backend each time is wasted.
CELERY_DB_REUSE_MAX = 1000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissions"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ConsentryAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": "6000/hour"},
}


def _release() -> str:
    try:
        return version("consentry")
    except PackageNotFoundError:  # run from a copy of the sources that was never installed
        return "unknown"


SPECTACULAR_SETTINGS = {
    "TITLE": "Consentry API",
    "DESCRIPTION": "Contacts, consent, Do-Not-Contact and the tracked objects. Every path is "
    "under /api/v1/; authenticate with `Authorization: Token <key>` (a token from the admin or "
    "`manage.py drf_create_token USER`).",
    # The server's release; the API's own version is the /api/v1/ of every path.
    "VERSION": _release(),
    # Tags and operation ids are derived from the path after this prefix (api/schema.py).
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: the docs work offline and without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two sets of choices both called "status": each its own enum, named for what it is.
    "ENUM_NAME_OVERRIDES": {
        "WebhookStatusEnum": "webhooks.selectors.ENDPOINT_STATUSES",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
}

# Throttling and other shared counters: Redis when configured, else per process.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"level": LOG_LEVEL.upper(), "propagate": True}
        for name in (
            "consentry",
            "consent",
            "contacts",
            "tracker",
            "emails",
            "forms",
            "focus",
            "pages",
        )
    },
}

CELERY_BEAT_SCHEDULE = {
    # Webhook deliveries that are due: new ones are queued on commit as well; this finds the
    # retries whose time came and any a lost task or a dead worker left behind.
    "webhooks-due": {"task": "webhooks.tasks.webhooks_deliver_due", "schedule": 5.0},
    "webhooks-log-purge": {"task": "webhooks.tasks.webhooks_log_purge_task", "schedule": 3600.0},
    # The stream is drained continuously; each run takes what is there and stops.
    "drain-events": {"task": "tracker.tasks.drain_events", "schedule": 1.0},
    "rollup-days": {"task": "tracker.tasks.rollup_days", "schedule": 300.0},
    "retention": {"task": "tracker.tasks.retention", "schedule": 3600.0},
    "optin-expire": {"task": "consent.tasks.optin_requests_expire_task", "schedule": 3600.0},
}
