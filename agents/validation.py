"""Validation shared by admin forms, the API and services, with per-field messages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_ROUTING_EXAMPLES = 200


def _where(path) -> str:
    parts = [str(p) for p in path]
    return "/".join(parts) if parts else "(top level)"


def validate_schema_document(schema: Any, *, field: str) -> None:
    if not isinstance(schema, dict):
        raise ValidationError({field: "A JSON Schema must be a JSON object."})
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise ValidationError(
            {field: f"Not a valid JSON Schema at {_where(error.path)}: {error.message}"}
        ) from error


def config_errors(schema: dict, config: Any) -> list[str]:
    """Every violation, each naming where it is: 'max_results: 500 is greater than the maximum of 50'."""
    validator = Draft202012Validator(schema or {})
    return [
        f"{_where(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate_config(schema: dict, config: Any, *, field: str) -> None:
    errors = config_errors(schema, config)
    if errors:
        raise ValidationError({field: errors})


def validate_tiers(tiers: Any) -> None:
    from accounts.models import Account

    valid = set(Account.Tier.values)
    if not isinstance(tiers, list) or not all(isinstance(t, str) and t in valid for t in tiers):
        raise ValidationError({"allowed_tiers": f"A list drawn from: {', '.join(sorted(valid))}."})


def validate_routing_examples(examples: Any) -> None:
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise ValidationError({"routing_examples": "A list of non-empty example messages."})
    if len(examples) > MAX_ROUTING_EXAMPLES:
        raise ValidationError({"routing_examples": f"At most {MAX_ROUTING_EXAMPLES} examples."})
