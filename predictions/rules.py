"""The rules a result was decided by, recorded with it: what the explanation checks against.

A prediction keeps the rules in force when its base price was taken
(`Prediction.base_price_rules`); each verification audit row keeps those in force when it was
written (`VerificationAudit.rules`). Settings change; a result must still be checked against
the rules that decided it, and the explanation says where today's differ.
"""

from django.conf import settings

from markets.trust import Rules

# Recorded key -> (the setting's name for `symbol`, unit shown).
SETTING_NAMES = {
    "staleness_seconds": ("PRICE_STALENESS_SECONDS", "s"),
    "close_price_max_age_seconds": ("PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", "s"),
    "agree_percent": ("PRICE_AGREE_PERCENT_{symbol}", "%"),
    "max_jump_percent": ("PRICE_MAX_JUMP_PERCENT_{symbol}", "%"),
    "quote_max_age_seconds": ("PRICE_QUOTE_MAX_AGE_SECONDS", "s"),
    "jump_reference_seconds": ("PRICE_JUMP_REFERENCE_SECONDS", "s"),
}


def rules_in_force(*, symbol: str) -> dict[str, str | int]:
    """Today's rules for a price of `symbol`: the trust rules of its ticks and the verifier's limits.

    Bounds as decimal strings (JSON keeps them exact), limits as whole seconds.
    """
    return {
        **Rules.from_settings(symbol).recorded(),
        "staleness_seconds": settings.PRICE_STALENESS_SECONDS,
        "close_price_max_age_seconds": settings.PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS,
    }


def setting_name(key: str, *, symbol: str) -> str:
    return SETTING_NAMES[key][0].format(symbol=symbol)


def rule_text(key: str, value: str | int) -> str:
    unit = SETTING_NAMES[key][1]
    return f"{value}%" if unit == "%" else f"{value} s"
