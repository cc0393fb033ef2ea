"""Serializer fields shared by the apps' APIs (goldsocial/fields.py)."""

from datetime import datetime, timedelta, timezone

from rest_framework import serializers

from goldsocial.fields import IsoMsField


class _When(serializers.Serializer):
    at = IsoMsField()


def test_it_writes_a_time_in_utc_with_milliseconds_and_a_z():
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 29, 10, 0, 5, 12345, tzinfo=paris)
    assert _When({"at": at}).data == {"at": "2026-11-29T09:00:05.012Z"}

