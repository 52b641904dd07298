"""Evaluation datasets in and out: a case checked field by field, JSONL and CSV import (all lines
or none) and export, and the edits from the dataset pages. Every change bumps the version.

A case in JSONL is one object per line::

    {"key": "pricing-1", "message": "How much is the Team plan?", "expected_agent": "sales",
     "facts": ["$49"], "source": "pricing-plans"}

``turns`` (a list of messages) replaces ``message`` for a short multi-turn script. Other fields:
``out_of_scope`` (true: no agent should take it), ``tool`` and ``approval_expected`` (a tool call
the turn must make, and whether it must go through the approval gate), ``must_not_act`` (no gated
tool may be called) and ``notes``. CSV has the same columns; ``message`` holds the turns one per
line, ``facts`` separates phrases with ``|``, booleans are true/false (or blank).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.db.models import F

from accounts.models import Account
from agents.models import Tool
from agents.selectors import agents_active_for_account, knowledge_articles_for_account
from analytics.evaluation.models import EvaluationCase, EvaluationDataset

FIELDS = (
    "key", "message", "turns", "expected_agent", "out_of_scope", "facts", "source", "tool",
    "approval_expected", "must_not_act", "notes",
)  # fmt: skip
CSV_COLUMNS = tuple(f for f in FIELDS if f != "turns")
MAX_TURNS = 10
MAX_CASES = 5000


@dataclass(frozen=True)
class CaseSpec:
    """A checked case, ready to save."""

    key: str
    turns: list[str]
    expected_agent: str = ""
    out_of_scope: bool = False
    facts: list[str] = field(default_factory=list)
    source: str = ""
    tool: str = ""
    approval_expected: bool | None = None
    must_not_act: bool = False
    notes: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class DatasetFileError(ValueError):
    """A file that cannot be imported: every bad line with what is wrong with it."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class Vocabulary:
    """What a case may name in this account: agents, article slugs and tools."""

    agents: frozenset[str]
    articles: frozenset[str]
    tools: frozenset[str]

    @classmethod
    def for_account(cls, account: Account) -> Vocabulary:
        return cls(
            agents=frozenset(agents_active_for_account(account_id=account.pk).values_list("slug", flat=True)),
            articles=frozenset(
                knowledge_articles_for_account(account_id=account.pk).values_list("slug", flat=True)
            ),
            tools=frozenset(Tool.objects.values_list("slug", flat=True)),
        )


def _boolean(value: object, name: str, errors: dict[str, str], *, nullable: bool = False) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None if nullable else False
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "no", "0"}:
        return False
    errors[name] = "must be true or false"
    return None


def _text(value: object, name: str, errors: dict[str, str], *, limit: int = 100) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    if len(value.strip()) > limit:
        errors[name] = f"is longer than {limit} characters"
    return value.strip()


