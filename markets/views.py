"""REST adapters: /api/prices/, /api/prices/<symbol>/history/ and /api/prices/<symbol>/candles/."""

from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from goldsocial.openapi import FIELD_ERROR, NOT_FOUND
from goldsocial.timefmt import iso_ms
from markets.candles import CANDLE_INTERVALS, candle_start, candles_between
from markets.price import quotes_decode
from markets.selectors import prices_latest, ticks_between
from markets.serializers import PriceCandlesSerializer, PriceHistorySerializer, PricesSerializer
from markets.symbols import SymbolListError, symbol_list_parse

DEFAULT_HISTORY_SPAN = timedelta(hours=1)
# The history's optional detail levels (?detail=).
DETAILS = ("sources",)
MAX_CANDLES = 1000
# Without a start: a useful chart of each interval, well under MAX_CANDLES.
DEFAULT_CANDLE_SPANS = {"1m": timedelta(hours=1), "5m": timedelta(days=1), "15m": timedelta(days=7),
                        "1h": timedelta(days=30), "1d": timedelta(days=365)}
# _moment's input: an ISO-8601 date-time, or empty for the default.
MOMENT = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}


class PricesView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PricesSerializer, 400: FIELD_ERROR}, parameters=[
        OpenApiParameter("symbols", str, many=True, explode=False, style="form", enum=[*settings.MARKET_SYMBOLS, ""],
                         description="comma-separated, e.g. XAUUSD,BTCUSD (case, spaces, empty items and repeats "
                                     "do not matter; an unknown symbol answers 400); default (or no symbol): all")])
    def get(self, request):
        try:
            symbols = symbol_list_parse(request.query_params.get("symbols", ""), known=settings.MARKET_SYMBOLS)
        except SymbolListError as exc:
            raise ValidationError({"symbols": exc.message}) from None
        return Response({"prices": prices_latest(now=timezone.now(), symbols=symbols)})


def _moment(request, name):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a bare "+" in a query string arrives as a space
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: f"{raw!r} is not an ISO-8601 date-time, e.g. 2026-11-29T09:00:00Z"})
    if not value.tzinfo:
        return value.replace(tzinfo=UTC)
    try:
        # In UTC: ISO-8601 allows offsets up to 23:59, PostgreSQL refuses more than 15:59.
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError({name: f"{raw!r} is before the year 1 in UTC"}) from None


def _symbol(symbol: str) -> str:
    symbol = symbol.upper()
    if symbol not in settings.SYMBOLS_ALL:
        raise NotFound(f"unknown symbol {symbol!r}: known symbols are {', '.join(settings.SYMBOLS_ALL)}")
    return symbol


class PriceHistoryView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PriceHistorySerializer, 400: FIELD_ERROR, 404: NOT_FOUND}, parameters=[
        OpenApiParameter("symbol", str, OpenApiParameter.PATH, enum=settings.SYMBOLS_ALL,
                         description="a market symbol (case does not matter)"),
        OpenApiParameter("start", MOMENT,
                         description="default (or empty): one hour before end; after end answers 400"),
        OpenApiParameter("end", MOMENT, description="default (or empty): now"),
        OpenApiParameter("detail", str, enum=[*DETAILS, ""],
                         description="sources: each tick with the providers' quotes it was made from"),
    ])
    def get(self, request, symbol):
        symbol = _symbol(symbol)
        detail = request.query_params.get("detail", "")
        if detail not in (*DETAILS, ""):
            raise ValidationError({"detail": f"{detail!r} is not a detail: expected {' or '.join(DETAILS)}"})
        end = _moment(request, "end") or timezone.now()
        try:
            start = _moment(request, "start") or end - DEFAULT_HISTORY_SPAN
        except OverflowError:
            raise ValidationError({"end": "too early: give a start too"}) from None
        if start > end:
            raise ValidationError({"start": "start must not be after end"})
        limit = settings.PRICE_HISTORY_MAX_ROWS
        # One row more than the cap tells whether the range was cut.
        ticks = ticks_between(symbol=symbol, start=start, end=end, limit=limit + 1)
        truncated = len(ticks) > limit
        ticks = ticks[:limit]
        return Response({
            "symbol": symbol,
            "start": iso_ms(start),
            "end": iso_ms(end),
            "count": len(ticks),
            "truncated": truncated,
            # Where to continue when truncated: ticks sharing this timestamp may repeat.
            "next_start": iso_ms(ticks[-1].timestamp) if truncated else None,
            "ticks": [_tick_item(t, sources=detail == "sources") for t in ticks],
        })


