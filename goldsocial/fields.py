"""Serializer fields shared by the apps' APIs."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A text field that takes only a JSON string: DRF's own turns a number into its text ({"note": 0} -> "0")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
