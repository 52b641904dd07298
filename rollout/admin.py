"""Django admin for flags. Every save goes through ``flag_update`` / ``flag_override_set`` with
the reason typed on the form, so admin changes are audited like any other; the history is
shown inline and read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import Membership
from rollout.forms import PercentageField
from rollout.models import AccountFlag, Flag, FlagChange, FlagOverride
from rollout.services import (
    GatesRefused,
    flag_create,
    flag_override_set,
    flag_update,
)

REASON_HELP = "Why: required, kept in the history."


class ReasonAdminForm(forms.ModelForm):
    """A reason on every change; the change is tried (dry run) while the form is cleaned, so a
    bad value or a failed gate comes back next to the form and nothing is saved."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)
    override_gates = forms.BooleanField(
        required=False, label="Advance even if a gate fails (the reason is audited)"
    )
    # Blank inherits the flag's percentage in an account; the flag's own is required below.
    percentage = PercentageField(required=False)
    request: HttpRequest | None = None
    CHANGE_FIELDS: tuple[str, ...] = ("enabled", "phase", "percentage")

    def flag_changes(self) -> dict:
        return {
            f: self.cleaned_data[f]
            for f in self.CHANGE_FIELDS
            if f in self.changed_data and self.cleaned_data.get(f) not in (None, "")
        }

    def target(self) -> tuple[Flag | None, object]:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        flag, account = self.target()
        changes = self.flag_changes()
        if self.errors or flag is None or not changes or not cleaned.get("reason"):
            return cleaned
        try:
            flag_update(
                flag=Flag.objects.get(pk=flag.pk),
                account=account,
                actor=self.request.user if self.request else None,
                reason=cleaned["reason"],
                source=FlagChange.Source.ADMIN,
                override_gates=cleaned.get("override_gates", False),
                dry_run=True,
                **changes,
            )
        except GatesRefused as refused:
            raise ValidationError(["Refused: a gate failed.", *refused.messages]) from None
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
            else:
                raise
        return cleaned


class FlagAdminForm(ReasonAdminForm):
    percentage = PercentageField(initial=0)
    CHANGE_FIELDS = ("description", "enabled", "phase", "percentage", "group_id", "gates")

    class Meta:
        model = Flag
        fields = ["key", "description", "enabled", "phase", "percentage", "group_id", "gates"]

    def target(self):
        return (self.instance if self.instance.pk else None), None


class FlagChangeInline(admin.TabularInline):
    model = FlagChange
    extra = 0
    can_delete = False
    fields = ["created_at", "actor_name", "source", "action", "account", "before", "after", "reason",
              "gates_overridden"]  # fmt: skip
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RequestFormMixin:
    """Hands the request to the form, for the dry run's actor."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})


@admin.register(Flag)
class FlagAdmin(RequestFormMixin, admin.ModelAdmin):
    form = FlagAdminForm
    list_display = ["key", "phase", "percentage", "enabled", "updated_at"]
    search_fields = ["key", "description"]
    inlines = [FlagChangeInline]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["key"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Flag, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = flag_create(
                key=data["key"],
                actor=request.user,
                reason=data["reason"],
                source=FlagChange.Source.ADMIN,
                description=data.get("description", ""),
                phase=data["phase"],
                percentage=data["percentage"],
            )
            obj.pk = created.pk
            return
        changes = form.flag_changes()
        if changes:
            flag_update(
                flag=Flag.objects.get(pk=obj.pk),
                actor=request.user,
                reason=data["reason"],
                source=FlagChange.Source.ADMIN,
                override_gates=data["override_gates"],
                **changes,
            )
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        form.save_m2m = lambda: None  # nothing of the flag is saved behind flag_update's back
        super().save_related(request, form, formsets, change)


class AccountFlagAdminForm(ReasonAdminForm):
    class Meta:
        model = AccountFlag
        fields = ["flag", "account", "enabled", "phase", "percentage"]

    def target(self):
        if self.instance.pk:
            return self.instance.flag, self.instance.account
        return self.cleaned_data.get("flag"), self.cleaned_data.get("account")


@admin.register(AccountFlag)
class AccountFlagAdmin(RequestFormMixin, admin.ModelAdmin):
    """A flag's own phase, percentage or kill switch in one account."""

    form = AccountFlagAdminForm
    list_display = ["flag", "account", "phase", "percentage", "enabled", "updated_at"]
    list_filter = ["flag", "account"]
    list_select_related = ["flag", "account"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["flag", "account"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: AccountFlag, form, change: bool) -> None:
        data = form.cleaned_data
        flag = obj.flag if change else data["flag"]
        account = obj.account if change else data["account"]
        changes = form.flag_changes()
        if changes:
            flag_update(
                flag=flag,
                account=account,
                actor=request.user,
                reason=data["reason"],
                source=FlagChange.Source.ADMIN,
                override_gates=data["override_gates"],
                **changes,
            )
        current = AccountFlag.objects.filter(flag=flag, account=account).first()
        if current is not None:
            obj.pk = current.pk


class FlagOverrideAdminForm(forms.ModelForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    class Meta:
        model = FlagOverride
        fields = ["flag", "account", "user", "enabled"]

    def clean(self):
        cleaned = super().clean()
        account, user = cleaned.get("account"), cleaned.get("user")
        if account and user and not Membership.objects.filter(account=account, user=user).exists():
            self.add_error("user", f"{user.get_username()} is not a member of {account.name}.")
        return cleaned

    def validate_unique(self) -> None:
        pass  # an existing override is updated by flag_override_set, not refused


@admin.register(FlagOverride)
class FlagOverrideAdmin(admin.ModelAdmin):
    form = FlagOverrideAdminForm
    list_display = ["flag", "account", "user", "enabled", "created_at"]
    list_filter = ["flag", "account", "enabled"]
    list_select_related = ["flag", "account", "user"]
    autocomplete_fields = []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # removal needs a reason: set it on the Rollout page, the API or the command

    def save_model(self, request: HttpRequest, obj: FlagOverride, form, change: bool) -> None:
        data = form.cleaned_data
        flag_override_set(
            flag=data["flag"],
            account=data["account"],
            user=data["user"],
            enabled=data["enabled"],
            actor=request.user,
            reason=data["reason"],
            source=FlagChange.Source.ADMIN,
        )
        obj.pk = FlagOverride.objects.get(flag=data["flag"], account=data["account"], user=data["user"]).pk


@admin.register(FlagChange)
class FlagChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "flag", "account", "actor_name", "source", "action", "reason",
                    "gates_overridden"]  # fmt: skip
    list_filter = ["flag", "source", "action", "account"]
    search_fields = ["reason", "actor_name"]
    list_select_related = ["flag", "account"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
