from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from analytics.selectors.handoffs import handoff_figures
from analytics.windows import Window, window_parse
from tests.analytics.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("preset", "days"), [("24h", 1), ("7d", 7), ("30d", 30)])
def test_presets_end_now(preset, days):
    window = window_parse(window=preset, now=NOW)
    assert (window.start, window.end, window.preset) == (NOW - timedelta(days=days), NOW, preset)


def test_no_window_means_the_last_seven_days():
    assert window_parse(window=None, now=NOW).start == NOW - timedelta(days=7)


def test_a_custom_window_includes_its_end_date():
    window = window_parse(window="custom", start="2026-06-01", end="2026-06-03")
    assert window.start == datetime(2026, 6, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 6, 4, tzinfo=UTC)
    assert window.bucket == "day"
    assert window_parse(window="24h", now=NOW).bucket == "hour"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"window": "90d"}, "window", "Unknown window '90d'"),
        ({"window": "custom", "end": "2026-06-03"}, "start", "Give a start date"),
        ({"window": "custom", "start": "June", "end": "2026-06-03"}, "start", "'June' is not a date"),
        ({"window": "custom", "start": "2026-06-05", "end": "2026-06-03"}, "end", "after the start"),
        ({"window": "custom", "start": "2020-01-01", "end": "2026-06-03"}, "end", "at most 366 days"),
    ],
)
def test_bad_windows_say_what_is_wrong(params, field, words):
    with pytest.raises(ValidationError) as raised:
        window_parse(**params)
    assert words in " ".join(raised.value.message_dict[field])


def test_a_window_includes_its_first_instant_and_excludes_its_last(dataset):
    # C7 started exactly at NOW - 7 days, C8 exactly at NOW.
    before = handoff_figures(account=dataset.account, window=Window(NOW - timedelta(days=7), NOW, "custom"))
    after = handoff_figures(
        account=dataset.account,
        window=Window(
            NOW - timedelta(days=7) + timedelta(microseconds=1), NOW + timedelta(microseconds=1), "custom"
        ),
    )
    assert before.conversations == 4  # C1, C2, C3, C7
    assert after.conversations == 4  # C1, C2, C3, C8
    assert (before.handoffs, after.handoffs) == (2, 3)  # C8's hand-off is at NOW
