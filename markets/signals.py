"""What the markets app tells other apps, without depending on them."""

from django.dispatch import Signal

# Sent by the price_fetcher job once a cycle's ticks are committed, with `now` (the cycle's time)
# and `prices` (the markets.price.Price items stored). The predictions app verifies, at once,
# the predictions whose final price the cycle fixed.
prices_stored = Signal()