def _tick_item(tick, *, sources: bool) -> dict:
    item = {"bid": float(tick.bid), "ask": float(tick.ask), "price": float(tick.mid),
            "timestamp": iso_ms(tick.timestamp), "source": tick.source}
    if sources:
        item["sources"] = [{"source": q.source, "bid": float(q.bid), "ask": float(q.ask),
                            "timestamp": iso_ms(q.timestamp), "used": reason is None, "set_aside": reason}
                           for q, reason in quotes_decode(symbol=tick.symbol, data=tick.sources, at=tick.timestamp)]
    return item


class PriceCandlesView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PriceCandlesSerializer, 400: FIELD_ERROR, 404: NOT_FOUND}, parameters=[
        OpenApiParameter("symbol", str, OpenApiParameter.PATH, enum=settings.SYMBOLS_ALL,
                         description="a market symbol (case does not matter)"),
        OpenApiParameter("interval", str, required=True, enum=list(CANDLE_INTERVALS),
                         description="the length of one candle; candles start at whole multiples of it since "
                                     "1970-01-01 UTC (1d: UTC days)"),
        OpenApiParameter("start", MOMENT,
                         description="default (or empty): before end by 1 h (1m), 1 day (5m), 7 days (15m), "
                                     "30 days (1h) or 365 days (1d); moved back to the start of its candle; "
                                     "after end answers 400"),
        OpenApiParameter("end", MOMENT, description="default (or empty): now; ticks at end are included"),
    ], description=f"At most {MAX_CANDLES} candles: a range that spans more intervals answers 400 on start "
                   "(ask for a shorter range or a longer interval). Candles without a tick are left out.")
    def get(self, request, symbol):
        symbol = _symbol(symbol)
        interval = request.query_params.get("interval", "")
        if interval not in CANDLE_INTERVALS:
            raise ValidationError({"interval": f"{'required' if not interval else repr(interval) + ' is unknown'}: "
                                               f"one of {', '.join(CANDLE_INTERVALS)}"})
        seconds = CANDLE_INTERVALS[interval]
        end = _moment(request, "end") or timezone.now()
        try:
            start = _moment(request, "start") or end - DEFAULT_CANDLE_SPANS[interval]
            start = candle_start(start, seconds=seconds)
        except (OverflowError, OSError, ValueError):
            raise ValidationError({"start": "too early: give a later start"}) from None
        if start > end:
            raise ValidationError({"start": "start must not be after end"})
        # Decided from the range alone, before any query: the same request always gets the
        # same answer, however many of its candles happen to have ticks.
        spanned = int((end - start).total_seconds() // seconds) + 1
        if spanned > MAX_CANDLES:
            raise ValidationError({"start": f"the range spans {spanned} candles of {interval}; at most {MAX_CANDLES}: "
                                            "ask for a shorter range or a longer interval"})
        candles = candles_between(symbol=symbol, seconds=seconds, start=start, end=end)
        return Response({
            "symbol": symbol,
            "interval": interval,
            "start": iso_ms(start),
            "end": iso_ms(end),
            "candles": [{"start": iso_ms(c.start), "open": float(c.open), "high": float(c.high), "low": float(c.low),
                         "close": float(c.close), "ticks": c.ticks, "first_tick_at": iso_ms(c.first_tick_at),
                         "last_tick_at": iso_ms(c.last_tick_at)} for c in candles],
        })
