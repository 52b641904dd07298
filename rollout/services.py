"""Writes for rollout. Every change of a flag, from every entry point (Django admin, the
Rollout page, the API, the management command), goes through ``flag_update`` or
``flag_override_set`` and leaves a ``FlagChange`` with the values before and after and a reason.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account, Membership
from rollout.decision import flags_changed, local_invalidate
from rollout.gates import GateResult, gates_evaluate
from rollout.models import (
    PHASE_PERCENTAGE,
    SERVING_PHASES,
    AccountFlag,
    Flag,
    FlagChange,
    FlagOverride,
    Phase,
)

logger = logging.getLogger(__name__)

GLOBAL_ONLY_FIELDS = {"description", "group_id", "gates"}
CHANGEABLE_FIELDS = {"enabled", "percentage", "phase"} | GLOBAL_ONLY_FIELDS


class GatesRefused(ValidationError):
    """Serving more users was refused because gates failed; ``results`` says which and why."""

    def __init__(self, results: list[GateResult]) -> None:
        failed = [r for r in results if not r.passed]
        super().__init__([f"{r.label}: {r.reason} ({r.figure})" for r in failed], code="gates_failed")
        self.results = results


PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def percentage_clean(value) -> Decimal:
    """0 to 100 with at most one decimal, from a number or a string; a ValidationError says why not."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError({"percentage": "The percentage must be a number from 0 to 100."})
    if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value.strip()):
        # Decimal() also reads "1e2", "NaN" and "Infinity"; a typed percentage is digits only.
        raise ValidationError({"percentage": f"'{value}' is not a plain number; give 0 to 100, e.g. 12.5."})
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"percentage": f"'{value}' is not a number; give 0 to 100."}) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise ValidationError({"percentage": f"The percentage must be from 0 to 100, not {value}."})
    if number != number.quantize(Decimal("0.1")):
        raise ValidationError({"percentage": "The percentage may have at most one decimal, e.g. 12.5."})
    return number.quantize(Decimal("0.1"))


