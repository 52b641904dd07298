"""Guarded rollouts: while the multi-agent flag is in canary or partial in an account, beat looks
at both arms every minute (``guard_check``) and rolls the flag back by itself when the multi-agent
arm is significantly worse on a guardrail metric (error rate, thumbs-down rate, escalation rate,
p95 latency). The statistics are ``analytics.release.sequential`` (mSPRT, valid under repeated
looks), the same code ``bench/guarded_rollout.py`` runs. The rollback goes through rollout's one
flag-change service, so it is audited like any change, and the account's admins are emailed."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from analytics.release.models import RolloutGuardLook
from analytics.release.sequential import ArmCounts, GuardConfig, GuardState, guard_step
from analytics.services import _admin_emails
from conversations.models import Conversation, Message
from escalations.models import Escalation
from rollout.arms import Arm
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import Flag, FlagChange, Phase
from rollout.services import flag_rollback, flag_values

logger = logging.getLogger(__name__)

GUARDED_PHASES = frozenset({Phase.CANARY, Phase.PARTIAL})
LOCK_SECONDS = 5 * 60
BEAT_SEEN_KEY = "analytics:beat-seen"


def beat_seen_record(*, now: datetime | None = None) -> None:
    """A beat-scheduled task ran: the readiness report's evidence that beat is alive."""
    cache.set(BEAT_SEEN_KEY, (now or timezone.now()).isoformat(), timeout=None)


def beat_seen_at() -> datetime | None:
    value = cache.get(BEAT_SEEN_KEY)
    return datetime.fromisoformat(value) if value else None


def guarded_flag(*, account: Account) -> tuple[Flag, dict] | None:
    """The multi-agent flag and its values in the account, when a guarded phase is serving."""
    flag = Flag.objects.filter(key=MULTI_AGENT_FLAG).first()
    if flag is None:
        return None
    values = flag_values(flag=flag, account=account)
    if not values["enabled"] or values["phase"] not in GUARDED_PHASES:
        return None
    return flag, values


def guarded_accounts() -> list[int]:
    """Accounts whose multi-agent flag is in canary or partial: the ones beat looks at."""
    return [account.pk for account in Account.objects.order_by("pk") if guarded_flag(account=account)]


def guard_accounts_due() -> list[int]:
    """Beat's minute: note that beat is alive, and list the accounts to look at."""
    beat_seen_record()
    return guarded_accounts()


def phase_started_at(*, flag: Flag, account: Account) -> datetime:
    """When the values in force began: the last change of the flag that applies to the account
    (its own or a global one). A new phase or percentage starts a new test."""
    change = (
        FlagChange.objects.filter(Q(account=account) | Q(account__isnull=True), flag=flag)
        .exclude(action=FlagChange.Action.OVERRIDE)
        .order_by("-created_at", "-id")
        .first()
    )
    return change.created_at if change is not None else flag.updated_at


def _legacy_p95(replies) -> float | None:
    legacy = replies.filter(conversation__arm=Arm.LEGACY)
    count = legacy.count()
    if not count:
        return None
    index = int(0.95 * (count - 1))
    return float(legacy.order_by("latency_ms").values_list("latency_ms", flat=True)[index])


def arm_counts(*, account: Account, since: datetime) -> tuple[ArmCounts, ArmCounts]:
    """(legacy, multi-agent) counts over the people's conversations started since ``since``."""
    conversations = Conversation.objects.visible().filter(account=account, created_at__gte=since)
    per_arm = {
        row["arm"]: row
        for row in conversations.values("arm").annotate(
            n=Count("pk", distinct=True),
            failed=Count(
                "pk",
                distinct=True,
                filter=Q(messages__role=Message.Role.ASSISTANT, messages__status=Message.Status.FAILED),
            ),
        )
    }
    ratings = {
        row["conversation__arm"]: row
        for row in Message.objects.filter(
            conversation__in=conversations, role=Message.Role.ASSISTANT, feedback__in=Message.Feedback.values
        )
        .values("conversation__arm")
        .annotate(rated=Count("pk"), down=Count("pk", filter=Q(feedback=Message.Feedback.DOWN)))
    }
    escalated = dict(
        Escalation.objects.filter(conversation__in=conversations)
        .values("conversation__arm")
        .annotate(n=Count("conversation", distinct=True))
        .values_list("conversation__arm", "n")
    )
    replies = Message.objects.filter(
        conversation__in=conversations,
        role=Message.Role.ASSISTANT,
        status=Message.Status.COMPLETE,
        latency_ms__isnull=False,
    )
    threshold = _legacy_p95(replies)
    # A reply slower than legacy's p95: 5% of each arm's replies when their latencies are alike.
    slow = {"slow": Count("pk", filter=Q(latency_ms__gt=threshold))} if threshold is not None else {}
    timing = {
        row["conversation__arm"]: row
        for row in replies.values("conversation__arm").annotate(n=Count("pk"), **slow)
    }

    def counts(arm: str) -> ArmCounts:
        arm_timing = timing.get(arm, {})
        arm_replies = replies.filter(conversation__arm=arm)
        p95 = None
        if arm_timing.get("n"):
            p95 = float(
                arm_replies.order_by("latency_ms").values_list("latency_ms", flat=True)[
                    int(0.95 * (arm_timing["n"] - 1))
                ]
            )
        return ArmCounts(
            conversations=per_arm.get(arm, {}).get("n", 0),
            with_error=per_arm.get(arm, {}).get("failed", 0),
            rated=ratings.get(arm, {}).get("rated", 0),
            thumbs_down=ratings.get(arm, {}).get("down", 0),
            escalated=escalated.get(arm, 0),
            timed_replies=arm_timing.get("n", 0),
            slow_replies=arm_timing.get("slow", 0),
            p95_ms=p95,
        )

    return counts(Arm.LEGACY), counts(Arm.MULTI_AGENT)


