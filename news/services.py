"""Writes for news: one fetch cycle over the due sources, source state, operators' edits, pruning."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from goldsocial.retry import backoff_seconds
from goldsocial.timefmt import iso_ms
from news.cache import news_cache_bump
from news.client import FeedClient, FeedFetchError, FeedResponse
from news.content import plain_text, sanitize_summary, summary_cleaner
from news.models import Article, NewsSource
from news.parsing import SUMMARY_TEXT_LIMIT, TITLE_LIMIT, ParsedFeed, parse_feed
from news.selectors import articles_first_seen, sources_due
from realtime import events
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000
# Articles per news.published message: a first run over every feed stores hundreds, and one
# frame of them all (summaries included) would be hundreds of kilobytes to every socket.
BROADCAST_ARTICLES = 50


@dataclass
class SourceOutcome:
    source: NewsSource
    response: FeedResponse | None = None
    parsed: ParsedFeed | None = None
    error: FeedFetchError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class FetchSummary:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    errors: int = 0
    new_articles: int = 0
    failed: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    pruned: int = 0
    # Where the time went (for benchmarks and logs; not part of the summary text).
    fetch_seconds: float = 0.0
    store_seconds: float = 0.0

    def __str__(self) -> str:
        text = (f"{self.sources} sources due: {self.fetched} fetched, {self.not_modified} unchanged (304), "
                f"{self.errors} failed; {self.new_articles} new articles; {self.pruned} pruned")
        if self.failed:
            shown = ", ".join(self.failed[:5]) + (f" and {len(self.failed) - 5} more" if len(self.failed) > 5 else "")
            text += f"; failed: {shown} (see each source's last error)"
        if self.disabled:
            text += f"; disabled after repeated failures: {', '.join(self.disabled)}"
        return text


def _fetch_one(*, client: FeedClient, source: NewsSource, now: datetime, oldest: datetime) -> SourceOutcome:
    """Runs in a pool thread: network and parsing only, no database."""
    outcome = SourceOutcome(source=source)
    try:
        outcome.response = client.fetch(source.feed_url, etag=source.etag, last_modified=source.last_modified,
                                        now=now)
        if outcome.response.status == 200:
            outcome.parsed = parse_feed(
                outcome.response.body, url=outcome.response.url, content_type=outcome.response.content_type,
                source_category=source.category, now=now, max_entries=settings.NEWS_MAX_ENTRIES_PER_FEED,
                oldest=oldest)
            if outcome.parsed.unusable:
                outcome.error = FeedFetchError("; ".join(outcome.parsed.problems), status=200)
    except FeedFetchError as exc:
        outcome.error = exc
    except Exception as exc:
        # One odd feed must not stop the others: whatever a parser trips on is that feed's error.
        logger.exception("reading feed %s failed", source.feed_url)
        outcome.error = FeedFetchError(f"unexpected {type(exc).__name__}: {exc}")
    return outcome


def _apply(*, outcome: SourceOutcome, now: datetime, summary: FetchSummary) -> list[str]:
    """Update the source's state from one outcome; the fields changed, empty for a plain 304
    (those are written together in one statement)."""
    source = outcome.source
    source.last_fetch_at = now
    if outcome.error is not None:
        source.last_status = outcome.error.status
        summary.errors += 1
        summary.failed.append(source.name)
        source.consecutive_errors += 1
        source.last_error = str(outcome.error)[:ERROR_LIMIT]
        # Doubling after each failure in a row, never shorter than the server's Retry-After
        # (the client caps that at a day).
        delay = backoff_seconds(failures=source.consecutive_errors, first=settings.NEWS_BACKOFF_BASE_SECONDS,
                                cap=settings.NEWS_BACKOFF_MAX_SECONDS, retry_after=outcome.error.retry_after)
        source.next_fetch_at = now + timedelta(seconds=delay)
        fields = ["last_fetch_at", "last_status", "consecutive_errors", "last_error", "next_fetch_at"]
        if source.consecutive_errors >= settings.NEWS_DISABLE_AFTER_ERRORS:
            source.enabled = False
            source.disabled_reason = (f"turned off at {iso_ms(now)} after {source.consecutive_errors} failures "
                                      f"in a row; re-enable it in the admin once the feed works")
            summary.disabled.append(source.name)
            fields += ["enabled", "disabled_reason"]
        return fields
    response = outcome.response
    assert response is not None  # no error: the feed server answered
    source.last_status = response.status
    source.consecutive_errors = 0
    source.next_fetch_at = None
    fields = ["last_fetch_at", "last_status", "consecutive_errors", "next_fetch_at"]
    if response.status == 304:
        summary.not_modified += 1
        # The stored warnings describe the unchanged content and still hold.
        if response.etag and response.etag != source.etag:
            source.etag = response.etag[:500]
            return fields + ["etag"]
        return []
    summary.fetched += 1
    source.etag, source.last_modified = response.etag[:500], response.last_modified[:100]
    source.last_error = "; ".join(outcome.parsed.problems if outcome.parsed else [])[:ERROR_LIMIT]
    return fields + ["etag", "last_modified", "last_error"]


def _new_articles(outcomes: list[SourceOutcome], *, now: datetime) -> list[Article]:
    """Articles from every fetched feed, each canonical URL and (source, guid) once."""
    articles, seen_urls, seen_guids = [], set(), set()
    for outcome in outcomes:
        if outcome.failed or outcome.parsed is None:
            continue
        for entry in outcome.parsed.entries:
            guid_key = (outcome.source.pk, entry.guid)
            if entry.canonical_url in seen_urls or guid_key in seen_guids:
                continue
            seen_urls.add(entry.canonical_url)
            seen_guids.add(guid_key)
            articles.append(Article(
                source=outcome.source, guid=entry.guid, canonical_url=entry.canonical_url, url=entry.url,
                title=entry.title, summary=entry.summary, summary_text=entry.summary_text,
                category=outcome.source.category,
                categories=Article.encode_categories(entry.categories), published_at=entry.published_at,
                first_seen_at=now,
            ))
    return articles


def news_fetch(*, client: FeedClient, now: datetime, workers: int | None = None) -> FetchSummary:
    """One cycle: fetch the due sources concurrently, store what is new, update each source."""
    workers = workers or settings.NEWS_FETCH_WORKERS
    oldest = now - timedelta(days=settings.NEWS_RETENTION_DAYS)
    sources = list(sources_due(now=now))
    summary = FetchSummary(sources=len(sources))
    outcomes: list[SourceOutcome] = []
    started = time.monotonic()
    if sources:
        with ThreadPoolExecutor(max_workers=min(workers, len(sources)), thread_name_prefix="news-fetch") as pool:
            outcomes = list(pool.map(lambda s: _fetch_one(client=client, source=s, now=now, oldest=oldest), sources))
    summary.fetch_seconds = time.monotonic() - started

    started = time.monotonic()
    with transaction.atomic():
        # An operator may have deleted a source while it was being fetched: its articles
        # would fail the foreign key and take the whole run down with them.
        existing = set(NewsSource.objects.filter(pk__in=[o.source.pk for o in outcomes]).values_list("pk", flat=True))
        outcomes = [o for o in outcomes if o.source.pk in existing]
        articles = _new_articles(outcomes, now=now)
        if articles:
            # One statement that skips rows conflicting with either unique constraint: a
            # concurrent run inserting the same article makes this one skip it (PostgreSQL waits
            # for the other transaction, then does nothing), never a duplicate or an error.
            Article.objects.bulk_create(articles, ignore_conflicts=True)
            # ignore_conflicts returns no ids; rows first seen at this run's `now` are ours.
            stored = articles_first_seen(at=now, sources=[o.source for o in outcomes])
            summary.new_articles = len(stored)
            articles_broadcast(articles=stored)
        unchanged = []
        for outcome in outcomes:
            fields = _apply(outcome=outcome, now=now, summary=summary)
            if fields:
                NewsSource.objects.filter(pk=outcome.source.pk).update(
                    **{name: getattr(outcome.source, name) for name in fields})
            else:
                unchanged.append(outcome.source.pk)
        if unchanged:
            # A cycle of 304s is the common case: one statement, not one per source.
            NewsSource.objects.filter(pk__in=unchanged).update(
                last_fetch_at=now, last_status=304, consecutive_errors=0, next_fetch_at=None)
        summary.pruned = articles_prune(now=now)
        if summary.new_articles or summary.pruned:
            transaction.on_commit(news_cache_bump)
    summary.store_seconds = time.monotonic() - started
    return summary


def articles_broadcast(*, articles: list[dict]) -> None:
    """news.published to every /ws/news/ socket, and to each category's sockets its own
    articles (the category filter of /api/news/), once the run's transaction commits."""
    groups = {events.NEWS: articles}
    for category in events.NEWS_CATEGORIES:
        groups[events.news_group(category)] = [a for a in articles if category in a["categories"]]
    for group, items in groups.items():
        for first in range(0, len(items), BROADCAST_ARTICLES):
            broadcast_on_commit(group, events.news_published(items[first:first + BROADCAST_ARTICLES]))


