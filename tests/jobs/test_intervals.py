import pytest
from django.core.exceptions import ValidationError

from jobs.intervals import cron_for_interval
from jobs.models import validate_interval


@pytest.mark.parametrize(("seconds", "cron"), [
    (1, "* * * * * */1"), (5, "* * * * * */5"), (30, "* * * * * */30"),
    (60, "*/1 * * * *"), (900, "*/15 * * * *"), (3600, "0 */1 * * *"), (86400, "0 0 * * *"),
])
def test_it_turns_an_interval_into_a_cron_expression(seconds, cron):
    assert cron_for_interval(seconds) == cron


@pytest.mark.parametrize("seconds", [0, -5, 7, 45, 90, 420, 5400, 172800])
def test_it_refuses_an_interval_that_does_not_divide_a_minute_hour_or_day(seconds):
    with pytest.raises(ValueError, match="interval|divide"):
        cron_for_interval(seconds)
    with pytest.raises(ValidationError):
        validate_interval(seconds)
