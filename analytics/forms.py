from django import forms

from analytics.models import AlertRule


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["threshold", "window_minutes", "min_volume", "severity", "enabled"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The inputs sit in table cells; they belong to the rule's form by its id.
        for field in self.fields.values():
            field.widget.attrs["form"] = f"rule-form-{self.instance.pk}"

    def clean_threshold(self) -> float:
        value = self.cleaned_data["threshold"]
        if value < 0:
            raise forms.ValidationError("The threshold cannot be negative.")
        kind = self.instance.kind
        if kind == AlertRule.Kind.HANDOFF_RATE and value > 1:
            raise forms.ValidationError("A hand-off rate threshold is a share between 0 and 1 (0.3 = 30%).")
        return value

    def clean_window_minutes(self) -> int:
        value = self.cleaned_data["window_minutes"]
        if not 1 <= value <= 7 * 24 * 60:
            raise forms.ValidationError("The window must be between 1 minute and 7 days (10080 minutes).")
        return value
