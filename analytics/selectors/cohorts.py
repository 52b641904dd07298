"""The multi-agent arm against the legacy arm, over the conversations each started in the window.

Each figure comes with both arms' counts and a 95% interval for the difference (multi-agent minus
legacy). Per-conversation figures (length, errors, cost) are computed per conversation first and
then summed as moments in one pass, so the query reads each message once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from accounts.models import Account
from analytics.selectors.shadow import ShadowFigures, shadow_figures
from analytics.stats import Difference, Moments, mean_difference, proportion_difference
from analytics.windows import Window
from conversations.models import Conversation, Message


@dataclass(frozen=True)
class ArmFigures:
    arm: str
    label: str
    conversations: int
    turns: Moments  # user messages per conversation
    with_error: int  # conversations with at least one failed reply
    cost: Moments  # cost per conversation (USD)
    latency: Moments  # reply latency (ms), over completed replies
    thumbs_up: int
    thumbs_down: int
    escalated: int | None  # None while no escalation data exists

    @property
    def error_rate(self) -> float | None:
        return self.with_error / self.conversations if self.conversations else None

    @property
    def satisfaction(self) -> float | None:
        rated = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / rated if rated else None

    @property
    def escalation_rate(self) -> float | None:
        if self.escalated is None or not self.conversations:
            return None
        return self.escalated / self.conversations


@dataclass(frozen=True)
class Comparison:
    metric: str
    label: str
    unit: str  # "share", "ms", "usd", "turns"
    legacy: float | None
    multi_agent: float | None
    legacy_n: int
    multi_agent_n: int
    difference: Difference
    lower_is_better: bool


@dataclass(frozen=True)
class CohortFigures:
    legacy: ArmFigures
    multi_agent: ArmFigures
    comparisons: list[Comparison]
    shadow: ShadowFigures | None  # None until the rollout app keeps shadow pairs


_SQL = """
SELECT c.arm,
       COUNT(*),
       COALESCE(SUM(s.turns), 0), COALESCE(SUM(s.turns * s.turns), 0),
       COALESCE(SUM(CASE WHEN s.failed > 0 THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(s.cost), 0), COALESCE(SUM(s.cost * s.cost), 0),
       COALESCE(SUM(s.latency_n), 0), COALESCE(SUM(s.latency_sum), 0), COALESCE(SUM(s.latency_sq), 0),
       COALESCE(SUM(s.up), 0), COALESCE(SUM(s.down), 0)
FROM {conversation} c
LEFT JOIN (
    SELECT m.conversation_id,
           SUM(CASE WHEN m.role = 'user' THEN 1 ELSE 0 END) AS turns,
           SUM(CASE WHEN m.role = 'assistant' AND m.status = 'failed' THEN 1 ELSE 0 END) AS failed,
           COALESCE(SUM(m.cost_usd), 0) AS cost,
           SUM(CASE WHEN m.status = 'complete' AND m.latency_ms IS NOT NULL THEN 1 ELSE 0 END) AS latency_n,
           SUM(CASE WHEN m.status = 'complete' THEN m.latency_ms ELSE 0 END) AS latency_sum,
           SUM(CASE WHEN m.status = 'complete' THEN 1.0 * m.latency_ms * m.latency_ms ELSE 0 END)
               AS latency_sq,
           SUM(CASE WHEN m.feedback = 'up' THEN 1 ELSE 0 END) AS up,
           SUM(CASE WHEN m.feedback = 'down' THEN 1 ELSE 0 END) AS down
    FROM {message} m
    JOIN {conversation} c2 ON c2.id = m.conversation_id
    WHERE c2.account_id = %s AND c2.created_at >= %s AND c2.created_at < %s
    GROUP BY m.conversation_id
) s ON s.conversation_id = c.id
WHERE c.account_id = %s AND c.created_at >= %s AND c.created_at < %s
GROUP BY c.arm
"""


def _escalated_by_arm(*, account: Account, window: Window) -> dict[str, int] | None:
    """Conversations per arm that were escalated; None when the escalations app has no model yet."""
    from django.db.models import Count, Exists, OuterRef, Q

    from analytics.selectors.common import conversations_in, escalation_model

    Escalation = escalation_model()
    if Escalation is None:
        return None

    escalated = Exists(Escalation.objects.filter(conversation=OuterRef("pk")))
    rows = (
        conversations_in(account=account, window=window)
        .values("arm")
        .annotate(n=Count("id", filter=Q(escalated)))
    )
    return {row["arm"]: row["n"] for row in rows}


def _arm(arm: str, row: tuple | None, escalated: dict[str, int] | None) -> ArmFigures:
    row = row or (arm, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    _, n, turns, turns_sq, with_error, cost, cost_sq, lat_n, lat_sum, lat_sq, up, down = row
    return ArmFigures(
        arm=arm,
        label=Conversation.Arm(arm).label,
        conversations=int(n),
        turns=Moments(int(n), float(turns), float(turns_sq)),
        with_error=int(with_error),
        cost=Moments(int(n), float(cost), float(cost_sq)),
        latency=Moments(int(lat_n), float(lat_sum), float(lat_sq)),
        thumbs_up=int(up),
        thumbs_down=int(down),
        escalated=None if escalated is None else escalated.get(arm, 0),
    )


def cohort_figures(*, account: Account, window: Window) -> CohortFigures:
    sql = _SQL.format(conversation=Conversation._meta.db_table, message=Message._meta.db_table)
    # Raw SQL gets its datetimes in the backend's own format (SQLite compares them as text).
    adapt = connection.ops.adapt_datetimefield_value
    bounds = [account.pk, adapt(window.start), adapt(window.end)]
    with connection.cursor() as cursor:
        cursor.execute(sql, bounds + bounds)
        rows = {row[0]: row for row in cursor.fetchall()}
    escalated = _escalated_by_arm(account=account, window=window)
    legacy = _arm(Conversation.Arm.LEGACY, rows.get(Conversation.Arm.LEGACY), escalated)
    multi = _arm(Conversation.Arm.MULTI_AGENT, rows.get(Conversation.Arm.MULTI_AGENT), escalated)
    comparisons = [
        Comparison(
            "error_rate", "Conversations with a failed reply", "share",
            legacy.error_rate, multi.error_rate, legacy.conversations, multi.conversations,
            proportion_difference(
                hits_a=multi.with_error, n_a=multi.conversations,
                hits_b=legacy.with_error, n_b=legacy.conversations,
            ),
            lower_is_better=True,
        ),
        Comparison(
            "turns", "Conversation length (user messages)", "turns",
            legacy.turns.mean, multi.turns.mean, legacy.conversations, multi.conversations,
            mean_difference(multi.turns, legacy.turns), lower_is_better=True,
        ),
        Comparison(
            "satisfaction", "Thumbs up among rated replies", "share",
            legacy.satisfaction, multi.satisfaction,
            legacy.thumbs_up + legacy.thumbs_down, multi.thumbs_up + multi.thumbs_down,
            proportion_difference(
                hits_a=multi.thumbs_up, n_a=multi.thumbs_up + multi.thumbs_down,
                hits_b=legacy.thumbs_up, n_b=legacy.thumbs_up + legacy.thumbs_down,
            ),
            lower_is_better=False,
        ),
        Comparison(
            "latency", "Reply latency (mean)", "ms",
            legacy.latency.mean, multi.latency.mean, legacy.latency.n, multi.latency.n,
            mean_difference(multi.latency, legacy.latency), lower_is_better=True,
        ),
        Comparison(
            "cost", "Cost per conversation", "usd",
            legacy.cost.mean, multi.cost.mean, legacy.conversations, multi.conversations,
            mean_difference(multi.cost, legacy.cost), lower_is_better=True,
        ),
    ]  # fmt: skip
    if escalated is not None:
        comparisons.append(
            Comparison(
                "escalation_rate",
                "Conversations escalated",
                "share",
                legacy.escalation_rate,
                multi.escalation_rate,
                legacy.conversations,
                multi.conversations,
                proportion_difference(
                    hits_a=multi.escalated or 0,
                    n_a=multi.conversations,
                    hits_b=legacy.escalated or 0,
                    n_b=legacy.conversations,
                ),
                lower_is_better=True,
            )
        )
    return CohortFigures(
        legacy=legacy,
        multi_agent=multi,
        comparisons=comparisons,
        shadow=shadow_figures(account=account, window=window),
    )
