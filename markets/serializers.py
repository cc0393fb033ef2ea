"""Response shapes of the prices API, for the OpenAPI schema (the views build plain dicts)."""

from rest_framework import serializers

from markets.candles import CANDLE_INTERVALS


class PriceItemSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    bid = serializers.FloatField()
    ask = serializers.FloatField()
    price = serializers.FloatField(help_text="the mid price")
    timestamp = serializers.CharField(help_text="the provider's time of the quote, ISO-8601 UTC with ms")
    source = serializers.CharField(help_text='a provider, "median(a,b)" or "simulated"')  # type: ignore[assignment]  # a field named source: the stubs take it for Field.source
    age_seconds = serializers.FloatField()
    stale = serializers.BooleanField(help_text="no fresh price: the last known one")


class PricesSerializer(serializers.Serializer):
    prices = PriceItemSerializer(many=True)


class TickQuoteSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="the provider")  # type: ignore[assignment]  # a field named source: the stubs take it for Field.source
    bid = serializers.FloatField()
    ask = serializers.FloatField()
    timestamp = serializers.CharField(help_text="the provider's time of the quote (the fetch time where it "
                                                "gives none), ISO-8601 UTC with ms")
    used = serializers.BooleanField(help_text="in the tick's price (false: set aside by the trust rules)")
    set_aside = serializers.CharField(allow_null=True, help_text="why it was set aside (null when used)")


class TickSerializer(serializers.Serializer):
    bid = serializers.FloatField()
    ask = serializers.FloatField()
    price = serializers.FloatField()
    timestamp = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named source: the stubs take it for Field.source
    sources = TickQuoteSerializer(many=True, required=False, help_text=(
        "with detail=sources only: the providers' quotes the tick was made from (empty for ticks "
        "stored before provenance was kept)"))


class PriceHistorySerializer(serializers.Serializer):
    symbol = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    count = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="more ticks in the range than PRICE_HISTORY_MAX_ROWS")
    next_start = serializers.CharField(allow_null=True, help_text="where to continue when truncated")
    ticks = TickSerializer(many=True, help_text="oldest first")


class CandleSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="the start of the candle's interval, ISO-8601 UTC with ms")
    open = serializers.FloatField(help_text="the mid price of its first tick")
    high = serializers.FloatField(help_text="the highest mid price")
    low = serializers.FloatField(help_text="the lowest mid price")
    close = serializers.FloatField(help_text="the mid price of its last tick")
    ticks = serializers.IntegerField(min_value=1, help_text="how many ticks it summarises")
    first_tick_at = serializers.CharField()
    last_tick_at = serializers.CharField()


class PriceCandlesSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    interval = serializers.ChoiceField(choices=list(CANDLE_INTERVALS))
    start = serializers.CharField(help_text="the start of the first candle's interval (start moved back to it)")
    end = serializers.CharField()
    candles = CandleSerializer(many=True, help_text="oldest first; intervals without a tick are left out")
