from __future__ import annotations

from django import template

from analytics.selectors.alerts import alerts_firing_count

register = template.Library()
DASH = "\u2013"  # an en dash: no figure


@register.filter
def pct(value, digits: int = 1) -> str:
    if value is None or value == "":
        return DASH
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def pp(value, digits: int = 1) -> str:
    """A difference of shares, in percentage points, with its sign."""
    if value is None:
        return DASH
    return f"{float(value) * 100:+.{int(digits)}f} pp"


@register.filter
def ms(value) -> str:
    if value is None:
        return DASH
    return f"{float(value):,.0f} ms"


@register.filter
def usd(value, digits: int = 2) -> str:
    if value is None:
        return DASH
    return f"${float(value):,.{int(digits)}f}"


@register.filter
def num(value, digits: int = 0) -> str:
    if value is None:
        return DASH
    return f"{float(value):,.{int(digits)}f}"


@register.filter
def signed(value, digits: int = 2) -> str:
    if value is None:
        return DASH
    return f"{float(value):+,.{int(digits)}f}"


@register.simple_tag(takes_context=True)
def analytics_firing_alerts(context) -> int:
    """Firing alerts of the current account, for the nav badge (operators and admins)."""
    membership = context.get("current_membership")
    if membership is None or not membership.is_operator:
        return 0
    return alerts_firing_count(account=membership.account)


@register.filter
def bucket(value: str) -> str:
    """A time-series bucket key for people: '2026-11-29' for a day, '2026-11-29 14:00' for an hour."""
    day, _, time = str(value).partition("T")
    return day if time in ("", "00:00") else f"{day} {time}"
