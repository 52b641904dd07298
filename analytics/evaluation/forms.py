"""Forms of the evaluation pages: import a file, edit a case. A case is checked by the same
``case_check`` as an imported line, so the page and a file accept the same cases."""

from __future__ import annotations

from django import forms

from analytics.evaluation.models import EvaluationCase

BOOLEAN_CHOICES = [("", "Not checked"), ("true", "Yes"), ("false", "No")]


class DatasetImportForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="A dataset with this name has its cases replaced.")
    file = forms.FileField(help_text="JSONL (one case per line) or CSV with a header; up to 5 MB.")
    description = forms.CharField(max_length=1000, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5_000_000:
            raise forms.ValidationError("The file is larger than 5 MB.")
        suffix = upload.name.rsplit(".", 1)[-1].lower()
        if suffix not in {"jsonl", "csv"}:
            raise forms.ValidationError("Upload a .jsonl or a .csv file.")
        try:
            self.content = upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc
        self.file_format = suffix
        return upload


class CaseForm(forms.Form):
    key = forms.CharField(max_length=100, required=False, help_text="Blank: numbered for you.")
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="One message per line: more lines make a script."
    )
    expected_agent = forms.CharField(max_length=100, required=False, help_text="Slug of the agent to reach.")
    out_of_scope = forms.BooleanField(required=False, help_text="No agent should take it.")
    facts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Phrases the answer contains, one a line.",
    )
    source = forms.CharField(max_length=100, required=False, help_text="Slug of the article to cite.")
    tool = forms.CharField(max_length=60, required=False, help_text="A tool the turn must call.")
    approval_expected = forms.ChoiceField(
        choices=BOOLEAN_CHOICES, required=False, label="Approval gate expected"
    )
    must_not_act = forms.BooleanField(required=False, help_text="No gated tool may be called.")
    notes = forms.CharField(max_length=300, required=False)

    @classmethod
    def for_case(cls, case: EvaluationCase | None, data=None) -> CaseForm:
        if case is None:
            return cls(data)
        approval = case.approval_expected
        initial = {
            "key": case.key, "message": "\n".join(case.turns), "expected_agent": case.expected_agent,
            "out_of_scope": case.out_of_scope, "facts": "\n".join(case.facts), "source": case.source,
            "tool": case.tool, "must_not_act": case.must_not_act, "notes": case.notes,
            "approval_expected": "" if approval is None else str(approval).lower(),
        }  # fmt: skip
        return cls(data, initial=initial)

    def case_fields(self) -> dict:
        """The form's values as a case file's fields, for ``case_check``."""
        data = dict(self.cleaned_data)
        data["facts"] = [line.strip() for line in data["facts"].splitlines() if line.strip()]
        data["approval_expected"] = data["approval_expected"] or None
        return data
