"""REST adapters: /api/prices/ and /api/prices/<symbol>/history/."""

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
from markets.price import quotes_decode
from markets.selectors import prices_latest, ticks_between
from markets.serializers import PriceHistorySerializer, PricesSerializer

DEFAULT_HISTORY_SPAN = timedelta(hours=1)
# The history's optional detail levels (?detail=).
DETAILS = ("sources",)
# _moment's input: an ISO-8601 date-time, or empty for the default.
MOMENT = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}


class PricesView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PricesSerializer, 400: FIELD_ERROR}, parameters=[
        OpenApiParameter("symbols", str, many=True, explode=False, style="form", enum=[*settings.MARKET_SYMBOLS, ""],
                         description="comma-separated, e.g. XAUUSD,BTCUSD (case, spaces and empty items do not "
                                     "matter); default: all")])
    def get(self, request):
        symbols = None
        if request.query_params.get("symbols"):
            symbols = [s.strip().upper() for s in request.query_params["symbols"].split(",") if s.strip()]
            unknown = [s for s in symbols if s not in settings.MARKET_SYMBOLS]
            if unknown:
                raise ValidationError({"symbols": f"unknown symbol(s) {', '.join(unknown)}: known symbols are "
                                                  f"{', '.join(settings.MARKET_SYMBOLS)}"})
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
        symbol = symbol.upper()
        if symbol not in settings.SYMBOLS_ALL:
            raise NotFound(f"unknown symbol {symbol!r}: known symbols are {', '.join(settings.SYMBOLS_ALL)}")
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
