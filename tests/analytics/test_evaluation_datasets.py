"""Evaluation datasets in and out: a JSONL and a CSV round trip keep every case as it was; a bad
file names each bad line and field, and leaves nothing half-imported (nor the old cases changed)."""

from __future__ import annotations

import json

import pytest

from agents.catalog.install import tools_install
from agents.models import KnowledgeArticle
from analytics.evaluation.datasets import (
    DatasetFileError,
    dataset_export,
    dataset_import,
    evaluation_case_save,
)
from analytics.evaluation.models import EvaluationCase, EvaluationDataset

pytestmark = pytest.mark.django_db

CASES = [
    {"key": "price", "message": "How much is the Team plan?", "expected_agent": "assistant",
     "facts": ["$49", "per agent"], "source": "pricing"},
    {"key": "hello", "message": "Hi there", "out_of_scope": True},
    {"key": "ticket", "message": "Open a ticket for the VPN outage", "tool": "ticket_create",
     "approval_expected": True},
    {"key": "howto", "turns": ["I have a question", "How do I reset my password, with a comma?"],
     "must_not_act": True, "notes": 'quotes "inside", and a\nnewline'},
]  # fmt: skip


@pytest.fixture
def vocabulary(account):
    tools_install()
    KnowledgeArticle.objects.create(account=account, slug="pricing", title="Pricing", body="Team is $49.")


def _jsonl(cases: list[dict]) -> str:
    return "".join(json.dumps(case) + "\n" for case in cases)


def _cases(dataset: EvaluationDataset) -> list[dict]:
    fields = [
        "key",
        "turns",
        "expected_agent",
        "out_of_scope",
        "facts",
        "source",
        "tool",
        "approval_expected",
    ]
    return list(dataset.cases.values(*fields, "must_not_act", "notes"))


@pytest.mark.usefixtures("vocabulary")
@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_a_dataset_survives_an_export_and_import_round_trip(account, file_format):
    original = dataset_import(account=account, name="first", content=_jsonl(CASES), file_format="jsonl")
    exported = dataset_export(dataset=original, file_format=file_format)
    copy = dataset_import(account=account, name="copy", content=exported, file_format=file_format)
    assert _cases(copy) == _cases(original)
    assert len(_cases(copy)) == 4
    assert _cases(copy)[3]["turns"] == ["I have a question", "How do I reset my password, with a comma?"]
    assert dataset_export(dataset=copy, file_format=file_format) == exported
    if file_format == "jsonl":
        assert [json.loads(line) for line in exported.splitlines()] == CASES


@pytest.mark.usefixtures("vocabulary")
def test_a_bad_file_names_each_bad_line_and_imports_nothing(account):
    dataset = dataset_import(account=account, name="kept", content=_jsonl(CASES[:2]), file_format="jsonl")
    bad = "\n".join(
        [
            json.dumps(CASES[0]),
            "{not json",
            json.dumps({"key": "a", "message": "x", "expected_agent": "nobody"}),
            json.dumps({"key": "b", "message": "", "source": "missing-article"}),
            json.dumps({"key": "price", "message": "dup"}),
            json.dumps({"message": "x", "approval_expected": True, "colour": "red"}),
            "[1, 2]",
        ]
    )
    with pytest.raises(DatasetFileError) as caught:
        dataset_import(account=account, name="kept", content=bad, file_format="jsonl")
    assert caught.value.errors == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 3: expected_agent: no active agent 'nobody' in this account",
        "line 4: message: a non-empty message (or a list of messages in turns) is required",
        "line 4: source: no knowledge article 'missing-article' in this account",
        "line 5: key: 'price' is already used on line 1",
        "line 6: fields: unknown field(s): colour",
        "line 6: approval_expected: needs a tool",
        "line 7: not a JSON object",
    ]
    dataset.refresh_from_db()
    assert dataset.version == 1 and [c["key"] for c in _cases(dataset)] == ["price", "hello"]

    csv_bad = "key,message,out_of_scope,colour\na,hi,maybe,red\n"
    with pytest.raises(DatasetFileError) as caught:
        dataset_import(account=account, name="new", content=csv_bad, file_format="csv")
    assert caught.value.errors == ["line 1: unknown column(s): colour"]
    with pytest.raises(DatasetFileError) as caught:
        dataset_import(
            account=account, name="new", content="key,message,out_of_scope\na,hi,maybe\n", file_format="csv"
        )
    assert caught.value.errors == ["line 2: out_of_scope: must be true or false"]
    with pytest.raises(DatasetFileError) as caught:
        dataset_import(account=account, name="new", content="", file_format="jsonl")
    assert caught.value.errors == ["the file has no cases"]
    assert not EvaluationDataset.objects.filter(name="new").exists()


@pytest.mark.usefixtures("vocabulary")
def test_every_change_to_a_dataset_bumps_its_version(account):
    dataset = dataset_import(account=account, name="v", content=_jsonl(CASES[:1]), file_format="jsonl")
    case, errors = evaluation_case_save(dataset=dataset, fields={"key": "new", "message": "Hello?"})
    assert errors == {} and dataset.version == 2
    _, errors = evaluation_case_save(dataset=dataset, fields={"key": "price", "message": "clash"}, case=case)
    assert errors == {"key": "'price' is already used in this dataset"} and dataset.version == 2
    assert EvaluationCase.objects.get(pk=case.pk).key == "new"
    again = dataset_import(account=account, name="v", content=_jsonl(CASES), file_format="jsonl")
    assert again.pk == dataset.pk and again.version == 3 and again.cases.count() == 4


def test_the_demo_account_ships_a_dataset_of_over_100_cases_covering_every_agent(settings):
    from django.core.management import call_command

    from accounts.models import Account
    from agents.selectors import routing_profiles_for_account
    from analytics.evaluation.demo import DEMO_DATASET

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: the dataset is not imported again
    account = Account.objects.get(slug="demo")
    dataset = EvaluationDataset.objects.get(account=account, name=DEMO_DATASET)
    assert dataset.version == 1 and dataset.cases.count() >= 100
    agents = {profile.slug for profile in routing_profiles_for_account(account=account)}
    expected = set(dataset.cases.exclude(expected_agent="").values_list("expected_agent", flat=True))
    assert len(agents) == 6 and expected == agents
    assert dataset.cases.filter(out_of_scope=True).count() >= 20
    assert dataset.cases.exclude(source="").count() >= 20
    assert dataset.cases.exclude(tool="").filter(approval_expected=True).exists()
