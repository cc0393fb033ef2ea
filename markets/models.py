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
