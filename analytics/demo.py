"""The demo account's analytics: default alert rules, a month of synthetic traffic, and a busy last
hour (many hand-offs and a few loops) so that the demo shows alerts firing within a minute of
``make run``. Idempotent: traffic is generated once per account."""

from __future__ import annotations

from accounts.models import Account
from analytics.models import TrafficBatch
from analytics.services import alert_rules_install_defaults
from analytics.suggestions.demo import suggestions_demo_seed
from analytics.traffic import TrafficProfile, synthetic_traffic_rehome, traffic_generate

DEMO_CONVERSATIONS = 3000


def analytics_demo_seed(*, account: Account) -> None:
    alert_rules_install_defaults(account=account)
    if TrafficBatch.objects.filter(account=account).exists():
        # Traffic seeded before synthetic users existed went to the demo's people: hand it over.
        synthetic_traffic_rehome(account=account)
        return
    traffic_generate(account=account, profile=TrafficProfile(conversations=DEMO_CONVERSATIONS, days=30))
    traffic_generate(
        account=account,
        profile=TrafficProfile(conversations=40, days=1 / 24, handoff_share=0.7, handoffs_mean=2.5, seed=11),
    )
    # A few recurring problems as real conversations, and the suggestions they lead to (once, with
    # the traffic: seeding again adds no conversation).
    suggestions_demo_seed(account=account)