def _previous_state(*, account: Account, flag: Flag, started: datetime) -> GuardState:
    previous = (
        RolloutGuardLook.objects.filter(account=account, flag=flag, phase_started_at=started)
        .order_by("-looked_at", "-id")
        .first()
    )
    if previous is None:
        return GuardState()
    return GuardState(p_values={metric["key"]: metric["p_value"] for metric in previous.metrics})


def guard_check(
    *, account_id: int, now: datetime | None = None, config: GuardConfig | None = None
) -> RolloutGuardLook | None:
    """One look at the account's guarded flag; rolls it back on a significant regression.
    None when no guarded phase is serving, or another look of the account is running."""
    lock = f"analytics:guard:{account_id}"
    if not cache.add(lock, "running", timeout=LOCK_SECONDS):
        return None
    try:
        return _guard_check(account_id=account_id, now=now or timezone.now(), config=config)
    finally:
        cache.delete(lock)


@transaction.atomic
def _guard_check(*, account_id: int, now: datetime, config: GuardConfig | None) -> RolloutGuardLook | None:
    account = Account.objects.get(pk=account_id)
    guarded = guarded_flag(account=account)
    if guarded is None:
        return None
    flag, values = guarded
    started = phase_started_at(flag=flag, account=account)
    legacy, multi = arm_counts(account=account, since=started)
    state = _previous_state(account=account, flag=flag, started=started)
    _, decision = guard_step(state=state, legacy=legacy, multi=multi, config=config)
    look = RolloutGuardLook.objects.create(
        account=account,
        flag=flag,
        phase=values["phase"],
        percentage=values["percentage"],
        phase_started_at=started,
        looked_at=now,
        legacy=asdict(legacy),
        multi_agent=asdict(multi),
        metrics=[
            asdict(look) | {"legacy_rate": look.legacy_rate, "multi_rate": look.multi_rate}
            for look in decision.looks
        ],
    )
    if not decision.rollback:
        return look
    change = flag_rollback(
        flag=flag,
        account=account,
        actor=None,
        reason=f"automatic rollback: {decision.reason}",
        source=FlagChange.Source.GUARDRAIL,
    )
    look.rolled_back, look.reason, look.flag_change = True, decision.reason, change
    look.save(update_fields=["rolled_back", "reason", "flag_change"])
    logger.warning("guarded rollout rolled back %s in %s: %s", flag.key, account.slug, decision.reason)
    from analytics.release.tasks import notify_guarded_rollback

    look_id = look.pk
    transaction.on_commit(lambda: notify_guarded_rollback.delay(look_id))
    return look


def guard_rollback_notify(*, look_id: int) -> bool:
    """Email the account's admins about an automatic rollback, once (the row is claimed under a
    lock, so a retried task cannot send it twice). Returns whether this call sent it."""
    with transaction.atomic():
        look = (
            RolloutGuardLook.objects.select_for_update()
            .select_related("account", "flag")
            .filter(pk=look_id, rolled_back=True, emailed_at__isnull=True)
            .first()
        )
        if look is None:
            return False
        recipients = _admin_emails(look.account)
        if recipients:
            page = f"{settings.SITE_URL.rstrip('/')}{reverse('rollout:flag', args=[look.flag.key])}"
            send_mail(
                subject=f"[{look.account.name}] {look.flag.key} rolled back automatically",
                message=(
                    f"The guarded rollout rolled {look.flag.key} back to off in {look.account.name} "
                    f"at {look.looked_at:%Y-%m-%d %H:%M} UTC (it was in {look.phase} at "
                    f"{look.percentage}%).\n\nautomatic rollback: {look.reason}\n\n"
                    "The multi-agent arm was compared with legacy on every conversation since the phase "
                    "began, with a sequential test that stays valid however often it looks. "
                    f"The evidence and the audit entry are on the Rollout page:\n{page}\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        look.emailed_at = timezone.now()
        look.emailed_to = recipients
        look.save(update_fields=["emailed_at", "emailed_to"])
    return True