def articles_prune(*, now: datetime) -> int:
    """Drop articles published before the retention horizon."""
    horizon = now - timedelta(days=settings.NEWS_RETENTION_DAYS)
    deleted, _ = Article.objects.filter(published_at__lt=horizon).delete()
    return deleted


def source_reenable(*, source: NewsSource) -> NewsSource:
    """An operator's "the feed works again": fetched on the next run, backoff forgotten."""
    source.enabled = True
    source.forget_failures()
    NewsSource.objects.filter(pk=source.pk).update(enabled=True, consecutive_errors=0, next_fetch_at=None,
                                                   disabled_reason="")
    return source


def source_save(*, source: NewsSource, changed: list[str]) -> NewsSource:
    """An operator's edit: a new URL or turning a source back on starts it afresh."""
    if "feed_url" in changed:
        source.forget_validators()
        source.forget_failures()
    if "enabled" in changed and source.enabled:
        source.forget_failures()
    source.save()
    return source


def article_save(*, article: Article) -> Article:
    """An operator's edit: title and summary cleaned as the fetcher cleans fetched ones."""
    article.title = plain_text(article.title, limit=TITLE_LIMIT) or "(untitled)"
    article.summary = sanitize_summary(article.summary, cleaner=summary_cleaner(base=article.canonical_url))
    article.summary_text = plain_text(article.summary, limit=SUMMARY_TEXT_LIMIT)
    article.save()
    return article
