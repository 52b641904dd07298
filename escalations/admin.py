from django.contrib import admin, messages

from agents.models import AgentInstance
from escalations.models import AgentConsultation, Escalation, EscalationPolicy, LearnedPattern, PhaseRun
from escalations.services import pattern_approve, pattern_retire


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "account", "quick_fix_enabled", "quick_fix_threshold", "research_enabled", "research_threshold",
        "consultation_enabled", "consultation_required_votes", "first_response_sla_minutes",
        "resolution_sla_minutes", "email_operators",
    ]  # fmt: skip
    autocomplete_fields = ["account"]
    filter_horizontal = ["consultation_agents"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # Only the policy's own account's agents can be chosen (all of them before it has one).
        if obj is not None:
            agents = AgentInstance.objects.filter(account_id=obj.account_id)
            for name in ("research_agent", "consultation_agents", "consultation_judge"):
                form.base_fields[name].queryset = agents
        return form


class PhaseRunInline(admin.TabularInline):
    model = PhaseRun
    extra = 0
    can_delete = False
    readonly_fields = [
        "phase",
        "outcome",
        "detail",
        "score",
        "attempts",
        "started_at",
        "finished_at",
        "duration_ms",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AgentConsultationInline(admin.TabularInline):
    model = AgentConsultation
    extra = 0
    can_delete = False
    readonly_fields = [
        "phase", "agent", "proposal", "confidence", "vote", "agreed", "status", "started_at", "finished_at",
        "duration_ms",
    ]  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    """Read-mostly: the queue is where escalations are worked; admin is for looking back."""

    list_display = [
        "pk", "account", "trigger", "priority", "status", "phase", "resolved_by_phase", "assignee",
        "email_status", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "trigger", "priority", "resolved_by_phase", "email_status", "account"]
    search_fields = ["question", "reason", "resolution_note"]
    list_select_related = ["account", "assignee"]
    readonly_fields = [
        "account", "conversation", "message", "trigger", "reason", "question", "status", "phase",
        "resolved_by_phase", "answer_message", "pattern_used", "workflow_run", "created_by", "queued_at",
        "claimed_at", "first_response_at", "resolved_at", "resolved_by", "first_response_due_at",
        "resolution_due_at", "email_status", "email_attempts", "email_error", "emailed_at", "created_at",
    ]  # fmt: skip
    inlines = [PhaseRunInline, AgentConsultationInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LearnedPattern)
class LearnedPatternAdmin(admin.ModelAdmin):
    list_display = ["pk", "account", "short_problem", "status", "times_used", "success_count", "approved_by"]
    list_filter = ["status", "account"]
    search_fields = ["problem", "fix"]
    readonly_fields = [
        "source_escalation",
        "times_used",
        "success_count",
        "created_by",
        "approved_by",
        "approved_at",
    ]
    autocomplete_fields = ["account"]
    actions = ["approve", "retire"]

    @admin.display(description="Problem")
    def short_problem(self, obj: LearnedPattern) -> str:
        return obj.problem[:80]

    def _each(self, request, queryset, action, verb: str) -> None:
        done = 0
        for pattern in queryset:
            try:
                action(pattern=pattern, user=request.user)
                done += 1
            except PermissionError:
                note = f"You are not an admin of {pattern.account}: #{pattern.pk} unchanged."
                self.message_user(request, note, messages.ERROR)
        self.message_user(request, f"{verb} {done} pattern{'s' if done != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Approve selected patterns (Phase 1 may answer with them)")
    def approve(self, request, queryset) -> None:
        self._each(request, queryset, pattern_approve, "Approved")

    @admin.action(description="Retire selected patterns")
    def retire(self, request, queryset) -> None:
        self._each(request, queryset, pattern_retire, "Retired")
