import pytest


@pytest.fixture
def demo_settings(settings, redis_url):
    """The demo's settings in this process (the Makefile's DEMO_ENV); Redis holds the simulated
    feed's walk."""
    settings.DEMO_MODE = True
    settings.MARKET_DATA_PROVIDERS = ["simulated"]
    return settings
