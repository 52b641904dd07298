# ShadowConversation and ShadowPair move here from rollout (rollout 0002 removes them from its
# state). State only: the tables rollout created, with their rows, are kept as they are, which is
# why the models name them in Meta.db_table.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0007_approval_public_id_unique"),
        ("rollout", "0002_shadow_moves_to_conversations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ShadowConversation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "conversation",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="rollout_shadow",
                                to="conversations.conversation",
                            ),
                        ),
                        (
                            "flag",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="rollout.flag",
                            ),
                        ),
                        (
                            "served",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="rollout_shadowed_by",
                                to="conversations.conversation",
                            ),
                        ),
                    ],
                    options={"db_table": "rollout_shadowconversation"},
                ),
                migrations.CreateModel(
                    name="ShadowPair",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "legacy_reply",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="conversations.message",
                            ),
                        ),
                        (
                            "question",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="conversations.message",
                            ),
                        ),
                        (
                            "shadow",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="pairs",
                                to="conversations.shadowconversation",
                            ),
                        ),
                        (
                            "shadow_reply",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="rollout_shadow_pair",
                                to="conversations.message",
                            ),
                        ),
                    ],
                    options={"ordering": ["-created_at", "-id"], "db_table": "rollout_shadowpair"},
                ),
            ],
            database_operations=[],
        ),
    ]
