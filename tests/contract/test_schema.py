"""The published OpenAPI schema (/api/schema/) describes the API: Schemathesis, every check, against
the server as the Procfile runs it, with a user's token.

The seed and the example budget are fixed, so that every run tries the same cases: a clean run stays
clean until the code or the schema changes. What no schema can state (a request that fits it may
still be refused, with the documented 400) is in schemathesis.toml, each with its reason.
"""

import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from markets.models import PriceTick
from predictions.services.creation import prediction_create
from tests.processes import child_database_url
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 1
# Cases per operation and phase: about two minutes on a busy two-core machine.
MAX_EXAMPLES = 100


def _seed_data():
    """A user with a token, a fresh price of every symbol (so that predictions can be created) and
    an open prediction to vote on."""
    now = timezone.now()
    for symbol in settings.MARKET_SYMBOLS:
        PriceTick.objects.create(symbol=symbol, bid=Decimal("99.9"), ask=Decimal("100.1"), mid=Decimal("100"),
                                 timestamp=now, source="swissquote", fetched_at=now)
    user = get_user_model().objects.create_user("contract", password="pw-contract-12345")
    prediction_create(
        creator=user, symbol=settings.MARKET_SYMBOLS[0], question="Up or down?", verification="auto",
        verify_time=now + timedelta(days=1), now=now,
        options=[{"key": "UP", "text": "up", "condition": "price_change_percent > 0"},
                 {"key": "DOWN", "text": "not up", "condition": "price_change_percent <= 0"}])
    return Token.objects.create(user=user).key


def test_the_api_answers_as_its_openapi_schema_says(redis_url, tmp_path, capsys):
    token = _seed_data()
    server_env = {
        # The seeded prices stay fresh for the whole run.
        "PRICE_STALENESS_SECONDS": "86400",
        # Thousands of requests from one user (and from one address, without the token, when the
        # checks of authentication take it away): the throttles would answer most of them 429.
        "PREDICTION_CREATE_RATE": "1000000/hour", "PREDICTION_VOTE_RATE": "1000000/hour",
        "ANON_READ_RATE": "1000000/hour", "ANON_SEARCH_RATE": "1000000/hour",
        "AUTH_TOKEN_RATE": "1000000/hour", "AUTH_TOKEN_USERNAME_RATE": "1000000/hour",
    }
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url, extra_env=server_env) as (address, _):
        run = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "--no-color",
             "run", f"http://{address}/api/schema/", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES)],
            # Its cache of examples goes to the working directory: not the repository.
            cwd=tmp_path, env={**os.environ, "GOLDSOCIAL_API_TOKEN": token},
            capture_output=True, text=True, timeout=900)
    report = run.stdout + run.stderr
    lines = [line for line in report.splitlines() if re.match(r"=+ .* in [\d.]+s =+$", line)
             or re.match(r"\s+\d+ generated", line)]
    with capsys.disabled():
        print(f"\nschemathesis (seed {SEED}, {MAX_EXAMPLES} examples): " + " | ".join(ln.strip(" =") for ln in lines))
    assert run.returncode == 0, report
