import pytest

# What the Makefile's DEMO_ENV sets and the seed relies on (for a child process's environment).
DEMO_ENV = {"DEMO_MODE": "true", "MARKET_DATA_PROVIDERS": "simulated"}


@pytest.fixture
def demo_settings(settings, redis_url):
    """The demo's settings in this process; Redis holds the simulated feed's walk."""
    settings.DEMO_MODE = True
    settings.MARKET_DATA_PROVIDERS = ["simulated"]
    return settings