def case_check(
    raw: dict, *, vocabulary: Vocabulary, default_key: str
) -> tuple[CaseSpec | None, dict[str, str]]:
    """One case from its fields, or the errors by field name. Nothing is saved."""
    errors: dict[str, str] = {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        errors["fields"] = "unknown field(s): " + ", ".join(unknown)
    turns = raw.get("turns")
    message = raw.get("message")
    if turns is not None and message not in (None, ""):
        errors["turns"] = 'give "message" or "turns", not both'
    if turns is None:
        turns = (
            [line for line in message.splitlines() if line.strip()] if isinstance(message, str) else message
        )
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        errors.setdefault("message", "a non-empty message (or a list of messages in turns) is required")
        turns = []
    elif len(turns) > MAX_TURNS:
        errors["turns"] = f"at most {MAX_TURNS} messages"
    key = _text(raw.get("key"), "key", errors) or default_key
    agent = _text(raw.get("expected_agent"), "expected_agent", errors)
    if agent and agent not in vocabulary.agents:
        errors["expected_agent"] = f"no active agent '{agent}' in this account"
    out_of_scope = bool(_boolean(raw.get("out_of_scope"), "out_of_scope", errors))
    if out_of_scope and agent:
        errors["out_of_scope"] = "a case is out of scope or has an expected agent, not both"
    facts = raw.get("facts") or []
    if isinstance(facts, str):
        facts = [part.strip() for part in facts.split("|") if part.strip()]
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        errors["facts"] = "must be a list of non-empty phrases"
        facts = []
    source = _text(raw.get("source"), "source", errors)
    if source and source not in vocabulary.articles:
        errors["source"] = f"no knowledge article '{source}' in this account"
    tool = _text(raw.get("tool"), "tool", errors, limit=60)
    if tool and tool not in vocabulary.tools:
        errors["tool"] = f"no tool '{tool}'"
    approval = _boolean(raw.get("approval_expected"), "approval_expected", errors, nullable=True)
    if approval is not None and not tool:
        errors["approval_expected"] = "needs a tool"
    must_not_act = bool(_boolean(raw.get("must_not_act"), "must_not_act", errors))
    if must_not_act and tool and approval:
        errors["must_not_act"] = "a case cannot expect a gated call and forbid acting"
    notes = _text(raw.get("notes"), "notes", errors, limit=300)
    if errors:
        return None, errors
    spec = CaseSpec(
        key=key, turns=[t.strip() for t in turns], expected_agent=agent, out_of_scope=out_of_scope,
        facts=[f.strip() for f in facts], source=source, tool=tool, approval_expected=approval,
        must_not_act=must_not_act, notes=notes,
    )  # fmt: skip
    return spec, {}


def _rows_jsonl(content: str) -> list[tuple[int, dict | str]]:
    rows: list[tuple[int, dict | str]] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, f"not valid JSON ({exc.msg})"))
            continue
        rows.append((number, item if isinstance(item, dict) else "not a JSON object"))
    return rows


def _rows_csv(content: str) -> list[tuple[int, dict | str]]:
    reader = csv.DictReader(io.StringIO(content))
    header = reader.fieldnames or []
    if "message" not in header:
        return [(1, 'the header must name a "message" column')]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        return [(1, "unknown column(s): " + ", ".join(unknown))]
    rows: list[tuple[int, dict | str]] = []
    for item in reader:
        number = reader.line_num
        if None in item:
            rows.append((number, "more cells than columns"))
            continue
        if not any((value or "").strip() for value in item.values()):
            continue
        rows.append((number, {k: v for k, v in item.items() if v not in (None, "")}))
    return rows


def cases_parse(*, account: Account, content: str, file_format: str) -> list[CaseSpec]:
    """Every case of a JSONL or CSV file, or ``DatasetFileError`` listing each bad line."""
    if file_format not in {"jsonl", "csv"}:
        raise DatasetFileError([f"format: '{file_format}' is not jsonl or csv"])
    rows = _rows_jsonl(content) if file_format == "jsonl" else _rows_csv(content)
    vocabulary = Vocabulary.for_account(account)
    errors: list[str] = []
    specs: list[CaseSpec] = []
    seen: dict[str, int] = {}
    for index, (number, row) in enumerate(rows, start=1):
        if isinstance(row, str):
            errors.append(f"line {number}: {row}")
            continue
        spec, problems = case_check(row, vocabulary=vocabulary, default_key=f"case-{index}")
        if problems:
            errors.extend(f"line {number}: {name}: {problem}" for name, problem in problems.items())
            continue
        if spec.key in seen:
            errors.append(f"line {number}: key: '{spec.key}' is already used on line {seen[spec.key]}")
            continue
        seen[spec.key] = number
        specs.append(spec)
    if not errors and not specs:
        errors.append("the file has no cases")
    if len(specs) > MAX_CASES:
        errors.append(f"the file has {len(specs)} cases; at most {MAX_CASES}")
    if errors:
        raise DatasetFileError(errors)
    return specs


def _case_fields(spec: CaseSpec) -> dict:
    fields = spec.as_dict()
    fields.pop("key")
    return fields


