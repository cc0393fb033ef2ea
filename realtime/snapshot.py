"""The price snapshot a client receives on connect: our one seam onto the markets app."""

import logging
from datetime import datetime

logger = logging.getLogger(__name__)
_warned: list[bool] = []


def prices_snapshot(*, now: datetime, symbols: list[str] | None) -> list[dict]:
    """The latest prices as /api/prices/ items, from markets.selectors.prices_latest.

    Imported at call time: the markets app is built in parallel, and the WebSocket side must
    work (with an empty snapshot) before its selector exists.
    """
    from markets import selectors

    prices_latest = getattr(selectors, "prices_latest", None)
    if prices_latest is None:
        if not _warned:
            logger.warning("markets.selectors.prices_latest is missing: sending empty price snapshots")
            _warned.append(True)
        return []
    return prices_latest(now=now, symbols=symbols)
