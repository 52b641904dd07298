import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_routing_clarify_below"),
        ("agents", "0003_routingevaluation"),
        ("analytics", "0008_evaluation_datasets_and_runs"),
        ("escalations", "0003_phaserun_lease_from_leasedwork"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SuggestionRefresh",
            fields=[
                (
                    "account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="accounts.account",
                    ),
                ),
                ("refreshed_at", models.DateTimeField()),
                ("questions", models.PositiveIntegerField(default=0, help_text="Evidence items read.")),
                ("open_count", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="Suggestion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("article", "Add an article"),
                            ("scope", "Cover out-of-scope questions"),
                            ("routing", "Add routing examples"),
                            ("pattern", "Review a learned pattern"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="Identity across refreshes, within the account.", max_length=200
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                (
                    "topic",
                    models.CharField(
                        blank=True, help_text="What the clustered questions are about.", max_length=200
                    ),
                ),
                (
                    "evidence",
                    models.JSONField(default=list, help_text="The questions behind it, newest first."),
                ),
                ("evidence_count", models.PositiveIntegerField(default=0)),
                (
                    "centroid",
                    models.JSONField(blank=True, help_text="Mean MiniLM vector of the questions.", null=True),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("accepted", "Accepted"), ("dismissed", "Dismissed")],
                        default="open",
                        max_length=20,
                    ),
                ),
                (
                    "decided_count",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Evidence when it was accepted or dismissed: it reopens when it grows well past it.",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "reopened_from",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="The evidence count it was dismissed or accepted at, when it reopened.",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("changed_at", models.DateTimeField(help_text="When its evidence last changed.")),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="suggestions",
                        to="accounts.account",
                    ),
                ),
                (
                    "agent",
                    models.ForeignKey(
                        blank=True,
                        help_text="Routing: the agent the questions should reach.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="agents.agentinstance",
                    ),
                ),
                (
                    "from_agent",
                    models.ForeignKey(
                        blank=True,
                        help_text="Routing: the agent they were routed to first (the most common one).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="agents.agentinstance",
                    ),
                ),
                (
                    "pattern",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="escalations.learnedpattern",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-evidence_count", "id"],
                "indexes": [
                    models.Index(fields=["account", "status"], name="analytics_s_account_e1f41b_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "key"), name="unique_suggestion_key_per_account"
                    )
                ],
            },
        ),
    ]
