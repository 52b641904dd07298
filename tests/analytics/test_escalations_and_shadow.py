"""Escalation outcomes and shadow pairs, on hand-built rows with hand-worked answers."""

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core import mail

from analytics.models import AlertRule, ConversationFact, ConversationHour
from analytics.rollups import rollups_rebuild
from analytics.selectors.cohorts import cohort_figures
from analytics.selectors.escalations import escalation_figures
from analytics.selectors.handoffs import handoff_figures, handoff_rate
from analytics.services import rule_evaluate
from analytics.windows import window_parse
from conversations.models import Conversation, Message, ShadowConversation, ShadowPair
from escalations.models import Escalation, Phase, PhaseRun
from rollout.models import Flag
from tests.analytics.conftest import NOW, WINDOW, Builder

pytestmark = pytest.mark.django_db
MIN = timedelta(minutes=1)


def _escalate(conversation, trigger, runs, **fields) -> Escalation:
    reply = conversation.messages.filter(role="assistant").last()
    created = conversation.created_at
    escalation = Escalation.objects.create(
        account=conversation.account, conversation=conversation, message=reply, trigger=trigger,
        reason="r", question="q", **fields,
    )  # fmt: skip
    Escalation.objects.filter(pk=escalation.pk).update(created_at=created)
    for phase, outcome in runs:
        PhaseRun.objects.create(escalation=escalation, phase=phase, outcome=outcome)
    return escalation


@pytest.fixture
def escalated(dataset):
    c = dataset.conversations
    fell, resolved, queued = PhaseRun.Outcome.FELL_THROUGH, PhaseRun.Outcome.RESOLVED, PhaseRun.Outcome.QUEUED
    at = {name: conv.created_at for name, conv in c.items()}
    _escalate(c["C1"], "thumbs_down", [(Phase.QUICK_FIX, resolved)], status="resolved",
              resolved_by_phase=Phase.QUICK_FIX, resolved_at=at["C1"] + 2 * MIN)  # fmt: skip
    _escalate(c["C3"], "cannot_resolve", [(Phase.QUICK_FIX, fell), (Phase.RESEARCH, resolved)],
              status="resolved", resolved_by_phase=Phase.RESEARCH,
              resolved_at=at["C3"] + 10 * MIN)  # fmt: skip
    ladder = [
        (Phase.QUICK_FIX, fell),
        (Phase.RESEARCH, fell),
        (Phase.CONSULTATION, fell),
        (Phase.HUMAN, queued),
    ]
    _escalate(c["C4"], "asked_for_person", ladder, status="resolved", resolved_by_phase=Phase.HUMAN,
              queued_at=at["C4"] + 5 * MIN, first_response_at=at["C4"] + 25 * MIN,
              first_response_due_at=at["C4"] + 35 * MIN, resolved_at=at["C4"] + 65 * MIN,
              resolution_due_at=at["C4"] + 485 * MIN)  # fmt: skip
    _escalate(c["C2"], "approval_denied", ladder, status="open", queued_at=at["C2"] + 5 * MIN,
              first_response_due_at=at["C2"] + 35 * MIN, resolution_due_at=at["C2"] + 485 * MIN)  # fmt: skip
    _escalate(
        c["C6"],
        "cannot_resolve",
        [(Phase.QUICK_FIX, resolved)],
        status="resolved",
        resolved_by_phase=Phase.QUICK_FIX,
        resolved_at=at["C6"] + MIN,
    )  # before the window
    rollups_rebuild(account=dataset.account, now=NOW + timedelta(days=1))
    return dataset