@transaction.atomic
def dataset_import(
    *, account: Account, name: str, content: str, file_format: str, description: str = ""
) -> EvaluationDataset:
    """Create the named dataset from a file, or replace the cases of the one with that name (its
    version goes up). Nothing is written unless every line is good."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DatasetFileError(["name: a name of 1 to 100 characters is required"])
    specs = cases_parse(account=account, content=content, file_format=file_format)
    dataset, created = EvaluationDataset.objects.select_for_update().get_or_create(
        account=account, name=name, defaults={"description": description}
    )
    if not created:
        dataset.cases.all().delete()
        dataset.version += 1
        if description:
            dataset.description = description
        dataset.save(update_fields=["version", "description", "updated_at"])
    EvaluationCase.objects.bulk_create(
        EvaluationCase(dataset=dataset, key=spec.key, position=position, **_case_fields(spec))
        for position, spec in enumerate(specs, start=1)
    )
    return dataset


def case_as_dict(case: EvaluationCase) -> dict:
    """A case's fields as a file holds them (empty ones left out, ``turns`` only for a script)."""
    item: dict = {"key": case.key}
    if len(case.turns) == 1:
        item["message"] = case.turns[0]
    else:
        item["turns"] = list(case.turns)
    for name in ("expected_agent", "source", "tool", "notes"):
        if getattr(case, name):
            item[name] = getattr(case, name)
    if case.facts:
        item["facts"] = list(case.facts)
    for name in ("out_of_scope", "must_not_act"):
        if getattr(case, name):
            item[name] = True
    if case.approval_expected is not None:
        item["approval_expected"] = case.approval_expected
    return item


def dataset_export(*, dataset: EvaluationDataset, file_format: str) -> str:
    cases = [case_as_dict(case) for case in dataset.cases.all()]
    if file_format == "jsonl":
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in cases)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in cases:
        turns = item.pop("turns", None)
        if turns is not None:
            item["message"] = "\n".join(turns)
        if "facts" in item:
            item["facts"] = "|".join(item["facts"])
        for name in ("out_of_scope", "must_not_act", "approval_expected"):
            if name in item:
                item[name] = "true" if item[name] else "false"
        writer.writerow(item)
    return out.getvalue()


def _bump(dataset: EvaluationDataset) -> None:
    EvaluationDataset.objects.filter(pk=dataset.pk).update(version=F("version") + 1)
    dataset.refresh_from_db(fields=["version", "updated_at"])


@transaction.atomic
def evaluation_case_save(
    *, dataset: EvaluationDataset, fields: dict, case: EvaluationCase | None = None
) -> tuple[EvaluationCase | None, dict[str, str]]:
    """Add a case or change one (the version goes up); (None, errors by field) when it is not valid."""
    spec, errors = case_check(
        fields,
        vocabulary=Vocabulary.for_account(dataset.account),
        default_key=f"case-{dataset.cases.count() + 1}",
    )
    if errors:
        return None, errors
    clash = dataset.cases.filter(key=spec.key).exclude(pk=case.pk if case else None)
    if clash.exists():
        return None, {"key": f"'{spec.key}' is already used in this dataset"}
    if case is None:
        last = dataset.cases.order_by("-position").values_list("position", flat=True).first() or 0
        case = EvaluationCase(dataset=dataset, position=last + 1)
    case.key = spec.key
    for name, value in _case_fields(spec).items():
        setattr(case, name, value)
    case.save()
    _bump(dataset)
    return case, {}


@transaction.atomic
def evaluation_case_delete(*, case: EvaluationCase) -> None:
    dataset = case.dataset
    case.delete()
    _bump(dataset)


def evaluation_dataset_create(
    *, account: Account, name: str, description: str = ""
) -> tuple[EvaluationDataset | None, dict[str, str]]:
    name = name.strip()
    if not name or len(name) > 100:
        return None, {"name": "a name of 1 to 100 characters is required"}
    if EvaluationDataset.objects.filter(account=account, name=name).exists():
        return None, {"name": f"a dataset named '{name}' already exists"}
    return EvaluationDataset.objects.create(account=account, name=name, description=description), {}
