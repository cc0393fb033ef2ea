"""Start-up checks of the market settings that need the provider clients to judge."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def market_providers_check(app_configs, **kwargs):
    from markets.providers import providers_from_settings

    problems = []
    providers = providers_from_settings()
    for symbol in settings.MARKET_SYMBOLS:
        if not any(symbol in p.symbols for p in providers):
            problems.append(Error(
                f"MARKET_SYMBOLS has {symbol}, which none of MARKET_DATA_PROVIDERS="
                f"{','.join(settings.MARKET_DATA_PROVIDERS)} serves.",
                hint="Add a provider that serves it (docs/markets.md lists who serves what) or drop the symbol.",
                id="markets.E001"))
    if "simulated" in settings.MARKET_DATA_PROVIDERS and not settings.DEMO_MODE:
        problems.append(Warning(
            "MARKET_DATA_PROVIDERS=simulated without DEMO_MODE: prices are simulated and the prediction "
            "verifier will refuse them.", hint="Set DEMO_MODE=true for a demo.", id="markets.W001"))
    return problems
