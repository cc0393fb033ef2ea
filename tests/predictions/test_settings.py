import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env):
    environment = {**os.environ, "SECRET_KEY": "x", **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-c", "import goldsocial.settings as s; print(s.REST_FRAMEWORK)"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("variable", "value"), [
    ("PREDICTION_NOTIFY_DELIVERY", "carrier-pigeon"),
    ("PREDICTION_CREATE_RATE", "many"),
    ("PREDICTION_VOTE_RATE", "10/fortnight"),
    ("VAPID_SUBJECT", "ops@example.test"),
    ("PREDICTION_VERIFY_BATCH_SIZE", "0"),
    ("PREDICTION_PRICE_GRACE_SECONDS", "soon"),
    ("DEMO_MODE", "perhaps"),
    ("WEBPUSH_TIMEOUT_SECONDS", "0"),
    ("PREDICTION_VOTE_CLOSE_SECONDS", "-1"),
    ("PREDICTION_VOTE_CLOSE_SECONDS", "a minute"),
    ("PREDICTION_HIDE_VOTES_UNTIL_CLOSE", "sometimes"),
    ("AUTH_TOKEN_RATE", "lots"),
    ("AUTH_TOKEN_USERNAME_RATE", "5/fortnight"),
    ("WEBPUSH_CONCURRENCY", "0"),
    ("WEBPUSH_CONCURRENCY", "1001"),
    ("WEBPUSH_CONCURRENCY", "many"),
    ("NOTIFICATION_DELIVERY_MAX_AGE_SECONDS", "59"),
    ("NOTIFICATION_DELIVERY_MAX_AGE_SECONDS", "a day"),
    ("NOTIFICATION_DELIVERY_INTERVAL_SECONDS", "0"),
])
def test_it_stops_start_up_on_a_bad_value_naming_the_variable(variable, value):
    result = load_settings(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and f"{variable}=" in result.stderr


def test_it_hands_the_throttle_rates_to_drf():
    result = load_settings(PREDICTION_CREATE_RATE="5/minute")
    assert result.returncode == 0, result.stderr
    assert "'prediction_create': '5/minute'" in result.stdout and "'prediction_vote': '300/hour'" in result.stdout
