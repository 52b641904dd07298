"""Request and response shapes of the rollout API."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class FlagOut(Schema):
    key: str
    description: str
    enabled: bool = Field(..., description="False is the kill switch.")
    percentage: float = Field(
        ..., description="0 to 100: served in canary, partial and full; shadowed in shadow."
    )
    phase: str = Field(..., description="off, shadow, canary, partial or full.")
    account_override: bool = Field(..., description="The account has its own phase, percentage or switch.")


class GateOut(Schema):
    key: str
    label: str
    passed: bool
    figure: str
    reason: str


class FlagChangeOut(Schema):
    created_at: datetime
    actor: str
    source: str
    action: str
    reason: str
    before: dict
    after: dict
    scope: str = Field(..., description="'account' or 'global'.")
    gates_overridden: bool


class CohortOut(Schema):
    members: int
    inside: int
    shadowed: int
    outside: int


class FlagDetailOut(FlagOut):
    cohort: CohortOut
    gates: list[GateOut]
    history: list[FlagChangeOut]


class FlagPatchIn(Schema):
    """Change the flag for this account. Give at least one of phase, percentage, enabled."""

    model_config = ConfigDict(extra="forbid")

    phase: str | None = Field(None, description="off, shadow, canary, partial or full.")
    # Strict: a JSON number only; true and strings such as "1e2" are refused, not read as numbers.
    percentage: float | None = Field(None, strict=True, description="0 to 100, at most one decimal.")
    enabled: bool | None = Field(None, description="false turns the kill switch on.")
    reason: str = Field(..., description="Why: required, kept in the history.")
    override_gates: bool = Field(False, description="Advance although a gate fails (admins; audited).")


class GatesRefusedOut(Schema):
    detail: str
    gates: list[GateOut]


class RollbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., description="Why: required, kept in the history.")


class OverrideIn(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(..., description="true: always in; false: always out; null: remove.")
    reason: str


class UserDecisionOut(Schema):
    username: str
    arm: str = Field(..., description="multi_agent or legacy: what a new conversation of this user gets.")
    enabled: bool
    shadow: bool
    reason: str
    explanation: str
    bucket: int | None
