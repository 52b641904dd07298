"""Forms of the Rollout page and the admin: every change carries a reason."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from rollout.models import Phase
from rollout.services import percentage_clean


class PercentageField(forms.Field):
    """0 to 100 with at most one decimal, typed as a plain number: ``forms.DecimalField`` also
    takes "1e2" (as 100), so the text goes through ``percentage_clean``, as the API and the
    command's values do."""

    widget = forms.NumberInput(attrs={"min": "0", "max": "100", "step": "0.1"})

    def to_python(self, value) -> Decimal | None:
        if value in self.empty_values:
            return None
        try:
            return percentage_clean(str(value))
        except ValidationError as error:
            raise ValidationError(error.message_dict["percentage"], code="invalid") from None


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: kept in the history.",
        error_messages={"required": "Say why you are making this change: a reason is required."},
    )


class FlagChangeForm(ReasonMixin):
    """Phase, percentage and kill switch for the account; blank fields stay as they are."""

    phase = forms.ChoiceField(choices=[("", "(keep)"), *Phase.choices], required=False)
    percentage = PercentageField(
        required=False,
        help_text="0 to 100. In shadow: the share of users answered in the background.",
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
