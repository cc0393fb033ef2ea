"""Serializer fields shared by the apps' APIs."""

from rest_framework import serializers

from goldsocial.timefmt import iso_ms


class StrictCharField(serializers.CharField):
    """A text field that takes only a JSON string: DRF's own turns a number into its text ({"note": 0} -> "0")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IsoMsField(serializers.DateTimeField):
    """A time as the API writes every time: ISO-8601 in UTC with milliseconds and a Z (`iso_ms`).

    DRF's own writes microseconds and the server's time zone offset."""

    def to_representation(self, value):
        return iso_ms(value)
