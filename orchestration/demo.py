"""Demo data: the capabilities of the demo account's six agents (idempotent)."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Account
from agents.models import AgentInstance
from orchestration.models import AgentCapability

# (agent, capability, description, input type, output type, seconds, cost in USD, priority)
DEMO_CAPABILITIES = [
    (
        "consultant",
        "process_advice",
        "Best-practice advice on an ITSM process.",
        "question",
        "advice",
        20,
        "0.002",
        10,
    ),
    (
        "consultant",
        "merge",
        "Combine several agents' findings into one recommendation.",
        "results",
        "text",
        15,
        "0.002",
        20,
    ),
    (
        "solution_architect",
        "solution_design",
        "Design a flow, script or data model.",
        "requirements",
        "design",
        30,
        "0.004",
        10,
    ),
    (
        "solution_architect",
        "plan",
        "Turn findings into a step-by-step plan.",
        "results",
        "plan",
        25,
        "0.003",
        10,
    ),
    ("solution_architect", "merge", "Merge sub-results into one design.", "results", "text", 20, "0.003", 10),
    (
        "implementation",
        "configuration_change",
        "Apply a change on the live instance (asks first).",
        "change",
        "result",
        45,
        "0.004",
        10,
    ),
    (
        "support",
        "troubleshooting",
        "Diagnose an error and propose a fix.",
        "symptom",
        "diagnosis",
        20,
        "0.002",
        10,
    ),
    ("sales", "pricing_quote", "Plans, licences and a price estimate.", "needs", "quote", 15, "0.001", 10),
    ("sales", "vendor_research", "What a vendor offers commercially.", "vendor", "summary", 20, "0.002", 50),
    (
        "research",
        "vendor_research",
        "Compare a vendor's product against the market.",
        "vendor",
        "summary",
        25,
        "0.003",
        10,
    ),
    (
        "research",
        "market_comparison",
        "Compare several products or approaches.",
        "question",
        "comparison",
        30,
        "0.004",
        10,
    ),
]


def capabilities_seed_demo(*, account: Account) -> int:
    agents = {a.slug: a for a in AgentInstance.objects.filter(account=account)}
    count = 0
    for slug, name, description, input_type, output_type, seconds, cost, priority in DEMO_CAPABILITIES:
        agent = agents.get(slug)
        if agent is None:
            continue
        AgentCapability.objects.update_or_create(
            agent=agent,
            name=name,
            defaults={
                "description": description,
                "input_type": input_type,
                "output_type": output_type,
                "estimated_seconds": seconds,
                "cost_estimate_usd": Decimal(cost),
                "priority": priority,
            },
        )
        count += 1
    return count
