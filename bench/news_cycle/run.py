"""News fetch cycle benchmark: N feeds x M items from a local server, two cycles.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gs_news REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/news_cycle/run.py [--feeds 100] [--items 50] [--workers 8]

The feed server runs in its own process (so its work does not share our GIL) and answers a
request carrying the current ETag with 304. The benchmark makes its own throw-away database
(Django's test database, `test_<name>`) and drops it at the end; the cache is the Redis
database of REDIS_URL. Prints wall time of the first cycle (every feed new) and the second
(every feed 304), articles stored per second, and peak memory.
"""

import argparse
import hashlib
import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
# The bench's feeds are served on loopback, which feed requests otherwise refuse.
os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")

NOW = datetime.now(UTC).replace(microsecond=0)


def make_feed(feed: int, items: int) -> bytes:
    """An RSS document shaped like the real ones: tracking parameters, HTML summaries."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {feed}</title>'
             f"<link>https://bench{feed}.example/</link><description>Feed {feed}</description>"]
    for item in range(items):
        published = format_datetime(NOW - timedelta(minutes=feed + item * 7), usegmt=True)
        topic = ("Gold climbs as the dollar slips", "EUR/USD steadies before the ECB", "Stocks close higher")[item % 3]
        parts.append(
            f"<item><title>{topic} ({feed}-{item})</title>"
            f"<link>https://bench{feed}.example/news/{item}?utm_source=rss&amp;utm_medium=feed&amp;id={item}</link>"
            f'<guid isPermaLink="false">bench-{feed}-{item}</guid><pubDate>{published}</pubDate>'
            f"<description><![CDATA[<p>{topic}: a summary of about one kilobyte, "
            + "with <b>some</b> markup and <a href='https://bench.example/x'>a link</a>. " * 8
            + f"</p><img src='https://pixel.example/{feed}/{item}.gif'>]]></description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(port_queue, feeds: int, items: int) -> None:
    bodies = {f"/feed/{n}": make_feed(n, items) for n in range(feeds)}
    etags = {path: '"' + hashlib.sha256(body).hexdigest()[:16] + '"' for path, body in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server would
        # Headers and body in one segment: otherwise Nagle's algorithm and the client's delayed
        # ACK add 40 ms to every response, which measures the test server, not the fetcher.
        disable_nagle_algorithm = True
        wbufsize = 256 * 1024

        def do_GET(self):  # noqa: N802
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etags[self.path])
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None, help="default: NEWS_FETCH_WORKERS")
    args = parser.parse_args()

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.feeds, args.items), daemon=True)
    server.start()
    port = ports.get(timeout=60)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from news.client import FeedClient
    from news.models import Article, NewsSource
    from news.services import news_fetch

    setup_test_environment()
    if connection.vendor == "sqlite":
        # A file, not memory: the fetch threads write through connections of their own.
        connection.settings_dict["TEST"]["NAME"] = str(Path(settings.BASE_DIR) / "test_db_bench.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        NewsSource.objects.all().delete()
        NewsSource.objects.bulk_create(
            NewsSource(name=f"bench {n}", feed_url=f"http://127.0.0.1:{port}/feed/{n}", category="markets")
            for n in range(args.feeds))
        workers = args.workers or settings.NEWS_FETCH_WORKERS
        feed_bytes = len(make_feed(0, args.items))
        print(f"database: {connection.vendor}; {args.feeds} feeds x {args.items} items "
              f"({feed_bytes / 1024:.0f} KiB each); {workers} fetch threads; {os.cpu_count()} CPUs (shared)")
        client = FeedClient.from_settings()
        rss_before = rss_mib()

        started = time.perf_counter()
        first = news_fetch(client=client, now=NOW, workers=workers)
        first_s = time.perf_counter() - started
        rss_first = rss_mib()

        started = time.perf_counter()
        second = news_fetch(client=client, now=NOW + timedelta(minutes=15), workers=workers)
        second_s = time.perf_counter() - started
        client.close()

        stored = Article.objects.count()
        print(f"first cycle:  {first_s:6.2f} s  (fetch+parse {first.fetch_seconds:.2f} s, store "
              f"{first.store_seconds:.2f} s)  {first}")
        print(f"second cycle: {second_s:6.2f} s  (fetch {second.fetch_seconds:.2f} s, store "
              f"{second.store_seconds:.2f} s)  {second}")
        print(f"articles stored: {stored}, {first.new_articles / first_s:,.0f} per second in the first cycle")
        print(f"peak RSS: {rss_first:.0f} MiB (before the cycles {rss_before:.0f} MiB, "
              f"after both {rss_mib():.0f} MiB)")
        ok_first, ok_second = first_s < 10, second_s < 1
        print(f"targets: first < 10 s {'met' if ok_first else 'MISSED'}, second < 1 s "
              f"{'met' if ok_second else 'MISSED'}")
        assert first.errors == 0 and second.not_modified == args.feeds, "the cycles did not go as expected"
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        server.terminate()


if __name__ == "__main__":
    main()
