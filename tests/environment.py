"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml).

Tests never touch a developer's data: Redis database 15 unless REDIS_URL says otherwise.
"""

import os

# The developer's .env is not read (here and in every process a test starts): tests of
# defaults test the defaults.
os.environ["DOTENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain HTTP
# The tests' feed and push servers listen on loopback, which outbound requests otherwise refuse.
os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
