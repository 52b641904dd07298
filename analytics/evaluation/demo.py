"""The demo account's evaluation dataset: 149 labelled cases covering every demo agent, built from
the router's held-out queries (in scope and out of scope), a sample of each agent's routing
examples, the labelled knowledge questions (fact and source), action requests (the gated tool
expected) and questions that must not act. Answerable by the offline model; see the README."""

from __future__ import annotations

from pathlib import Path

from accounts.models import Account
from analytics.evaluation.datasets import dataset_import
from analytics.evaluation.models import EvaluationDataset

DEMO_DATASET = "Demo assistant suite"
DEMO_CASES = Path(__file__).resolve().parent / "fixtures" / "demo_cases.jsonl"


def evaluation_demo_seed(*, account: Account) -> EvaluationDataset:
    """The shipped dataset, created once (an edited copy is left as the admins made it)."""
    existing = EvaluationDataset.objects.filter(account=account, name=DEMO_DATASET).first()
    if existing is not None:
        return existing
    return dataset_import(
        account=account,
        name=DEMO_DATASET,
        content=DEMO_CASES.read_text(encoding="utf-8"),
        file_format="jsonl",
        description="Every demo agent, out-of-scope questions, knowledge facts and sources, and actions.",
    )
