"""The API's pages live in the Django cache (Redis) under a version number.

Writers bump the version instead of finding and deleting keys: every page cached under the
old version is simply never read again and expires on its own.
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "news:version"


def news_cache_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # add() only writes when the key is missing, so concurrent first readers agree.
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def news_cache_bump() -> None:
    """Called after a commit that changed what the API shows."""
    try:
        cache.add(VERSION_KEY, 1, timeout=None)
        cache.incr(VERSION_KEY)
    except ValueError:  # evicted between add() and incr()
        cache.set(VERSION_KEY, 2, timeout=None)
    except Exception:
        # The articles are stored; pages stay stale for NEWS_CACHE_SECONDS at most.
        logger.exception("could not invalidate the news cache")


def page_key(*, version: int, category: str, page: int) -> str:
    """A browsing page (searches are not cached: see news.selectors.article_page)."""
    return f"news:v{version}:{category or '-'}:{page}"
