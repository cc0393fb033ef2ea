"""Creating a prediction: its options checked, its base price the current stored one."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from goldsocial.timefmt import iso_ms
from markets.selectors import tick_at_or_before
from markets.trust import tick_is_trustworthy
from predictions import conditions
from predictions.deadlines import deadline_close
from predictions.models import Prediction, PredictionOption
from predictions.rules import rules_in_force


def _closed_market_warnings(*, symbol: str, verify_time: datetime) -> list[str]:
    close = deadline_close(symbol=symbol, verify_time=verify_time)
    if close is None:
        return []
    return [f"{symbol} is closed at {iso_ms(verify_time)}; it will settle on the last close before it "
            f"({iso_ms(close)})"]


class PredictionRefused(ValidationError):
    """What is wrong with a new prediction, by field: the API answers it as DRF's field errors (400)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.message_dict


def prediction_create(*, creator, symbol: str, question: str, verify_time: datetime, verification: str,
                      options: list[dict], now: datetime) -> tuple[Prediction, list[str]]:
    """Create a prediction on the current price; (prediction, warnings) or PredictionRefused."""
    errors: dict[str, list[str]] = defaultdict(list)
    symbol = (symbol or "").strip().upper()
    if symbol not in settings.MARKET_SYMBOLS:
        errors["symbol"].append(f"unknown symbol {symbol!r}: expected one of {', '.join(settings.MARKET_SYMBOLS)}")
    question = (question or "").strip()
    if not question:
        errors["question"].append("a question is required")
    close = timedelta(seconds=settings.PREDICTION_VOTE_CLOSE_SECONDS)
    if verify_time <= now:
        errors["verify_time"].append(f"must be in the future (now is {iso_ms(now)})")
    elif verify_time <= now + close:
        errors["verify_time"].append(
            f"must be more than {settings.PREDICTION_VOTE_CLOSE_SECONDS} s in the future: voting closes "
            f"{settings.PREDICTION_VOTE_CLOSE_SECONDS} s before verify_time (now is {iso_ms(now)})")
    if verification not in Prediction.Verification.values:
        errors["verification"].append("expected auto or manual")

    keys = [(option.get("key") or "").strip() for option in options]
    if len(options) < 2:
        errors["options"].append("at least two options are required")
    if any(not key for key in keys):
        errors["options"].append("every option needs a key")
    duplicates = sorted({key for key in keys if key and keys.count(key) > 1})
    if duplicates:
        errors["options"].append(f"duplicate option keys: {', '.join(duplicates)}")
    if any(not (option.get("text") or "").strip() for option in options):
        errors["options"].append("every option needs a text")

    warnings: list[str] = []
    texts = {key: (option.get("condition") or "").strip() for key, option in zip(keys, options, strict=True)}
    if verification == Prediction.Verification.AUTO and any(not text for text in texts.values()):
        errors["options"].append("automatic verification needs a condition on every option")
    elif not duplicates and any(texts.values()):
        check = conditions.check_options({key: text for key, text in texts.items() if text})
        errors["options"].extend(f"option {key}: {message}" for key, message in check.errors.items())
        errors["options"].extend(check.overlaps)
        if verification == Prediction.Verification.AUTO and not check.errors:
            warnings = check.warnings

    errors = defaultdict(list, {field_: messages for field_, messages in errors.items() if messages})
    tick = None
    if "symbol" not in errors:
        tick = tick_at_or_before(symbol=symbol, at=now, max_age=timedelta(seconds=settings.PRICE_STALENESS_SECONDS))
        if tick is None or not tick_is_trustworthy(tick):
            errors["symbol"].append(
                f"no fresh price for {symbol} (none in the last {settings.PRICE_STALENESS_SECONDS} s): "
                "try again shortly")
    if errors:
        raise PredictionRefused(dict(errors))
    assert tick is not None  # no error: the symbol had a fresh tick
    warnings = [*warnings, *_closed_market_warnings(symbol=symbol, verify_time=verify_time)]

    with transaction.atomic():
        prediction = Prediction.objects.create(
            creator=creator, symbol=symbol, question=question, verification=verification,
            verify_time=verify_time, created_at=now,
            base_price=tick.mid, base_price_at=tick.timestamp, base_price_source=tick.source,
            base_price_sources=tick.sources, base_price_rules=rules_in_force(symbol=symbol),
        )
        PredictionOption.objects.bulk_create(
            PredictionOption(prediction=prediction, key=key, text=option["text"].strip(), condition=texts[key],
                             position=position)
            for position, (key, option) in enumerate(zip(keys, options, strict=True))
        )
    return prediction, warnings
