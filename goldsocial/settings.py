"""GoldSocial settings, read from the environment (and a `.env` file when present).

Every variable is listed with its default in README.md and .env.example (tests/test_env_example.py
checks both against what this module reads). A bad value stops start-up with ImproperlyConfigured
naming the variable as the operator set it (an old name of a renamed one included: goldsocial/env.py).
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from goldsocial.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_percent,
    env_rate,
    env_source,
    env_str,
    env_url,
    redact_url,
)
from jobs.intervals import cron_for_interval

BASE_DIR = Path(__file__).resolve().parent.parent
# DOTENV_FILE="" reads no file: the test suite's processes must not pick up a developer's .env.
_dotenv_file = os.environ.get("DOTENV_FILE", str(BASE_DIR / ".env"))
if _dotenv_file:
    load_dotenv(_dotenv_file, override=False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it in the environment or .env "
            "(for local work, copy .env.example to .env, which turns DEBUG on)."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Before django_q: our `qcluster` command extends the stock one with a sub-second ticker.
    "jobs",
    "django_q",
    "markets",
    "news",
    "predictions",
    "realtime",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the application itself: uvicorn serves none. After SecurityMiddleware,
    # so they get its HTTPS redirect and headers; before everything else, which they do not need.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "goldsocial.urls"
WSGI_APPLICATION = "goldsocial.wsgi.application"
ASGI_APPLICATION = "goldsocial.asgi.application"

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

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Which process type pools its PostgreSQL connections is the deployment's decision, made where
# each process is started (the Procfile's web line): web servers pool, `qcluster` refuses to,
# since it forks workers that would share the pool's connections.
DB_POOL = env_bool("DB_POOL", False)
# Start-up errors quote the URL without its password.
_DATABASE_URL_SHOWN = redact_url(DATABASE_URL)
try:
    _db = dj_database_url.parse(DATABASE_URL)
except Exception as exc:  # dj-database-url raises several types for a bad URL
    raise ImproperlyConfigured(
        f"DATABASE_URL={_DATABASE_URL_SHOWN!r} is not valid: expected sqlite:///path or "
        f"postgres://user@host:port/name ({exc})."
    ) from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:" and not Path(_db["NAME"]).is_absolute():
        _db["NAME"] = str(BASE_DIR / _db["NAME"])
    # Several processes write (cluster workers every 5 s, the web server): WAL and a busy
    # timeout keep them from meeting "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    if DB_POOL:
        # The ASGI web server runs sync views in threads: a pool bounds its connections.
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"] = {"pool": {"min_size": 1,
                                   "max_size": env_int("DB_POOL_MAX_SIZE", 10, minimum=1)}}
    else:
        # Cluster workers and the ticker keep their connection; the health check replaces
        # one the server has dropped instead of failing the next task.
        _db["CONN_MAX_AGE"] = 600
        _db["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured(
        f"DATABASE_URL={_DATABASE_URL_SHOWN!r} is not supported: use sqlite:/// or postgres://."
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, task broker ------------------------------------------
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))
# One pool per process, bounded, whatever the number of open sockets (goldsocial/redis_pool.py);
# a caller finding every connection busy waits REDIS_POOL_TIMEOUT_SECONDS, then gets an error.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 16, minimum=1, maximum=1000)
REDIS_POOL_TIMEOUT = env_float("REDIS_POOL_TIMEOUT_SECONDS", 2.0, minimum=0.01)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "goldsocial",
        "OPTIONS": {
            "pool_class": "goldsocial.redis_pool.ProcessConnectionPool",
            "max_connections": REDIS_MAX_CONNECTIONS,
            "timeout": REDIS_POOL_TIMEOUT,
        },
    }
}

# --- Channel layer (realtime app; docs/realtime.md) --------------------------------------
# The PubSub layer: one PUBLISH per broadcast, fanned out inside each server process, and no
# group expiry, so a socket open for days keeps receiving (the core layer drops group members
# after group_expiry, 1 day). Chosen by measurement (bench/fanout, config ours-core-layer;
# docs/realtime.md).
# Redis Pub/Sub channels ignore the database number, so the prefix carries it: two deployments
# (or two test runs) on one Redis server with different databases must not hear each other.
_redis_db = urlsplit(REDIS_URL).path.strip("/") or "0"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"goldsocial.{_redis_db}."},
    }
}

# --- Jobs (django-q2) -------------------------------------------------------------------
JOB_INTERVALS = {}
for _key, _var, _default in (
    ("price_fetcher", "PRICE_FETCHER_INTERVAL_SECONDS", 5),
    ("news_fetcher", "NEWS_FETCHER_INTERVAL_SECONDS", 900),
    ("prediction_verifier", "PREDICTION_VERIFIER_INTERVAL_SECONDS", 60),
    ("notification_delivery", "NOTIFICATION_DELIVERY_INTERVAL_SECONDS", 15),
):
    JOB_INTERVALS[_key] = env_int(_var, _default, minimum=1)
    try:
        cron_for_interval(JOB_INTERVALS[_key])
    except ValueError as exc:
        raise ImproperlyConfigured(f"{env_source(_var)}={JOB_INTERVALS[_key]} is not valid: {exc}.") from None
JOB_RUN_RETENTION_DAYS = env_int("JOB_RUN_RETENTION_DAYS", 7, minimum=1)
# Extra jobs (key -> (name, entry point, interval)); used by benchmarks and tests.
EXTRA_JOBS: dict = {}

Q_CLUSTER = {
    "name": "goldsocial",
    "workers": env_int("QCLUSTER_WORKERS", 4, minimum=1, maximum=64),
    "redis": REDIS_URL,
    # The stock scheduler runs once per 30 s; our qcluster runs django-q2's scheduler from
    # a ticker aligned to the wall clock instead (jobs/ticker.py).
    "scheduler": False,
    "catch_up": False,
    # Per-job timeouts are set on each schedule; this is the ceiling for anything else.
    "timeout": 900,
    "retry": 960,
    "max_attempts": 1,
    "ack_failures": True,
    # Runs are recorded in jobs.JobRun; keep django-q2's own task rows few.
    "save_limit": 100,
    "label": "Tasks",
}
# The task broker. "redis" (default): fastest hand-over, no delivery receipts. "orm": tasks
# wait in the database (polled every 0.2 s), so scheduled runs go on while Redis is away.
QCLUSTER_BROKER = env_str("QCLUSTER_BROKER", "redis").lower()
if QCLUSTER_BROKER == "orm":
    del Q_CLUSTER["redis"]
    Q_CLUSTER.update({"orm": "default", "cache": "default"})
elif QCLUSTER_BROKER != "redis":
    raise ImproperlyConfigured(f"QCLUSTER_BROKER={QCLUSTER_BROKER!r} is not valid: expected redis or orm.")

# --- Market data ----------------------------------------------------------------------
SYMBOLS_ALL = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
MARKET_SYMBOLS = env_list("MARKET_SYMBOLS", SYMBOLS_ALL, choices=SYMBOLS_ALL, upper=True)
PRICE_STALENESS_SECONDS = env_int("PRICE_STALENESS_SECONDS", 30, minimum=1)

# --- Market data: providers, trust rules, cache, history (markets app; docs/markets.md) ---
DEMO_MODE = env_bool("DEMO_MODE", False)
MARKET_PROVIDER_CHOICES = ["swissquote", "goldapi", "coinbase", "kraken", "bitstamp", "simulated"]
MARKET_DATA_PROVIDERS = env_list(
    "MARKET_DATA_PROVIDERS",
    ["simulated"] if DEMO_MODE else ["swissquote", "goldapi", "coinbase", "kraken", "bitstamp"],
    choices=MARKET_PROVIDER_CHOICES,
)
if "simulated" in MARKET_DATA_PROVIDERS and len(MARKET_DATA_PROVIDERS) > 1:
    # A median over real and simulated quotes would be neither real nor labelled simulated.
    raise ImproperlyConfigured(
        f"MARKET_DATA_PROVIDERS={','.join(MARKET_DATA_PROVIDERS)!r} is not valid: "
        "expected either 'simulated' alone or real providers only."
    )
SWISSQUOTE_BASE_URL = env_url("SWISSQUOTE_BASE_URL", "https://forex-data-feed.swissquote.com")
COINBASE_BASE_URL = env_url("COINBASE_BASE_URL", "https://api.coinbase.com")
KRAKEN_BASE_URL = env_url("KRAKEN_BASE_URL", "https://api.kraken.com")
BITSTAMP_BASE_URL = env_url("BITSTAMP_BASE_URL", "https://www.bitstamp.net")
GOLDAPI_BASE_URL = env_url("GOLDAPI_BASE_URL", "https://api.gold-api.com")
MARKET_HTTP_CONNECT_TIMEOUT = env_float("MARKET_HTTP_CONNECT_TIMEOUT_SECONDS", 1.0, minimum=0.05)
MARKET_HTTP_READ_TIMEOUT = env_float("MARKET_HTTP_READ_TIMEOUT_SECONDS", 2.0, minimum=0.05)
MARKET_HTTP_RETRIES = env_int("MARKET_HTTP_RETRIES", 1, minimum=0, maximum=3)
MARKET_HTTP_WORKERS = env_int("MARKET_HTTP_WORKERS", 12, minimum=1, maximum=64)
MARKET_BREAKER_FAILURES = env_int("MARKET_BREAKER_FAILURES", 3, minimum=1)
MARKET_BREAKER_COOLDOWN_SECONDS = env_int("MARKET_BREAKER_COOLDOWN_SECONDS", 60, minimum=1)
PRICE_QUOTE_MAX_AGE_SECONDS = env_int("PRICE_QUOTE_MAX_AGE_SECONDS", 30, minimum=1)
# Per symbol, two bounds (docs/markets.md, "Bounds per market", says how the defaults were
# measured): how far two sources may disagree and still be combined (also an outlier's distance
# from the median), and how far one source may move from the last accepted price before a
# second source must confirm it. Each: PRICE_<BOUND>_<SYMBOL>, else PRICE_<BOUND> for every
# symbol, else its asset class's default.
SYMBOL_CLASSES = {"XAUUSD": "metals", "XAGUSD": "metals", "EURUSD": "fx", "GBPUSD": "fx", "USDJPY": "fx",
                  "BTCUSD": "crypto"}
PRICE_BOUND_DEFAULTS = {  # class: (agree %, max jump %)
    "metals": (0.3, 3.0),
    "fx": (0.1, 1.0),
    "crypto": (1.0, 5.0),
}
# A bound past this is no bound: a source half off the market would still count as agreeing.
PRICE_BOUND_CEILING = 50.0
PRICE_AGREE_PERCENT = env_percent("PRICE_AGREE_PERCENT", None, ceiling=PRICE_BOUND_CEILING)
PRICE_MAX_JUMP_PERCENT = env_percent("PRICE_MAX_JUMP_PERCENT", None, ceiling=PRICE_BOUND_CEILING)


def _bound(name: str, symbol: str, default: float) -> tuple[float, str]:
    """A bound of `symbol` and where it came from: its own variable, the global one, the class default."""
    for variable in (f"{name}_{symbol}", name):
        value = env_percent(variable, None, ceiling=PRICE_BOUND_CEILING)
        if value is not None:
            return value, variable
    return default, f"the {SYMBOL_CLASSES[symbol]} default of {name}"


PRICE_AGREE_PERCENT_BY_SYMBOL: dict[str, float] = {}
PRICE_MAX_JUMP_PERCENT_BY_SYMBOL: dict[str, float] = {}
for _symbol in SYMBOLS_ALL:
    _agree_default, _jump_default = PRICE_BOUND_DEFAULTS[SYMBOL_CLASSES[_symbol]]
    _agree, _agree_from = _bound("PRICE_AGREE_PERCENT", _symbol, _agree_default)
    _jump, _jump_from = _bound("PRICE_MAX_JUMP_PERCENT", _symbol, _jump_default)
    if _agree > _jump:
        # Two sources that far apart could each be a jump the other does not confirm: the
        # agreement bound would let through what the jump bound is there to stop.
        if _jump_from.startswith("PRICE_"):
            raise ImproperlyConfigured(
                f"{_jump_from}={_jump:g} is not valid: expected at least {_symbol}'s agreement bound "
                f"({_agree:g}, from {_agree_from}).")
        raise ImproperlyConfigured(
            f"{_agree_from}={_agree:g} is not valid: expected at most {_symbol}'s jump bound "
            f"({_jump:g}, from {_jump_from}).")
    PRICE_AGREE_PERCENT_BY_SYMBOL[_symbol] = _agree
    PRICE_MAX_JUMP_PERCENT_BY_SYMBOL[_symbol] = _jump
PRICE_JUMP_REFERENCE_SECONDS = env_int("PRICE_JUMP_REFERENCE_SECONDS", 120, minimum=1)
PRICE_CACHE_TTL_SECONDS = env_int("PRICE_CACHE_TTL_SECONDS", 5, minimum=1)
PRICE_LAST_KNOWN_TTL_SECONDS = env_int("PRICE_LAST_KNOWN_TTL_SECONDS", 7 * 24 * 3600, minimum=60)
PRICE_HISTORY_RETENTION_DAYS = env_int("PRICE_HISTORY_RETENTION_DAYS", 30, minimum=1)
PRICE_HISTORY_MAX_ROWS = env_int("PRICE_HISTORY_MAX_ROWS", 5000, minimum=1, maximum=100_000)
MARKET_CLOSED_POLL_SECONDS = env_int("MARKET_CLOSED_POLL_SECONDS", 300, minimum=1)
# A source whose bid and ask have not changed for this long, while its market is open and
# another source of the symbol moved, is set aside as stale (0: never). Below two fetch
# intervals every pause of a quiet book between two cycles would count.
PRICE_FROZEN_SECONDS = env_int("PRICE_FROZEN_SECONDS", 120, minimum=0)
if 0 < PRICE_FROZEN_SECONDS < 2 * JOB_INTERVALS["price_fetcher"]:
    raise ImproperlyConfigured(
        f"PRICE_FROZEN_SECONDS={PRICE_FROZEN_SECONDS} is not valid: expected 0 (off) or at least two "
        f"{env_source('PRICE_FETCHER_INTERVAL_SECONDS')} ({2 * JOB_INTERVALS['price_fetcher']}).")

# --- News (docs/news.md) ---------------------------------------------------------------
# Feeds are rows (news.NewsSource, edited in the admin); these bound how they are fetched.
NEWS_FETCH_WORKERS = env_int("NEWS_FETCH_WORKERS", 8, minimum=1, maximum=64)
NEWS_CONNECT_TIMEOUT = env_float("NEWS_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1)
NEWS_READ_TIMEOUT = env_float("NEWS_READ_TIMEOUT_SECONDS", 15.0, minimum=0.1)
NEWS_TOTAL_TIMEOUT = env_float("NEWS_TOTAL_TIMEOUT_SECONDS", 60.0, minimum=0.1)
NEWS_MAX_FEED_BYTES = env_int("NEWS_MAX_FEED_BYTES", 5 * 1024 * 1024, minimum=1024)
NEWS_MAX_ENTRIES_PER_FEED = env_int("NEWS_MAX_ENTRIES_PER_FEED", 200, minimum=1)
NEWS_BACKOFF_BASE_SECONDS = env_int("NEWS_BACKOFF_BASE_SECONDS", 900, minimum=1)
NEWS_BACKOFF_MAX_SECONDS = env_int("NEWS_BACKOFF_MAX_SECONDS", 6 * 3600, minimum=1)
NEWS_DISABLE_AFTER_ERRORS = env_int("NEWS_DISABLE_AFTER_ERRORS", 10, minimum=1)
NEWS_RETENTION_DAYS = env_int("NEWS_RETENTION_DAYS", 30, minimum=1)
NEWS_CACHE_SECONDS = env_int("NEWS_CACHE_SECONDS", 3600, minimum=1)
NEWS_PAGE_SIZE = env_int("NEWS_PAGE_SIZE", 20, minimum=1, maximum=100)
NEWS_USER_AGENT = env_str("NEWS_USER_AGENT", "") or "GoldSocial-news/0.1"

# --- REST -----------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "goldsocial.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GoldSocial API", "VERSION": "0.1.0",
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar), not a CDN:
    # the docs work offline and load nothing from another host.
    "SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR",
    # validatorUrl: Swagger UI would otherwise send the schema's URL to validator.swagger.io
    # (for any host but localhost) to show a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # One name for the news categories used by several serializers (drf_spectacular.W001).
    "ENUM_NAME_OVERRIDES": {"NewsCategoryEnum": "news.models.Category"},
    # Request bodies get their own components, so that a required text field says minLength 1
    # there (DRF refuses a blank one) and a response's text may still be empty.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "goldsocial.openapi.document_anonymous_read_throttle"],
}

# --- Abuse limits and outbound requests (docs/DEPLOYMENT.md "Security") --------------------
# Anonymous reads per client address on every public endpoint, and news searches (which are
# never cached) on top (goldsocial/throttling.py). The address is REMOTE_ADDR, never a
# client-sent X-Forwarded-For: behind a proxy, uvicorn's --proxy-headers and
# --forwarded-allow-ips make REMOTE_ADDR the client's.
ANON_READ_RATE = env_rate("ANON_READ_RATE", "300/minute")
ANON_SEARCH_RATE = env_rate("ANON_SEARCH_RATE", "30/minute")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["goldsocial.throttling.AnonReadThrottle"]
REST_FRAMEWORK["NUM_PROXIES"] = 0
# Sign-in attempts (POST /api/auth/token/): per client address, and per username whatever the
# address, so guessing one user's password from many addresses is slow too (goldsocial/tokens.py).
AUTH_TOKEN_RATE = env_rate("AUTH_TOKEN_RATE", "10/minute")
AUTH_TOKEN_USERNAME_RATE = env_rate("AUTH_TOKEN_USERNAME_RATE", "20/hour")
# WebSockets one client address may hold on one web process; more are closed with 1008.
WS_MAX_CONNECTIONS_PER_IP = env_int("WS_MAX_CONNECTIONS_PER_IP", 50, minimum=1)
# /metrics answers only "Authorization: Bearer <METRICS_TOKEN>" when set; open when empty.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Networks that requests to user-chosen URLs (Web Push endpoints, news feeds and their
# redirects) may reach although they are not public (goldsocial/outbound.py). Empty: only
# public addresses. The tests and `make demo` allow 127.0.0.0/8 for their local servers.
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS")

# --- Predictions (docs/predictions.md) ---------------------------------------------------
# DEMO_MODE (markets section) also lets the verifier use simulated prices.
# A missing final price is retried on each verifier run for this long after verify_time,
# then the prediction waits for manual verification.
PREDICTION_PRICE_GRACE_SECONDS = env_int("PREDICTION_PRICE_GRACE_SECONDS", 900, minimum=0)
# A prediction is due once a tick stamped after its verify_time is stored, or at the latest this
# long after verify_time (no such tick: the feed is slow or away), so that a tick stamped just
# before verify_time but fetched just after it is stored before the price is read.
PREDICTION_SETTLE_SECONDS = env_int("PREDICTION_SETTLE_SECONDS", 10, minimum=0)
# A deadline while the market is closed settles on the last tick before the close, if that tick
# is at most this old at the close (older: our feed was away; the prediction waits for an admin).
PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS = env_int("PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", 900, minimum=1,
                                                 maximum=86400)
# Predictions per verifier transaction. Votes of a prediction are spread over the whole table,
# so each batch reads most of it: fewer, larger batches are much cheaper (bench/verify).
PREDICTION_VERIFY_BATCH_SIZE = env_int("PREDICTION_VERIFY_BATCH_SIZE", 5000, minimum=1, maximum=20000)
# "inline": push notifications right after the verifier commits; "async": in a django-q2 task.
PREDICTION_NOTIFY_DELIVERY = env_str("PREDICTION_NOTIFY_DELIVERY", "async")
if PREDICTION_NOTIFY_DELIVERY not in {"async", "inline"}:
    raise ImproperlyConfigured(
        f"PREDICTION_NOTIFY_DELIVERY={PREDICTION_NOTIFY_DELIVERY!r} is not valid: expected async or inline.")
PREDICTION_THROTTLE_RATES = {"prediction_create": env_rate("PREDICTION_CREATE_RATE", "30/hour"),
                             "prediction_vote": env_rate("PREDICTION_VOTE_RATE", "300/hour")}
REST_FRAMEWORK.setdefault("DEFAULT_THROTTLE_RATES", {}).update(PREDICTION_THROTTLE_RATES)
# Voting closes this long before verify_time, so a vote cannot be cast on a price that is all but
# known; creation refuses a verify_time sooner than now plus this.
PREDICTION_VOTE_CLOSE_SECONDS = env_int("PREDICTION_VOTE_CLOSE_SECONDS", 60, minimum=0, maximum=86400)
# Per-option vote counts are null for everyone but staff until voting closes, so a late voter
# cannot copy the crowd.
PREDICTION_HIDE_VOTES_UNTIL_CLOSE = env_bool("PREDICTION_HIDE_VOTES_UNTIL_CLOSE", True)
# Web Push: all three set, or push is off (logged once per delivery run).
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "")
if VAPID_SUBJECT and not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(f"VAPID_SUBJECT={VAPID_SUBJECT!r} is not valid: expected mailto:... or https://...")
WEBPUSH_TIMEOUT_SECONDS = env_int("WEBPUSH_TIMEOUT_SECONDS", 5, minimum=1)
# Web Push requests in flight at once per delivery run (connections kept alive per push
# service): 100 at 50 ms a request is 2,000 pushes a second, if the CPU keeps up (bench/webpush).
WEBPUSH_CONCURRENCY = env_int("WEBPUSH_CONCURRENCY", 100, minimum=1, maximum=1000)
# A notification not delivered (broker down, push service failing) is tried again, with
# backoff, until it is this old; then it is given up (logged, counted in the run summary).
NOTIFICATION_DELIVERY_MAX_AGE_SECONDS = env_int("NOTIFICATION_DELIVERY_MAX_AGE_SECONDS", 86400, minimum=60)

# --- The rest ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Where `collectstatic` puts the files WhiteNoise serves (relative paths: from the project).
STATIC_ROOT = BASE_DIR / (env_str("STATIC_ROOT", "") or "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # DEBUG off: names carry a hash of the content (cached for ever by browsers) and a `.gz`
    # copy sits beside each, all made by `collectstatic`, which must run first ({% static %}
    # fails on a file missing from its manifest). DEBUG on: plain names, and WhiteNoise finds
    # the files in the apps themselves, so development needs no `collectstatic`.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS: on by default when DEBUG is off. Behind a proxy that terminates TLS, set
# SECURE_PROXY_SSL_HEADER=true so Django trusts its X-Forwarded-Proto.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and scrapers talk plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600, minimum=0)

# --- Security: HSTS scope (docs/DEPLOYMENT.md "Security") ----------------------------------
# Whether every subdomain is HTTPS-only, and whether the domain goes on browsers' preload
# list (hard to undo), are decisions of the domain's owner, not of this service: off unless
# set. The deploy checks that warn about them (W005, W021) are silenced for that reason;
# `check --deploy` still warns about everything else.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if SECURE_HSTS_PRELOAD and not (SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_HSTS_SECONDS >= 31536000):
    raise ImproperlyConfigured(
        "SECURE_HSTS_PRELOAD=true needs SECURE_HSTS_INCLUDE_SUBDOMAINS=true and SECURE_HSTS_SECONDS "
        "of at least 31536000 (one year): the preload list refuses anything less.")
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = (env_str("LOG_LEVEL", "INFO") or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not valid: expected DEBUG, INFO, WARNING or ERROR.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django_q": {"level": "WARNING"}},
}