def test_escalation_outcomes(escalated, noise):
    f = escalation_figures(account=escalated.account, window=WINDOW, now=NOW)
    assert (f.opened, f.resolved, f.open_now, f.reached_human, f.human_rate) == (4, 3, 1, 2, 0.5)
    phases = {p.phase: (p.reached, p.resolved, p.auto_fix_rate) for p in f.phases}
    assert phases == {
        "quick_fix": (4, 1, 0.25),
        "research": (3, 1, pytest.approx(1 / 3)),
        "consultation": (2, 0, 0.0),
        "human": (2, 1, 0.5),
    }
    assert (f.first_response_p50_min, f.first_response_p90_min) == (20, 20)  # E3 only
    assert (f.resolution_p50_min, f.resolution_p90_min) == (10, pytest.approx(54))  # 2, 10 and 65 minutes
    assert f.sla_breaches == 1  # C2's: no first response by its due time
    assert dict(f.triggers)["Thumbs down on a reply"] == 1


def test_escalation_rate_per_arm(escalated):
    c = {x.metric: x for x in cohort_figures(account=escalated.account, window=WINDOW).comparisons}
    assert (c["escalation_rate"].legacy, c["escalation_rate"].multi_agent) == (0.5, 0.75)


def test_the_sla_alert_counts_breaches_in_the_queue(escalated, admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rule = AlertRule.objects.create(account=escalated.account, kind=AlertRule.Kind.SLA_BREACHES, threshold=0)
    alert = rule_evaluate(rule=rule, now=NOW)
    assert alert.value == 1 and "1 escalations in the queue past their SLA" in alert.message
    assert mail.outbox == []  # emailed after the commit, by the worker


def test_the_escalations_page_and_api(escalated, operator_client):
    page = operator_client.get("/analytics/escalations/?window=custom&start=2026-06-08&end=2026-06-14")
    assert page.status_code == 200
    assert b'data-chart="chart_phases-data"' in page.content
    assert b"<td>Quick fix</td><td>4</td><td>1</td><td>25.0%</td>" in page.content


def _reply(conversation, question, status, latency, cost) -> Message:
    return Message.objects.create(
        conversation=conversation, role="assistant", status=status, latency_ms=latency,
        cost_usd=Decimal(cost),
        reply_to=question if conversation.arm == "legacy" else None, content=f"{status} answer",
    )  # fmt: skip


def test_shadow_pairs_side_by_side_with_paired_intervals(account, member):
    served = Conversation.objects.create(account=account, user=member, arm="legacy", routed=False)
    hidden = Conversation.objects.create(account=account, user=member, arm="multi_agent", purpose="shadow")
    shadow = ShadowConversation.objects.create(
        conversation=hidden, served=served, flag=Flag.objects.create(key="multi_agent")
    )
    for legacy, multi in [
        (("complete", 1000, "0.01"), ("complete", 1500, "0.03")),
        (("complete", 2000, "0.01"), ("failed", 300, "0.002")),
        (("failed", 100, "0"), ("complete", 2500, "0.02")),
        (("complete", 1200, "0.01"), ("complete", 1300, "0.02")),
    ]:
        question = Message.objects.create(conversation=served, role="user", content="Where is my order?")
        ShadowPair.objects.create(
            shadow=shadow, question=question,
            legacy_reply=_reply(served, question, *legacy), shadow_reply=_reply(hidden, question, *multi),
        )  # fmt: skip
    s = cohort_figures(account=account, window=window_parse(window="24h")).shadow
    assert (s.pairs, s.legacy_failed, s.shadow_failed) == (4, 1, 1)
    assert s.failed_difference.estimate == 0
    assert s.failed_difference.high == pytest.approx(1.2992283, rel=1e-6)  # t(3) x sqrt((2/3)/4)
    assert (s.latency_pairs, s.latency_difference.estimate) == (2, 300)  # +500 and +100 ms
    assert s.latency_difference.low == pytest.approx(300 - 2541.2409, rel=1e-6)
    assert (s.legacy_cost_usd, s.shadow_cost_usd) == (pytest.approx(0.03), pytest.approx(0.072))
    assert s.cost_difference.estimate == pytest.approx(0.0105)
    assert {p.shadow_status for p in s.latest} == {"complete", "failed"}


def test_cohort_arms_leave_out_shadow_conversations_that_handoff_figures_count(dataset, member):
    """A hidden shadow conversation answering C4's question (the legacy arm served it): alpha hands
    off to gamma, whose reply fails at 800 ms for $0.05. Counted, it would make the multi-agent arm
    5 conversations with 2 failed; it is work the multi-agent system did, so hand-offs count it."""
    alpha, gamma = dataset.agents["alpha"], dataset.agents["gamma"]
    at = dataset.conversations["C4"].created_at
    builder = Builder(dataset.account, member)
    hidden = builder.conversation(
        arm=Conversation.Arm.MULTI_AGENT, at=at, title="shadow of C4", purpose=Conversation.Purpose.SHADOW
    )
    builder.turn(hidden, at=at, agent=gamma, status="failed", latency=800, cost="0.050",
                 handoffs=[(alpha, gamma, "tool")])  # fmt: skip
    ShadowConversation.objects.create(
        conversation=hidden, served=dataset.conversations["C4"], flag=Flag.objects.create(key="multi_agent")
    )
    rollups_rebuild(account=dataset.account, now=NOW + timedelta(days=1))

    f = cohort_figures(account=dataset.account, window=WINDOW)
    assert (f.legacy.conversations, f.multi_agent.conversations) == (2, 4)
    c = {comparison.metric: comparison for comparison in f.comparisons}
    assert (c["error_rate"].multi_agent, c["error_rate"].multi_agent_n) == (0.25, 4)  # C3 of C1, C2, C3, C7
    assert c["cost"].multi_agent == pytest.approx(0.01825)
    assert c["turns"].multi_agent == 1.5

    h = handoff_figures(account=dataset.account, window=WINDOW)
    # C1, C2, C3, C7 and the shadow; C1, C3 and the shadow have a hand-off.
    assert (h.conversations, h.with_handoff, h.rate) == (5, 3, 0.6)
    assert (h.handoffs, h.by_tool, h.by_router) == (3, 2, 1)
    assert sorted((p.source.slug, p.target.slug, p.count) for p in h.paths) == [
        ("alpha", "beta", 1),
        ("alpha", "gamma", 1),
        ("beta", "gamma", 1),
    ]
    assert handoff_rate(account=dataset.account, window=WINDOW) == (5, 3)


def test_the_migration_moves_existing_shadow_conversations_out_of_the_cohort_hours(dataset, member):
    """Rows written before facts had a ``shadow`` flag: the migration marks them and splits their hours
    as a rebuild would."""
    at = dataset.conversations["C4"].created_at
    builder = Builder(dataset.account, member)
    hidden = builder.conversation(
        arm=Conversation.Arm.MULTI_AGENT, at=at, title="shadow of C4", purpose=Conversation.Purpose.SHADOW
    )
    builder.turn(hidden, at=at, agent=dataset.agents["gamma"], latency=800, cost="0.050")
    ShadowConversation.objects.create(
        conversation=hidden, served=dataset.conversations["C4"], flag=Flag.objects.create(key="multi_agent")
    )
    rollups_rebuild(account=dataset.account, now=NOW + timedelta(days=1))
    fields = [f.name for f in ConversationHour._meta.fields if f.name != "id"]
    rebuilt = sorted(ConversationHour.objects.values_list(*fields), key=repr)
    ConversationFact.objects.update(shadow=False)
    ConversationHour.objects.update(shadow=False)
    assert cohort_figures(account=dataset.account, window=WINDOW).multi_agent.conversations == 5

    migration = import_module("analytics.migrations.0006_shadow_conversations")
    migration.mark_shadow_conversations(_AppsBeforeTheShadowMove(), None)

    assert sorted(ConversationHour.objects.values_list(*fields), key=repr) == rebuilt
    assert cohort_figures(account=dataset.account, window=WINDOW).multi_agent.conversations == 4


class _AppsBeforeTheShadowMove:
    """The registry as analytics 0006 saw it, when ShadowConversation was rollout's: the model
    moved to conversations later (same table), so the migration's lookup is pointed there."""

    def get_model(self, app_label: str, model_name: str):
        if (app_label, model_name) == ("rollout", "ShadowConversation"):
            return django_apps.get_model("conversations", "ShadowConversation")
        return django_apps.get_model(app_label, model_name)
