import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from markets.models import PriceTick
from news.models import NewsSource
from predictions.models import Prediction, Vote

pytestmark = pytest.mark.django_db


def test_it_refuses_to_run_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE=true"):
        call_command("demo_seed")
    assert NewsSource.objects.filter(enabled=True).exclude(feed_url__startswith="http://127.0.0.1").exists()


def test_it_seeds_local_feeds_users_simulated_prices_predictions_and_votes(settings, redis_url):
    settings.DEMO_MODE = True
    settings.MARKET_DATA_PROVIDERS = ["simulated"]

    call_command("demo_seed")
    call_command("demo_seed")  # twice: users and sources are not duplicated

    enabled = NewsSource.objects.filter(enabled=True)
    assert {s.feed_url for s in enabled} == {
        f"http://127.0.0.1:8001/{c}.xml" for c in ("precious_metals", "forex", "markets")}
    assert get_user_model().objects.filter(username__in=["alice", "bob", "carol", "admin"]).count() == 4
    assert set(PriceTick.objects.values_list("source", flat=True)) == {"simulated"}
    assert Prediction.objects.count() == 8
    assert Vote.objects.count() == 24
