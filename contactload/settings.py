"""contactload settings: one module, driven by the environment.

SQLite (WAL) in ./var by default; DATABASE_URL points it at PostgreSQL.
Every knob of our own is a CONTACTLOAD_* variable, read here and nowhere else.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CONTACTLOAD_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file lives here


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("CONTACTLOAD_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("CONTACTLOAD_DEBUG")
ALLOWED_HOSTS = os.environ.get("CONTACTLOAD_ALLOWED_HOSTS", "*").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not from a CDN
    "django_tasks",
    "django_tasks_db",
    "contactload",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the upload page's) straight from gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "contactload.logs.RequestLogMiddleware",
]

ROOT_URLCONF = "contactload.urls"
WSGI_APPLICATION = "contactload.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

SQLITE_WAL_AUTOCHECKPOINT = 16_384  # pages (64 MiB)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA cache_size=-65536;"
    f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT};PRAGMA journal_size_limit=67108864"
)
_default_db = f"sqlite:///{VAR_DIR / 'contactload.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _default_db)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout + IMMEDIATE transactions: the web server and the
    # worker queue for the write lock instead of failing with "database is locked".
    # A 64 MB page cache, and a checkpoint per 64 MB of WAL rather than per 4 MB: with
    # the default, every chunk's commit copied its pages back (54 ms a commit at 1M
    # contacts; the worker went from 20k to 29k rows/s).
    # Every write but a running job's own takes its turn ahead of the job (one write lock)
    DATABASES["default"]["ENGINE"] = "contactload.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 60,
        "transaction_mode": "IMMEDIATE",
        "init_command": SQLITE_PRAGMAS,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONTACTLOAD_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # for `contactload collectstatic`, when wanted
STATIC_ROOT.mkdir(exist_ok=True)
# Serve app static files from their apps (no collectstatic step in `make run`).
WHITENOISE_USE_FINDERS = True

# The cache holds the rate limits' counts. On disk, so that every process of the host
# (gunicorn's web workers) counts against the same limit; a process-local cache would
# let each of them grant the whole rate.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        # a file per token and scope; past Django's 300, a third of the counts (at
        # random) would be dropped at each new one
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

# Uploads are read by our own view with our own limits (CONTACTLOAD_MAX_BODY_BYTES);
# Django's 2.5 MB default must not cut them short.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["contactload.api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "contactload.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    # Every endpoint but generate-token and health needs a token (or an admin session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "contactload.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "TITLE": "contactload API",
    "DESCRIPTION": "Bulk contact upload, wire-compatible with Flexydial's Bulk Contact Upload API.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

_token_ttl_hours = os.environ.get("CONTACTLOAD_TOKEN_TTL_HOURS")
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": None,
    "AUTO_REFRESH": False,
}
if _token_ttl_hours:
    from datetime import timedelta

    REST_KNOX["TOKEN_TTL"] = timedelta(hours=float(_token_ttl_hours))

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# contactload's own knobs.
CONTACTLOAD_FLEXYDIAL_STATUS_CODES = env_bool("CONTACTLOAD_FLEXYDIAL_STATUS_CODES")
CONTACTLOAD_MAX_ROWS = env_int("CONTACTLOAD_MAX_ROWS", 100_000)
CONTACTLOAD_MAX_BODY_BYTES = env_int("CONTACTLOAD_MAX_BODY_BYTES", 64 * 1024 * 1024)
CONTACTLOAD_MAX_CSV_BYTES = env_int("CONTACTLOAD_MAX_CSV_BYTES", 512 * 1024 * 1024)
CONTACTLOAD_MAX_CSV_ROWS = env_int("CONTACTLOAD_MAX_CSV_ROWS", 10_000_000)
CONTACTLOAD_CHUNK_ROWS = env_int("CONTACTLOAD_CHUNK_ROWS", 10_000)
CONTACTLOAD_IMPROPER_DATA_LIMIT = env_int("CONTACTLOAD_IMPROPER_DATA_LIMIT", 1_000)
# SQLite: rows of an insert written between two commits (each commit writes every page
# it dirtied to the WAL again; see ingest/writers/sqlite.py).
CONTACTLOAD_SQLITE_COMMIT_ROWS = env_int("CONTACTLOAD_SQLITE_COMMIT_ROWS", 100_000)
# PostgreSQL: a worker follows one upload with the next one queued (its first chunk
# checked while the last one's chunks are written) for up to this long, while the queue
# gives such an upload next (another kind of task ends the stream).
CONTACTLOAD_FOLLOW_S = float(os.environ.get("CONTACTLOAD_FOLLOW_S", 60))
# Crash recovery: a running job whose heartbeat is older than this is re-queued.
CONTACTLOAD_STALE_AFTER_S = float(os.environ.get("CONTACTLOAD_STALE_AFTER_S", 60))
CONTACTLOAD_REAP_INTERVAL_S = float(os.environ.get("CONTACTLOAD_REAP_INTERVAL_S", 10))
CONTACTLOAD_MAX_ATTEMPTS = env_int("CONTACTLOAD_MAX_ATTEMPTS", 5)
CONTACTLOAD_RETRY_BACKOFF_S = float(os.environ.get("CONTACTLOAD_RETRY_BACKOFF_S", 5))
# Per-token rate limits ("<n>/<s|m|h|d>"; empty: no limit).
CONTACTLOAD_RATES = {
    "uploads": os.environ.get("CONTACTLOAD_UPLOAD_RATE", "120/min") or None,
    "status": os.environ.get("CONTACTLOAD_STATUS_RATE", "1200/min") or None,
}
CONTACTLOAD_IDEMPOTENCY_TTL_HOURS = float(os.environ.get("CONTACTLOAD_IDEMPOTENCY_TTL_HOURS", 24))

# Logs: JSON events (CONTACTLOAD_LOG_FORMAT=json, the default) or plain text for people.
LOG_FORMAT = os.environ.get("CONTACTLOAD_LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("CONTACTLOAD_LOG_LEVEL", "INFO")},
}

# Metrics: counters shared by this machine's web and worker processes.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
CONTACTLOAD_METRICS_TOKEN = os.environ.get("CONTACTLOAD_METRICS_TOKEN", "")
CONTACTLOAD_METRICS_ALLOW = os.environ.get(
    "CONTACTLOAD_METRICS_ALLOW", "127.0.0.1/32,::1/128"
).split(",")

# --- files/discovery ---
# /health reports "degraded" once a ready task has waited longer than this (seconds).
CONTACTLOAD_HEALTH_MAX_QUEUE_AGE_S = env_int("CONTACTLOAD_HEALTH_MAX_QUEUE_AGE_S", 300)
# /health sits outside /api/: keep operation ids and tags as they were without it.
SPECTACULAR_SETTINGS["SCHEMA_PATH_PREFIX"] = "/api/"

# --- callbacks ---
# Completion callbacks (CONTRACT 5.5). Each POST is signed with this secret; without
# one, uploads that name a callback_url are refused (no unsigned callbacks).
CONTACTLOAD_WEBHOOK_SECRET = os.environ.get("CONTACTLOAD_WEBHOOK_SECRET", "")
# Per connect/read, seconds; a slower receiver counts as a failed attempt.
CONTACTLOAD_WEBHOOK_TIMEOUT_S = float(os.environ.get("CONTACTLOAD_WEBHOOK_TIMEOUT_S", 10))
# Retries: BACKOFF_S, doubled each time, at most BACKOFF_MAX_S apart, MAX_ATTEMPTS in all
# (defaults: 5 s, 10 s, 20 s ... 600 s; the 10th and last attempt ~31 min after the first).
CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS = env_int("CONTACTLOAD_WEBHOOK_MAX_ATTEMPTS", 10)
CONTACTLOAD_WEBHOOK_BACKOFF_S = float(os.environ.get("CONTACTLOAD_WEBHOOK_BACKOFF_S", 5))
CONTACTLOAD_WEBHOOK_BACKOFF_MAX_S = float(os.environ.get("CONTACTLOAD_WEBHOOK_BACKOFF_MAX_S", 600))
# Callback hosts that resolve to loopback/private/link-local/reserved addresses are
# refused (a tenant must not make the server call internal services) unless this is on.
CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE = env_bool("CONTACTLOAD_WEBHOOK_ALLOW_PRIVATE")

# --- DNC ---
# The country national-form numbers of the global DNC list are read in (a campaign's
# list uses the campaign's country).
CONTACTLOAD_DEFAULT_COUNTRY = os.environ.get("CONTACTLOAD_DEFAULT_COUNTRY", "IN")
# Items per upload-dnc / remove-dnc request (the body also obeys CONTACTLOAD_MAX_BODY_BYTES).
CONTACTLOAD_MAX_DNC_ITEMS = env_int("CONTACTLOAD_MAX_DNC_ITEMS", 100_000)