def reason_clean(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you are making this change: a reason is required."})
    return reason


def _actor_name(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _pct(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.1")))


def flag_values(*, flag: Flag, account: Account | None) -> dict:
    """The values in force (the account's own over the global ones), as JSON for the audit log."""
    values = {
        "enabled": flag.enabled,
        "percentage": _pct(flag.percentage),
        "phase": flag.phase,
    }
    if account is None:
        return values | {"description": flag.description, "group_id": flag.group_id, "gates": flag.gates}
    setting = AccountFlag.objects.filter(flag=flag, account=account).first()
    if setting is not None:
        if setting.enabled is not None:
            values["enabled"] = setting.enabled
        if setting.percentage is not None:
            values["percentage"] = _pct(setting.percentage)
        if setting.phase:
            values["phase"] = setting.phase
    return values


def served_percentage(values: dict) -> Decimal:
    """The share of users that the flagged system serves (shadow serves nobody)."""
    if not values["enabled"] or values["phase"] not in SERVING_PHASES:
        return Decimal("0")
    return Decimal(values["percentage"])


def phase_for_percentage(percentage: Decimal) -> str:
    if percentage == 0:
        return Phase.OFF
    if percentage < PHASE_PERCENTAGE[Phase.PARTIAL]:
        return Phase.CANARY
    if percentage < PHASE_PERCENTAGE[Phase.FULL]:
        return Phase.PARTIAL
    return Phase.FULL


def _clean_changes(*, flag: Flag, account: Account | None, before: dict, changes: dict) -> dict:
    unknown = set(changes) - CHANGEABLE_FIELDS
    if unknown:
        raise ValidationError({"__all__": f"Unknown field(s): {', '.join(sorted(unknown))}."})
    if account is not None and set(changes) & GLOBAL_ONLY_FIELDS:
        names = ", ".join(sorted(set(changes) & GLOBAL_ONLY_FIELDS))
        raise ValidationError({"__all__": f"{names} can only be changed on the global flag."})
    cleaned: dict = {}
    if "phase" in changes and changes["phase"] is not None:
        if changes["phase"] not in Phase.values:
            raise ValidationError(
                {"phase": f"Unknown phase '{changes['phase']}'; one of {', '.join(Phase.values)}."}
            )
        cleaned["phase"] = changes["phase"]
    if "percentage" in changes and changes["percentage"] is not None:
        cleaned["percentage"] = percentage_clean(changes["percentage"])
    if "enabled" in changes and changes["enabled"] is not None:
        if not isinstance(changes["enabled"], bool):
            raise ValidationError({"enabled": "enabled must be true or false."})
        cleaned["enabled"] = changes["enabled"]
    for name in GLOBAL_ONLY_FIELDS & set(changes):
        cleaned[name] = changes[name]
    if "gates" in cleaned and not isinstance(cleaned["gates"], dict):
        raise ValidationError({"gates": "gates must be a JSON object."})
    # A phase brings its starting percentage; a percentage alone moves a serving phase along.
    if "phase" in cleaned and "percentage" not in cleaned:
        cleaned["percentage"] = PHASE_PERCENTAGE[cleaned["phase"]]
    elif "percentage" in cleaned and "phase" not in cleaned and before["phase"] != Phase.SHADOW:
        cleaned["phase"] = phase_for_percentage(cleaned["percentage"])
    if cleaned.get("phase") == Phase.OFF and cleaned.get("percentage", 0) != 0:
        raise ValidationError({"percentage": "Phase off serves nobody: its percentage is 0."})
    if cleaned.get("phase") in SERVING_PHASES and cleaned.get("percentage") == 0:
        raise ValidationError({"percentage": f"Phase {cleaned['phase']} needs a percentage above 0."})
    if not cleaned:
        raise ValidationError(
            {"__all__": "Nothing to change: give a phase, a percentage or the kill switch."}
        )
    return cleaned


def _published_on_commit() -> None:
    # This process sees the change at once (its own writes); every process, this one included,
    # reloads once it is committed.
    local_invalidate()
    transaction.on_commit(flags_changed)


def _gates_for_change(*, flag: Flag, account: Account | None) -> list[GateResult]:
    """The gates in the account changed, or, for a global change, in every account that
    follows the global flag (named in each result)."""
    if account is not None:
        return gates_evaluate(account=account, config=flag.gates)
    results = []
    for follower in Account.objects.exclude(flag_settings__flag=flag).order_by("name"):
        for result in gates_evaluate(account=follower, config=flag.gates):
            results.append(
                GateResult(
                    key=result.key,
                    label=f"{follower.name}: {result.label}",
                    passed=result.passed,
                    figure=result.figure,
                    reason=result.reason,
                )
            )
    return results


@transaction.atomic
def flag_update(
    *,
    flag: Flag,
    actor: AbstractBaseUser | None,
    reason: str,
    source: str,
    account: Account | None = None,
    override_gates: bool = False,
    action: str = FlagChange.Action.UPDATE,
    dry_run: bool = False,
    **changes,
) -> FlagChange:
    """Change a flag, globally (``account`` None) or for one account, and audit it.

    A change that serves more users (a later serving phase, a higher percentage, the kill
    switch released) must pass the flag's gates in the account; when a gate fails it is
    refused with the reasons (``GatesRefused``) unless ``override_gates`` is set, which is
    recorded. The caller checks that the actor may change the flag (and may override gates).
    ``dry_run`` validates and checks the gates, then rolls everything back (forms use it to
    show errors next to the fields before saving).
    """
    reason = reason_clean(reason)
    Flag.objects.select_for_update().filter(pk=flag.pk).first()  # one change of a flag at a time
    flag.refresh_from_db()
    before = flag_values(flag=flag, account=account)
    cleaned = _clean_changes(flag=flag, account=account, before=before, changes=changes)
    after = before | {k: (_pct(v) if isinstance(v, Decimal) else v) for k, v in cleaned.items()}
    gate_results: list[GateResult] = []
    if served_percentage(after) > served_percentage(before):
        gate_results = _gates_for_change(flag=flag, account=account)
        if any(not r.passed for r in gate_results) and not override_gates:
            raise GatesRefused(gate_results)
    gates_overridden = override_gates and any(not r.passed for r in gate_results)
    if account is None:
        for name, value in cleaned.items():
            setattr(flag, name, value)
        flag.full_clean()
        flag.save()
    else:
        setting, _ = AccountFlag.objects.get_or_create(flag=flag, account=account)
        for name, value in cleaned.items():
            setattr(setting, name, value)
        setting.save()
    change = FlagChange.objects.create(
        flag=flag,
        account=account,
        actor=actor,
        actor_name=_actor_name(actor),
        source=source,
        action=action,
        reason=reason,
        before=before,
        after=after,
        gate_results=[r.as_dict() for r in gate_results],
        gates_overridden=gates_overridden,
    )
    if dry_run:
        transaction.set_rollback(True)
        return change
    _published_on_commit()
    return change


def flag_rollback(
    *, flag: Flag, actor: AbstractBaseUser | None, reason: str, source: str, account: Account | None = None
) -> FlagChange:
    """One action: nobody is served by the flagged system (percentage 0, phase off)."""
    return flag_update(
        flag=flag,
        actor=actor,
        reason=reason,
        source=source,
        account=account,
        action=FlagChange.Action.ROLLBACK,
        phase=Phase.OFF,
        percentage=Decimal("0"),
    )


@transaction.atomic
def flag_create(
    *,
    key: str,
    actor: AbstractBaseUser | None,
    reason: str,
    source: str,
    description: str = "",
    phase: str = Phase.OFF,
    percentage=None,
) -> Flag:
    reason = reason_clean(reason)
    if Flag.objects.filter(key=key).exists():
        raise ValidationError({"key": f"A flag '{key}' already exists."})
    percentage = PHASE_PERCENTAGE[phase] if percentage is None else percentage_clean(percentage)
    flag = Flag(key=key, description=description, phase=phase, percentage=percentage)
    flag.full_clean()
    flag.save()
    FlagChange.objects.create(
        flag=flag,
        actor=actor,
        actor_name=_actor_name(actor),
        source=source,
        action=FlagChange.Action.CREATE,
        reason=reason,
        before={},
        after=flag_values(flag=flag, account=None),
    )
    _published_on_commit()
    return flag


@transaction.atomic
def flag_override_set(
    *,
    flag: Flag,
    account: Account,
    user: AbstractBaseUser,
    enabled: bool | None,
    actor: AbstractBaseUser | None,
    reason: str,
    source: str,
) -> FlagChange:
    """Pin a member of the account on (True) or off (False), or remove their override (None)."""
    reason = reason_clean(reason)
    if not Membership.objects.filter(account=account, user=user).exists():
        raise ValidationError({"user": f"{user.get_username()} is not a member of {account.name}."})
    existing = FlagOverride.objects.filter(flag=flag, account=account, user=user).first()
    before = {"user": user.get_username(), "override": None if existing is None else existing.enabled}
    if enabled is None:
        if existing is not None:
            existing.delete()
    else:
        FlagOverride.objects.update_or_create(
            flag=flag, account=account, user=user, defaults={"enabled": enabled}
        )
    change = FlagChange.objects.create(
        flag=flag,
        account=account,
        actor=actor,
        actor_name=_actor_name(actor),
        source=source,
        action=FlagChange.Action.OVERRIDE,
        reason=reason,
        before=before,
        after={"user": user.get_username(), "override": enabled},
    )
    _published_on_commit()
    return change
