# Step 1 of 3: add the columns. public_id is nullable here because a callable default in
# AddField is evaluated once, which would give every existing approval the same id.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0004_conversation_arm_message_feedback_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("chat", "Chat"),
                    ("shadow", "Shadow run (hidden)"),
                    ("evaluation", "Evaluation run (hidden)"),
                ],
                default="chat",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="toolcall",
            name="status",
            field=models.CharField(
                choices=[
                    ("awaiting_approval", "Awaiting approval"),
                    ("denied", "Denied"),
                    ("refused", "Refused (not allowed)"),
                    ("running", "Running"),
                    ("completed", "Completed"),
                    ("failed", "Failed"),
                    ("simulated", "Not run (hidden run)"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="approval",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
