"""Reading feed bytes into entries, keeping what can be read and saying what could not.

feedparser is lenient by design: a partly broken document still yields the entries before
the break, with `bozo` set and the reason in `bozo_exception`.
"""

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import feedparser

from news.content import canonical_url, categories_for, plain_text, sanitize_summary, summary_cleaner

TITLE_LIMIT = 500
GUID_LIMIT = 500
URL_LIMIT = 2000
SUMMARY_TEXT_LIMIT = 5000
# A feed may run a little ahead of our clock; further ahead, its date is not believed.
FUTURE_TOLERANCE = timedelta(hours=1)
# feedparser warnings that say nothing is wrong with the content we keep.
BENIGN_BOZO = ("NonXMLContentType", "CharacterEncodingOverride")


@dataclass(frozen=True)
class ParsedEntry:
    guid: str
    url: str
    canonical_url: str
    title: str
    summary: str
    summary_text: str
    published_at: datetime  # UTC; the time first seen when the feed gives none
    categories: list[str]


@dataclass
class ParsedFeed:
    entries: list[ParsedEntry] = field(default_factory=list)
    # Why some or all of the feed could not be used; empty when all was well.
    problems: list[str] = field(default_factory=list)
    # True when nothing usable came out of a document that is not a feed (an HTML page, garbage).
    unusable: bool = False


def _entry_date(entry, *, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                # feedparser normalises to a UTC struct_time; timegm reads it as UTC.
                when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return None if when > now + FUTURE_TOLERANCE else when
    return None


def parse_feed(body: bytes, *, url: str, content_type: str, source_category: str, now: datetime,
               max_entries: int, oldest: datetime | None = None) -> ParsedFeed:
    """Entries of a feed with safe content and canonical links.

    `oldest`: entries published before it are dropped (already past retention, so storing
    them would only have them pruned, and then stored again, on every run).
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    else:
        # Without a Content-Type feedparser falls back to ISO-8859-1 when the document declares
        # no encoding; with this one it falls back to UTF-8, as XML parsers do.
        headers["content-type"] = "application/xml"
    # feedparser's sanitiser and its resolution of links inside summaries are its slowest
    # parts (half the time of a whole cycle); nh3 does both jobs afterwards, in Rust.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    result = ParsedFeed()
    exception = parsed.get("bozo_exception") if parsed.get("bozo") else None

    if not parsed.get("entries"):
        if not parsed.get("version"):
            result.unusable = True
            looks_html = b"<html" in body[:4096].lower() or content_type.startswith("text/html")
            what = "an HTML page" if looks_html else ("empty" if not body.strip() else "not RSS or Atom")
            reason = f": {type(exception).__name__}: {exception}" if exception else ""
            result.problems.append(f"not a feed ({what}){reason}")
        else:
            result.problems.append("the feed has no entries")
        return result

    if exception is not None and type(exception).__name__ not in BENIGN_BOZO:
        result.problems.append(f"feed partly broken, kept what could be read: {type(exception).__name__}: "
                               f"{exception}")

    entries = parsed.get("entries")
    if len(entries) > max_entries:
        result.problems.append(f"{len(entries)} entries, only the first {max_entries} read")
        entries = entries[:max_entries]

    no_link = no_date = 0
    cleaner = summary_cleaner(base=url)
    for entry in entries:
        link = entry.get("link") or ""
        if not link:
            # An RSS <guid isPermaLink="true"> is the article's address even without <link>.
            guid = entry.get("id") or ""
            link = guid if entry.get("guidislink") else ""
        canonical = canonical_url(link, base=url)
        if canonical is None or len(canonical) > URL_LIMIT:
            no_link += 1
            continue
        published = _entry_date(entry, now=now)
        if published is None:
            no_date += 1
            published = now
        if oldest is not None and published < oldest:
            continue
        title = plain_text(entry.get("title") or "", limit=TITLE_LIMIT)
        # Atom entries may carry only <content>: its start stands in for a summary.
        summary_html = entry.get("summary") or next(
            (c.get("value") or "" for c in entry.get("content") or []), "")
        summary = sanitize_summary(summary_html, cleaner=cleaner)
        summary_text = plain_text(summary, limit=SUMMARY_TEXT_LIMIT)
        result.entries.append(ParsedEntry(
            guid=(entry.get("id") or canonical)[:GUID_LIMIT],
            url=urljoin(url, link.strip())[:URL_LIMIT],
            canonical_url=canonical,
            title=title or "(untitled)",
            summary=summary,
            summary_text=summary_text,
            published_at=published,
            categories=categories_for(source_category=source_category, text=f"{title} {summary_text}"),
        ))
    if no_link:
        result.problems.append(f"{no_link} entries without a usable http(s) link skipped")
    if no_date:
        result.problems.append(f"{no_date} entries without a usable date dated when first seen")
    return result
