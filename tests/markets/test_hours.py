from datetime import UTC, datetime

import pytest

from markets.hours import market_is_open


@pytest.mark.parametrize(("at", "open_"), [
    ("2026-11-27T21:59:59", True),   # Friday, last second
    ("2026-11-27T22:00:00", False),  # Friday close
    ("2026-11-28T12:00:00", False),  # Saturday
    ("2026-11-29T21:59:59", False),  # Sunday, before the open
    ("2026-11-29T22:00:00", True),   # Sunday open
    ("2026-11-25T03:00:00", True),   # Wednesday night
])
def test_it_closes_metals_and_fx_from_friday_to_sunday_22_utc(at, open_):
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC)

    assert market_is_open(symbol="XAUUSD", at=moment) is open_
    assert market_is_open(symbol="USDJPY", at=moment) is open_


def test_it_never_closes_btc():
    assert market_is_open(symbol="BTCUSD", at=datetime(2026, 11, 28, 12, tzinfo=UTC))
