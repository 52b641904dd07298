"""The time window every analytics figure is computed over.

A window is half-open, ``[start, end)``: a row created exactly at ``end`` belongs to the next
window, so adjacent windows never count a row twice. Windows are whole hours, as the hourly
aggregates the pages read: a preset ends at the end of the current hour (which the aggregates
keep up to the minute), and a custom window is given as two dates (the end date included) or two
ISO date-times, which are rounded down to the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

PRESETS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_PRESET = "7d"
LONGEST_CUSTOM = timedelta(days=366)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    preset: str  # "24h", "7d", "30d" or "custom"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def bucket(self) -> str:
        """Time-series resolution: hours for a window of two days or less, else days."""
        return "hour" if self.duration <= timedelta(days=2) else "day"

    def previous(self) -> Window:
        """The window of the same length just before this one (for spikes against it)."""
        return Window(start=self.start - self.duration, end=self.start, preset="custom")

    @property
    def label(self) -> str:
        if self.preset == "24h":
            return "Last 24 hours"
        if self.preset in PRESETS:
            return f"Last {self.preset[:-1]} days"
        local_end = timezone.localtime(self.end - timedelta(microseconds=1))
        return f"{timezone.localtime(self.start):%Y-%m-%d} to {local_end:%Y-%m-%d}"

    def query(self) -> dict[str, str]:
        """The query parameters that name this window again (links, CSV, API)."""
        if self.preset in PRESETS:
            return {"window": self.preset}
        return {"window": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def window_last(duration: timedelta, *, now: datetime | None = None) -> Window:
    now = now or timezone.now()
    return Window(start=now - duration, end=now, preset="custom")


def _parse_bound(value: str, *, field: str, is_end: bool) -> datetime:
    value = (value or "").strip()
    if not value:
        raise ValidationError(
            {field: f"Give {'an' if field == 'end' else 'a'} {field} date (YYYY-MM-DD) for a custom window."}
        )
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            # An end date is included: the window runs to the start of the next day.
            moment = datetime.combine(day + timedelta(days=1) if is_end else day, time.min)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: f"'{value}' is not a date (YYYY-MM-DD) or an ISO date-time."}) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def window_parse(
    *, window: str | None, start: str | None = None, end: str | None = None, now: datetime | None = None
) -> Window:
    """The window named by request parameters; ValidationError says what is wrong with them."""
    now = now or timezone.now()
    preset = (window or DEFAULT_PRESET).strip()
    if preset in PRESETS:
        end = hour_ceil(now)
        return Window(start=end - PRESETS[preset], end=end, preset=preset)
    if preset != "custom":
        choices = ", ".join([*PRESETS, "custom"])
        raise ValidationError({"window": f"Unknown window '{preset}'; choose one of {choices}."})
    start_at = hour_floor(_parse_bound(start or "", field="start", is_end=False))
    end_at = hour_floor(_parse_bound(end or "", field="end", is_end=True))
    if end_at <= start_at:
        raise ValidationError({"end": "The end must be after the start."})
    if end_at - start_at > LONGEST_CUSTOM:
        raise ValidationError({"end": "A custom window can be at most 366 days long."})
    return Window(start=start_at, end=end_at, preset="custom")
