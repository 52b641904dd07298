"""Forms of the Rollout page and the admin: every change carries a reason."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from rollout.models import Phase


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: kept in the history.",
        error_messages={"required": "Say why you are making this change: a reason is required."},
    )


class FlagChangeForm(ReasonMixin):
    """Phase, percentage and kill switch for the account; blank fields stay as they are."""

    phase = forms.ChoiceField(choices=[("", "(keep)"), *Phase.choices], required=False)
    percentage = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=1,
        max_digits=4,
        help_text="0 to 100. In shadow: the share of users answered in the background.",
        error_messages={"invalid": "The percentage must be a number from 0 to 100."},
    )
    switch = forms.ChoiceField(
        choices=[
            ("", "(keep)"),
            ("on", "On: serve by phase and percentage"),
            ("off", "Kill switch: off for all"),
        ],
        required=False,
        label="Kill switch",
    )
    override_gates = forms.BooleanField(
        required=False,
        label="Advance even if a gate fails (admins; the reason is audited)",
    )
    field_order = ["phase", "percentage", "switch", "reason", "override_gates"]

    def changes(self) -> dict:
        data = self.cleaned_data
        changes: dict = {}
        if data.get("phase"):
            changes["phase"] = data["phase"]
        if data.get("percentage") is not None:
            changes["percentage"] = data["percentage"]
        if data.get("switch"):
            changes["enabled"] = data["switch"] == "on"
        return changes


class RollbackForm(ReasonMixin):
    pass


class OverrideForm(ReasonMixin):
    username = forms.CharField(max_length=150)
    override = forms.ChoiceField(
        choices=[
            ("on", "Always in (multi-agent)"),
            ("off", "Always out (legacy)"),
            ("clear", "Remove override"),
        ]
    )
    field_order = ["username", "override", "reason"]

    def enabled(self) -> bool | None:
        return {"on": True, "off": False, "clear": None}[self.cleaned_data["override"]]
