from django.db import models


class PriceTick(models.Model):
    """One accepted price of one symbol at one moment: the history the verifier reads."""

    symbol = models.CharField(max_length=6)
    bid = models.DecimalField(max_digits=20, decimal_places=8)
    ask = models.DecimalField(max_digits=20, decimal_places=8)
    mid = models.DecimalField(max_digits=20, decimal_places=8)
    # The provider's own timestamp of the quote (what "the price at T" means) ...
    timestamp = models.DateTimeField()
    # ... and where it came from: a provider name, "median(a,b)", or "simulated".
    source = models.CharField(max_length=100)
    # The providers' quotes it was made from: {"kraken": "<bid> <ask> <ms from timestamp>", ...},
    # set-aside quotes with their reason after (markets.price.quotes_encode); empty on ticks
    # stored before provenance was kept.
    sources = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["symbol", "timestamp"]
        indexes = [
            # "the last tick of S at or before T" and history ranges are both index range scans.
            models.Index(fields=["symbol", "-timestamp"], name="pricetick_symbol_ts"),
        ]

    def __str__(self):
        return f"{self.symbol} {self.mid} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class PriceCandle(models.Model):
    """One minute of one symbol's ticks from one source: the roll-up candles are read from.

    Kept by database triggers on PriceTick (markets/migrations/0003_candles.py), so every
    writer keeps it true: the price cycle, an admin edit, the prune, a bulk load. Per source,
    so that the trust rule on ticks (markets.trust.trustworthy_ticks, a filter on source)
    applies to it as it is.
    """

    symbol = models.CharField(max_length=6)
    source = models.CharField(max_length=100)
    start = models.DateTimeField()  # the whole UTC minute the ticks fall in
    open = models.DecimalField(max_digits=20, decimal_places=8)
    high = models.DecimalField(max_digits=20, decimal_places=8)
    low = models.DecimalField(max_digits=20, decimal_places=8)
    close = models.DecimalField(max_digits=20, decimal_places=8)
    ticks = models.PositiveIntegerField()
    first_tick_at = models.DateTimeField()
    last_tick_at = models.DateTimeField()
    # The ids of the ticks open and close came from: ties on the timestamp across sources are
    # broken by id, as they are among raw ticks.
    first_tick_id = models.BigIntegerField()
    last_tick_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # Also the index of "this symbol's minutes from A to B".
            models.UniqueConstraint(fields=["symbol", "start", "source"], name="pricecandle_symbol_start_source"),
        ]

    def __str__(self):
        return f"{self.symbol} {self.start:%Y-%m-%d %H:%M} {self.source}"
